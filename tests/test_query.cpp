/* test_query.cpp: query-string lookup and hex helpers (query.h, util.h). */
#include "cmocka_inc.h"
#include <string.h>

#include "query.h"
#include "util.h"

static void
lookup(void **state)
{
	char v[64];
	size_t n;

	(void)state;
	assert_int_equal(query_get("a=1&b=two&c", "b", v, sizeof(v), &n), QUERY_FOUND);
	assert_string_equal(v, "two");
	assert_int_equal(query_get("a=1&b=two&c", "c", v, sizeof(v), &n), QUERY_FOUND);
	assert_string_equal(v, "");
	assert_int_equal(query_get("a=1", "b", v, sizeof(v), &n), QUERY_MISSING);
	assert_int_equal(query_get(NULL, "b", v, sizeof(v), &n), QUERY_MISSING);
	assert_int_equal(query_get("ab=1", "a", v, sizeof(v), &n), QUERY_MISSING);
	assert_int_equal(query_get("x=%41%42+c", "x", v, sizeof(v), &n), QUERY_FOUND);
	assert_string_equal(v, "AB c");
	assert_int_equal(query_get("x=1&x=2", "x", v, sizeof(v), &n), QUERY_BAD);
	assert_int_equal(query_get("x=%zz", "x", v, sizeof(v), &n), QUERY_BAD);
	assert_int_equal(query_get("x=%00", "x", v, sizeof(v), &n), QUERY_BAD);
	assert_int_equal(query_get("x=1234567890", "x", v, 5, &n), QUERY_BAD);
	assert_int_equal(query_get("&&x=1&", "x", v, sizeof(v), &n), QUERY_FOUND);
	assert_string_equal(v, "1");
}

static void
hex(void **state)
{
	unsigned char b[4] = { 0x00, 0xab, 0x10, 0xff }, o[4];
	char s[9];

	(void)state;
	hex_encode(b, 4, s);
	assert_string_equal(s, "00ab10ff");
	assert_int_equal(hex_decode("00AB10ff", 8, o, 4), 0);
	assert_memory_equal(o, b, 4);
	assert_int_equal(hex_decode("00ab10f", 7, o, 4), -1);
	assert_int_equal(hex_decode("00ab10fg", 8, o, 4), -1);
	assert_true(str_token_eq(" gzip ", 6, "GZIP"));
	assert_false(str_token_eq("gzipx", 5, "gzip"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup),
		cmocka_unit_test(hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_query.cpp: query-string lookup and hex helpers (query.h, util.h). */
#include "cmocka_inc.h"
#include <stdio.h>
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

/* Several names in one pass: each result as query_get gives it alone. */
static void
find_many(void **state)
{
	static const char *const qs[] = {
		"expires=1700000000&sig=abcd&x=1", "sig=a&sig=b&expires=9", "access_token=t%2B1+2",
		"expires=%zz&sig=ff", "", "sig", "a=1&&expires=&sig=0123456789abcdef0123456789abc",
	};
	static const char *const names[] = { "access_token", "expires", "sig", "x" };
	struct query_param p[4];
	char out[4][16], v[16];
	size_t i, k, n;

	(void)state;
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		for (k = 0; k < 4; k++) {
			p[k].name = names[k];
			p[k].out = out[k];
			p[k].outsz = sizeof(out[k]);
		}
		query_find(qs[i], p, 4);
		for (k = 0; k < 4; k++) {
			enum query_result r = query_get(qs[i], names[k], v, sizeof(v), &n);
			assert_int_equal(p[k].result, r);
			if (r == QUERY_FOUND) {
				assert_int_equal(p[k].len, n);
				assert_string_equal(out[k], v);
			}
		}
	}
	p[0].name = "sig";
	p[0].out = out[0];
	p[0].outsz = sizeof(out[0]);
	query_find("sig=ab%41+&x", p, 1);
	assert_int_equal(p[0].result, QUERY_FOUND);
	assert_string_equal(out[0], "abA ");
	/* a plain value fills the buffer exactly, or is one byte too long */
	assert_int_equal(query_get("x=123456789012345", "x", v, sizeof(v), &n), QUERY_FOUND);
	assert_int_equal(n, 15);
	assert_int_equal(query_get("x=1234567890123456", "x", v, sizeof(v), &n), QUERY_BAD);
	assert_int_equal(query_get("x=12345678901234%41", "x", v, sizeof(v), &n), QUERY_FOUND);
	assert_string_equal(v, "12345678901234A");
	assert_int_equal(query_get("x=123456789012345%41", "x", v, sizeof(v), &n), QUERY_BAD);
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
	{
		/* text: numbers as printf writes them, cut at the end, never past it */
		static const uint64_t nums[] = { 0, 9, 10, 99, 100, 101, 65535, 1234567890123ULL,
		    UINT64_MAX };
		char buf[32], want[32];
		struct text t;
		size_t i;

		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			t.p = buf;
			t.end = buf + sizeof(buf) - 1;
			text_u64(&t, nums[i]);
			*t.p = '\0';
			snprintf(want, sizeof(want), "%llu", (unsigned long long)nums[i]);
			assert_string_equal(buf, want);
		}
		memset(buf, 'x', sizeof(buf));
		t.p = buf;
		t.end = buf + 6;
		TEXT_LIT(&t, "bytes ");
		text_u64(&t, 12345);
		assert_ptr_equal(t.p, buf + 6);
		assert_memory_equal(buf, "bytes x", 7);
	}
	assert_true(str_token_eq(" gzip ", 6, "GZIP"));
	assert_false(str_token_eq("gzipx", 5, "gzip"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup),
		cmocka_unit_test(find_many),
		cmocka_unit_test(hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_range.cpp: the Range header parser (range.h). */
#include "cmocka_inc.h"
#include <string.h>

#include "range.h"

static enum range_result
parse(const char *v, int64_t size, struct range *r, int *n)
{
	return range_parse(v, size, 16, INT64_MAX, r, n);
}

static void
single_forms(void **state)
{
	struct range r[RANGE_MAX];
	int n;

	(void)state;
	assert_int_equal(parse("bytes=0-99", 1000, r, &n), RANGE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 99);
	assert_int_equal(parse("bytes=500-", 1000, r, &n), RANGE_OK);
	assert_int_equal(r[0].start, 500);
	assert_int_equal(r[0].end, 999);
	assert_int_equal(parse("bytes=-100", 1000, r, &n), RANGE_OK);
	assert_int_equal(r[0].start, 900);
	assert_int_equal(r[0].end, 999);
	assert_int_equal(parse("bytes=-5000", 1000, r, &n), RANGE_OK);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(parse("bytes=990-5000", 1000, r, &n), RANGE_OK);
	assert_int_equal(r[0].end, 999);
	assert_int_equal(parse("Bytes = 1-1 ", 1000, r, &n), RANGE_OK);
	assert_int_equal(r[0].start, 1);
	assert_int_equal(r[0].end, 1);
	assert_int_equal(parse("bytes=999-999", 1000, r, &n), RANGE_OK);
}

static void
multiple(void **state)
{
	struct range r[RANGE_MAX];
	int n;

	(void)state;
	assert_int_equal(parse("bytes=0-9, 20-29,\t-5", 100, r, &n), RANGE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(r[1].start, 20);
	assert_int_equal(r[2].start, 95);
	/* unsatisfiable members are dropped */
	assert_int_equal(parse("bytes=200-300,0-0", 100, r, &n), RANGE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].end, 0);
	/* empty list elements are allowed */
	assert_int_equal(parse("bytes=,0-1,,", 100, r, &n), RANGE_OK);
	assert_int_equal(n, 1);
}

static void
unsatisfiable(void **state)
{
	struct range r[RANGE_MAX];
	int n;

	(void)state;
	assert_int_equal(parse("bytes=1000-", 1000, r, &n), RANGE_UNSATISFIABLE);
	assert_int_equal(parse("bytes=1000-2000", 1000, r, &n), RANGE_UNSATISFIABLE);
	assert_int_equal(parse("bytes=-0", 1000, r, &n), RANGE_UNSATISFIABLE);
	assert_int_equal(parse("bytes=5000-,-0", 1000, r, &n), RANGE_UNSATISFIABLE);
}

static void
ignored(void **state)
{
	static const char *const bad[] = {
		NULL, "", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "bytes=1-2-3",
		"bytes=1--2", "items=0-1", "bytes=0-1;x", "bytes=99999999999999999999-",
		"bytes=--1", "bytes=1 -2", "bytes=0x10-20", "bytes=+1-2", "bytes=1-+2"
	};
	struct range r[RANGE_MAX];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], 1000, r, &n), RANGE_IGNORE);
	/* an empty file has no ranges at all */
	assert_int_equal(parse("bytes=0-1", 0, r, &n), RANGE_IGNORE);
}

static void
limits(void **state)
{
	struct range r[RANGE_MAX];
	int n;

	(void)state;
	/* more specs than allowed: ignored, the whole file goes out */
	assert_int_equal(range_parse("bytes=0-0,1-1,2-2", 100, 2, INT64_MAX, r, &n),
	    RANGE_IGNORE);
	assert_int_equal(range_parse("bytes=0-0,1-1", 100, 2, INT64_MAX, r, &n), RANGE_OK);
	/* each range is cut to max_len */
	assert_int_equal(range_parse("bytes=0-", 1000, 4, 100, r, &n), RANGE_OK);
	assert_int_equal(r[0].end, 99);
	assert_int_equal(range_parse("bytes=-500", 1000, 4, 100, r, &n), RANGE_OK);
	assert_int_equal(r[0].start, 500);
	assert_int_equal(r[0].end, 599);
	assert_int_equal(range_parse("bytes=10-20", 1000, 4, 100, r, &n), RANGE_OK);
	assert_int_equal(r[0].end, 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_forms),
		cmocka_unit_test(multiple),
		cmocka_unit_test(unsatisfiable),
		cmocka_unit_test(ignored),
		cmocka_unit_test(limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

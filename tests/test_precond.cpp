/* test_precond.cpp: conditional requests and HTTP dates (precond.h, httpdate.h). */
#include "cmocka_inc.h"
#include <string.h>

#include "httpdate.h"
#include "precond.h"

static const struct precond_entity E = { "\"abc-1\"", 784111777 };   /* 1994-11-06 08:49:37 */

static enum precond_result
ev(const char *im, const char *inm, const char *ims, const char *ius)
{
	struct precond_headers h;

	memset(&h, 0, sizeof(h));
	h.if_match = im;
	h.if_none_match = inm;
	h.if_modified_since = ims;
	h.if_unmodified_since = ius;
	return precond_eval(&h, &E, 1);
}

static void
dates(void **state)
{
	char buf[HTTPDATE_LEN];
	time_t t;

	(void)state;
	httpdate_format(784111777, buf);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(httpdate_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(httpdate_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(httpdate_parse("Sun Nov  6 08:49:37 1994", &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(httpdate_parse("Sun, 06 Nov 1994 08:49:37 UTC", &t), -1);
	assert_int_equal(httpdate_parse("yesterday", &t), -1);
	assert_int_equal(httpdate_parse("Sun, 32 Nov 1994 08:49:37 GMT", &t), -1);
	assert_int_equal(httpdate_parse("", &t), -1);
	httpdate_format(2000000000, buf);
	assert_string_equal(buf, "Wed, 18 May 2033 03:33:20 GMT");
}

static void
none_match(void **state)
{
	(void)state;
	assert_int_equal(ev(NULL, "\"abc-1\"", NULL, NULL), PRECOND_NOT_MODIFIED);
	assert_int_equal(ev(NULL, "W/\"abc-1\"", NULL, NULL), PRECOND_NOT_MODIFIED);
	assert_int_equal(ev(NULL, "\"x\", \"abc-1\"", NULL, NULL), PRECOND_NOT_MODIFIED);
	assert_int_equal(ev(NULL, "*", NULL, NULL), PRECOND_NOT_MODIFIED);
	assert_int_equal(ev(NULL, "\"abc\"", NULL, NULL), PRECOND_PROCEED);
	assert_int_equal(ev(NULL, "abc-1", NULL, NULL), PRECOND_PROCEED);
	/* If-None-Match makes If-Modified-Since irrelevant */
	assert_int_equal(ev(NULL, "\"zz\"", "Sun, 06 Nov 1994 08:49:37 GMT", NULL),
	    PRECOND_PROCEED);
}

static void
modified_since(void **state)
{
	(void)state;
	assert_int_equal(ev(NULL, NULL, "Sun, 06 Nov 1994 08:49:37 GMT", NULL),
	    PRECOND_NOT_MODIFIED);
	assert_int_equal(ev(NULL, NULL, "Mon, 07 Nov 1994 08:49:37 GMT", NULL),
	    PRECOND_NOT_MODIFIED);
	assert_int_equal(ev(NULL, NULL, "Sun, 06 Nov 1994 08:49:36 GMT", NULL), PRECOND_PROCEED);
	assert_int_equal(ev(NULL, NULL, "garbage", NULL), PRECOND_PROCEED);
}

static void
match_and_unmodified(void **state)
{
	(void)state;
	assert_int_equal(ev("\"abc-1\"", NULL, NULL, NULL), PRECOND_PROCEED);
	assert_int_equal(ev("*", NULL, NULL, NULL), PRECOND_PROCEED);
	assert_int_equal(ev("\"nope\"", NULL, NULL, NULL), PRECOND_FAILED);
	assert_int_equal(ev("W/\"abc-1\"", NULL, NULL, NULL), PRECOND_FAILED);  /* strong only */
	assert_int_equal(ev(NULL, NULL, NULL, "Sun, 06 Nov 1994 08:49:36 GMT"), PRECOND_FAILED);
	assert_int_equal(ev(NULL, NULL, NULL, "Sun, 06 Nov 1994 08:49:37 GMT"), PRECOND_PROCEED);
	/* If-Match wins over If-Unmodified-Since */
	assert_int_equal(ev("\"abc-1\"", NULL, NULL, "Sun, 06 Nov 1994 08:49:36 GMT"),
	    PRECOND_PROCEED);
}

static void
if_range(void **state)
{
	(void)state;
	assert_int_equal(precond_if_range(NULL, &E), 1);
	assert_int_equal(precond_if_range("\"abc-1\"", &E), 1);
	assert_int_equal(precond_if_range("W/\"abc-1\"", &E), 0);
	assert_int_equal(precond_if_range("\"other\"", &E), 0);
	assert_int_equal(precond_if_range("Sun, 06 Nov 1994 08:49:37 GMT", &E), 1);
	assert_int_equal(precond_if_range("Sun, 06 Nov 1994 08:49:38 GMT", &E), 0);
	assert_int_equal(precond_if_range("junk", &E), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dates),
		cmocka_unit_test(none_match),
		cmocka_unit_test(modified_since),
		cmocka_unit_test(match_and_unmodified),
		cmocka_unit_test(if_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

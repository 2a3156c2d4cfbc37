/* test_pathsafe.cpp: percent-decoding and path confinement rules (pathsafe.h). */
#include "cmocka_inc.h"
#include <string.h>

#include "pathsafe.h"

static enum pathsafe_result
dec(const char *raw)
{
	char out[PATHSAFE_MAX + 1];
	size_t n;

	return pathsafe_decode(raw, strlen(raw), out, sizeof(out), &n);
}

static void
accepted(void **state)
{
	static const char *const ok[] = {
		"a.mp3", "sub/dir/a.mp3", "track%203.mp3", "Fr%C3%BChlings%20Lied.mp3",
		"sub%2Fa.mp3", "a..b.mp3", "a.b.c", "x+y.mp3", "caf\xc3\xa9.mp3", "a%2b.mp3",
		"x.", "-/_~/a"
	};
	char out[PATHSAFE_MAX + 1];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(dec(ok[i]), PATHSAFE_OK);
	assert_int_equal(pathsafe_decode("track%203.mp3", 13, out, sizeof(out), &n), PATHSAFE_OK);
	assert_string_equal(out, "track 3.mp3");
	assert_int_equal(n, 11);
	assert_int_equal(pathsafe_decode("x+y", 3, out, sizeof(out), &n), PATHSAFE_OK);
	assert_string_equal(out, "x+y");        /* '+' is not a space in a path */
}

static void
rejected(void **state)
{
	static const char *const bad[] = {
		"", "/a.mp3", "../a.mp3", "a/../b.mp3", "%2e%2e/a.mp3", "%2E%2E%2Fa.mp3", "./a",
		".hidden", "a/.x", "a//b", "a/", "a\\b", "a%5Cb", "a%00b", "%00", "a%0ab",
		"a%7fb", "%c0%ae%c0%ae/x", "%ff", "%ed%a0%80", "%f4%90%80%80", "a\x01" "b",
		"..", ".", "sub/..", "%C3"
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum pathsafe_result r = dec(bad[i]);
		assert_int_not_equal(r, PATHSAFE_OK);
	}
}

static void
bad_escapes(void **state)
{
	(void)state;
	assert_int_equal(dec("a%"), PATHSAFE_BAD_ESCAPE);
	assert_int_equal(dec("a%2"), PATHSAFE_BAD_ESCAPE);
	assert_int_equal(dec("a%zz"), PATHSAFE_BAD_ESCAPE);
	assert_int_equal(dec("a%g1.mp3"), PATHSAFE_BAD_ESCAPE);
	assert_int_equal(dec("%00"), PATHSAFE_REJECT);
}

static void
lengths(void **state)
{
	char big[PATHSAFE_MAX + 10], seg[300];

	(void)state;
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dec(big), PATHSAFE_REJECT);
	memset(seg, 'b', 256);
	seg[256] = '\0';
	assert_int_equal(pathsafe_check(seg, 256), PATHSAFE_REJECT);
	assert_int_equal(pathsafe_check(seg, 255), PATHSAFE_OK);
}

static void
encode(void **state)
{
	const char *in = "a b/\xc3\xbc?#%.mp3";
	char out[64];

	(void)state;
	assert_int_equal(pathsafe_encode(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b/%C3%BC%3F%23%25.mp3");
	assert_int_equal(pathsafe_encode("abc", 3, out, 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(rejected),
		cmocka_unit_test(bad_escapes),
		cmocka_unit_test(lengths),
		cmocka_unit_test(encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_mime.cpp: the extension table (mime.h). */
#include "cmocka_inc.h"
#include <string.h>

#include "mime.h"

static const char *
m(const char *p)
{
	return mime_type(p, strlen(p));
}

static void
types(void **state)
{
	(void)state;
	assert_string_equal(m("a.mp3"), "audio/mpeg");
	assert_string_equal(m("dir/b.MP3"), "audio/mpeg");
	assert_string_equal(m("a.ogg"), "audio/ogg");
	assert_string_equal(m("a.oga"), "audio/ogg");
	assert_string_equal(m("a.opus"), "audio/ogg");
	assert_string_equal(m("a.flac"), "audio/flac");
	assert_string_equal(m("a.wav"), "audio/wav");
	assert_string_equal(m("a.m4a"), "audio/mp4");
	assert_string_equal(m("a.aac"), "audio/aac");
	assert_string_equal(m("a.webm"), "audio/webm");
	assert_string_equal(m("a.weba"), "audio/webm");
	assert_string_equal(m("x.tar.mp3"), "audio/mpeg");
}

static void
not_audio(void **state)
{
	(void)state;
	assert_null(m("a.txt"));
	assert_null(m("a.mp3.txt"));
	assert_null(m("mp3"));
	assert_null(m(".mp3"));
	assert_null(m("dir/.mp3"));
	assert_null(m("a."));
	assert_null(m("dir.mp3/file"));
	assert_null(m("a.mp33"));
	assert_null(m(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(types),
		cmocka_unit_test(not_audio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_http.cpp: the request-header index (http_in_hdr) and packed output entries (http.h). */
#include "cmocka_inc.h"
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"

static const struct {
	const char *name;
	int         h;
} names[] = {
	{ "Range", HDR_RANGE }, { "range", HDR_RANGE }, { "RANGE", HDR_RANGE },
	{ "If-Range", HDR_IF_RANGE }, { "if-range", HDR_IF_RANGE },
	{ "If-Match", HDR_IF_MATCH }, { "IF-MATCH", HDR_IF_MATCH },
	{ "If-None-Match", HDR_IF_NONE_MATCH }, { "if-none-match", HDR_IF_NONE_MATCH },
	{ "If-Modified-Since", HDR_IF_MODIFIED_SINCE },
	{ "If-Unmodified-Since", HDR_IF_UNMODIFIED_SINCE },
	{ "Authorization", HDR_AUTHORIZATION }, { "authorization", HDR_AUTHORIZATION },
	{ "Origin", HDR_ORIGIN }, { "User-Agent", HDR_USER_AGENT }, { "referer", HDR_REFERER },
	/* same lengths, other names */
	{ "Rangf", -1 }, { "Host:", -1 }, { "Accept", -1 }, { "Cookie1", -1 },
	{ "If-Rangf", -1 }, { "Iq-Match", -1 }, { "If-Mbtch", -1 }, { "Content-Length", -1 },
	{ "If-None-Matcx", -1 }, { "Authorizatiom", -1 }, { "Accept-Encoding", -1 },
	{ "If-Modified-Sincf", -1 }, { "X-Unmodified-Since!", -1 }, { "", -1 },
	{ "User-Agenx", -1 }, { "Referrer", -1 },
};

static void
header_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(http_hdr_of(names[i].name, strlen(names[i].name)), names[i].h);
}

static struct evhttp_request *
request_with(const char *const *kv)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);

	for (; kv[0] != NULL; kv += 2)
		assert_int_equal(evhttp_add_header(in, kv[0], kv[1]), 0);
	return req;
}

/* Same answers as evhttp_find_header: first value, any case, NULL when absent. */
static void
index_matches_find_header(void **state)
{
	static const char *const a_kv[] = {
		"Host", "x", "range", "bytes=0-1", "Range", "bytes=5-9", "USER-AGENT", "ua/1",
		"If-None-Match", "\"e\"", "Origin", "https://a.example", NULL,
	};
	static const char *const b_kv[] = { "Referer", "https://b.example/", NULL };
	struct evhttp_request *a = request_with(a_kv), *b = request_with(b_kv);

	(void)state;
	http_in_forget();
	assert_string_equal(http_in_hdr(a, HDR_RANGE), "bytes=0-1");
	assert_string_equal(http_in_hdr(a, HDR_USER_AGENT), "ua/1");
	assert_string_equal(http_in_hdr(a, HDR_IF_NONE_MATCH), "\"e\"");
	assert_string_equal(http_in_hdr(a, HDR_ORIGIN), "https://a.example");
	assert_null(http_in_hdr(a, HDR_REFERER));
	assert_null(http_in_hdr(a, HDR_AUTHORIZATION));
	/* another request: its own headers, then back to the first */
	assert_string_equal(http_in_hdr(b, HDR_REFERER), "https://b.example/");
	assert_null(http_in_hdr(b, HDR_RANGE));
	assert_string_equal(http_in_hdr(a, HDR_RANGE), "bytes=0-1");
	for (int h = 0; h < HDR_COUNT; h++) {
		const char *want = NULL;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].h == h) {
				want = evhttp_find_header(evhttp_request_get_input_headers(a),
				    names[i].name);
				break;
			}
		if (want == NULL)
			assert_null(http_in_hdr(a, (enum http_hdr)h));
		else
			assert_string_equal(http_in_hdr(a, (enum http_hdr)h), want);
	}
	evhttp_request_free(a);
	evhttp_request_free(b);
}

/* A request allocated where the indexed one was: forgotten, so indexed afresh. */
static void
forget_before_reuse(void **state)
{
	static const char *const a_kv[] = { "Range", "bytes=1-2", NULL };
	static const char *const b_kv[] = { "Range", "bytes=3-4", NULL };
	struct evhttp_request *a = request_with(a_kv), *b;

	(void)state;
	http_in_forget();
	assert_string_equal(http_in_hdr(a, HDR_RANGE), "bytes=1-2");
	evhttp_request_free(a);
	http_in_forget();
	b = request_with(b_kv);
	assert_string_equal(http_in_hdr(b, HDR_RANGE), "bytes=3-4");
	evhttp_request_free(b);
}

/* A packed entry is one list element whose value carries further header lines. */
static void
packed_entry(void **state)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *block = "5\r\nContent-Type: audio/mpeg";
	struct evkeyval *kv;
	int n = 0;

	(void)state;
	assert_int_equal(http_out_lines(req, "Content-Length", block, strlen(block)), 0);
	TAILQ_FOREACH(kv, out, next)
		n++;
	assert_int_equal(n, 1);
	assert_string_equal(evhttp_find_header(out, "content-length"), block);
	assert_null(evhttp_find_header(out, "Content-Type"));
	evhttp_request_free(req);               /* frees key, value and entry */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_names),
		cmocka_unit_test(index_matches_find_header),
		cmocka_unit_test(forget_before_reuse),
		cmocka_unit_test(packed_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

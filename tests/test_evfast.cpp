/*
 * test_evfast.cpp: evfast's bodies against the ones they stand in for: libevent's own
 * (found past this program with dlsym(RTLD_NEXT)) and glibc's vsnprintf and vsscanf, on
 * the same inputs, including every cut of the output buffer.
 */
#include "cmocka_inc.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "evfast.h"
#include "evfast_ref.h"

typedef int (*cmp_fn)(const char *, const char *);
typedef int (*ncmp_fn)(const char *, const char *, size_t);
typedef const char *(*find_fn)(const struct evkeyvalq *, const char *);

static void
active(void **state)
{
	(void)state;
	assert_int_equal(evfast_active(), 1);
	assert_non_null(dlsym(RTLD_NEXT, "evutil_ascii_strcasecmp"));     /* libevent's */
}

/* The two head formats, at every buffer length from 0 past the whole, as vsnprintf. */
static void
head_formats_every_cut(void **state)
{
	static const char *const names[] = { "Date", "", "Content-Length" };
	static const char *const values[] = { "x", "", "65536\r\nContent-Type: audio/mpeg" };
	static const int ints[][3] = { { 1, 1, 200 }, { 1, 0, 206 }, { -3, 12, 99999 },
	    { 0, 0, -2147483647 - 1 } };
	char want[256], got[256];
	size_t i, j, len;
	int rw, rg;

	(void)state;
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			for (len = 0; len < 60; len++) {
				memset(want, 'W', sizeof(want));
				memset(got, 'W', sizeof(got));
				rw = reference_snprintf(want, len, "%s: %s\r\n", names[i], values[j]);
				rg = fast_snprintf(got, len, "%s: %s\r\n", names[i], values[j]);
				assert_int_equal(rw, rg);
				assert_memory_equal(want, got, sizeof(want));
			}
	for (i = 0; i < 4; i++)
		for (len = 0; len < 48; len++) {
			memset(want, 'W', sizeof(want));
			memset(got, 'W', sizeof(got));
			rw = reference_snprintf(want, len, "HTTP/%d.%d %d %s\r\n", ints[i][0], ints[i][1],
			    ints[i][2], "Partial Content");
			rg = fast_snprintf(got, len, "HTTP/%d.%d %d %s\r\n", ints[i][0], ints[i][1],
			    ints[i][2], "Partial Content");
			assert_int_equal(rw, rg);
			assert_memory_equal(want, got, sizeof(want));
		}
}

/* NULL strings and other formats take vsnprintf's way. */
static void
other_formats(void **state)
{
	char want[128], got[128];

	(void)state;
	assert_int_equal(reference_snprintf(want, sizeof(want), "%s: %s\r\n", (char *)NULL, "v"),
	    fast_snprintf(got, sizeof(got), "%s: %s\r\n", (char *)NULL, "v"));
	assert_string_equal(want, got);
	assert_int_equal(reference_snprintf(want, sizeof(want), "%x\r\n", 48879),
	    fast_snprintf(got, sizeof(got), "%x\r\n", 48879));
	assert_string_equal(got, "beef\r\n");
	assert_int_equal(reference_snprintf(want, sizeof(want), "%s=%d", "n", -5),
	    fast_snprintf(got, sizeof(got), "%s=%d", "n", -5));
	assert_string_equal(want, got);
}

/* Through libevent: a header line longer than a buffer chain (evbuffer's retry path). */
static void
through_evbuffer(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *value = (char *)malloc(5001), *out;
	size_t n;

	(void)state;
	assert_non_null(b);
	memset(value, 'v', 5000);
	value[5000] = '\0';
	assert_int_equal(evbuffer_add_printf(b, "HTTP/%d.%d %d %s\r\n", 1, 1, 404, "Not Found"),
	    24);
	assert_int_equal(evbuffer_add_printf(b, "%s: %s\r\n", "X-Long", value), 5010);
	n = evbuffer_get_length(b);
	assert_int_equal(n, 24 + 5010);
	out = (char *)evbuffer_pullup(b, -1);
	assert_memory_equal(out, "HTTP/1.1 404 Not Found\r\nX-Long: vvv", 35);
	assert_memory_equal(out + n - 3, "v\r\n", 3);
	evbuffer_free(b);
	free(value);
}

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

/* Case-insensitive compares, as libevent's, on random strings with high-bit bytes. */
static void
compares_as_libevent(void **state)
{
	cmp_fn ref = (cmp_fn)dlsym(RTLD_NEXT, "evutil_ascii_strcasecmp");
	ncmp_fn nref = (ncmp_fn)dlsym(RTLD_NEXT, "evutil_ascii_strncasecmp");
	static const char alphabet[] = "aAbBzZ@[`{-_\x80\xc3\xff";
	char a[8], b[8];
	int i, k;
	size_t n;

	(void)state;
	assert_non_null(ref);
	assert_non_null(nref);
	srandom(7);
	for (i = 0; i < 200000; i++) {
		for (k = 0; k < 7; k++) {
			a[k] = alphabet[random() % (sizeof(alphabet) - 1)];
			b[k] = random() % 3 ? a[k] : alphabet[random() % (sizeof(alphabet) - 1)];
		}
		a[random() % 8] = '\0';
		b[7] = a[7] = '\0';
		if (random() % 4 == 0)
			b[random() % 8] = '\0';
		assert_int_equal(sign(evutil_ascii_strcasecmp(a, b)), sign(ref(a, b)));
		n = (size_t)(random() % 9);
		assert_int_equal(sign(evutil_ascii_strncasecmp(a, b, n)), sign(nref(a, b, n)));
	}
}

static void
find_header_as_libevent(void **state)
{
	find_fn ref = (find_fn)dlsym(RTLD_NEXT, "evhttp_find_header");
	static const char *const keys[] = { "Host", "host", "HOST", "Content-Length", "Range",
	    "", "connection", "Connection", "X", "\xc3Host" };
	struct evkeyvalq h;
	char value[8];
	int i, j, round;

	(void)state;
	assert_non_null(ref);
	srandom(11);
	for (round = 0; round < 300; round++) {
		TAILQ_INIT(&h);
		for (i = 0; i < (int)(random() % 6); i++) {
			snprintf(value, sizeof(value), "v%d", i);
			evhttp_add_header(&h, keys[random() % 10], value);
		}
		for (j = 0; j < 10; j++)
			assert_ptr_equal(evhttp_find_header(&h, keys[j]), ref(&h, keys[j]));
		evhttp_clear_headers(&h);
	}
}

/* The HTTP version: glibc's answer for exact versions and for everything near them. */
static void
version_scan_as_glibc(void **state)
{
	static const char *const inputs[] = { "HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/9.9",
	    "HTTP/2", "HTTP/1.10", "HTTP/01.1", "HTTP/1.", "HTTP/1.1 ", "HTTP/1.1x",
	    " HTTP/1.1", "HTTP/+1.1", "HTTP/-1.1", "HTTP/ 1.1", "http/1.1", "HTTP/a.1", "",
	    "HTTP/", "HTTP/1.1\r", "HTTP/99999999999999999999.1" };
	size_t i;
	int r1, r2, maj1, maj2, min1, min2;
	char c1, c2;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		maj1 = maj2 = min1 = min2 = -77;
		c1 = c2 = '?';
		r1 = reference_sscanf(inputs[i], "HTTP/%d.%d%c", &maj1, &min1, &c1);
		r2 = sscanf(inputs[i], "HTTP/%d.%d%c", &maj2, &min2, &c2);
		assert_int_equal(r1, r2);
		assert_int_equal(maj1, maj2);
		assert_int_equal(min1, min2);
		assert_int_equal(c1, c2);
	}
	/* any other format is glibc's */
	char word[3];
	assert_int_equal(sscanf("12 abc", "%d %2s", &maj2, word), 2);
	assert_int_equal(maj2, 12);
	assert_string_equal(word, "ab");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(active),
		cmocka_unit_test(head_formats_every_cut),
		cmocka_unit_test(other_formats),
		cmocka_unit_test(through_evbuffer),
		cmocka_unit_test(compares_as_libevent),
		cmocka_unit_test(find_header_as_libevent),
		cmocka_unit_test(version_scan_as_glibc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

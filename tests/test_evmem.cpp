/* test_evmem.cpp: libevent's allocator (evmem.cpp, included for its static functions). */
#include "cmocka_inc.h"
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "../src/evmem.cpp"
#include "http.h"

/* Every size from 0 to past the largest class: usable, aligned, reused within its class. */
static void
classes(void **state)
{
	size_t n;
	unsigned char *p, *q;

	(void)state;
	for (n = 0; n <= 9000; n += n < 600 ? 1 : 97) {
		p = (unsigned char *)ev_alloc(n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xa5, n);
		if (class_of(n) != LARGE) {
			assert_true(class_size(class_of(n)) >= n);
			ev_free(p);
			q = (unsigned char *)ev_alloc(n);
			assert_ptr_equal(p, q);         /* the freed block, first in line */
			ev_free(q);
		} else {
			ev_free(p);
		}
	}
	ev_free(NULL);
}

/* realloc keeps the contents, grows across classes and into malloc's sizes, shrinks. */
static void
realloc_keeps_bytes(void **state)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 500, 513, 1024, 1025, 5000, 8192, 8193,
	    20000, 100000, 3000, 700, 33, 8 };
	unsigned char *p = NULL;
	size_t i, k, have = 0;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = (unsigned char *)ev_realloc(p, sizes[i]);
		assert_non_null(p);
		for (k = 0; k < have && k < sizes[i]; k++)
			assert_int_equal(p[k], (unsigned char)(k * 7));
		for (k = 0; k < sizes[i]; k++)
			p[k] = (unsigned char)(k * 7);
		have = sizes[i];
	}
	assert_null(ev_realloc(p, 0));          /* frees, as realloc(p, 0) does */
}

/* The free lists stay bounded: many frees of one class, then as many allocations. */
static void
bounded_lists(void **state)
{
	void *blocks[400];
	int i;

	(void)state;
	for (i = 0; i < 400; i++)
		assert_non_null(blocks[i] = ev_alloc(100));
	for (i = 0; i < 400; i++)
		ev_free(blocks[i]);
	assert_int_equal(nfree[class_of(100)], class_keep(class_of(100)));
	for (i = 0; i < 400; i++)
		assert_non_null(blocks[i] = ev_alloc(1500));
	for (i = 0; i < 400; i++)
		ev_free(blocks[i]);
	assert_int_equal(nfree[class_of(1500)], class_keep(class_of(1500)));
}

/* Installed, libevent runs on it: buffers, a request, a hand-made header entry freed by it. */
static void
libevent_on_it(void **state)
{
	struct evbuffer *b;
	struct evhttp_request *req;
	char chunk[3000];
	size_t i;

	(void)state;
	if (!evmem_install())
		skip();                         /* AddressSanitizer build */
	b = evbuffer_new();
	assert_non_null(b);
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)i;
	for (i = 0; i < 200; i++)
		assert_int_equal(evbuffer_add(b, chunk, (i * 37) % sizeof(chunk) + 1), 0);
	assert_int_equal(evbuffer_add_printf(b, "%s-%d", "tail", 42), 7);
	while (evbuffer_get_length(b) > 0)
		evbuffer_drain(b, 1000);
	evbuffer_free(b);
	req = evhttp_request_new(NULL, NULL);
	assert_non_null(req);
	assert_int_equal(evhttp_add_header(evhttp_request_get_output_headers(req), "A", "1"), 0);
	assert_int_equal(http_out_lines(req, "Date", "x\r\nServer: y", 12), 0);
	evhttp_request_free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classes),
		cmocka_unit_test(realloc_keeps_bytes),
		cmocka_unit_test(bounded_lists),
		cmocka_unit_test(libevent_on_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

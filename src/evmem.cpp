/*
 * evmem.cpp: the allocator libevent uses (see evmem.h).
 *
 * evhttp allocates and frees about 34 blocks per request (the request, each header entry
 * and its two strings, URI parts, buffer chains); through glibc that was 15 % of a
 * worker's instructions (callgrind, 64 KiB range requests), the 1 KiB buffer chains
 * being too large for glibc's per-thread cache. Here every block starts with a 16-byte
 * header naming its size class; a freed block waits on its class's list, up to a bound,
 * for the next allocation of that class: a push and a pop, hot in the cache. Larger
 * blocks go straight to malloc. A streamd process has one thread: no locks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "evmem.h"

#define HDR             16              /* keeps the 16-byte alignment of malloc */
#define SMALL_MAX       512             /* classes 1..32: 16-byte steps */
#define NCLASS          37              /* and 33..36: 1, 2, 4, 8 KiB */
#define LARGE           0

struct evmem_hdr {
	uint32_t        cls;
	uint32_t        pad;
	size_t          size;           /* LARGE only: the size asked for */
};

struct evmem_free_block {
	struct evmem_free_block *next;
};

static struct evmem_free_block *free_list[NCLASS];
static unsigned nfree[NCLASS];
static int installed;

static unsigned
class_of(size_t n)
{
	if (n <= SMALL_MAX)
		return n == 0 ? 1 : (unsigned)((n + 15) >> 4);
	if (n <= 1024)
		return 33;
	if (n <= 2048)
		return 34;
	if (n <= 4096)
		return 35;
	if (n <= 8192)
		return 36;
	return LARGE;
}

static size_t
class_size(unsigned cls)
{
	return cls <= 32 ? (size_t)cls << 4 : (size_t)1024 << (cls - 33);
}

/* How many freed blocks a class keeps: about 1 MiB in all at most. */
static unsigned
class_keep(unsigned cls)
{
	return cls <= 32 ? 128 : 32;
}

static void *
ev_alloc(size_t n)
{
	unsigned cls = class_of(n);
	struct evmem_hdr *h;

	if (cls != LARGE && free_list[cls] != NULL) {
		h = (struct evmem_hdr *)free_list[cls];
		free_list[cls] = free_list[cls]->next;
		nfree[cls]--;
	} else {
		if (cls == LARGE && n > SIZE_MAX - HDR)
			return NULL;
		h = (struct evmem_hdr *)malloc(HDR + (cls != LARGE ? class_size(cls) : n));
		if (h == NULL)
			return NULL;
	}
	h->cls = cls;
	h->size = n;
	return (unsigned char *)h + HDR;
}

static void
ev_free(void *p)
{
	struct evmem_hdr *h;
	struct evmem_free_block *b;
	unsigned cls;

	if (p == NULL)
		return;
	h = (struct evmem_hdr *)((unsigned char *)p - HDR);
	cls = h->cls;
	if (cls == LARGE || nfree[cls] >= class_keep(cls)) {
		free(h);
		return;
	}
	b = (struct evmem_free_block *)h;
	b->next = free_list[cls];
	free_list[cls] = b;
	nfree[cls]++;
}

static void *
ev_realloc(void *p, size_t n)
{
	struct evmem_hdr *h, *nh;
	size_t have;
	void *q;

	if (p == NULL)
		return ev_alloc(n);
	if (n == 0) {
		ev_free(p);
		return NULL;
	}
	h = (struct evmem_hdr *)((unsigned char *)p - HDR);
	if (h->cls == LARGE && class_of(n) == LARGE) {
		if (n > SIZE_MAX - HDR || (nh = (struct evmem_hdr *)realloc(h, HDR + n)) == NULL)
			return NULL;
		nh->size = n;
		return (unsigned char *)nh + HDR;
	}
	have = h->cls == LARGE ? h->size : class_size(h->cls);
	if (h->cls != LARGE && n <= have) {
		h->size = n;
		return p;
	}
	if ((q = ev_alloc(n)) == NULL)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	ev_free(p);
	return q;
}

int
evmem_install(void)
{
#if defined(__SANITIZE_ADDRESS__)
	const int sanitized = 1;
#else
	const int sanitized = 0;
#endif
	if (sanitized)
		return 0;
	event_set_mem_functions(ev_alloc, ev_realloc, ev_free);
	installed = 1;
	return 1;
}

void *
evmem_alloc(size_t n)
{
	return installed ? ev_alloc(n) : malloc(n);
}

void
evmem_free(void *p)
{
	if (installed)
		ev_free(p);
	else
		free(p);
}

/*
 * evmem.h: the allocator libevent uses in streamd's processes (event_set_mem_functions):
 * blocks of each size class are kept on a bounded free list for the next request.
 */
#ifndef STREAMD_EVMEM_H
#define STREAMD_EVMEM_H

#include <stddef.h>

/*
 * Install it; first thing in main(), before any libevent call. Not under AddressSanitizer,
 * which must see every allocation and free. Returns 1 if installed.
 */
int   evmem_install(void);
/* Memory that libevent will free (an output header entry made by hand), and its free. */
void *evmem_alloc(size_t n);
void  evmem_free(void *p);

#endif

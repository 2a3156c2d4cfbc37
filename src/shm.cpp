/*
 * shm.cpp: the shared-memory segment, its process slots and its pid-owned locks
 * (see shm.h).
 */
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "shm.h"

#define SHM_MAGIC   0x5354524du       /* "STRM" */
#define SHM_VERSION 1

static struct shm_header *shm;

static size_t
align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

int
shm_create(const size_t region_len[SHM_REGION_COUNT])
{
	size_t off, total;
	struct timeval tv;
	void *p;
	int i;

	off = align_up(sizeof(struct shm_header), 64);
	off += sizeof(struct metrics_slot) * SHM_MAX_PROCS;
	total = off;
	for (i = 0; i < SHM_REGION_COUNT; i++)
		total = align_up(total, 64) + region_len[i];
	total = align_up(total, 4096);
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("mmap %zu bytes of shared memory", total);
		return -1;
	}
	shm = (struct shm_header *)p;
	memset(shm, 0, sizeof(*shm));
	shm->magic = SHM_MAGIC;
	shm->version = SHM_VERSION;
	shm->size = total;
	shm->master_pid = (int32_t)getpid();
	gettimeofday(&tv, NULL);
	shm->start_time_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	for (i = 0; i < SHM_REGION_COUNT; i++) {
		off = align_up(off, 64);
		shm->region_off[i] = off;
		shm->region_len[i] = region_len[i];
		off += region_len[i];
	}
	return 0;
}

struct shm_header *
shm_get(void)
{
	return shm;
}

struct metrics_slot *
shm_slot(int proc)
{
	char *base = (char *)shm + align_up(sizeof(struct shm_header), 64);

	if (shm == NULL || proc < 0 || proc >= SHM_MAX_PROCS)
		return NULL;
	return (struct metrics_slot *)(base + sizeof(struct metrics_slot) * (size_t)proc);
}

void *
shm_region(enum shm_region_id id, size_t *len)
{
	if (shm == NULL || shm->region_len[id] == 0) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = shm->region_len[id];
	return (char *)shm + shm->region_off[id];
}

void
shm_destroy(void)
{
	if (shm != NULL)
		munmap(shm, shm->size);
	shm = NULL;
}

int
shm_proc_alloc(void)
{
	int i;

	for (i = 0; i < SHM_MAX_PROCS; i++) {
		if (shm->procs[i].pid == 0 && shm->procs[i].kind == SHM_PROC_FREE)
			return i;
	}
	return -1;
}

void
shm_proc_release(int proc)
{
	struct shm_proc *p = &shm->procs[proc];
	struct metrics_slot *s = shm_slot(proc);

	/* Counters stay: they are part of the server's totals. Gauges go. */
	__atomic_store_n(&s->connections_active, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->analytics_pending, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->filecache_entries, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->streams_active, 0, __ATOMIC_RELAXED);
	p->rss_bytes = 0;
	p->heartbeat_ms = 0;
	p->stopping = 0;
	p->kind = SHM_PROC_FREE;
	__atomic_store_n(&p->pid, 0, __ATOMIC_RELEASE);
}

void
shm_proc_reap(int proc, pid_t pid)
{
	int i;

	for (i = 0; i < SHM_NLOCKS; i++) {
		int32_t owner = (int32_t)pid;
		if (__atomic_compare_exchange_n(&shm->locks[i], &owner, 0, 0, __ATOMIC_RELEASE,
		    __ATOMIC_RELAXED))
			log_warnx("released shared-memory lock %d held by dead pid %d", i,
			    (int)pid);
	}
	if (proc >= 0)
		shm_proc_release(proc);
}

void
shm_lock(int idx)
{
	int32_t me = (int32_t)getpid(), expected;
	int spins = 0;

	for (;;) {
		expected = 0;
		if (__atomic_load_n(&shm->locks[idx], __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&shm->locks[idx], &expected, me, 0,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else
			sched_yield();
	}
}

void
shm_unlock(int idx)
{
	__atomic_store_n(&shm->locks[idx], 0, __ATOMIC_RELEASE);
}

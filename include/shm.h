/*
 * shm.h: the shared-memory segment the master creates before forking and every child
 * inherits (MAP_SHARED | MAP_ANONYMOUS, so nothing on disk and nothing to clean up).
 *
 * Layout: a header (server-wide state, one record per process slot, the collector's
 * state, the lock table), then one cache-line-aligned metrics slot per process slot, then
 * regions owned by other modules (rate-limit table, revocation set), each reached through
 * shm_region().
 *
 * Locks are spinlocks that store the owner's pid (as nginx's ngx_shmtx does), so the
 * master can release the locks of a process that died holding them.
 */
#ifndef STREAMD_SHM_H
#define STREAMD_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "metrics.h"

#define SHM_MAX_PROCS   (2 * STREAMD_MAX_WORKERS + 8)
#define SHM_NLOCKS      512

enum shm_kind {
	SHM_PROC_FREE = 0,
	SHM_PROC_WORKER,
	SHM_PROC_COLLECTOR
};

enum shm_region_id {
	SHM_REGION_RATELIMIT = 0,
	SHM_REGION_REVOKE,
	SHM_REGION_COUNT
};

/* Lock ranges per user. */
#define SHM_LOCKS_RATELIMIT     0       /* 256 stripes */
#define SHM_LOCKS_REVOKE        256     /* 64 stripes */
#define SHM_LOCK_SERVER         511     /* server-wide counters */

struct shm_proc {
	volatile int32_t        pid;            /* 0: slot free */
	int32_t                 kind;
	int32_t                 generation;
	int32_t                 worker_index;   /* 0..workers-1 within its generation */
	volatile int32_t        stopping;
	int32_t                 pad;
	int64_t                 started_ms;     /* wall clock */
	volatile int64_t        rss_bytes;      /* updated by the process itself */
	volatile int64_t        heartbeat_ms;   /* monotonic, updated every second */
};

struct shm_collector {
	volatile int32_t        up;             /* database open and writing */
	volatile int32_t        ready;          /* loaded persistent state into shm */
	volatile int64_t        heartbeat_ms;
	volatile int64_t        queue_depth;    /* records read, not yet committed */
	volatile int64_t        batches;        /* transactions committed */
	volatile int64_t        rows;           /* records committed */
	volatile int64_t        errors;         /* failed transactions */
	volatile int64_t        db_bytes;       /* database + WAL size */
	volatile int32_t        db_writable;
	volatile int32_t        pad;
	volatile int64_t        last_commit_ms;
	volatile int64_t        sessions_open;
};

struct shm_header {
	uint32_t                magic;
	uint32_t                version;
	size_t                  size;
	int32_t                 master_pid;
	volatile int32_t        generation;
	volatile int32_t        workers_configured;
	volatile int32_t        pad;
	int64_t                 start_time_ms;  /* wall clock at master start */
	volatile uint64_t       reloads;
	volatile uint64_t       reload_failures;
	volatile uint64_t       worker_restarts;
	volatile int64_t        connections;    /* server-wide open connections */
	struct shm_collector    collector;
	struct shm_proc         procs[SHM_MAX_PROCS];
	size_t                  region_off[SHM_REGION_COUNT];
	size_t                  region_len[SHM_REGION_COUNT];
	volatile int32_t        locks[SHM_NLOCKS];
};

/* Master: create the segment with room for the given regions. -1 on failure. */
int  shm_create(const size_t region_len[SHM_REGION_COUNT]);
/* Test helper and children: the mapping (NULL before shm_create). */
struct shm_header *shm_get(void);
struct metrics_slot *shm_slot(int proc);
void *shm_region(enum shm_region_id id, size_t *len);
void shm_destroy(void);

/* Slot handling (master only). Returns a free proc index or -1. */
int  shm_proc_alloc(void);
void shm_proc_release(int proc);
/* After a child died: release its locks and zero its gauges. */
void shm_proc_reap(int proc, pid_t pid);

void shm_lock(int idx);
void shm_unlock(int idx);

#endif

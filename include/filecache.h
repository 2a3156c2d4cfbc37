/*
 * filecache.h: the open-file cache of a worker. Maps a checked relative path to an open
 * descriptor, its stat and one refcounted libevent file segment covering the whole file,
 * so a hot file costs no open() or path walk per request. Bounded (LRU), each entry
 * re-checked against the path after `valid`. A file rewritten, truncated, replaced or
 * deleted is noticed at once: an inotify watch on each cached file drops its entry
 * (where inotify is not available, every use checks the descriptor with fstat).
 * Small files (FILECACHE_INLINE bytes or less, up to FILECACHE_INLINE_TOTAL per worker)
 * are also kept in memory, so their bodies go out with the headers in one write.
 *
 * Files are opened beneath the audio root with openat2(RESOLVE_BENEATH): a symlink that
 * leads out of the root fails to open, one that stays inside works.
 */
#ifndef STREAMD_FILECACHE_H
#define STREAMD_FILECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct evbuffer;
struct evbuffer_file_segment;
struct filecache;

#define FILECACHE_INLINE        (32 * 1024)
#define FILECACHE_INLINE_TOTAL  (4 * 1024 * 1024)

/* The bytes of a small file, shared by the cache and the responses that send them. */
struct filecache_data {
	int             refcnt;
	size_t          len;
	unsigned char   bytes[];
};

struct filecache_file {
	struct evbuffer_file_segment *seg;      /* whole file; NULL for an empty file */
	struct filecache_data *data;            /* the bytes, for small files, or NULL */
	int             fd;
	int64_t         size;
	time_t          mtime;
	int64_t         mtime_ns;               /* full resolution, for change checks */
	dev_t           dev;
	ino_t           ino;
	char            etag[64];               /* strong, quoted */
	char            last_modified[32];      /* HTTP-date */
};

enum filecache_result {
	FILECACHE_OK = 0,
	FILECACHE_NOT_FOUND,    /* missing, not a regular file, outside the root */
	FILECACHE_ERROR         /* out of descriptors or memory: 503 */
};

/* root: audio_root directory; max 0 disables caching (open per request). */
struct filecache *filecache_new(const char *root, int max, int64_t valid_ms);
void filecache_free(struct filecache *fc);

/*
 * Look up (or open) path, a relative path already checked by pathsafe. On success *out
 * points to a file valid until the next filecache call; a response that needs the data
 * later takes its own reference through the segment (evbuffer_add_file_segment).
 */
enum filecache_result filecache_get(struct filecache *fc, const char *path, size_t len,
    int64_t now_ms, const struct filecache_file **out, int *hit);
/* Drop a descriptor-less temporary (only when caching is off); safe on cached files. */
void filecache_release(struct filecache *fc, const struct filecache_file *f);

int  filecache_count(const struct filecache *fc);
/* The root directory is still there and readable. */
int  filecache_root_ok(const struct filecache *fc);
/* Reference len bytes of data from start into buf (no copy; released when sent). */
int  filecache_add_data(struct evbuffer *buf, struct filecache_data *data, size_t start,
    size_t len);
/* The inotify descriptor to watch for reading (-1 if none), and what to do then. */
int  filecache_notify_fd(const struct filecache *fc);
void filecache_notify(struct filecache *fc);

#endif

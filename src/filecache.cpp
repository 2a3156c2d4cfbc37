/*
 * filecache.cpp: open-file cache (see filecache.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "filecache.h"
#include "httpdate.h"
#include "log.h"

struct fc_entry {
	struct filecache_file   file;
	char                   *path;
	size_t                  pathlen;
	uint32_t                hash;
	int64_t                 checked_ms;
	int                     wd;             /* inotify watch, -1 if none */
	struct fc_entry        *hnext;          /* bucket chain */
	struct fc_entry        *prev, *next;    /* LRU, head = most recent */
};

struct filecache {
	int                     root_fd;
	char                   *root;
	char                    root_real[PATH_MAX];
	int                     max;
	int64_t                 valid_ms;
	int                     count;
	uint32_t                nbuckets;
	struct fc_entry       **buckets;
	struct fc_entry        *head, *tail;
	struct fc_entry         temp;           /* used when caching is off */
	int                     have_openat2;
	int                     inotify_fd;     /* -1: check with fstat on every use */
	size_t                  inline_bytes;   /* small files held in memory */
};

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF)

static uint32_t
fnv1a(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

struct filecache *
filecache_new(const char *root, int max, int64_t valid_ms)
{
	struct filecache *fc;

	if ((fc = (struct filecache *)calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	fc->temp.file.fd = -1;
	fc->temp.wd = -1;
	fc->inotify_fd = max > 0 ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
	fc->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fc->root_fd == -1) {
		log_warn("audio_root %s", root);
		free(fc);
		return NULL;
	}
	if (fc->inotify_fd == -1 && max > 0)
		log_info("inotify unavailable (%s): cached files are checked on every use",
		    strerror(errno));
	if (realpath(root, fc->root_real) == NULL)
		snprintf(fc->root_real, sizeof(fc->root_real), "%s", root);
	fc->root = strdup(root);
	fc->max = max;
	fc->valid_ms = valid_ms;
	fc->have_openat2 = 1;
	fc->nbuckets = 16;
	while (max > 0 && fc->nbuckets < (uint32_t)max * 2 && fc->nbuckets < (1u << 24))
		fc->nbuckets <<= 1;
	fc->buckets = (struct fc_entry **)calloc(fc->nbuckets, sizeof(struct fc_entry *));
	if (fc->buckets == NULL || fc->root == NULL) {
		filecache_free(fc);
		return NULL;
	}
	return fc;
}

static void
data_unref(struct filecache_data *d)
{
	if (--d->refcnt == 0)
		free(d);
}

static void
data_release(const void *bytes, size_t len, void *arg)
{
	(void)bytes; (void)len;
	data_unref((struct filecache_data *)arg);
}

int
filecache_add_data(struct evbuffer *buf, struct filecache_data *d, size_t start, size_t len)
{
	if (start + len > d->len)
		return -1;
	d->refcnt++;
	if (evbuffer_add_reference(buf, d->bytes + start, len, data_release, d) == -1) {
		d->refcnt--;
		return -1;
	}
	return 0;
}

static void
file_close(struct filecache *fc, struct filecache_file *f)
{
	if (f->data != NULL) {
		fc->inline_bytes -= f->data->len;
		data_unref(f->data);
		f->data = NULL;
	}
	if (f->seg != NULL)
		evbuffer_file_segment_free(f->seg);    /* closes fd after the last response */
	else if (f->fd >= 0)
		close(f->fd);
	f->seg = NULL;
	f->fd = -1;
}

static void
lru_unlink(struct filecache *fc, struct fc_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		fc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		fc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct filecache *fc, struct fc_entry *e)
{
	e->prev = NULL;
	e->next = fc->head;
	if (fc->head)
		fc->head->prev = e;
	fc->head = e;
	if (fc->tail == NULL)
		fc->tail = e;
}

/* Stop watching e, unless another entry shares its inode's watch. */
static void
unwatch(struct filecache *fc, struct fc_entry *e)
{
	struct fc_entry *o;

	if (e->wd < 0)
		return;
	for (o = fc->head; o != NULL; o = o->next)
		if (o != e && o->wd == e->wd)
			break;
	if (o == NULL)
		inotify_rm_watch(fc->inotify_fd, e->wd);
	e->wd = -1;
}

static void
entry_remove(struct filecache *fc, struct fc_entry *e)
{
	struct fc_entry **pp = &fc->buckets[e->hash & (fc->nbuckets - 1)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	unwatch(fc, e);
	lru_unlink(fc, e);
	file_close(fc, &e->file);
	free(e->path);
	free(e);
	fc->count--;
}

void
filecache_free(struct filecache *fc)
{
	if (fc == NULL)
		return;
	while (fc->head != NULL)
		entry_remove(fc, fc->head);
	file_close(fc, &fc->temp.file);
	if (fc->root_fd >= 0)
		close(fc->root_fd);
	if (fc->inotify_fd >= 0)
		close(fc->inotify_fd);
	free(fc->buckets);
	free(fc->root);
	free(fc);
}

/* Open path beneath the root; -1 with errno on failure (ENOENT for escapes). */
static int
open_beneath(struct filecache *fc, const char *path)
{
	struct open_how how;
	char proc[64], real[PATH_MAX];
	size_t rl;
	ssize_t n;
	int fd;

	if (fc->have_openat2) {
		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = (int)syscall(SYS_openat2, fc->root_fd, path, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
		fc->have_openat2 = 0;          /* old kernel or seccomp: check by hand */
	}
	fd = openat(fc->root_fd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	rl = strlen(fc->root_real);
	if (n <= 0 || (size_t)n <= rl || memcmp(real, fc->root_real, rl) != 0 ||
	    real[rl] != '/') {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

static void
fill_meta(struct filecache_file *f, const struct stat *st)
{
	unsigned long long mns = (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
	    (unsigned long long)st->st_mtim.tv_nsec;

	f->size = st->st_size;
	f->mtime = st->st_mtim.tv_sec;
	f->mtime_ns = (int64_t)mns;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	snprintf(f->etag, sizeof(f->etag), "\"%llx-%llx-%llx\"",
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_size, mns);
	httpdate_format(f->mtime, f->last_modified);
}

/* Keep a small file's bytes; a short read leaves it to sendfile. */
static void
file_inline(struct filecache *fc, struct filecache_file *f)
{
	ssize_t n;
	size_t got = 0;

	if (f->size <= 0 || f->size > FILECACHE_INLINE ||
	    fc->inline_bytes + (size_t)f->size > FILECACHE_INLINE_TOTAL)
		return;
	f->data = (struct filecache_data *)malloc(sizeof(*f->data) + (size_t)f->size);
	if (f->data == NULL)
		return;
	f->data->refcnt = 1;
	f->data->len = (size_t)f->size;
	while (got < (size_t)f->size) {
		n = pread(f->fd, f->data->bytes + got, (size_t)f->size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)f->size) {
		free(f->data);
		f->data = NULL;
		return;
	}
	fc->inline_bytes += (size_t)f->size;
}

/* Open and describe path into f. */
static enum filecache_result
file_open(struct filecache *fc, const char *path, struct filecache_file *f)
{
	struct stat st;
	int fd;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if ((fd = open_beneath(fc, path)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
			log_warn("open %s", path);
			return FILECACHE_ERROR;
		}
		return FILECACHE_NOT_FOUND;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return FILECACHE_NOT_FOUND;
	}
	f->fd = fd;
	fill_meta(f, &st);
	if (st.st_size > 0) {
		f->seg = evbuffer_file_segment_new(fd, 0, st.st_size, EVBUF_FS_CLOSE_ON_FREE);
		if (f->seg == NULL) {
			close(fd);
			f->fd = -1;
			return FILECACHE_ERROR;
		}
	}
	return FILECACHE_OK;
}

/* The open descriptor still describes what the path had when it was opened. */
static int
file_unchanged(const struct filecache_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) == -1)
		return 0;
	return st.st_nlink > 0 && st.st_size == f->size &&
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == f->mtime_ns;
}

/* The path still leads to the same file. */
static int
path_unchanged(struct filecache *fc, const struct fc_entry *e)
{
	struct stat st;

	if (fstatat(fc->root_fd, e->path, &st, 0) == -1)
		return 0;
	return st.st_dev == e->file.dev && st.st_ino == e->file.ino &&
	    st.st_size == e->file.size && st.st_mtim.tv_sec == e->file.mtime;
}

enum filecache_result
filecache_get(struct filecache *fc, const char *path, size_t len, int64_t now_ms,
    const struct filecache_file **out, int *hit)
{
	struct fc_entry *e;
	enum filecache_result r;
	uint32_t h;

	*hit = 0;
	if (fc->max == 0) {
		file_close(fc, &fc->temp.file);
		r = file_open(fc, path, &fc->temp.file);
		*out = &fc->temp.file;
		return r;
	}
	h = fnv1a(path, len);
	for (e = fc->buckets[h & (fc->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->pathlen == len && memcmp(e->path, path, len) == 0)
			break;
	if (e != NULL) {
		if ((e->wd < 0 && !file_unchanged(&e->file)) ||
		    (now_ms - e->checked_ms >= fc->valid_ms && !path_unchanged(fc, e))) {
			entry_remove(fc, e);
			e = NULL;
		} else {
			if (now_ms - e->checked_ms >= fc->valid_ms)
				e->checked_ms = now_ms;
			if (fc->head != e) {
				lru_unlink(fc, e);
				lru_push(fc, e);
			}
			*hit = 1;
			*out = &e->file;
			return FILECACHE_OK;
		}
	}
	if ((e = (struct fc_entry *)calloc(1, sizeof(*e))) == NULL)
		return FILECACHE_ERROR;
	e->wd = -1;
	if ((r = file_open(fc, path, &e->file)) != FILECACHE_OK) {
		free(e);
		return r;
	}
	/*
	 * Watch the file, through its descriptor (/proc/self/fd), so the watch is on the
	 * inode we serve whatever happens to the path meanwhile.
	 */
	if (fc->inotify_fd >= 0) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", e->file.fd);
		e->wd = inotify_add_watch(fc->inotify_fd, proc, WATCH_MASK);
		if (e->wd >= 0 && !file_unchanged(&e->file)) {
			/* changed between open and watch: serve it, but do not trust it */
			unwatch(fc, e);
		}
	}
	if (e->wd >= 0)
		file_inline(fc, &e->file);
	if ((e->path = (char *)malloc(len + 1)) == NULL) {
		file_close(fc, &e->file);
		free(e);
		return FILECACHE_ERROR;
	}
	memcpy(e->path, path, len);
	e->path[len] = '\0';
	e->pathlen = len;
	e->hash = h;
	e->checked_ms = now_ms;
	e->hnext = fc->buckets[h & (fc->nbuckets - 1)];
	fc->buckets[h & (fc->nbuckets - 1)] = e;
	lru_push(fc, e);
	fc->count++;
	while (fc->count > fc->max && fc->tail != NULL && fc->tail != e)
		entry_remove(fc, fc->tail);
	*out = &e->file;
	return FILECACHE_OK;
}

void
filecache_release(struct filecache *fc, const struct filecache_file *f)
{
	if (f == &fc->temp.file)
		file_close(fc, &fc->temp.file);
}

int
filecache_notify_fd(const struct filecache *fc)
{
	return fc->inotify_fd;
}

/* A watched file changed: forget every entry on that inode. */
void
filecache_notify(struct filecache *fc)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct fc_entry *e, *next;
	ssize_t n, off;

	for (;;) {
		n = read(fc->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (off = 0; off < n; off += (ssize_t)sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			for (e = fc->head; e != NULL; e = next) {
				next = e->next;
				if ((ev->mask & IN_Q_OVERFLOW) || e->wd == ev->wd) {
					if (ev->mask & IN_IGNORED)
						e->wd = -1;     /* the kernel dropped it already */
					entry_remove(fc, e);
				}
			}
		}
	}
}

int
filecache_count(const struct filecache *fc)
{
	return fc->count;
}

int
filecache_root_ok(const struct filecache *fc)
{
	struct stat st;

	return stat(fc->root, &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(fc->root, R_OK | X_OK) == 0;
}

/*
 * sessions.cpp: listening-session tracking (rules in sessions.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "sessions.h"
#include "streamd.h"
#include "util.h"

#define NBUCKETS 4096
#define PROBE_MAX 1024

struct sessions {
	int64_t         idle_ms;
	struct session *buckets[NBUCKETS];
	struct session *head;           /* most recently used first */
	int             count;
};

static uint32_t
hash2(const char *a, size_t alen, const char *b, size_t blen)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < alen; i++) {
		h ^= (unsigned char)a[i];
		h *= 16777619u;
	}
	h ^= 0xff;
	h *= 16777619u;
	for (i = 0; i < blen; i++) {
		h ^= (unsigned char)b[i];
		h *= 16777619u;
	}
	return h;
}

struct sessions *
sessions_new(int64_t idle_ms)
{
	struct sessions *s = (struct sessions *)calloc(1, sizeof(*s));

	if (s != NULL)
		s->idle_ms = idle_ms;
	return s;
}

void
sessions_set_idle(struct sessions *s, int64_t idle_ms)
{
	s->idle_ms = idle_ms;
}

static void
unlink_session(struct sessions *s, struct session *ss)
{
	uint32_t b = hash2(ss->listener, strlen(ss->listener), ss->path, strlen(ss->path)) %
	    NBUCKETS;
	struct session **pp = &s->buckets[b];

	while (*pp != NULL && *pp != ss)
		pp = &(*pp)->hnext;
	if (*pp == ss)
		*pp = ss->hnext;
	if (ss->prev)
		ss->prev->next = ss->next;
	else
		s->head = ss->next;
	if (ss->next)
		ss->next->prev = ss->prev;
	s->count--;
}

static void
free_session(struct session *ss)
{
	free(ss->user_agent);
	free(ss->path);
	free(ss);
}

void
sessions_free(struct sessions *s)
{
	struct session *ss, *next;

	if (s == NULL)
		return;
	for (ss = s->head; ss != NULL; ss = next) {
		next = ss->next;
		free_session(ss);
	}
	free(s);
}

static void
move_front(struct sessions *s, struct session *ss)
{
	if (s->head == ss)
		return;
	if (ss->prev)
		ss->prev->next = ss->next;
	if (ss->next)
		ss->next->prev = ss->prev;
	ss->prev = NULL;
	ss->next = s->head;
	if (s->head)
		s->head->prev = ss;
	s->head = ss;
}

/* Called for every record: built by hand, snprintf was a tenth of the collector's time. */
void
sessions_listener_key(const struct analytics_access *a, const char *client, char *out,
    size_t outsz)
{
	static const char hexd[] = "0123456789abcdef";
	struct text t = { out, out + outsz - 1 };       /* room for the NUL */
	char ua[8];
	uint32_t h;
	int i;

	if (outsz == 0)
		return;
	if (a->subject_len > 0) {
		TEXT_LIT(&t, "sub:");
		text_put(&t, a->subject, MIN(a->subject_len, 120));
	} else {
		h = hash2(a->user_agent ? a->user_agent : "", a->user_agent_len, "", 0);
		for (i = 7; i >= 0; i--, h >>= 4)
			ua[i] = hexd[h & 0xf];
		TEXT_LIT(&t, "ip:");
		text_str(&t, client);
		TEXT_LIT(&t, " ua:");
		text_put(&t, ua, 8);
	}
	*t.p = '\0';
}

/*
 * Merge [a, b) into the covered spans, kept sorted and disjoint (with a gap between
 * neighbours): the spans it overlaps or touches become one, in place. A player's session
 * meets this on every range request, so no sort (a qsort per record was a quarter of
 * the collector's instructions in the range benchmark, callgrind).
 */
static void
cover(struct session *ss, int64_t a, int64_t b)
{
	int64_t tmp[SESSION_MAX_SPANS + 1][2], (*sp)[2] = ss->spans;
	int n = ss->nspans, lo, hi, i, best;
	int64_t gap, bestgap;

	if (b <= a)
		return;
	for (lo = 0; lo < n && sp[lo][1] < a; lo++)
		;                               /* spans before lo end before a */
	for (hi = lo; hi < n && sp[hi][0] <= b; hi++)
		;                               /* [lo, hi) overlap or touch [a, b) */
	if (hi > lo) {
		sp[lo][0] = MIN(a, sp[lo][0]);
		sp[lo][1] = MAX(b, sp[hi - 1][1]);
		memmove(&sp[lo + 1], &sp[hi], sizeof(sp[0]) * (size_t)(n - hi));
		ss->nspans = n - (hi - lo - 1);
		return;
	}
	if (n < SESSION_MAX_SPANS) {
		memmove(&sp[lo + 1], &sp[lo], sizeof(sp[0]) * (size_t)(n - lo));
		sp[lo][0] = a;
		sp[lo][1] = b;
		ss->nspans = n + 1;
		return;
	}
	/* Full: join the two neighbours with the smallest gap (slightly over-counts). */
	memcpy(tmp, sp, sizeof(tmp[0]) * (size_t)lo);
	tmp[lo][0] = a;
	tmp[lo][1] = b;
	memcpy(&tmp[lo + 1], &sp[lo], sizeof(tmp[0]) * (size_t)(n - lo));
	n++;
	best = 0;
	bestgap = INT64_MAX;
	for (i = 0; i + 1 < n; i++) {
		gap = tmp[i + 1][0] - tmp[i][1];
		if (gap < bestgap) {
			bestgap = gap;
			best = i;
		}
	}
	tmp[best][1] = tmp[best + 1][1];
	memmove(&tmp[best + 1], &tmp[best + 2], sizeof(tmp[0]) * (size_t)(n - best - 2));
	memcpy(sp, tmp, sizeof(tmp[0]) * (size_t)(n - 1));
	ss->nspans = n - 1;
}

int64_t
session_covered(const struct session *ss)
{
	int64_t total = 0;
	int i;

	for (i = 0; i < ss->nspans; i++)
		total += ss->spans[i][1] - ss->spans[i][0];
	return total;
}

double
session_completion(const struct session *ss)
{
	double r;

	if (ss->file_size <= 0)
		return 0;
	r = (double)session_covered(ss) / (double)ss->file_size;
	return r > 1 ? 1 : r;
}

static struct session *
find(struct sessions *s, const char *listener, const char *path, size_t pathlen)
{
	uint32_t b = hash2(listener, strlen(listener), path, pathlen) % NBUCKETS;
	struct session *ss;

	for (ss = s->buckets[b]; ss != NULL; ss = ss->hnext)
		if (strcmp(ss->listener, listener) == 0 && strlen(ss->path) == pathlen &&
		    memcmp(ss->path, path, pathlen) == 0)
			return ss;
	return NULL;
}

static struct session *
create(struct sessions *s, const char *listener, const char *path, size_t pathlen)
{
	struct session *ss = (struct session *)calloc(1, sizeof(*ss));
	uint32_t b;

	if (ss == NULL)
		return NULL;
	snprintf(ss->listener, sizeof(ss->listener), "%s", listener);
	if ((ss->path = (char *)malloc(pathlen + 1)) == NULL) {
		free(ss);
		return NULL;
	}
	memcpy(ss->path, path, pathlen);
	ss->path[pathlen] = '\0';
	b = hash2(listener, strlen(listener), path, pathlen) % NBUCKETS;
	ss->hnext = s->buckets[b];
	s->buckets[b] = ss;
	ss->next = s->head;
	if (s->head)
		s->head->prev = ss;
	s->head = ss;
	s->count++;
	return ss;
}

struct session *
sessions_track(struct sessions *s, const struct analytics_access *a, const char *client,
    int64_t now_ms)
{
	char listener[160];
	struct session *ss;
	int64_t start, end, done_ms;

	(void)now_ms;
	if ((a->status != 200 && a->status != 206) || (a->flags & ANALYTICS_F_HEAD) ||
	    a->bytes == 0 || a->path_len == 0 || a->file_size < 0)
		return NULL;
	/* Only what a worker can send: offsets within the file, times after 1970. */
	if (a->range_start < -1 || a->bytes > (uint64_t)a->file_size ||
	    (a->range_start >= 0 && a->range_start > a->file_size - (int64_t)a->bytes) ||
	    a->ts_ms < 0 || a->ts_ms > ((int64_t)1 << 50))
		return NULL;
	sessions_listener_key(a, client, listener, sizeof(listener));
	start = a->range_start >= 0 ? a->range_start : 0;
	end = start + (int64_t)a->bytes;
	done_ms = a->ts_ms + a->duration_us / 1000;

	ss = find(s, listener, a->path, a->path_len);
	if (ss != NULL && a->ts_ms - ss->last_ms > s->idle_ms) {
		/* Too long a pause: the old one is stored; forget it, start afresh. */
		unlink_session(s, ss);
		free_session(ss);
		ss = NULL;
	}
	if (ss == NULL) {
		if ((ss = create(s, listener, a->path, a->path_len)) == NULL)
			return NULL;
		snprintf(ss->subject, sizeof(ss->subject), "%.*s", (int)a->subject_len,
		    a->subject ? a->subject : "");
		snprintf(ss->client, sizeof(ss->client), "%s", client);
		if (a->user_agent_len > 0 && (ss->user_agent = (char *)malloc(
		    a->user_agent_len + 1U)) != NULL) {
			memcpy(ss->user_agent, a->user_agent, a->user_agent_len);
			ss->user_agent[a->user_agent_len] = '\0';
		}
		ss->started_ms = a->ts_ms;
		ss->prev_start = -1;
		ss->prev_end = -1;
	} else {
		int probe = ss->prev_start == 0 && ss->prev_end <= 1024;
		if (start != ss->prev_end && !probe)
			ss->seeks++;
		if (a->ts_ms < ss->started_ms)
			ss->started_ms = a->ts_ms;
	}
	ss->requests++;
	ss->bytes += a->bytes;
	if (end > ss->max_offset)
		ss->max_offset = end;
	ss->file_size = a->file_size;
	cover(ss, start, end);
	ss->prev_start = start;
	ss->prev_end = end;
	if (done_ms > ss->last_ms)
		ss->last_ms = done_ms;
	ss->dirty = 1;
	move_front(s, ss);
	return ss;
}

struct session *
sessions_restore(struct sessions *s, const struct session *from)
{
	struct session *ss;

	if (find(s, from->listener, from->path, strlen(from->path)) != NULL)
		return NULL;
	ss = create(s, from->listener, from->path, strlen(from->path));
	if (ss == NULL)
		return NULL;
	ss->id = from->id;
	memcpy(ss->subject, from->subject, sizeof(ss->subject));
	memcpy(ss->client, from->client, sizeof(ss->client));
	if (from->user_agent != NULL)
		ss->user_agent = strdup(from->user_agent);
	ss->started_ms = from->started_ms;
	ss->last_ms = from->last_ms;
	ss->bytes = from->bytes;
	ss->max_offset = from->max_offset;
	ss->file_size = from->file_size;
	ss->seeks = from->seeks;
	ss->requests = from->requests;
	ss->prev_start = from->prev_start;
	ss->prev_end = from->prev_end;
	memcpy(ss->spans, from->spans, sizeof(ss->spans));
	ss->nspans = from->nspans;
	return ss;
}

int
sessions_expire(struct sessions *s, int64_t now_ms)
{
	struct session *ss, *prev;
	int n = 0;

	/* The list is ordered by use: expired ones gather at the tail. */
	for (ss = s->head; ss != NULL && ss->next != NULL; ss = ss->next)
		;
	while (ss != NULL && now_ms - ss->last_ms > s->idle_ms && !ss->dirty) {
		prev = ss->prev;
		unlink_session(s, ss);
		free_session(ss);
		n++;
		ss = prev;
	}
	return n;
}

int
sessions_active(struct sessions *s, int64_t now_ms)
{
	struct session *ss;
	int n = 0;

	for (ss = s->head; ss != NULL && n < 10000000; ss = ss->next) {
		if (now_ms - ss->last_ms > s->idle_ms)
			break;
		n++;
	}
	return n;
}

int
sessions_flush(struct sessions *s, int (*fn)(struct session *, void *), void *arg)
{
	struct session *ss;
	int n = 0;

	for (ss = s->head; ss != NULL; ss = ss->next) {
		if (!ss->dirty)
			continue;
		if (fn(ss, arg) == 0) {
			ss->dirty = 0;
			n++;
		}
	}
	return n;
}

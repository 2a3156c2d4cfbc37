/*
 * analytics.cpp: the worker's batched analytics queue (see analytics.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "analytics.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#define FLUSH_BYTES     (32 * 1024)
#define FLUSH_DELAY_US  (20 * 1000)
#define RETRY_DELAY_US  (100 * 1000)
#define SHRINK_ABOVE    (256 * 1024)

struct analytics_queue {
	struct worker  *w;
	int             fd;
	unsigned char  *buf;            /* encoded records, buf[start..len) pending */
	size_t          start, len, cap;
	size_t          records;        /* records pending */
	size_t          max_records;
	struct event   *timer;
};

/* ---------------------------------------------------------------- worker queue */

static void
arm(struct analytics_queue *q, long us)
{
	struct timeval tv = { 0, us };

	if (q->timer != NULL && !evtimer_pending(q->timer, NULL))
		evtimer_add(q->timer, &tv);
}

/* Send as many full datagrams as the socket takes. Returns -1 if it would block. */
static int
send_some(struct analytics_queue *q)
{
	unsigned char dgram[ANALYTICS_DGRAM_MAX];
	size_t pos, n;
	uint16_t count, reclen;
	ssize_t r;

	while (q->records > 0) {
		memcpy(dgram, ANALYTICS_MAGIC, 4);
		n = 8;
		count = 0;
		pos = q->start;
		while (pos < q->len && count < UINT16_MAX) {
			memcpy(&reclen, q->buf + pos, 2);
			if (n + reclen > sizeof(dgram))
				break;
			memcpy(dgram + n, q->buf + pos, reclen);
			n += reclen;
			pos += reclen;
			count++;
		}
		memcpy(dgram + 4, &count, 2);
		memset(dgram + 6, 0, 2);
		r = send(q->fd, dgram, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
			    errno == EINTR)
				return -1;
			log_warn("analytics: send");
			return -1;
		}
		q->start = pos;
		q->records -= count;
		if (q->records == 0 && q->cap > SHRINK_ABOVE) {
			/* A backlog is over: give its memory back. */
			free(q->buf);
			q->buf = NULL;
			q->cap = q->len = q->start = 0;
			return 0;
		}
		METRIC_ADD(q->w->m->analytics_send_batches, 1);
		METRIC_ADD(q->w->m->analytics_records, count);
	}
	q->start = q->len = 0;
	return 0;
}

static void
flush(struct analytics_queue *q)
{
	if (q->records == 0)
		return;
	if (send_some(q) == -1)
		arm(q, RETRY_DELAY_US);
	__atomic_store_n(&q->w->m->analytics_pending, (int64_t)q->records, __ATOMIC_RELAXED);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	flush((struct analytics_queue *)arg);
}

struct analytics_queue *
analytics_queue_new(struct worker *w, int fd)
{
	struct analytics_queue *q;

	if ((q = (struct analytics_queue *)calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->w = w;
	q->fd = fd;
	q->max_records = (size_t)w->conf->analytics_queue;
	q->timer = evtimer_new(w->base, timer_cb, q);
	return q;
}

void
analytics_queue_free(struct analytics_queue *q, int flush_all)
{
	struct pollfd pfd;
	int tries;

	if (q == NULL)
		return;
	for (tries = 0; q->records > 0 && tries < (flush_all ? 200 : 1); tries++) {
		if (send_some(q) == 0)
			break;
		pfd.fd = q->fd;
		pfd.events = POLLOUT;
		poll(&pfd, 1, 10);
	}
	if (q->records > 0) {
		log_warnx("analytics: %zu record(s) could not be handed to the collector",
		    q->records);
		METRIC_ADD(q->w->m->analytics_dropped, q->records);
	}
	__atomic_store_n(&q->w->m->analytics_pending, 0, __ATOMIC_RELAXED);
	if (q->timer != NULL)
		event_free(q->timer);
	free(q->buf);
	free(q);
}

static void
enqueue(struct analytics_queue *q, const unsigned char *rec, size_t n)
{
	size_t need;
	unsigned char *nb;

	if (n == 0)
		return;
	if (q->records >= q->max_records) {
		METRIC_ADD(q->w->m->analytics_dropped, 1);
		return;
	}
	if (q->start > 0 && q->start == q->len)
		q->start = q->len = 0;
	need = q->len + n;
	if (need > q->cap) {
		if (q->start > 0) {
			memmove(q->buf, q->buf + q->start, q->len - q->start);
			q->len -= q->start;
			q->start = 0;
			need = q->len + n;
		}
		if (need > q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 64 * 1024;
			while (cap < need)
				cap *= 2;
			if ((nb = (unsigned char *)realloc(q->buf, cap)) == NULL) {
				METRIC_ADD(q->w->m->analytics_dropped, 1);
				return;
			}
			q->buf = nb;
			q->cap = cap;
		}
	}
	memcpy(q->buf + q->len, rec, n);
	q->len += n;
	q->records++;
	if (q->len - q->start >= FLUSH_BYTES)
		flush(q);
	else
		arm(q, FLUSH_DELAY_US);
	__atomic_store_n(&q->w->m->analytics_pending, (int64_t)q->records, __ATOMIC_RELAXED);
}

static size_t
clen(const char *s)
{
	return s ? strnlen(s, 1024) : 0;
}

size_t
analytics_encode_request(struct worker *w, struct conn *c, uint64_t sent, uint64_t dur_us,
    int aborted, unsigned char *out)
{
	struct analytics_access a;
	struct evhttp_request *req = c->r.req;
	const char *ua, *ref;

	if (!w->conf->analytics || w->aq == NULL || c->r.route != ROUTE_STREAM || req == NULL)
		return 0;
	memset(&a, 0, sizeof(a));
	a.ts_ms = c->r.start_ms;
	a.duration_us = dur_us > UINT32_MAX ? UINT32_MAX : (uint32_t)dur_us;
	a.status = (uint16_t)c->r.status;
	a.flags = (uint8_t)((aborted ? ANALYTICS_F_ABORTED : 0) |
	    (c->r.head ? ANALYTICS_F_HEAD : 0));
	if (c->client.ss_family == AF_INET6) {
		a.family = 6;
		memcpy(a.addr, &((struct sockaddr_in6 *)&c->client)->sin6_addr, 16);
	} else if (c->client.ss_family == AF_INET) {
		a.family = 4;
		memcpy(a.addr, &((struct sockaddr_in *)&c->client)->sin_addr, 4);
	}
	a.bytes = sent;
	a.range_start = c->r.range_start;
	a.range_end = c->r.range_end;
	a.file_size = c->r.file_size;
	a.subject = c->r.subject;
	a.subject_len = (uint16_t)clen(c->r.subject);
	a.path = c->r.path;
	a.path_len = (uint16_t)clen(c->r.path);
	ua = http_in_hdr(req, HDR_USER_AGENT);
	ref = http_in_hdr(req, HDR_REFERER);
	a.user_agent = ua;
	a.user_agent_len = (uint16_t)MIN(clen(ua), 512);
	a.referrer = ref;
	a.referrer_len = (uint16_t)MIN(clen(ref), 512);
	return analytics_encode_access(&a, out, ANALYTICS_REC_MAX);
}

void
analytics_send(struct worker *w, const unsigned char *rec, size_t len)
{
	if (w->aq != NULL)
		enqueue(w->aq, rec, len);
}

void
analytics_revocation(struct worker *w, int kind, const char *id, int64_t exp)
{
	unsigned char rec[ANALYTICS_REC_MAX];
	struct analytics_revoke r;

	if (w->aq == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.exp = exp;
	r.id = id;
	r.id_len = (uint16_t)clen(id);
	enqueue(w->aq, rec, analytics_encode_revoke(&r, rec, sizeof(rec)));
	flush(w->aq);                   /* revocations go out at once */
}

void
analytics_tick(struct worker *w)
{
	if (w->aq != NULL && w->aq->records > 0)
		flush(w->aq);
}

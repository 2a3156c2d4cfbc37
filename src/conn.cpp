/*
 * conn.cpp: client connections of a worker (see conn.h): adoption after accept, limits,
 * timeouts, the close callback, and the completion of each request (access log,
 * metrics, analytics record).
 */
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/listener.h>

#include "accesslog.h"
#include "analytics.h"
#include "clientip.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "shm.h"
#include "sockio.h"
#include "worker.h"
#include "util.h"

#define READ_HIGH_WATER (64 * 1024)
#define STOP_GRACE_MS   1000
#define SETTLE_MIN      (256 * 1024)
#define WRITE_CHUNK     (1024 * 1024)

static void conn_closed(struct evhttp_connection *evcon, void *arg);
static void conn_request_done(struct conn *c, int aborted);
static void settle(struct conn *c, int closing);

static void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

/* Why accepting is off (bits of w->paused); it is on when none is set. */
#define PAUSE_LIMIT     0x01    /* max_connections reached, server-wide */
#define PAUSE_ERROR     0x02    /* accept() failed (EMFILE...): wait a little */

static void
listeners_pause(struct worker *w, int reason, int on)
{
	int i, was = w->paused;

	w->paused = on ? (w->paused | reason) : (w->paused & ~reason);
	if ((was == 0) == (w->paused == 0))
		return;
	for (i = 0; i < w->nlisteners; i++) {
		if (w->listeners[i].lev == NULL)
			continue;
		if (w->paused == 0)
			evconnlistener_enable(w->listeners[i].lev);
		else
			evconnlistener_disable(w->listeners[i].lev);
	}
}

static int
over_limit(struct worker *w)
{
	struct shm_header *h = shm_get();

	return h != NULL && __atomic_load_n(&h->connections, __ATOMIC_RELAXED) >=
	    w->conf->max_connections;
}

/*
 * The limit is server-wide and connections come and go in every worker, so each worker
 * also looks at the shared count ten times a second.
 */
void
conn_maybe_resume(struct worker *w)
{
	if (w->stopping)
		return;
	listeners_pause(w, PAUSE_LIMIT, over_limit(w));
}

static void
limit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	conn_maybe_resume((struct worker *)arg);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;

	(void)fd; (void)what;
	if (!w->stopping)
		listeners_pause(w, PAUSE_ERROR, 0);
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS...): stop trying for a while, do not spin. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct timeval tv = { 0, 500 * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	log_warnx("accept: %s; pausing accepts for 500ms", evutil_socket_error_to_string(err));
	listeners_pause(w, PAUSE_ERROR, 1);
	evtimer_add(w->ev_resume, &tv);
}

static void
count_connection(int delta)
{
	struct shm_header *h = shm_get();

	if (h != NULL)
		__atomic_add_fetch(&h->connections, delta, __ATOMIC_RELAXED);
}

/* evhttp asks for a bufferevent for each accepted connection. */
static struct bufferevent *
bevcb(struct event_base *base, void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct bufferevent *bev, **np;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	if (w->npending == w->pending_cap) {
		int cap = w->pending_cap ? w->pending_cap * 2 : 64;
		np = (struct bufferevent **)realloc(w->pending, sizeof(*np) * (size_t)cap);
		if (np == NULL) {
			bufferevent_free(bev);
			return NULL;
		}
		w->pending = np;
		w->pending_cap = cap;
	}
	bufferevent_incref(bev);
	w->pending[w->npending++] = bev;
	count_connection(1);
	METRIC_ADD(w->m->connections_total, 1);
	METRIC_ADD(w->m->connections_active, 1);
	event_active(w->ev_bind, 0, 0);
	if (over_limit(w))
		/* Stops the accept loop of the listener right after this connection. */
		listeners_pause(w, PAUSE_LIMIT, 1);
	return bev;
}

static void
arm_timer(struct conn *c, int64_t ms)
{
	struct timeval tv;

	ms_to_tv(ms, &tv);
	evtimer_add(c->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = (struct conn *)arg;

	(void)fd; (void)what;
	if (c->send_wait) {
		/* send_timeout: the client took nothing for that long */
		METRIC_ADD(c->w->m->timeouts_send, 1);
		evhttp_connection_free(c->evcon);       /* calls conn_closed */
		return;
	}
	if (c->phase == CONN_HEADER)
		METRIC_ADD(c->w->m->timeouts_header, 1);
	if (c->phase != CONN_BUSY)
		evhttp_connection_free(c->evcon);
}

/* The socket is full in the middle of a response: send_timeout runs from now (sockio). */
void
conn_send_blocked(struct conn *c)
{
	if (c->phase != CONN_BUSY || c->timer == NULL)
		return;
	arm_timer(c, c->w->conf->send_timeout);
	c->send_wait = 1;
}

/* ...and the output drained: no more send_timeout. */
void
conn_send_drained(struct conn *c)
{
	if (!c->send_wait)
		return;
	c->send_wait = 0;
	evtimer_del(c->timer);
}

/*
 * Bytes from the client: the first ones after an idle period start a header timer.
 * sockio calls this when it reads, instead of a callback on the input buffer: a buffer
 * without callbacks skips their dispatch on each of the ~8 changes a request makes.
 */
void
conn_input_arrived(struct conn *c)
{
	if (c->phase == CONN_IDLE) {
		c->phase = CONN_HEADER;
		arm_timer(c, c->w->conf->client_header_timeout);
	}
}

static int
fd_slot(struct worker *w, int fd)
{
	struct conn **n;
	int cap;

	if (fd < w->conn_cap)
		return 0;
	cap = w->conn_cap ? w->conn_cap : 1024;
	while (cap <= fd)
		cap *= 2;
	n = (struct conn **)realloc(w->conn_by_fd, sizeof(*n) * (size_t)cap);
	if (n == NULL)
		return -1;
	memset(n + w->conn_cap, 0, sizeof(*n) * (size_t)(cap - w->conn_cap));
	w->conn_by_fd = n;
	w->conn_cap = cap;
	return 0;
}

/* Adopt one accepted connection whose evhttp_connection now exists. */
static void
adopt(struct worker *w, struct bufferevent *bev)
{
	struct evhttp_connection *evcon;
	const struct sockaddr *sa;
	struct conn *c;
	void *arg = NULL;
	int fd;

	bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
	if (arg == NULL) {
		/* evhttp already dropped it (setup failed): it never reached us. */
		count_connection(-1);
		METRIC_ADD(w->m->connections_active, -1);
		return;
	}
	evcon = (struct evhttp_connection *)arg;
	fd = bufferevent_getfd(bev);
	if (fd < 0 || fd_slot(w, fd) == -1 ||
	    (c = (struct conn *)calloc(1, sizeof(*c))) == NULL) {
		count_connection(-1);
		METRIC_ADD(w->m->connections_active, -1);
		evhttp_connection_free(evcon);
		return;
	}
	c->w = w;
	c->evcon = evcon;
	c->bev = bev;
	c->fd = fd;
	sa = evhttp_connection_get_addr(evcon);
	if (sa != NULL) {
		c->peerlen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in);
		memcpy(&c->peer, sa, c->peerlen);
	} else {
		c->peer.ss_family = AF_UNSPEC;
	}
	clientip_text((const struct sockaddr *)&c->peer, c->peer_text, sizeof(c->peer_text));
	memcpy(&c->client, &c->peer, sizeof(c->client));
	memcpy(c->client_text, c->peer_text, sizeof(c->client_text));
	c->timer = evtimer_new(w->base, timer_cb, c);
	c->r.file_size = -1;
	c->r.range_start = -1;
	w->conn_by_fd[fd] = c;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	evhttp_connection_set_closecb(evcon, conn_closed, c);
	if (sockio_attach(c) == -1) {
		evhttp_connection_free(evcon);
		return;
	}
	/*
	 * bufferevents write at most 16 KB per wake-up by default: a large file would take
	 * one sendfile and one epoll round per 16 KB. Send up to WRITE_CHUNK at a time
	 * (nginx's sendfile_max_chunk is 2 MB), still fair to the other connections.
	 */
	bufferevent_set_max_single_write(bev, WRITE_CHUNK);
	/*
	 * Not a bufferevent watermark: that puts a callback on the input which re-enables
	 * reading (an event_add) on each of the ~8 changes a request makes to it, 4 % of a
	 * worker's instructions (callgrind). sockio reads, so it keeps the bound itself.
	 */
	c->read_high = (size_t)MAX(READ_HIGH_WATER, 2 * (w->conf->max_header_size +
	    w->conf->max_uri_length) + w->conf->max_body_size);
	c->phase = CONN_HEADER;
	if (c->timer != NULL)
		arm_timer(c, w->conf->client_header_timeout);

	if (c->timer == NULL || ratelimit_conn_open(w, c) == -1) {
		METRIC_ADD(w->m->connections_refused, 1);
		evhttp_connection_free(evcon);
		return;
	}
	/*
	 * Accepted in the same loop iteration as the stop signal: the client did nothing
	 * wrong, so it gets the same short grace as the others to send its request.
	 */
	if (w->stopping) {
		c->stop_grace = 1;
		arm_timer(c, MIN(STOP_GRACE_MS, w->conf->client_header_timeout));
	}
}

static void
bind_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct bufferevent *bev;
	int i, n = w->npending;

	(void)fd; (void)what;
	w->npending = 0;
	for (i = 0; i < n; i++) {
		bev = w->pending[i];
		adopt(w, bev);
		bufferevent_decref(bev);
	}
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = (struct conn *)arg;
	struct worker *w = c->w;

	(void)evcon;
	if (c->on_close != NULL)
		c->on_close(c->on_close_arg);
	if (c->phase == CONN_BUSY && c->r.req != NULL)
		conn_request_done(c, 1);
	settle(c, 1);
	ratelimit_conn_close(w, c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->fd >= 0 && c->fd < w->conn_cap && w->conn_by_fd[c->fd] == c)
		w->conn_by_fd[c->fd] = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	count_connection(-1);
	METRIC_ADD(w->m->connections_active, -1);
	/* evhttp frees the bufferevent (and closes the socket) after this returns. */
	sockio_detach(c);
	free(c->r.path);
	free(c->pend);
	c->r.path = NULL;
	c->pend = NULL;
	c->dead = 1;
	c->bev = NULL;
	c->evcon = NULL;
	if (c->hold == 0)
		free(c);
	if (w->paused)
		conn_maybe_resume(w);
	if (w->stopping && w->nconns == 0)
		event_active(w->ev_reap, 0, 0);
}

void
conn_hold(struct conn *c)
{
	c->hold++;
}

void
conn_release(struct conn *c)
{
	if (--c->hold == 0 && c->dead)
		free(c);
}

struct conn *
conn_of(struct worker *w, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	int fd;

	if (evcon == NULL)
		return NULL;
	bev = evhttp_connection_get_bufferevent(evcon);
	fd = bev ? bufferevent_getfd(bev) : -1;
	if (fd < 0 || fd >= w->conn_cap || w->conn_by_fd[fd] == NULL ||
	    w->conn_by_fd[fd]->evcon != evcon)
		return NULL;
	return w->conn_by_fd[fd];
}

static void
on_complete(struct evhttp_request *req, void *arg)
{
	struct conn *c = (struct conn *)arg;
	struct worker *w = c->w;
	int off = 0;

	(void)req;
	if (c->corked) {
		/* the body is all in the socket: let its last segment go */
		setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
		c->corked = 0;
	}
	conn_request_done(c, 0);
	c->phase = CONN_IDLE;
	if (c->eof)
		sockio_kick(c);         /* the client half-closed: evhttp hears it next */
	if (w->stopping) {
		event_active(w->ev_reap, 0, 0);
		return;
	}
	if (w->conf->keepalive_timeout > 0)
		arm_timer(c, w->conf->keepalive_timeout);
}

void
conn_request_begin(struct conn *c, struct evhttp_request *req)
{
	struct worker *w = c->w;

	evtimer_del(c->timer);
	settle(c, 0);                   /* asking again: it has read the last response */
	c->phase = CONN_BUSY;
	c->nrequests++;
	free(c->r.path);
	memset(&c->r, 0, sizeof(c->r));
	c->r.req = req;
	c->r.start_us = (uint64_t)clock_mono_us();
	c->r.start_ms = worker_now_ms(w);
	c->r.range_start = -1;
	c->r.range_end = -1;
	c->r.file_size = -1;
	c->r.route = ROUTE_OTHER;
	c->r.head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	evhttp_request_set_on_complete_cb(req, on_complete, c);
	if (c->nrequests >= w->conf->keepalive_requests || w->conf->keepalive_timeout == 0)
		http_out(req, "Connection", "close");
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "-";
}

/*
 * Bytes of the connection the client's TCP acknowledged, or -1 if unknown. What left our
 * output buffer only reached the socket buffer (megabytes on a fast link); the peer's
 * acknowledgements say what it received.
 */
static int64_t
acked_bytes(struct conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (c->fd < 0 || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
		return -1;
	return (int64_t)ti.tcpi_bytes_acked;
}

/* Body bytes received of a response that started after base bytes of the connection. */
static uint64_t
body_received(struct conn *c, uint64_t base, uint64_t header, uint64_t body)
{
	int64_t acked = acked_bytes(c);
	uint64_t left;

	if (acked >= 0) {
		if ((uint64_t)acked <= base + header)
			return 0;
		return MIN((uint64_t)acked - base - header, body);
	}
	left = c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
	return left >= body ? 0 : body - left;
}

/* Bytes written to the socket and not yet acknowledged (0 if unknown). */
static int
unacked(struct conn *c)
{
	int n = 0;

	if (c->fd < 0 || ioctl(c->fd, SIOCOUTQ, &n) == -1)
		return 0;
	return n;
}

/* Send the pending record: all of it if the client has it, else what TCP says. */
static void
settle(struct conn *c, int closing)
{
	uint64_t sent = c->pend_body;

	if (c->pend == NULL)
		return;
	if (closing)
		sent = body_received(c, c->pend_base, c->pend_header, c->pend_body);
	analytics_settle(c->pend, sent, sent < c->pend_body);
	analytics_send(c->w, c->pend, c->pend_len);
	free(c->pend);
	c->pend = NULL;
}

void
conn_tick(struct worker *w)
{
	struct conn *c;

	for (c = w->conns; c != NULL; c = c->next)
		if (c->pend != NULL && unacked(c) == 0)
			settle(c, 0);
}

/* The response finished (aborted = 0) or the connection went away during it. */
static void
conn_request_done(struct conn *c, int aborted)
{
	struct worker *w = c->w;
	struct conn_request *r = &c->r;
	struct evhttp_request *req = r->req;
	struct accesslog_entry e;
	unsigned char rec[ANALYTICS_REC_MAX];
	uint64_t sent = r->body_len, dur;
	size_t reclen;

	if (req == NULL)
		return;
	if (aborted) {
		sent = body_received(c, c->written, r->header_len, r->body_len);
		METRIC_ADD(w->m->aborted_responses, 1);
	}
	if (r->streaming) {
		METRIC_ADD(w->m->streams_active, -1);
		r->streaming = 0;
	}
	c->on_close = NULL;
	c->on_close_arg = NULL;
	dur = (uint64_t)clock_mono_us() - r->start_us;
	metrics_request(w->m, r->route, r->status, sent, dur);
	if (w->alog != NULL) {
		worker_update_time(w);
		memset(&e, 0, sizeof(e));
		e.addr = c->client_text;
		e.user = r->subject[0] ? r->subject : NULL;
		e.time = w->log_time;
		e.method = method_name(evhttp_request_get_command(req));
		e.uri = evhttp_request_get_uri(req);
		e.http_major = req->major;
		e.http_minor = req->minor;
		e.status = r->status;
		e.bytes = sent;
		e.referer = http_in_hdr(req, HDR_REFERER);
		e.user_agent = http_in_hdr(req, HDR_USER_AGENT);
		e.request_time = (double)dur / 1e6;
		accesslog_write(w->alog, &e);
	}
	if ((reclen = analytics_encode_request(w, c, sent, dur, aborted, rec)) > 0) {
		settle(c, 0);                   /* an older one still waiting: it got there */
		/*
		 * A small body is in the client's hands or nearly so: count it whole and
		 * save the system call. A large one may sit in socket buffers, not in the
		 * client: wait for the acknowledgements.
		 */
		if (!aborted && !r->head && r->body_len > SETTLE_MIN && unacked(c) > 0 &&
		    (c->pend = (unsigned char *)malloc(reclen)) != NULL) {
			memcpy(c->pend, rec, reclen);
			c->pend_len = reclen;
			c->pend_base = c->written;
			c->pend_header = r->header_len;
			c->pend_body = r->body_len;
		} else {
			analytics_send(w, rec, reclen);
		}
	}
	if (!aborted)
		c->written += r->header_len + (r->head ? 0 : r->body_len);
	r->req = NULL;
	free(r->path);
	r->path = NULL;
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;

	(void)fd; (void)what;
	if (w->stopping)
		conn_stop_all(w, 0);
}

/*
 * Stopping: idle keep-alive connections close now, busy ones when their response is done
 * (it carries "Connection: close"). A connection still sending its request gets a short
 * grace so that a client that connected just before the stop is answered, not reset.
 */
void
conn_stop_all(struct worker *w, int drop_busy)
{
	struct conn *c, *next;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (drop_busy || c->phase == CONN_IDLE) {
			evhttp_connection_free(c->evcon);
		} else if (c->phase == CONN_HEADER && !c->stop_grace) {
			c->stop_grace = 1;
			arm_timer(c, MIN(STOP_GRACE_MS, w->conf->client_header_timeout));
		}
	}
	/* Accepted but not adopted yet (bind_cb is about to run): not done either. */
	if (w->nconns == 0 && w->npending == 0)
		event_base_loopexit(w->base, NULL);
}

int
conn_init(struct worker *w)
{
	int i;

	w->ev_bind = event_new(w->base, -1, 0, bind_cb, w);
	w->ev_reap = event_new(w->base, -1, 0, reap_cb, w);
	w->ev_resume = evtimer_new(w->base, resume_cb, w);
	w->ev_limit = event_new(w->base, -1, EV_PERSIST, limit_cb, w);
	if (w->ev_bind == NULL || w->ev_reap == NULL || w->ev_resume == NULL ||
	    w->ev_limit == NULL)
		return -1;
	{
		struct timeval tenth = { 0, 100 * 1000 };
		event_add(w->ev_limit, &tenth);
	}
	evhttp_set_bevcb(w->http, bevcb, w);
	for (i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].lev != NULL)
			evconnlistener_set_error_cb(w->listeners[i].lev, accept_error_cb);
	return 0;
}

void
conn_shutdown(struct worker *w)
{
	if (w->ev_bind)
		event_free(w->ev_bind);
	if (w->ev_reap)
		event_free(w->ev_reap);
	if (w->ev_resume)
		event_free(w->ev_resume);
	if (w->ev_limit)
		event_free(w->ev_limit);
	w->ev_limit = NULL;
	free(w->pending);
	free(w->conn_by_fd);
	w->ev_bind = w->ev_reap = w->ev_resume = NULL;
	w->pending = NULL;
	w->conn_by_fd = NULL;
}

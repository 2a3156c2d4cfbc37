/*
 * sockio.cpp: the socket I/O of a client connection beneath evhttp (see sockio.h).
 *
 * The bufferevent keeps its buffers, callbacks and enable flags; its two events keep the
 * descriptor (so that bufferevent_getfd and the close on free still work) but no longer
 * watch it: they are re-assigned without EV_READ/EV_WRITE, so evhttp's enable and disable
 * calls touch no epoll state. The connection's own event watches the socket
 * edge-triggered, and this file does what bufferevent_readcb and bufferevent_writecb did:
 *
 *   read:  recv into a scratch buffer until a short read (the socket is then empty; the
 *          next byte raises a new edge), append to the input, stop at c->read_high
 *          bytes; then the read callback if reading is enabled. A FIN that came with the
 *          data raises no edge of its own: EPOLLRDHUP (EV_CLOSED) says to read on to it.
 *   write: write the output (writev, sendfile for file segments) until it is empty or the
 *          socket is full (then wait for the EPOLLOUT edge while conn.cpp runs
 *          send_timeout), at most max_single_write per turn; the write callback once it
 *          drained.
 *   EOF and read errors are told when evhttp is reading (read callback set, reading
 *   enabled) and has looked at what was buffered: a client that half-closes after its
 *   request still gets the whole response. Write errors are told at once.
 *
 * Callbacks can free the connection (evhttp_connection_free -> conn_closed): every entry
 * point holds c (conn_hold) and checks c->dead after each callback.
 *
 * libevent 2.1.12 facts this relies on (read in its source): a socket bufferevent keeps
 * its input frozen at the end and its output at the start between its own reads and
 * writes, so this file unfreezes around each; evbuffer_write_atmost returns 0, not -1,
 * when sendfile meets EAGAIN; bufferevent_trigger does not look at the enabled flags,
 * so the checks here do; an event without EV_READ/EV_WRITE never reaches epoll, whatever
 * its descriptor.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

#include "conn.h"
#include "sockio.h"
#include "worker.h"

/* Enough for any request head in one call; larger ones take a few. */
#define READ_SCRATCH    16384

static char scratch[READ_SCRATCH];      /* one loop per process: one buffer */

static void process(struct conn *c);

/*
 * The bufferevent's own events no longer watch the socket; they only fire if somebody
 * gives the bufferevent a timeout (streamd does not: send_timeout is conn.cpp's timer).
 * Then the connection ends the way a timed-out socket bufferevent ends it.
 */
static void
bev_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent *bev = (struct bufferevent *)arg;

	(void)fd; (void)what;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_trigger_event(bev, BEV_EVENT_READING | BEV_EVENT_WRITING | BEV_EVENT_TIMEOUT,
	    0);
}

static void
io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = (struct conn *)arg;

	(void)fd;
	if (what & EV_READ)
		c->readable = 1;
	if (what & EV_CLOSED)
		c->readable = c->rdhup = 1;     /* read on to the EOF, whatever is before it */
	if (what & EV_WRITE)
		c->writable = 1;
	conn_hold(c);
	process(c);
	conn_release(c);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = (struct conn *)arg;

	(void)fd; (void)what;
	c->kicked = 0;
	conn_hold(c);
	process(c);
	conn_release(c);
}

void
sockio_kick(struct conn *c)
{
	if (c->ev_kick == NULL || c->kicked || c->dead)
		return;
	c->kicked = 1;
	event_active(c->ev_kick, EV_WRITE, 0);
}

/* Output was added: write it later in this iteration, once the response is complete. */
static void
output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = (struct conn *)arg;

	(void)buf;
	if (info->n_added > 0 && !c->sending)
		sockio_kick(c);
}

/*
 * Reading stopped at c->read_high and evhttp consumed some input: go on. Registered only
 * while stopped there (evhttp may consume from its own deferred callback, which this file
 * does not see); otherwise the input has no callback to dispatch on each change.
 */
static void
input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = (struct conn *)arg;

	if (info->n_deleted == 0 || c->in_watch == NULL)
		return;
	evbuffer_remove_cb_entry(buf, c->in_watch);     /* safe inside its own call */
	c->in_watch = NULL;
	if (c->readable)
		sockio_kick(c);
}

/* Write the output. Returns -1 if the connection died in a callback. */
static int
do_write(struct conn *c)
{
	struct bufferevent *bev = c->bev;
	struct evbuffer *out = bufferevent_get_output(bev);
	ev_ssize_t budget = bufferevent_get_max_single_write(bev);
	int n, wrote = 0, err;

	if (c->werr)
		return 0;
	while (c->writable && budget > 0 && evbuffer_get_length(out) > 0) {
		evbuffer_unfreeze(out, 1);
		n = evbuffer_write_atmost(out, c->fd, budget);
		err = errno;
		evbuffer_freeze(out, 1);
		if (n > 0) {
			wrote = 1;
			budget -= n;
			continue;
		}
		/* 0: evbuffer's sendfile path says EAGAIN that way */
		if (n == 0 || err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
			if (n == 0 || err != EINTR)
				c->writable = 0;
			continue;
		}
		/* the peer is gone (EPIPE, ECONNRESET...): evhttp drops the connection */
		c->werr = 1;
		bufferevent_disable(bev, EV_WRITE);
		errno = err;
		bufferevent_trigger_event(bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, 0);
		return c->dead ? -1 : 0;
	}
	if (evbuffer_get_length(out) > 0) {
		if (!c->writable) {
			if (wrote || !c->send_wait)
				conn_send_blocked(c);
		} else if (!c->kicked && !c->dead) {
			/*
			 * Used its turn with the socket still writable (a fast reader): go on
			 * after the next poll, so that the other connections and new ones are
			 * served in between.
			 */
			struct timeval now = { 0, 0 };
			c->kicked = 1;
			event_add(c->ev_kick, &now);
		}
		return 0;
	}
	conn_send_drained(c);
	if (wrote && (bufferevent_get_enabled(bev) & EV_WRITE)) {
		bufferevent_trigger(bev, EV_WRITE, 0);
		if (c->dead)
			return -1;
	}
	return 0;
}

/* Read what the socket has into the input. Returns bytes added. */
static size_t
do_read(struct conn *c)
{
	struct bufferevent *bev = c->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t high = c->read_high, len, want, got = 0;
	ssize_t n;

	while (c->readable && !c->eof) {
		len = evbuffer_get_length(in);
		if (high != 0 && len >= high) {
			/* input_cb resumes once evhttp consumed some */
			if (c->in_watch == NULL)
				c->in_watch = evbuffer_add_cb(in, input_cb, c);
			break;
		}
		want = sizeof(scratch);
		if (high != 0 && high - len < want)
			want = high - len;
		n = recv(c->fd, scratch, want, 0);
		if (n > 0) {
			evbuffer_unfreeze(in, 0);
			evbuffer_add(in, scratch, (size_t)n);
			evbuffer_freeze(in, 0);
			got += (size_t)n;
			if ((size_t)n < want && !c->rdhup)
				c->readable = 0;        /* drained: the next byte is a new edge */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		c->readable = 0;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		c->eof = 1;
		c->rerr = n < 0 ? errno : 0;
	}
	return got;
}

/* Tell evhttp about EOF or a read error, when it is reading and has seen the input. */
static void
tell_eof(struct conn *c)
{
	struct bufferevent *bev = c->bev;
	bufferevent_data_cb readcb;

	if (!c->eof || c->eof_told)
		return;
	bufferevent_getcb(bev, &readcb, NULL, NULL, NULL);
	if (readcb == NULL || !(bufferevent_get_enabled(bev) & EV_READ))
		return;                 /* busy with a request: after its response */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* requests sent before the EOF are answered first */
		bufferevent_trigger(bev, EV_READ, 0);
		if (c->dead)
			return;
		bufferevent_getcb(bev, &readcb, NULL, NULL, NULL);
		if (readcb == NULL || !(bufferevent_get_enabled(bev) & EV_READ))
			return;
	}
	c->eof_told = 1;
	bufferevent_disable(bev, EV_READ);
	errno = c->rerr;
	bufferevent_trigger_event(bev, BEV_EVENT_READING |
	    (c->rerr ? BEV_EVENT_ERROR : BEV_EVENT_EOF), 0);
}

static void
process(struct conn *c)
{
	struct bufferevent *bev;

	if (c->dead)
		return;
	bev = c->bev;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 && do_write(c) == -1)
		return;
	if (c->readable && do_read(c) > 0) {
		conn_input_arrived(c);
		if (bufferevent_get_enabled(bev) & EV_READ) {
			bufferevent_trigger(bev, EV_READ, 0);
			if (c->dead)
				return;
		}
	}
	tell_eof(c);
}

void
sockio_flush(struct conn *c)
{
	if (c->ev_io == NULL || c->dead)
		return;
	conn_hold(c);
	do_write(c);
	conn_release(c);
}

void
sockio_sending(struct conn *c, int on)
{
	c->sending = on ? 1 : 0;
}

int
sockio_attach(struct conn *c)
{
	struct bufferevent *bev = c->bev;
	struct event_base *base = c->w->base;

	c->ev_io = event_new(base, c->fd, EV_READ | EV_WRITE | EV_CLOSED | EV_ET | EV_PERSIST,
	    io_cb, c);
	c->ev_kick = event_new(base, -1, 0, kick_cb, c);
	if (c->ev_io == NULL || c->ev_kick == NULL)
		goto fail;
	/* Not pending, as bufferevent_setfd leaves them (nothing reached epoll yet). */
	event_del(&bev->ev_read);
	event_del(&bev->ev_write);
	event_assign(&bev->ev_read, base, c->fd, EV_FINALIZE, bev_timeout, bev);
	event_assign(&bev->ev_write, base, c->fd, EV_FINALIZE, bev_timeout, bev);
	if (event_add(c->ev_io, NULL) == -1)
		goto fail;
	c->writable = 1;
	evbuffer_add_cb(bufferevent_get_output(bev), output_cb, c);
	/* The request may be in the input already (read before the hand-over). */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		sockio_kick(c);
	return 0;
fail:
	if (c->ev_io != NULL)
		event_free(c->ev_io);
	if (c->ev_kick != NULL)
		event_free(c->ev_kick);
	c->ev_io = c->ev_kick = NULL;
	return -1;
}

void
sockio_detach(struct conn *c)
{
	if (c->ev_io == NULL)
		return;
	evbuffer_remove_cb(bufferevent_get_output(c->bev), output_cb, c);
	if (c->in_watch != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_watch);
	c->in_watch = NULL;
	event_free(c->ev_io);
	event_free(c->ev_kick);
	c->ev_io = c->ev_kick = NULL;
}

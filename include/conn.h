/*
 * conn.h: one client connection of a worker, from accept to close: the count that
 * enforces max_connections, the header / keep-alive / send timeouts, the per-client
 * connection limit, and the request in flight (what the access log and analytics record
 * when it completes or is cut short).
 *
 * evhttp 2.1 has no connection hooks, so a connection is adopted in two steps: the
 * bufferevent callback (evhttp_set_bevcb) counts it and queues its bufferevent; an event
 * activated from there runs right after the accept loop, finds the evhttp_connection (the
 * bufferevent's callback argument), sets the close callback and hands the socket to
 * sockio.h, which reads and writes it from then on.
 */
#ifndef STREAMD_CONN_H
#define STREAMD_CONN_H

#include <stdint.h>
#include <sys/socket.h>

struct worker;
struct event;
struct bufferevent;
struct evhttp_connection;
struct evhttp_request;

enum conn_phase {
	CONN_HEADER = 0,        /* reading a request: client_header_timeout */
	CONN_IDLE,              /* between requests: keepalive_timeout */
	CONN_BUSY               /* request handed to a handler, reply in progress */
};

/* The request being served, as the logs and analytics see it. */
struct conn_request {
	struct evhttp_request  *req;
	int                     route;          /* enum metrics_route */
	int                     status;
	uint64_t                body_len;       /* body bytes queued for the client */
	uint64_t                header_len;     /* status line and header bytes */
	uint64_t                start_us;       /* monotonic */
	int64_t                 start_ms;       /* wall clock */
	int64_t                 range_start;    /* -1: not a range response */
	int64_t                 range_end;
	int64_t                 file_size;      /* -1: not a file */
	int                     rate_class;
	int                     head;
	int                     streaming;      /* counted in streams_active */
	char                    subject[128];   /* authenticated user, if any */
	char                   *path;           /* decoded file path (stream), malloc'd */
};

struct conn {
	struct worker          *w;
	struct evhttp_connection *evcon;
	struct bufferevent     *bev;
	int                     fd;
	struct sockaddr_storage peer;
	socklen_t               peerlen;
	char                    peer_text[48];
	struct sockaddr_storage client;         /* peer, or the address a trusted proxy sent */
	char                    client_text[48];
	enum conn_phase         phase;
	struct event           *timer;
	int                     nrequests;
	uint64_t                written;        /* bytes of the responses completed before */
	/*
	 * The analytics record of a response that left our buffers but not yet the
	 * socket: its byte count is settled when the client acknowledged everything,
	 * asks for more, or goes away (then from what TCP says it received).
	 */
	unsigned char          *pend;
	size_t                  pend_len;
	uint64_t                pend_base;      /* conn->written before that response */
	uint64_t                pend_header, pend_body;
	int                     client_counted; /* counted against max_client_connections */
	int                     stop_grace;     /* stopping: its last chance to send a request */
	int                     corked;         /* TCP_CORK set for a large body */
	/* The socket beneath the bufferevent (sockio.cpp). */
	struct event           *ev_io;          /* edge-triggered read and write */
	struct event           *ev_kick;        /* look again within this loop iteration */
	size_t                  read_high;      /* input reading stops at this many bytes */
	struct evbuffer_cb_entry *in_watch;     /* while stopped there: resume on a drain */
	unsigned                readable:1;     /* the socket may hold unread bytes */
	unsigned                writable:1;     /* the socket took the last write whole */
	unsigned                rdhup:1;        /* the peer shut its side: EOF is coming */
	unsigned                eof:1;          /* read EOF or an error (rerr) */
	unsigned                eof_told:1;     /* ...and evhttp knows */
	unsigned                werr:1;         /* a write failed: the peer is gone */
	unsigned                kicked:1;       /* ev_kick is active */
	unsigned                sending:1;      /* inside http_send: it flushes itself */
	unsigned                send_wait:1;    /* socket full: timer runs send_timeout */
	unsigned                dead:1;         /* closed; freed when hold drops to 0 */
	int                     rerr;
	int                     hold;
	/* A handler waiting on something else (stats query) learns that the client left. */
	void                  (*on_close)(void *arg);
	void                   *on_close_arg;
	struct conn_request     r;
	struct conn            *prev, *next;
};

/* Set up evhttp hooks and events of w. */
int  conn_init(struct worker *w);
void conn_shutdown(struct worker *w);
/* The connection a request arrived on (NULL if unknown). */
struct conn *conn_of(struct worker *w, struct evhttp_request *req);
/* A handler got the request: timers off, bookkeeping on. */
void conn_request_begin(struct conn *c, struct evhttp_request *req);
/* Stop accepting (stopping) and close idle connections; busy ones close when done. */
void conn_stop_all(struct worker *w, int drop_busy);
/* Re-enable accepting if below the limits. */
void conn_maybe_resume(struct worker *w);
/* sockio: bytes from the client arrived (the first after an idle period start a timer). */
void conn_input_arrived(struct conn *c);
/* The socket stopped taking a response's bytes (send_timeout runs) / took them all. */
void conn_send_blocked(struct conn *c);
void conn_send_drained(struct conn *c);
/* Keep c's memory while callbacks that may close it run (nests). */
void conn_hold(struct conn *c);
/* Undo conn_hold; frees c if it was closed meanwhile and nobody else holds it. */
void conn_release(struct conn *c);
/* Once a second: settle records whose data the clients have acknowledged. */
void conn_tick(struct worker *w);

#endif

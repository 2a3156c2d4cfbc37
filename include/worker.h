/*
 * worker.h: a worker process: one event_base, one evhttp, its own listening sockets
 * (SO_REUSEPORT, created by the master), and the per-process state the request handlers
 * share (file cache, signing key, metrics slot, access log, analytics queue).
 */
#ifndef STREAMD_WORKER_H
#define STREAMD_WORKER_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "conf.h"
#include "sign.h"

struct event_base;
struct event;
struct evhttp;
struct evhttp_bound_socket;
struct evconnlistener;
struct bufferevent;
struct filecache;
struct metrics_slot;
struct accesslog;
struct conn;
struct jwt_keys;
struct ratelimit;
struct analytics_queue;

#define WORKER_MAX_LISTEN 256

/* What the master hands a worker at fork. */
struct worker_args {
	struct conf                *conf;
	int                         index;          /* 0..workers-1 in its generation */
	int                         proc;           /* shared-memory slot */
	int                         generation;
	int                         listen_fds[WORKER_MAX_LISTEN];
	int                         nlisten;
	int                         master_fd;      /* read end: EOF when the master dies */
	int                         analytics_fd;   /* datagrams to the collector */
	const char                 *collector_path; /* abstract unix socket for queries */
};

struct worker_listener {
	int                         fd;
	struct evconnlistener      *lev;
	struct evhttp_bound_socket *bound;
};

struct worker {
	struct event_base          *base;
	struct evhttp              *http;
	struct conf                *conf;
	const struct worker_args   *args;
	int                         index;
	int                         proc;
	int                         generation;
	struct metrics_slot        *m;
	struct filecache           *fc;
	struct sign_key             key;
	struct accesslog           *alog;
	struct jwt_keys            *jwt;
	struct ratelimit           *rl;
	struct analytics_queue     *aq;

	struct worker_listener      listeners[WORKER_MAX_LISTEN];
	int                         nlisteners;
	int                         paused;         /* why listeners are disabled (bits) */

	/* connections (conn.cpp) */
	struct conn               **conn_by_fd;
	int                         conn_cap;
	struct conn                *conns;
	int                         nconns;
	struct bufferevent        **pending;        /* accepted, not yet bound */
	int                         npending, pending_cap;
	struct event               *ev_bind;
	struct event               *ev_reap;        /* close idle connections (stopping) */
	struct event               *ev_resume;      /* retry accepting after EMFILE */
	struct event               *ev_limit;       /* watch the server-wide connection count */

	int                         stopping;
	int                         quitting;
	struct event               *ev_tick;
	struct event               *ev_deadline;   /* shutdown_timeout while stopping */
	struct event               *ev_notify;     /* inotify: cached files changed */
	struct event               *ev_signals[4];
	struct event               *ev_master;

	/* cached per second */
	time_t                      now_sec;
	char                        date[32];       /* HTTP-date of now_sec */
	char                        log_time[40];   /* [25/Nov/2026:17:26:50 +0000] */
	uint64_t                    boundary_seq;
	uint64_t                    ticks;          /* seconds since start */
};

/* Runs the worker until it stops; returns the process exit status. */
int  worker_main(const struct worker_args *a);
/* The worker of this process (handlers reach shared state through it). */
struct worker *worker_get(void);
/* Wall clock in ms, from the loop's cached time where possible. */
int64_t worker_now_ms(struct worker *w);
/* Refresh cached Date strings if the second changed. */
void worker_update_time(struct worker *w);
/* Stop accepting; finish in-flight responses (graceful) or drop everything (quit). */
void worker_stop(struct worker *w, int quit);

#endif

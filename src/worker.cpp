/*
 * worker.cpp: a worker process (see worker.h): its event loop, listeners, signals, the
 * once-a-second housekeeping, graceful and immediate stop.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "accesslog.h"
#include "analytics.h"
#include "conn.h"
#include "evfast.h"
#include "filecache.h"
#include "httpdate.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "priv.h"
#include "ratelimit.h"
#include "router.h"
#include "shm.h"
#include "worker.h"
#include "util.h"

static struct worker the_worker;

struct worker *
worker_get(void)
{
	return &the_worker;
}

int64_t
worker_now_ms(struct worker *w)
{
	struct timeval tv;

	if (w->base == NULL || event_base_gettimeofday_cached(w->base, &tv) == -1)
		gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void
worker_update_time(struct worker *w)
{
	static const char *const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	time_t now = (time_t)(worker_now_ms(w) / 1000);
	struct tm tm;

	if (now == w->now_sec)
		return;
	w->now_sec = now;
	httpdate_format(now, w->date);
	gmtime_r(&now, &tm);
	snprintf(w->log_time, sizeof(w->log_time), "[%02d/%s/%04d:%02d:%02d:%02d +0000]",
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int64_t
rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (int64_t)rss * sysconf(_SC_PAGESIZE);
}

/*
 * The epoll change list applies the changes of one loop iteration together, folding
 * those that cancel out (a connection closed and its descriptor taken by the next
 * accept) into at most one epoll_ctl per descriptor.
 */
static struct event_base *
new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *b;

	if (cfg == NULL)
		return event_base_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return b != NULL ? b : event_base_new();
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct shm_header *h = shm_get();
	static int64_t last_flush;
	int64_t now = clock_mono_ms();

	(void)fd; (void)what;
	if (h != NULL) {
		h->procs[w->proc].heartbeat_ms = now;
		h->procs[w->proc].rss_bytes = rss_bytes();
	}
	if (w->fc != NULL)
		__atomic_store_n(&w->m->filecache_entries, filecache_count(w->fc),
		    __ATOMIC_RELAXED);
	if (w->alog != NULL && now - last_flush >= w->conf->access_log_flush) {
		accesslog_flush(w->alog);
		last_flush = now;
	}
	conn_tick(w);
	analytics_tick(w);
	/*
	 * Give freed memory back every few seconds: a burst of connections leaves holes
	 * in the heap that brk-trimming alone never returns.
	 */
	if (++w->ticks % 5 == 0)
		malloc_trim(0);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	filecache_notify(((struct worker *)arg)->fc);
}

static void
listeners_close(struct worker *w)
{
	int i;

	for (i = 0; i < w->nlisteners; i++) {
		if (w->listeners[i].bound != NULL)
			evhttp_del_accept_socket(w->http, w->listeners[i].bound);
		w->listeners[i].bound = NULL;
		w->listeners[i].lev = NULL;
	}
	w->nlisteners = 0;
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;

	(void)fd; (void)what;
	if (w->nconns > 0)
		log_notice("shutdown_timeout: closing %d connection(s) still busy", w->nconns);
	conn_stop_all(w, 1);
	event_base_loopexit(w->base, NULL);
}

void
worker_stop(struct worker *w, int quit)
{
	struct shm_header *h = shm_get();
	struct timeval tv;

	if (quit) {
		w->quitting = 1;
		w->stopping = 1;
		listeners_close(w);
		conn_stop_all(w, 1);
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (w->stopping)
		return;
	w->stopping = 1;
	if (h != NULL)
		h->procs[w->proc].stopping = 1;
	listeners_close(w);
	conn_stop_all(w, 0);
	tv.tv_sec = (time_t)(w->conf->shutdown_timeout / 1000);
	tv.tv_usec = (suseconds_t)(w->conf->shutdown_timeout % 1000 * 1000);
	w->ev_deadline = evtimer_new(w->base, deadline_cb, w);
	if (w->ev_deadline != NULL)
		evtimer_add(w->ev_deadline, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		worker_stop(w, 0);
		break;
	case SIGQUIT:
		worker_stop(w, 1);
		break;
	case SIGUSR1:
		log_reopen();
		accesslog_reopen(w->alog);
		break;
	}
}

static void
master_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = (struct worker *)arg;
	char buf[64];
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		/* The master is gone: free the port now, finish quickly, exit. */
		log_warnx("master process exited; stopping");
		event_del(w->ev_master);
		w->conf->shutdown_timeout = MIN(w->conf->shutdown_timeout, 2000);
		worker_stop(w, 0);
	}
}

static int
setup_http(struct worker *w, const struct worker_args *a)
{
	struct conf *c = w->conf;
	struct evconnlistener *lev;
	int i;

	if ((w->http = evhttp_new(w->base)) == NULL)
		return -1;
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	/*
	 * evhttp answers 400 past its own header limit; ours (414/431 in router.cpp) is
	 * checked first for anything up to four times the configured sizes.
	 */
	evhttp_set_max_headers_size(w->http, (ev_ssize_t)(4 * (c->max_header_size +
	    c->max_uri_length)));
	evhttp_set_max_body_size(w->http, (ev_ssize_t)c->max_body_size);
	/*
	 * No default: every handler names its Content-Type, and the stream handler's packed
	 * header entry (stream.cpp) carries it where evhttp cannot see it by name.
	 */
	evhttp_set_default_content_type(w->http, NULL);
	evhttp_set_gencb(w->http, router_handle, w);
	for (i = 0; i < a->nlisten; i++) {
		lev = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, 0, a->listen_fds[i]);
		if (lev == NULL)
			return -1;
		w->listeners[w->nlisteners].fd = a->listen_fds[i];
		w->listeners[w->nlisteners].lev = lev;
		w->listeners[w->nlisteners].bound = evhttp_bind_listener(w->http, lev);
		if (w->listeners[w->nlisteners].bound == NULL) {
			evconnlistener_free(lev);
			return -1;
		}
		w->nlisteners++;
	}
	return conn_init(w);
}

int
worker_main(const struct worker_args *a)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1 };
	struct worker *w = &the_worker;
	struct shm_header *h = shm_get();
	struct timeval one = { 1, 0 };
	char ident[32], err[512];
	int i, rc = 0;

	memset(w, 0, sizeof(*w));
	w->conf = a->conf;
	w->args = a;
	w->index = a->index;
	w->proc = a->proc;
	w->generation = a->generation;
	w->m = shm_slot(a->proc);
	snprintf(ident, sizeof(ident), "worker %d", a->index);
	log_set_ident(ident);
	signal(SIGPIPE, SIG_IGN);

	if ((w->base = new_base()) == NULL)
		fatalx("event_base_new failed");
	if (w->conf->access_log != NULL) {
		w->alog = accesslog_open(w->conf->access_log, (size_t)w->conf->access_log_buffer,
		    err, sizeof(err));
		if (w->alog == NULL)
			log_warnx("%s", err);
	}
	w->fc = filecache_new(w->conf->audio_root, w->conf->open_file_cache_max,
	    w->conf->open_file_cache_valid);
	if (w->fc == NULL)
		fatalx("cannot open audio_root %s", w->conf->audio_root);
	if (sign_key_init(&w->key, w->conf->secret_key, w->conf->secret_key_len) == -1)
		fatalx("cannot set up the signing key");
	if (priv_drop(w->conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	w->jwt = jwt_keys_load(w->conf, err, sizeof(err));
	if (w->jwt == NULL && err[0] != '\0')
		log_warnx("%s", err);           /* the master checked it; keep serving URLs */
	w->rl = ratelimit_attach(w->conf);
	if ((w->aq = analytics_queue_new(w, a->analytics_fd)) == NULL)
		fatalx("cannot allocate the analytics queue");
	if (setup_http(w, a) == -1)
		fatalx("cannot set up HTTP on the listening sockets");

	for (i = 0; i < 4; i++) {
		w->ev_signals[i] = evsignal_new(w->base, sigs[i], signal_cb, w);
		evsignal_add(w->ev_signals[i], NULL);
	}
	signal(SIGHUP, SIG_IGN);
	if (a->master_fd >= 0) {
		w->ev_master = event_new(w->base, a->master_fd, EV_READ | EV_PERSIST, master_cb, w);
		event_add(w->ev_master, NULL);
	}
	if (filecache_notify_fd(w->fc) >= 0) {
		w->ev_notify = event_new(w->base, filecache_notify_fd(w->fc), EV_READ | EV_PERSIST,
		    notify_cb, w);
		event_add(w->ev_notify, NULL);
	}
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	event_add(w->ev_tick, &one);
	tick_cb(-1, 0, w);
	if (h != NULL)
		h->procs[w->proc].heartbeat_ms = clock_mono_ms();
	log_info("serving on %d socket(s), generation %d", w->nlisteners, w->generation);
	log_debug("evhttp's formatting and header-name compares: %s", evfast_active() ?
	    "streamd's (evfast)" : "libevent's own");

	if (event_base_dispatch(w->base) == -1)
		rc = 1;

	/* Close what is left (each records its request), then hand the last records over. */
	listeners_close(w);
	evhttp_free(w->http);
	w->http = NULL;
	analytics_queue_free(w->aq, !w->quitting);
	accesslog_close(w->alog);
	conn_shutdown(w);
	for (i = 0; i < 4; i++)
		if (w->ev_signals[i])
			event_free(w->ev_signals[i]);
	if (w->ev_master)
		event_free(w->ev_master);
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_deadline)
		event_free(w->ev_deadline);
	if (w->ev_notify)
		event_free(w->ev_notify);
	filecache_free(w->fc);
	sign_key_free(&w->key);
	jwt_keys_free(w->jwt);
	ratelimit_detach(w->rl);
	event_base_free(w->base);
	log_info("exiting");
	return rc;
}

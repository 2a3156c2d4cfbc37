/*
 * collector.cpp: the collector process (see collector.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "record.h"
#include "collector.h"
#include "conf.h"
#include "log.h"
#include "priv.h"
#include "revoke.h"
#include "sessions.h"
#include "shm.h"
#include "store.h"
#include "util.h"

#define QUERY_MAX       (64 * 1024)
#define READS_PER_WAKE  256
#define QUERY_DELAY_US  40000   /* > the workers' analytics flush delay (20 ms) */

struct collector {
	const struct collector_args *a;
	struct conf                *conf;
	struct event_base          *base;
	struct store               *store;
	struct sessions            *sessions;
	struct shm_collector       *st;
	struct shm_proc            *me;
	struct event               *ev_records, *ev_flush, *ev_tick, *ev_master, *ev_sig[4];
	struct evconnlistener      *query;
	int                         in_txn;
	int64_t                     pending;        /* records in the open transaction */
	int                         sessions_touched;       /* unsaved session changes */
	int64_t                     sessions_saved_ms;
	int                         reading;
	int                         stopping;
	int64_t                     last_purge_ms;
	int64_t                     last_open_try;
	unsigned char               dgram[ANALYTICS_DGRAM_MAX + 1024];
};

static struct collector C;

/* Is the database somewhere we may write (see health.cpp for the same rule)? */
static int
writable(void)
{
	struct stat st;

	if (C.conf->database == NULL)
		return 0;
	if (stat(C.conf->database, &st) == 0)
		return (st.st_mode & 0222) != 0 && access(C.conf->database, W_OK) == 0;
	return 1;
}

static int
save_session(struct session *ss, void *arg)
{
	(void)arg;
	return store_save_session(C.store, ss);
}

static int begin(void);

/*
 * Commit the open transaction. Session rows change with nearly every record but are read
 * only by people: under load they are saved once per analytics_flush, not per batch (a
 * seventh of the collector's time went to rewriting the same rows). all: save them now
 * (stop, stats query, flush timer).
 */
static void
commit(int all)
{
	int64_t now = clock_mono_ms();
	int save = C.sessions_touched &&
	    (all || now - C.sessions_saved_ms >= C.conf->analytics_flush);

	if (!C.in_txn && (!save || C.store == NULL || begin() == -1))
		return;
	if (save) {
		sessions_flush(C.sessions, save_session, NULL);
		C.sessions_touched = 0;
		C.sessions_saved_ms = now;
	}
	if (store_commit(C.store) == -1) {
		log_error("analytics: commit of %lld record(s) failed: %s", (long long)C.pending,
		    store_error(C.store));
		store_rollback(C.store);
		C.st->errors++;
		C.st->db_writable = 0;
	} else {
		C.st->batches++;
		C.st->rows += C.pending;
		C.st->last_commit_ms = now;
		C.st->db_writable = 1;
	}
	C.in_txn = 0;
	C.pending = 0;
	C.st->queue_depth = 0;
}

static int
begin(void)
{
	if (C.in_txn)
		return 0;
	if (store_begin(C.store) == -1) {
		log_error("analytics: begin: %s", store_error(C.store));
		C.st->errors++;
		return -1;
	}
	C.in_txn = 1;
	return 0;
}

static void
client_text(const struct analytics_access *a, char *out, size_t outsz)
{
	struct text t = { out, out + outsz - 1 };       /* room for the NUL */
	int i;

	if (a->family == 4 && outsz >= 16) {
		/* inet_ntop goes through sprintf: this is one record's largest cost after SQLite */
		for (i = 0; i < 4; i++) {
			if (i > 0)
				TEXT_LIT(&t, ".");
			text_u64(&t, a->addr[i]);
		}
		*t.p = '\0';
	} else if (a->family == 6) {
		inet_ntop(AF_INET6, a->addr, out, (socklen_t)outsz);
	} else {
		snprintf(out, outsz, "-");
	}
}

static void
on_access(const struct analytics_access *a, void *arg)
{
	struct session *ss;
	char client[48];
	int64_t track = 0;

	(void)arg;
	client_text(a, client, sizeof(client));
	if (a->path_len > 0)
		track = store_track_id(C.store, a->path, a->path_len);
	ss = sessions_track(C.sessions, a, client, clock_wall_ms());
	if (ss != NULL && ss->id == 0 && store_save_session(C.store, ss) == -1)
		log_warnx("analytics: session: %s", store_error(C.store));
	if (store_insert_request(C.store, a, client, track, ss ? ss->id : 0) == -1)
		log_warnx("analytics: insert: %s", store_error(C.store));
	C.pending++;
	C.sessions_touched = 1;
}

static void
on_revoke(const struct analytics_revoke *r, void *arg)
{
	char id[1100];

	(void)arg;
	snprintf(id, sizeof(id), "%.*s", (int)r->id_len, r->id);
	revoke_add(r->kind, id, r->exp, clock_wall_ms() / 1000);
	if (store_revoke(C.store, r->kind, r->id, r->id_len, r->exp, clock_wall_ms()) == -1)
		log_warnx("analytics: revocation: %s", store_error(C.store));
}

/* Read what the socket holds (up to max datagrams); returns how many were read. */
static int
read_records(int max)
{
	ssize_t n;
	int count = 0;

	while (count < max) {
		n = recv(C.a->records_fd, C.dgram, sizeof(C.dgram), MSG_DONTWAIT);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("analytics: recv");
			break;
		}
		if (n == 0)
			break;
		if (begin() == -1)
			break;
		if (analytics_decode(C.dgram, (size_t)n, on_access, on_revoke, NULL) == -1)
			log_warnx("analytics: malformed datagram of %zd bytes dropped", n);
		count++;
		C.st->queue_depth = C.pending;
		if (C.pending >= C.conf->analytics_batch)
			commit(0);
	}
	return count;
}

static void
records_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	read_records(READS_PER_WAKE);
}

static void
set_reading(int on)
{
	if (on && !C.reading && C.store != NULL)
		event_add(C.ev_records, NULL);
	else if (!on && C.reading)
		event_del(C.ev_records);
	C.reading = on && C.store != NULL;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	commit(1);
}

static void
load_revocation(int kind, const char *id, int64_t exp, void *arg)
{
	(void)arg;
	revoke_add(kind, id, exp, clock_wall_ms() / 1000);
}

static void
try_open(void)
{
	char err[512];
	int n;

	C.last_open_try = clock_mono_ms();
	if (!C.conf->analytics || C.conf->database == NULL)
		return;
	C.store = store_open(C.conf->database, err, sizeof(err));
	if (C.store == NULL) {
		log_error("analytics: %s; retrying in 5 s", err);
		C.st->up = 0;
		C.st->db_writable = 0;
		return;
	}
	n = store_load_revocations(C.store, clock_wall_ms() / 1000, load_revocation, NULL);
	if (n > 0)
		log_info("loaded %d revocation(s)", n);
	n = store_load_sessions(C.store, clock_wall_ms() - C.conf->session_idle, C.sessions);
	if (n > 0)
		log_info("resumed %d listening session(s)", n);
	C.st->up = 1;
	C.st->db_writable = writable();
	C.st->db_bytes = store_size(C.store);
	log_info("analytics database %s open", C.conf->database);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = clock_mono_ms(), wall = clock_wall_ms();

	(void)fd; (void)what; (void)arg;
	C.me->heartbeat_ms = now;
	C.st->heartbeat_ms = now;
	if (C.store == NULL) {
		if (now - C.last_open_try >= 5000 && !C.stopping) {
			try_open();
			if (C.store != NULL)
				set_reading(1);
		}
		return;
	}
	C.st->db_bytes = store_size(C.store);
	if (!writable()) {
		if (C.st->db_writable)
			log_error("analytics: database %s is read-only; records wait",
			    C.conf->database);
		C.st->db_writable = 0;
		commit(1);
		set_reading(0);
	} else {
		C.st->db_writable = 1;
		set_reading(1);
	}
	sessions_expire(C.sessions, wall);
	C.st->sessions_open = sessions_active(C.sessions, wall);
	if (now - C.last_purge_ms >= 3600 * 1000 || C.last_purge_ms == 0) {
		commit(1);
		if (store_purge(C.store, C.conf->analytics_retention > 0 ?
		    wall - C.conf->analytics_retention : 0, wall / 1000) == -1)
			log_warnx("analytics: purge: %s", store_error(C.store));
		revoke_purge(wall / 1000);
		C.last_purge_ms = now;
	}
}

/* Drain the socket completely and commit: used when stopping. */
static void
drain_all(void)
{
	int n;

	if (C.store == NULL || !writable())
		return;
	do {
		n = read_records(1 << 30);
	} while (n > 0);
	commit(1);
}

static void
stop(void)
{
	if (C.stopping)
		return;
	C.stopping = 1;
	drain_all();
	event_base_loopexit(C.base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what; (void)arg;
	if (sig == SIGUSR1) {
		log_reopen();
		return;
	}
	stop();
}

static void
master_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[16];
	ssize_t n;

	(void)what; (void)arg;
	n = read(fd, buf, sizeof(buf));
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		log_warnx("master process exited; committing and stopping");
		event_del(C.ev_master);
		stop();
	}
}

/* ---------------------------------------------------------------- queries */

static void
reply(struct bufferevent *bev, const char *json)
{
	uint32_t len = (uint32_t)strlen(json);

	bufferevent_write(bev, &len, sizeof(len));
	bufferevent_write(bev, json, len);
}

static void
query_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void query_event(struct bufferevent *bev, short what, void *arg);

struct stats_query {
	struct bufferevent *bev;
	int64_t             from, to;
	int                 limit;
};

/*
 * Answer after a short delay: a worker hands records over at most ANALYTICS_FLUSH_DELAY
 * after the response ends, so the wait lets the stats include every request that
 * finished before the query was sent.
 */
static void
stats_answer(evutil_socket_t fd, short what, void *arg)
{
	struct stats_query *sq = (struct stats_query *)arg;
	char *out;

	(void)fd; (void)what;
	bufferevent_setcb(sq->bev, NULL, query_written, query_event, NULL);
	if (C.store == NULL) {
		reply(sq->bev, "{\"error\":\"analytics database unavailable\"}");
	} else {
		if (writable())
			read_records(1 << 30);
		commit(1);
		out = store_stats(C.store, sq->from, sq->to, sq->limit, C.conf->session_idle);
		if (out != NULL) {
			reply(sq->bev, out);
			free(out);
		} else {
			reply(sq->bev, "{\"error\":\"query failed\"}");
		}
	}
	free(sq);
}

static void
query_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct timeval delay = { 0, QUERY_DELAY_US };
	struct stats_query *sq;
	uint32_t len;
	char *text;
	cJSON *req, *op, *from, *to, *limit;

	(void)arg;
	if (evbuffer_get_length(in) < sizeof(len))
		return;
	evbuffer_copyout(in, &len, sizeof(len));
	if (len > QUERY_MAX) {
		bufferevent_free(bev);
		return;
	}
	if (evbuffer_get_length(in) < sizeof(len) + len)
		return;
	evbuffer_drain(in, sizeof(len));
	if ((text = (char *)malloc(len + 1)) == NULL) {
		bufferevent_free(bev);
		return;
	}
	evbuffer_remove(in, text, len);
	text[len] = '\0';
	req = cJSON_Parse(text);
	free(text);
	op = cJSON_GetObjectItemCaseSensitive(req, "op");
	from = cJSON_GetObjectItemCaseSensitive(req, "from");
	to = cJSON_GetObjectItemCaseSensitive(req, "to");
	limit = cJSON_GetObjectItemCaseSensitive(req, "limit");
	/* Nothing to hear from the peer while the answer is prepared. */
	bufferevent_setcb(bev, NULL, query_written, query_event, NULL);
	bufferevent_disable(bev, EV_READ);
	if (!cJSON_IsString(op) || strcmp(op->valuestring, "stats") != 0 ||
	    !cJSON_IsNumber(from) || !cJSON_IsNumber(to) || !cJSON_IsNumber(limit) ||
	    (sq = (struct stats_query *)calloc(1, sizeof(*sq))) == NULL) {
		reply(bev, "{\"error\":\"bad query\"}");
	} else {
		sq->bev = bev;
		sq->from = (int64_t)from->valuedouble;
		sq->to = (int64_t)to->valuedouble;
		sq->limit = (int)limit->valuedouble;
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
		if (event_base_once(C.base, -1, EV_TIMEOUT, stats_answer, sq, &delay) == -1)
			stats_answer(-1, 0, sq);
	}
	cJSON_Delete(req);
}

static void
query_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what; (void)arg;
	bufferevent_free(bev);
}

static void
query_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct bufferevent *bev;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct timeval tv = { 10, 0 };

	(void)lev; (void)sa; (void)len; (void)arg;
	/* The socket name is visible to every local user: only our own user may ask. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
	    cred.uid != geteuid()) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(C.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, query_read, NULL, query_event, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---------------------------------------------------------------- main */

int
collector_main(const struct collector_args *a)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1 };
	struct shm_header *h = shm_get();
	struct timeval flush_tv, one = { 1, 0 };
	char err[512];
	int i;

	memset(&C, 0, sizeof(C));
	C.a = a;
	C.conf = a->conf;
	C.st = &h->collector;
	C.me = &h->procs[a->proc];
	log_set_ident("collector");
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Analytics must never slow streaming down: on a busy machine the workers come
	 * first and records wait in the socket and the workers' queues (bounded, counted).
	 */
	if (setpriority(PRIO_PROCESS, 0, 10) == -1)
		log_info("setpriority: %s", strerror(errno));
	signal(SIGHUP, SIG_IGN);
	if (priv_drop(C.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((C.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	C.sessions = sessions_new(C.conf->session_idle);
	C.ev_records = event_new(C.base, a->records_fd, EV_READ | EV_PERSIST, records_cb, NULL);
	C.ev_flush = event_new(C.base, -1, EV_PERSIST, flush_cb, NULL);
	C.ev_tick = event_new(C.base, -1, EV_PERSIST, tick_cb, NULL);
	if (C.sessions == NULL || C.ev_records == NULL || C.ev_flush == NULL || C.ev_tick == NULL)
		fatalx("out of memory");
	for (i = 0; i < 4; i++) {
		C.ev_sig[i] = evsignal_new(C.base, sigs[i], signal_cb, NULL);
		evsignal_add(C.ev_sig[i], NULL);
	}
	if (a->master_fd >= 0) {
		C.ev_master = event_new(C.base, a->master_fd, EV_READ | EV_PERSIST, master_cb, NULL);
		event_add(C.ev_master, NULL);
	}
	if (a->query_fd >= 0) {
		C.query = evconnlistener_new(C.base, query_accept, NULL, LEV_OPT_CLOSE_ON_EXEC, 0,
		    a->query_fd);
		if (C.query == NULL)
			log_warnx("cannot listen for stats queries");
	}
	try_open();
	C.st->ready = 1;
	if (C.store != NULL && writable())
		set_reading(1);
	flush_tv.tv_sec = (time_t)(C.conf->analytics_flush / 1000);
	flush_tv.tv_usec = (suseconds_t)(C.conf->analytics_flush % 1000 * 1000);
	event_add(C.ev_flush, &flush_tv);
	event_add(C.ev_tick, &one);
	tick_cb(-1, 0, NULL);

	event_base_dispatch(C.base);

	commit(1);
	C.st->up = 0;
	C.st->queue_depth = 0;
	store_close(C.store);
	sessions_free(C.sessions);
	if (C.query != NULL)
		evconnlistener_free(C.query);
	for (i = 0; i < 4; i++)
		event_free(C.ev_sig[i]);
	if (C.ev_master)
		event_free(C.ev_master);
	event_free(C.ev_records);
	event_free(C.ev_flush);
	event_free(C.ev_tick);
	event_base_free(C.base);
	log_info("exiting");
	return 0;
}

/*
 * admin.cpp: GET /admin/stats (see admin.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "admin.h"
#include "auth.h"
#include "conn.h"
#include "http.h"
#include "httpdate.h"
#include "metrics.h"
#include "query.h"
#include "shm.h"
#include "worker.h"

#define DAY_MS          (86400LL * 1000)
#define REPLY_MAX       (16 * 1024 * 1024)
#define QUERY_TIMEOUT_S 10

struct admin_query {
	struct worker          *w;
	struct conn            *c;
	struct evhttp_request  *req;
	struct bufferevent     *bev;
	int64_t                 from, to;
};

int
admin_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	char *end;
	double v;

	if (s[0] == '\0')
		return -1;
	if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-') {
		if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || mo < 1 || mo > 12 ||
		    d < 1 || d > 31)
			return -1;
		s += n;
		if (*s == 'T' || *s == ' ') {
			if (sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || h > 23 ||
			    mi > 59 || sec > 60)
				return -1;
			s += 1 + n;
			if (*s == '.')          /* fractions of a second are ignored */
				while (isdigit((unsigned char)*++s))
					;
		}
		if (*s == 'Z')
			s++;
		else if (strncmp(s, "+00:00", 6) == 0)
			s += 6;
		if (*s != '\0')
			return -1;
		*ms = (int64_t)httpdate_civil(y, mo, d, h, mi, sec) * 1000;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || v < 0 || v > 1e11)
		return -1;
	*ms = (int64_t)(v * 1000.0);
	return 0;
}

static void
query_free(struct admin_query *q)
{
	if (q->bev != NULL)
		bufferevent_free(q->bev);
	if (q->c != NULL) {
		q->c->on_close = NULL;
		q->c->on_close_arg = NULL;
	}
	free(q);
}

/* The client went away while we waited: evhttp freed the request with the connection. */
static void
client_gone(void *arg)
{
	struct admin_query *q = (struct admin_query *)arg;

	q->c = NULL;
	q->req = NULL;
}

/* The answer may complete (and free) the connection: detach from it first. */
static void
detach(struct admin_query *q)
{
	if (q->c != NULL) {
		q->c->on_close = NULL;
		q->c->on_close_arg = NULL;
	}
}

static void
fail(struct admin_query *q, const char *why)
{
	detach(q);
	if (q->req != NULL) {
		http_out(q->req, "Retry-After", "5");
		http_error(q->w, q->c, q->req, 503, "unavailable", why);
	}
	q->c = NULL;
	query_free(q);
}

static void
finish(struct admin_query *q, char *json)
{
	struct shm_header *h = shm_get();
	cJSON *root = cJSON_Parse(json), *err, *now;
	int64_t streams = 0;
	char *out;
	int i;

	if (root == NULL) {
		fail(q, "the collector sent an unreadable answer");
		return;
	}
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(err)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "analytics: %s", err->valuestring);
		cJSON_Delete(root);
		fail(q, msg);
		return;
	}
	for (i = 0; i < SHM_MAX_PROCS; i++)
		streams += __atomic_load_n(&shm_slot(i)->streams_active, __ATOMIC_RELAXED);
	now = cJSON_AddObjectToObject(root, "now");
	cJSON_AddNumberToObject(now, "time", (double)worker_now_ms(q->w) / 1000.0);
	cJSON_AddNumberToObject(now, "active_streams", (double)(streams < 0 ? 0 : streams));
	cJSON_AddNumberToObject(now, "concurrent_listeners", (double)h->collector.sessions_open);
	cJSON_AddNumberToObject(now, "connections", (double)h->connections);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (out == NULL) {
		fail(q, "out of memory");
		return;
	}
	detach(q);
	if (q->req != NULL)
		http_json(q->w, q->c, q->req, 200, out, strlen(out));
	q->c = NULL;
	free(out);
	query_free(q);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct admin_query *q = (struct admin_query *)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint32_t len;
	char *json;

	if (evbuffer_get_length(in) < sizeof(len))
		return;
	evbuffer_copyout(in, &len, sizeof(len));
	if (len > REPLY_MAX) {
		fail(q, "the collector's answer is too large");
		return;
	}
	if (evbuffer_get_length(in) < sizeof(len) + len)
		return;
	evbuffer_drain(in, sizeof(len));
	if ((json = (char *)malloc(len + 1)) == NULL) {
		fail(q, "out of memory");
		return;
	}
	evbuffer_remove(in, json, len);
	json[len] = '\0';
	finish(q, json);
	free(json);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		fail((struct admin_query *)arg, "the analytics collector did not answer in time");
	else
		fail((struct admin_query *)arg, "the analytics collector is not available");
}

static int
connect_collector(struct worker *w)
{
	struct sockaddr_un sun;
	const char *name = w->args ? w->args->collector_path : NULL;
	socklen_t len;
	int fd;

	if (name == NULL || *name == '\0' || strlen(name) + 1 >= sizeof(sun.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	if (connect(fd, (struct sockaddr *)&sun, len) == -1 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
param_time(const char *query, const char *name, int64_t def, int64_t *out)
{
	char v[64];
	size_t n;

	switch (query_get(query, name, v, sizeof(v), &n)) {
	case QUERY_MISSING:
		*out = def;
		return 0;
	case QUERY_FOUND:
		return admin_parse_time(v, out);
	default:
		return -1;
	}
}

void
admin_stats(struct worker *w, struct conn *c, struct evhttp_request *req, const char *query)
{
	struct auth_result auth;
	struct admin_query *q;
	struct timeval tv = { QUERY_TIMEOUT_S, 0 };
	int64_t now = worker_now_ms(w), from, to;
	long limit = 10;
	char v[32], msg[256], *end;
	size_t n;
	uint32_t len;
	int fd;

	if (auth_admin(w, c, req, query, &auth) == -1)
		return;
	if (param_time(query, "to", now + 1000, &to) == -1 ||
	    param_time(query, "from", to - DAY_MS, &from) == -1) {
		http_error(w, c, req, 400, "bad_request",
		    "from and to must be unix seconds or ISO 8601 UTC (2026-11-25T17:00:00Z)");
		return;
	}
	if (from >= to) {
		http_error(w, c, req, 400, "bad_request", "from must be earlier than to");
		return;
	}
	switch (query_get(query, "limit", v, sizeof(v), &n)) {
	case QUERY_MISSING:
		break;
	case QUERY_FOUND:
		errno = 0;
		limit = strtol(v, &end, 10);
		if (errno == 0 && *end == '\0' && limit >= 1 && limit <= 1000 && n > 0)
			break;
		/* FALLTHROUGH */
	default:
		http_error(w, c, req, 400, "bad_request", "limit must be 1..1000");
		return;
	}
	if (!w->conf->analytics) {
		http_error(w, c, req, 503, "unavailable", "analytics is off in the configuration");
		return;
	}
	if ((q = (struct admin_query *)calloc(1, sizeof(*q))) == NULL) {
		http_error(w, c, req, 500, "internal_error", "out of memory");
		return;
	}
	q->w = w;
	q->c = c;
	q->req = req;
	q->from = from;
	q->to = to;
	if (c != NULL) {
		c->on_close = client_gone;
		c->on_close_arg = q;
	}
	if ((fd = connect_collector(w)) == -1 ||
	    (q->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (fd != -1 && q->bev == NULL)
			close(fd);
		fail(q, "the analytics collector is not available");
		return;
	}
	n = (size_t)snprintf(msg, sizeof(msg), "{\"op\":\"stats\",\"from\":%lld,\"to\":%lld,"
	    "\"limit\":%ld}", (long long)from, (long long)to, limit);
	len = (uint32_t)n;
	bufferevent_setcb(q->bev, read_cb, NULL, event_cb, q);
	bufferevent_set_timeouts(q->bev, &tv, &tv);
	bufferevent_write(q->bev, &len, sizeof(len));
	bufferevent_write(q->bev, msg, n);
	bufferevent_enable(q->bev, EV_READ | EV_WRITE);
}

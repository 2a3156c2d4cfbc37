/*
 * router.cpp: request entry point and dispatch (routes in router.h).
 */
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "authapi.h"
#include "clientip.h"
#include "conn.h"
#include "cors.h"
#include "health.h"
#include "http.h"
#include "metrics.h"
#include "ratelimit.h"
#include "router.h"
#include "stream.h"
#include "worker.h"

#define ALLOW_READ  "GET, HEAD, OPTIONS"
#define ALLOW_POST  "POST, OPTIONS"

/*
 * 414 / 431 for a request over the configured limits; 400 for a head that two parsers
 * could read two ways (RFC 9112 3.2 and 6.3): an HTTP/1.1 request without Host, more
 * than one Host, more than one Content-Length. 0 if none of these.
 */
static int
check_head(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	const char *why = NULL;
	size_t total = 0, klen;
	int n = 0, hosts = 0, lengths = 0;

	if ((int64_t)strlen(evhttp_request_get_uri(req)) > w->conf->max_uri_length) {
		METRIC_ADD(w->m->requests_rejected, 1);
		http_out(req, "Connection", "close");
		http_error(w, c, req, 414, "uri_too_long", "the request URI is too long");
		return -1;
	}
	TAILQ_FOREACH(kv, in, next) {
		klen = strlen(kv->key);
		n++;
		total += klen + strlen(kv->value) + 4;
		if (klen == 4 && strcasecmp(kv->key, "Host") == 0)
			hosts++;
		else if (klen == 14 && strcasecmp(kv->key, "Content-Length") == 0)
			lengths++;
	}
	if (n > w->conf->max_headers || (int64_t)total > w->conf->max_header_size) {
		METRIC_ADD(w->m->requests_rejected, 1);
		http_out(req, "Connection", "close");
		http_error(w, c, req, 431, "header_too_large",
		    n > w->conf->max_headers ? "too many request header fields" :
		    "the request header fields are too large");
		return -1;
	}
	if (hosts == 0 && (req->major > 1 || (req->major == 1 && req->minor >= 1)))
		why = "an HTTP/1.1 request needs a Host header";
	else if (hosts > 1)
		why = "more than one Host header";
	else if (lengths > 1)
		why = "more than one Content-Length header";
	if (why != NULL) {
		METRIC_ADD(w->m->requests_rejected, 1);
		http_out(req, "Connection", "close");
		http_error(w, c, req, 400, "bad_request", why);
		return -1;
	}
	return 0;
}

static int
method_is(struct evhttp_request *req, int mask)
{
	return (evhttp_request_get_command(req) & mask) != 0;
}

static void
not_allowed(struct worker *w, struct conn *c, struct evhttp_request *req, const char *allow)
{
	http_out(req, "Allow", allow);
	http_error(w, c, req, 405, "method_not_allowed", "method not allowed on this resource");
}

void
router_handle(struct evhttp_request *req, void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct conn *c = conn_of(w, req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *allow = ALLOW_READ;
	int route = ROUTE_OTHER, rclass = RL_OTHER;

	http_in_forget();
	if (c != NULL)
		conn_request_begin(c, req);
	if (path == NULL || path[0] != '/') {
		http_error(w, c, req, 400, "bad_request", "the request target must be a path");
		return;
	}
	if (strncmp(path, "/stream/", 8) == 0) {
		route = ROUTE_STREAM;
		rclass = RL_STREAM;
	} else if (strcmp(path, "/health") == 0 || strcmp(path, "/health/detailed") == 0) {
		route = ROUTE_HEALTH;
	} else if (strcmp(path, "/metrics") == 0) {
		route = ROUTE_METRICS;
	} else if (strncmp(path, "/admin/", 7) == 0) {
		route = ROUTE_ADMIN;
		rclass = RL_ADMIN;
	} else if (strncmp(path, "/auth/", 6) == 0) {
		route = ROUTE_AUTH;
		rclass = RL_AUTH;
		allow = ALLOW_POST;
	}
	if (c != NULL) {
		c->r.route = route;
		c->r.rate_class = rclass;
	}
	if (check_head(w, c, req) == -1)
		return;
	if (c != NULL)
		clientip_resolve(w, c, req);
	if (ratelimit_request(w, c, req, rclass) == -1)
		return;

	if (method_is(req, EVHTTP_REQ_OPTIONS)) {
		cors_preflight(w, c, req, allow);
		return;
	}
	switch (route) {
	case ROUTE_STREAM:
		stream_handle(w, c, req, path + 8, strlen(path + 8), query);
		return;
	case ROUTE_HEALTH:
		if (!method_is(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
			return not_allowed(w, c, req, ALLOW_READ);
		health_handle(w, c, req, strcmp(path, "/health/detailed") == 0);
		return;
	case ROUTE_METRICS:
		if (!method_is(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
			return not_allowed(w, c, req, ALLOW_READ);
		health_metrics(w, c, req);
		return;
	case ROUTE_ADMIN:
		if (strcmp(path, "/admin/stats") != 0)
			break;
		if (!method_is(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
			return not_allowed(w, c, req, ALLOW_READ);
		admin_stats(w, c, req, query);
		return;
	case ROUTE_AUTH:
		if (strcmp(path, "/auth/sign") != 0 && strcmp(path, "/auth/refresh") != 0 &&
		    strcmp(path, "/auth/revoke") != 0)
			break;
		if (!method_is(req, EVHTTP_REQ_POST))
			return not_allowed(w, c, req, ALLOW_POST);
		authapi_handle(w, c, req, path + 6);
		return;
	}
	http_error(w, c, req, 404, "not_found", "no such resource");
}

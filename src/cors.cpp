/*
 * cors.cpp: CORS response headers and preflight answers (see cors.h).
 */
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cors.h"
#include "http.h"
#include "worker.h"

#define CORS_ALLOW_HEADERS "Range, Authorization, If-Range, If-None-Match, " \
	"If-Modified-Since, If-Match, If-Unmodified-Since, Content-Type"
#define CORS_EXPOSE_HEADERS "Content-Range, Content-Length, Accept-Ranges, ETag, " \
	"Last-Modified, Retry-After, RateLimit, RateLimit-Policy, WWW-Authenticate"

static int
wildcard(struct worker *w)
{
	int i;

	for (i = 0; i < w->conf->nallowed_origins; i++)
		if (strcmp(w->conf->allowed_origins[i], "*") == 0)
			return 1;
	return 0;
}

int
cors_origin_allowed(struct worker *w, const char *origin)
{
	int i;

	if (origin == NULL || w->conf->nallowed_origins == 0)
		return 0;
	for (i = 0; i < w->conf->nallowed_origins; i++) {
		const char *a = w->conf->allowed_origins[i];
		if (strcmp(a, "*") == 0 || strcasecmp(a, origin) == 0)
			return 1;
	}
	return 0;
}

/* Access-Control-Allow-Origin and Vary for origin; 0 if not allowed. */
static int
allow_origin(struct worker *w, struct evhttp_request *req, const char *origin)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (w->conf->nallowed_origins == 0)
		return 0;
	/* The answer depends on Origin whenever CORS is configured. */
	if (!wildcard(w))
		evhttp_add_header(h, "Vary", "Origin");
	if (!cors_origin_allowed(w, origin))
		return 0;
	evhttp_add_header(h, "Access-Control-Allow-Origin", wildcard(w) ? "*" : origin);
	return 1;
}

void
cors_headers(struct worker *w, struct evhttp_request *req)
{
	const char *origin = http_in_hdr(req, HDR_ORIGIN);

	if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS)
		return;                 /* cors_preflight() decides */
	if (allow_origin(w, req, origin))
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

void
cors_preflight(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *allow)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *origin = http_in_hdr(req, HDR_ORIGIN);
	const char *method = http_in(req, "Access-Control-Request-Method");

	http_common_headers(w, req, 0);
	evhttp_add_header(h, "Allow", allow);
	evhttp_add_header(h, "Content-Length", "0");
	if (origin != NULL && method != NULL && allow_origin(w, req, origin)) {
		evhttp_add_header(h, "Access-Control-Allow-Methods", allow);
		evhttp_add_header(h, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
		evhttp_add_header(h, "Access-Control-Max-Age", "600");
	}
	http_send(w, c, req, 204, NULL);
}

/*
 * cors.h: Cross-Origin Resource Sharing for browser players on other origins, from
 * `allowed_origins` (exact origins or "*"). A request whose Origin is not allowed gets no
 * CORS header at all, so the browser refuses it.
 */
#ifndef STREAMD_CORS_H
#define STREAMD_CORS_H

struct worker;
struct conn;
struct evhttp_request;

/* Add the CORS headers of an actual (non-preflight) response. */
void cors_headers(struct worker *w, struct evhttp_request *req);
/* Answer OPTIONS (preflight or plain) with allow: the methods of the route. */
void cors_preflight(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *allow);
/* 1 if origin is allowed by the configuration. */
int  cors_origin_allowed(struct worker *w, const char *origin);

#endif

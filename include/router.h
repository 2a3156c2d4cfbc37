/*
 * router.h: the evhttp general callback. Applies what every request goes through (size
 * limits, client address, CORS preflight, rate limit) and hands the request to the handler
 * of its route:
 *
 *   /stream/<path>      stream.cpp     GET, HEAD
 *   /health             health.cpp     GET, HEAD
 *   /health/detailed    health.cpp     GET, HEAD
 *   /metrics            metrics.cpp    GET, HEAD
 *   /admin/stats        admin.cpp      GET, HEAD
 *   /auth/sign|refresh|revoke  authapi.cpp  POST
 */
#ifndef STREAMD_ROUTER_H
#define STREAMD_ROUTER_H

struct evhttp_request;

void router_handle(struct evhttp_request *req, void *arg);

#endif

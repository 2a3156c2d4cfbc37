/*
 * health.h: GET /health (cheap liveness), GET /health/detailed (real measurements with an
 * overall ok|degraded|fail verdict, 503 on fail) and GET /metrics (Prometheus text).
 * All three may be limited to networks listed in `health_allow`.
 */
#ifndef STREAMD_HEALTH_H
#define STREAMD_HEALTH_H

struct worker;
struct conn;
struct evhttp_request;

void health_handle(struct worker *w, struct conn *c, struct evhttp_request *req,
    int detailed);
void health_metrics(struct worker *w, struct conn *c, struct evhttp_request *req);

#endif

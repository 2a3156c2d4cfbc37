/*
 * stream.h: GET|HEAD /stream/<path>: credentials, path confinement, the open-file cache,
 * conditional requests, single and multipart ranges, and a body that goes out with
 * sendfile(2) from the cached descriptor.
 */
#ifndef STREAMD_STREAM_H
#define STREAMD_STREAM_H

#include <stddef.h>

struct worker;
struct conn;
struct evhttp_request;

/* raw: the undecoded path after "/stream/"; query: raw query string or NULL. */
void stream_handle(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *raw, size_t rawlen, const char *query);

#endif

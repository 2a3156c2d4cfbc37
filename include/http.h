/*
 * http.h: helpers every handler uses to answer: common and security headers, CORS, JSON
 * bodies (gzip when the client accepts it) and JSON errors
 *   {"error":"<code>","message":"<human text>"}
 */
#ifndef STREAMD_HTTP_H
#define STREAMD_HTTP_H

#include <stddef.h>

struct evhttp_request;
struct evbuffer;
struct worker;
struct conn;

/* Header of the request, or NULL. */
const char *http_in(struct evhttp_request *req, const char *name);

/* The request headers read on every request: http_in_hdr finds all in one walk. */
enum http_hdr {
	HDR_RANGE,
	HDR_IF_RANGE,
	HDR_IF_MATCH,
	HDR_IF_NONE_MATCH,
	HDR_IF_MODIFIED_SINCE,
	HDR_IF_UNMODIFIED_SINCE,
	HDR_AUTHORIZATION,
	HDR_ORIGIN,
	HDR_USER_AGENT,
	HDR_REFERER,
	HDR_COUNT
};
/* The first value of header h of req, or NULL (as http_in). */
const char *http_in_hdr(struct evhttp_request *req, enum http_hdr h);
/* A new request may sit where a freed one was: the router calls this first. */
void http_in_forget(void);
/* Which enum http_hdr the header name is, -1 if none. */
int  http_hdr_of(const char *name, size_t len);
/* Add (or replace) a response header. */
void http_out(struct evhttp_request *req, const char *name, const char *value);
const char *http_reason(int status);

/*
 * Append header lines as one output entry: key's value is followed by "\r\nName: value"
 * for each further header. Only for text streamd generates (see http.cpp). 0 or -1.
 */
int  http_out_lines(struct evhttp_request *req, const char *key, const char *value,
    size_t vlen);
/* Date, Server, security headers and CORS. media: 1 for audio bodies (no CSP). */
void http_common_headers(struct worker *w, struct evhttp_request *req, int media);

/*
 * Send status with body (may be NULL) and record it on the connection. Everything a
 * handler answers goes through here or http_send_file_reply (stream.cpp).
 */
void http_send(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    struct evbuffer *body);
/* JSON error body with the common headers. */
void http_error(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    const char *code, const char *message);
/* JSON text (len bytes) with the common headers; gzip when accepted and worth it. */
void http_json(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    const char *json, size_t len);
/* 1 if Accept-Encoding allows gzip. */
int  http_accepts_gzip(struct evhttp_request *req);
/* Escape s as a JSON string body (without quotes) into out; returns bytes written. */
size_t http_json_escape(const char *s, char *out, size_t outsz);

#endif

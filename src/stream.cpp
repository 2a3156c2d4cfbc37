/*
 * stream.cpp: GET|HEAD /stream/<path> (see stream.h).
 *
 * Order of checks: method, path syntax (400/404, before credentials so that probing for
 * traversal learns nothing either way), credentials (401/400/403/410), the file (404,
 * 403 when over max_file_size), preconditions (304/412), Range (206/416, If-Range).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth.h"
#include "conn.h"
#include "filecache.h"
#include "http.h"
#include "metrics.h"
#include "mime.h"
#include "pathsafe.h"
#include "precond.h"
#include "range.h"
#include "stream.h"
#include "util.h"
#include "worker.h"

/*
 * The entity's headers as one output entry (see http_out_lines): Content-Length,
 * Content-Type, validators, caching and, for a single range, Content-Range. Keyed
 * "Content-Length" so that evhttp finds the length it would otherwise add, and the
 * worker sets no default Content-Type for evhttp to add. A 304 carries only the
 * validators and caching headers (mime NULL), keyed "ETag".
 */
static void
entity_headers(struct evhttp_request *req, const struct filecache_file *f,
    const struct auth_result *a, int64_t now_s, const char *mime, uint64_t len,
    const struct range *r)
{
	char block[512];        /* at most ~400: every part below is bounded */
	struct text l = { block, block + sizeof(block) };

	if (mime != NULL) {
		text_u64(&l, len);
		TEXT_LIT(&l, "\r\nContent-Type: ");
		text_str(&l, mime);
		TEXT_LIT(&l, "\r\nETag: ");
	}
	text_str(&l, f->etag);
	TEXT_LIT(&l, "\r\nLast-Modified: ");
	text_str(&l, f->last_modified);
	if (a->kind == AUTH_KIND_SIGNED && a->expires > now_s) {
		TEXT_LIT(&l, "\r\nCache-Control: private, max-age=");
		text_u64(&l, (uint64_t)(a->expires - now_s));
	} else {
		TEXT_LIT(&l, "\r\nCache-Control: private, no-cache");
	}
	if (mime != NULL)
		TEXT_LIT(&l, "\r\nAccept-Ranges: bytes");
	if (r != NULL) {
		TEXT_LIT(&l, "\r\nContent-Range: bytes ");
		text_u64(&l, (uint64_t)r->start);
		TEXT_LIT(&l, "-");
		text_u64(&l, (uint64_t)r->end);
		TEXT_LIT(&l, "/");
		text_u64(&l, (uint64_t)f->size);
	}
	http_out_lines(req, mime != NULL ? "Content-Length" : "ETag", block,
	    (size_t)(l.p - block));
}

/* Append text to body as its own chain (never after a file chain: see LIBEVENT-NOTES). */
static int
add_text(struct evbuffer *body, const char *text, size_t len)
{
	struct evbuffer *tmp = evbuffer_new();
	int rc;

	if (tmp == NULL)
		return -1;
	rc = evbuffer_add(tmp, text, len);
	if (rc == 0)
		rc = evbuffer_add_buffer(body, tmp);
	evbuffer_free(tmp);
	return rc;
}

/* The bytes [start, start + len) of f: from memory for small files, else by sendfile. */
static int
add_file(struct evbuffer *body, const struct filecache_file *f, int64_t start, int64_t len)
{
	if (len <= 0 || (f->seg == NULL && f->data == NULL))
		return 0;
	if (start < 0 || start + len > f->size)
		return -1;
	if (f->data != NULL)
		return filecache_add_data(body, f->data, (size_t)start, (size_t)len);
	return evbuffer_add_file_segment(body, f->seg, start, len);
}

static void
send_416(struct worker *w, struct conn *c, struct evhttp_request *req,
    const struct filecache_file *f)
{
	char cr[48];

	snprintf(cr, sizeof(cr), "bytes */%lld", (long long)f->size);
	http_out(req, "Content-Range", cr);
	http_error(w, c, req, 416, "range_not_satisfiable",
	    "none of the requested ranges overlaps the file");
}

/* multipart/byteranges: header text of part i (leading CRLF except for the first). */
static int
part_header(char *out, size_t outsz, int first, const char *boundary, const char *mime,
    const struct range *r, int64_t size)
{
	return snprintf(out, outsz, "%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes "
	    "%lld-%lld/%lld\r\n\r\n", first ? "" : "\r\n", boundary, mime,
	    (long long)r->start, (long long)r->end, (long long)size);
}

#define CORK_MIN (1024 * 1024)

void
stream_handle(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *raw, size_t rawlen, const char *query)
{
	struct range ranges[RANGE_MAX];
	struct precond_headers ph;
	struct precond_entity pe;
	struct auth_result auth;
	const struct filecache_file *f = NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *h;
	struct evbuffer *body;
	enum pathsafe_result pr;
	enum range_result rr = RANGE_IGNORE;
	const char *mime, *range_text;
	char path[PATHSAFE_MAX + 1];
	char boundary[48], ph_text[512];
	size_t plen = 0;
	int64_t now_s;
	uint64_t total;
	int hit = 0, nranges = 0, i, head = cmd == EVHTTP_REQ_HEAD, status, n;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		http_out(req, "Allow", "GET, HEAD, OPTIONS");
		http_error(w, c, req, 405, "method_not_allowed", "use GET or HEAD");
		return;
	}
	pr = pathsafe_decode(raw, rawlen, path, sizeof(path), &plen);
	if (pr == PATHSAFE_BAD_ESCAPE) {
		http_error(w, c, req, 400, "bad_request", "malformed percent-encoding in path");
		return;
	}
	if (pr != PATHSAFE_OK || (mime = mime_type(path, plen)) == NULL) {
		http_error(w, c, req, 404, "not_found", "no such file");
		return;
	}
	if (c != NULL && (c->r.path = (char *)malloc(plen + 1)) != NULL)
		memcpy(c->r.path, path, plen + 1);
	if (auth_stream(w, c, req, path, plen, query, &auth) == -1)
		return;

	switch (filecache_get(w->fc, path, plen, worker_now_ms(w), &f, &hit)) {
	case FILECACHE_OK:
		break;
	case FILECACHE_NOT_FOUND:
		METRIC_ADD(w->m->filecache_misses, 1);
		http_error(w, c, req, 404, "not_found", "no such file");
		return;
	case FILECACHE_ERROR:
		METRIC_ADD(w->m->filecache_misses, 1);
		http_out(req, "Retry-After", "1");
		http_error(w, c, req, 503, "unavailable", "cannot open the file right now");
		return;
	}
	if (hit)
		METRIC_ADD(w->m->filecache_hits, 1);
	else
		METRIC_ADD(w->m->filecache_misses, 1);
	if (f->size > w->conf->max_file_size) {
		filecache_release(w->fc, f);
		http_error(w, c, req, 403, "file_too_large",
		    "the file is larger than max_file_size");
		return;
	}
	if (c != NULL)
		c->r.file_size = f->size;
	now_s = worker_now_ms(w) / 1000;
	h = evhttp_request_get_output_headers(req);

	memset(&ph, 0, sizeof(ph));
	ph.if_match = http_in_hdr(req, HDR_IF_MATCH);
	ph.if_none_match = http_in_hdr(req, HDR_IF_NONE_MATCH);
	ph.if_modified_since = http_in_hdr(req, HDR_IF_MODIFIED_SINCE);
	ph.if_unmodified_since = http_in_hdr(req, HDR_IF_UNMODIFIED_SINCE);
	pe.etag = f->etag;
	pe.mtime = f->mtime;
	switch (precond_eval(&ph, &pe, 1)) {
	case PRECOND_PROCEED:
		break;
	case PRECOND_NOT_MODIFIED:
		http_common_headers(w, req, 1);
		entity_headers(req, f, &auth, now_s, NULL, 0, NULL);
		METRIC_ADD(w->m->not_modified, 1);
		filecache_release(w->fc, f);
		http_send(w, c, req, 304, NULL);
		return;
	case PRECOND_FAILED:
		filecache_release(w->fc, f);
		http_error(w, c, req, 412, "precondition_failed",
		    "the file does not match the request's preconditions");
		return;
	}

	if ((range_text = http_in_hdr(req, HDR_RANGE)) != NULL &&
	    precond_if_range(http_in_hdr(req, HDR_IF_RANGE), &pe))
		rr = range_parse(range_text, f->size, w->conf->max_ranges,
		    w->conf->max_range_size, ranges, &nranges);
	if (rr == RANGE_UNSATISFIABLE) {
		filecache_release(w->fc, f);
		send_416(w, c, req, f);
		return;
	}

	http_common_headers(w, req, 1);
	body = evhttp_request_get_output_buffer(req);
	evbuffer_set_flags(body, EVBUFFER_FLAG_DRAINS_TO_FD);

	if (rr == RANGE_IGNORE) {
		status = 200;
		total = (uint64_t)f->size;
		entity_headers(req, f, &auth, now_s, mime, total, NULL);
		if (!head && add_file(body, f, 0, f->size) == -1)
			goto fail;
	} else if (nranges == 1) {
		status = 206;
		total = (uint64_t)(ranges[0].end - ranges[0].start + 1);
		entity_headers(req, f, &auth, now_s, mime, total, &ranges[0]);
		if (!head && add_file(body, f, ranges[0].start, (int64_t)total) == -1)
			goto fail;
		if (c != NULL) {
			c->r.range_start = ranges[0].start;
			c->r.range_end = ranges[0].end;
		}
	} else {
		status = 206;
		snprintf(boundary, sizeof(boundary), "streamd-%08x%08llx", (unsigned)w->proc,
		    (unsigned long long)++w->boundary_seq);
		total = 0;
		for (i = 0; i < nranges; i++) {
			n = part_header(ph_text, sizeof(ph_text), i == 0, boundary, mime, &ranges[i],
			    f->size);
			total += (uint64_t)n + (uint64_t)(ranges[i].end - ranges[i].start + 1);
			if (!head && (add_text(body, ph_text, (size_t)n) == -1 ||
			    add_file(body, f, ranges[i].start,
			    ranges[i].end - ranges[i].start + 1) == -1))
				goto fail;
		}
		n = snprintf(ph_text, sizeof(ph_text), "\r\n--%s--\r\n", boundary);
		total += (uint64_t)n;
		if (!head && add_text(body, ph_text, (size_t)n) == -1)
			goto fail;
		snprintf(ph_text, sizeof(ph_text), "multipart/byteranges; boundary=%s", boundary);
		entity_headers(req, f, &auth, now_s, ph_text, total, NULL);
		METRIC_ADD(w->m->multipart_requests, 1);
		if (c != NULL) {
			c->r.range_start = ranges[0].start;
			c->r.range_end = ranges[nranges - 1].end;
		}
	}
	if (status == 206)
		METRIC_ADD(w->m->range_requests, 1);
	if (c != NULL) {
		c->r.body_len = head ? 0 : total;
		if (!head && total > 0) {
			c->r.streaming = 1;
			METRIC_ADD(w->m->streams_active, 1);
		}
		/*
		 * A large body goes out in full-sized segments: cork the socket until the
		 * response is complete (conn.cpp uncorks it, which sends the last piece).
		 * Small ones are not worth two system calls, and a corked small response
		 * would wait for the delayed ACK.
		 */
		if (!head && total >= CORK_MIN && c->fd >= 0) {
			int on = 1;
			if (setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0)
				c->corked = 1;
		}
	}
	filecache_release(w->fc, f);
	http_send(w, c, req, status, NULL);
	return;

fail:
	evbuffer_drain(body, evbuffer_get_length(body));
	filecache_release(w->fc, f);
	evhttp_clear_headers(h);
	http_error(w, c, req, 500, "internal_error", "could not queue the file");
}

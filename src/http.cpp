/*
 * http.cpp: response helpers shared by the handlers (see http.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>            /* TAILQ_INSERT_TAIL for http_out_lines */

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <zlib.h>

#include "conn.h"
#include "cors.h"
#include "evmem.h"
#include "http.h"
#include "log.h"
#include "sockio.h"
#include "streamd.h"
#include "util.h"
#include "worker.h"

#define GZIP_MIN 256            /* smaller bodies are not worth compressing */

const char *
http_in(struct evhttp_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

static const char *const hdr_names[HDR_COUNT] = {
	"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since",
	"If-Unmodified-Since", "Authorization", "Origin", "User-Agent", "Referer",
};

int
http_hdr_of(const char *name, size_t len)
{
	int h;

	switch (len) {
	case 5: h = HDR_RANGE; break;
	case 6: h = HDR_ORIGIN; break;
	case 7: h = HDR_REFERER; break;
	case 8: h = (name[3] | 0x20) == 'r' ? HDR_IF_RANGE : HDR_IF_MATCH; break;
	case 10: h = HDR_USER_AGENT; break;
	case 13: h = (name[0] | 0x20) == 'i' ? HDR_IF_NONE_MATCH : HDR_AUTHORIZATION; break;
	case 17: h = HDR_IF_MODIFIED_SINCE; break;
	case 19: h = HDR_IF_UNMODIFIED_SINCE; break;
	default: return -1;
	}
	return strcasecmp(name, hdr_names[h]) == 0 ? h : -1;
}

/*
 * The known headers of the last request asked about, found in one walk of its list: a
 * stream request reads ten of them, and ten evhttp_find_header calls were ten walks
 * with a case-insensitive compare per header each (5 % of a worker's user time with
 * three request headers, more with a browser's dozen). A worker handles one request at
 * a time; the router forgets the index before each request, since a new request can be
 * allocated where the indexed one was freed.
 */
static struct {
	const struct evhttp_request *req;
	const char                 *v[HDR_COUNT];
} in_index;

const char *
http_in_hdr(struct evhttp_request *req, enum http_hdr h)
{
	struct evkeyval *kv;
	int i;

	if (in_index.req != req) {
		memset(&in_index, 0, sizeof(in_index));
		TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
			i = http_hdr_of(kv->key, strlen(kv->key));
			if (i >= 0 && in_index.v[i] == NULL)
				in_index.v[i] = kv->value;
		}
		in_index.req = req;
	}
	return in_index.v[h];
}

void
http_in_forget(void)
{
	in_index.req = NULL;
}

void
http_out(struct evhttp_request *req, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

/*
 * Several header lines as one entry of the output list. evhttp writes every entry as
 * "key: value\r\n" and, for each response, walks the list several times (Date,
 * Content-Length, Content-Type, Transfer-Encoding, Connection); each entry also costs it
 * three allocations, a printf and three frees. A small file's response had eleven
 * entries: that bookkeeping was a fifth of the worker's user time (perf). Constant and
 * generated headers therefore travel as one entry, "key: value\r\nName: value...".
 * evhttp_add_header would refuse the CR LF: the entry is linked in directly, so only text
 * streamd makes itself may go here, never a byte of the client's. Its memory comes from
 * libevent's allocator (evmem), which frees it.
 */
int
http_out_lines(struct evhttp_request *req, const char *key, const char *value, size_t vlen)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evkeyval *kv = (struct evkeyval *)evmem_alloc(sizeof(*kv));
	size_t klen = strlen(key);

	if (kv == NULL)
		return -1;
	kv->key = (char *)evmem_alloc(klen + 1);
	kv->value = (char *)evmem_alloc(vlen + 1);
	if (kv->key == NULL || kv->value == NULL) {
		evmem_free(kv->key);
		evmem_free(kv->value);
		evmem_free(kv);
		return -1;
	}
	memcpy(kv->key, key, klen + 1);
	memcpy(kv->value, value, vlen);
	kv->value[vlen] = '\0';
	TAILQ_INSERT_TAIL(h, kv, next);     /* evhttp_clear_headers frees all three */
	return 0;
}

/* Date, Server and the security headers: one entry, remade when the second changes. */
void
http_common_headers(struct worker *w, struct evhttp_request *req, int media)
{
	static char block[2][384];
	static int len[2];
	static time_t made_sec[2] = { -1, -1 };
	static int made_tokens[2];
	int i = media ? 1 : 0;

	worker_update_time(w);
	if (made_sec[i] != w->now_sec || made_tokens[i] != w->conf->server_tokens) {
		len[i] = snprintf(block[i], sizeof(block[i]),
		    "%s\r\n"
		    "Server: %s\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    /* Signed URLs are credentials: never leak them to another site. */
		    "Referrer-Policy: no-referrer\r\n"
		    "%s",
		    w->date,
		    w->conf->server_tokens ? STREAMD_NAME "/" STREAMD_VERSION : STREAMD_NAME,
		    media ? "Cross-Origin-Resource-Policy: cross-origin" :
		    "Cross-Origin-Resource-Policy: same-origin\r\n"
		    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
		    "X-Frame-Options: DENY");
		made_sec[i] = w->now_sec;
		made_tokens[i] = w->conf->server_tokens;
	}
	http_out_lines(req, "Date", block[i], (size_t)len[i]);
	cors_headers(w, req);
}

void
http_send(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    struct evbuffer *body)
{
	if (c != NULL) {
		c->r.status = status;
		if (body != NULL && !c->r.head)
			c->r.body_len = evbuffer_get_length(body);
	}
	if (w->stopping)
		http_out(req, "Connection", "close");
	if (c != NULL)
		sockio_sending(c, 1);
	evhttp_send_reply(req, status, http_reason(status), body);
	if (c != NULL)
		sockio_sending(c, 0);
	/* The headers are in the (so far empty) output now, before the body. */
	if (c != NULL && c->bev != NULL) {
		uint64_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
		uint64_t body_out = c->r.head ? 0 : c->r.body_len;
		c->r.header_len = out > body_out ? out - body_out : 0;
		/*
		 * Write it now: a response the socket takes whole completes within this
		 * loop iteration. Last: that may close the connection.
		 */
		sockio_flush(c);
	}
}

size_t
http_json_escape(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *rep = NULL;
		char u[7];
		switch (ch) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			if (ch < 0x20) {
				u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
				u[4] = hex[ch >> 4]; u[5] = hex[ch & 15]; u[6] = '\0';
				rep = u;
			}
		}
		if (rep != NULL) {
			size_t rl = strlen(rep);
			if (n + rl >= outsz)
				break;
			memcpy(out + n, rep, rl);
			n += rl;
		} else {
			if (n + 1 >= outsz)
				break;
			out[n++] = (char)ch;
		}
	}
	if (outsz > 0)
		out[n] = '\0';
	return n;
}

int
http_accepts_gzip(struct evhttp_request *req)
{
	const char *ae = http_in(req, "Accept-Encoding"), *p, *end, *semi, *q;
	size_t len;

	if (ae == NULL)
		return 0;
	for (p = ae; *p != '\0'; p = end + 1) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		semi = (const char *)memchr(p, ';', len);
		if (str_token_eq(p, semi ? (size_t)(semi - p) : len, "gzip") ||
		    str_token_eq(p, semi ? (size_t)(semi - p) : len, "*")) {
			/* "gzip;q=0" refuses it */
			q = semi ? strstr(semi, "q=") : NULL;
			if (q != NULL && q < end && strtod(q + 2, NULL) <= 0.0)
				return 0;
			return 1;
		}
		if (*end == '\0')
			break;
	}
	return 0;
}

/* gzip len bytes of in into out; -1 on error. */
static int
gzip_into(const char *in, size_t len, struct evbuffer *out)
{
	struct evbuffer_iovec v;
	z_stream z;
	uLong bound;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len);
	if (evbuffer_reserve_space(out, (ev_ssize_t)bound, &v, 1) < 1) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)v.iov_base;
	z.avail_out = (uInt)v.iov_len;
	rc = deflate(&z, Z_FINISH);
	v.iov_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
		return -1;
	return evbuffer_commit_space(out, &v, 1);
}

void
http_json(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    const char *json, size_t len)
{
	struct evbuffer *body = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	int head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	char clen[32];

	http_common_headers(w, req, 0);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (len >= GZIP_MIN)
		evhttp_add_header(h, "Vary", "Accept-Encoding");
	if (len >= GZIP_MIN && http_accepts_gzip(req) && gzip_into(json, len, body) == 0) {
		evhttp_add_header(h, "Content-Encoding", "gzip");
	} else {
		evbuffer_drain(body, evbuffer_get_length(body));
		evbuffer_add(body, json, len);
	}
	if (head) {
		/* Same headers as GET, no body (evhttp adds no length for HEAD). */
		snprintf(clen, sizeof(clen), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", clen);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	http_send(w, c, req, status, body);
	evbuffer_free(body);
}

void
http_error(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    const char *code, const char *message)
{
	char json[1024], esc[768];
	int n;

	http_json_escape(message, esc, sizeof(esc));
	n = snprintf(json, sizeof(json), "{\"error\":\"%s\",\"message\":\"%s\"}\n", code, esc);
	if (n < 0 || (size_t)n >= sizeof(json))
		n = (int)strlen(json);
	http_json(w, c, req, status, json, (size_t)n);
}

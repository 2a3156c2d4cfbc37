/*
 * accesslog.cpp: combined-format access log with optional buffering (see accesslog.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "log.h"

#define LINE_MAX_LEN 8192

struct accesslog {
	int             fd;
	char           *path;
	char           *buf;
	size_t          cap;
	size_t          len;
};

struct accesslog *
accesslog_open(const char *path, size_t buffer, char *err, size_t errlen)
{
	struct accesslog *l;

	if ((l = (struct accesslog *)calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd == -1) {
		snprintf(err, errlen, "access_log %s: %s", path, strerror(errno));
		free(l);
		return NULL;
	}
	l->path = strdup(path);
	if (buffer > 0) {
		l->cap = buffer < LINE_MAX_LEN ? LINE_MAX_LEN : buffer;
		l->buf = (char *)malloc(l->cap);
	}
	return l;
}

static void
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("access log write");
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void
accesslog_flush(struct accesslog *l)
{
	if (l == NULL || l->len == 0)
		return;
	write_all(l->fd, l->buf, l->len);
	l->len = 0;
}

void
accesslog_close(struct accesslog *l)
{
	if (l == NULL)
		return;
	accesslog_flush(l);
	close(l->fd);
	free(l->buf);
	free(l->path);
	free(l);
}

int
accesslog_reopen(struct accesslog *l)
{
	int fd;

	if (l == NULL)
		return 0;
	accesslog_flush(l);
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_warn("reopen access log %s", l->path);
		return -1;
	}
	close(l->fd);
	l->fd = fd;
	return 0;
}

/* Append s with bytes outside printable ASCII, quotes and backslashes as \xHH. */
static size_t
put_escaped(char *out, size_t pos, size_t cap, const char *s, size_t maxlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; s[i] != '\0' && i < maxlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			if (pos + 4 >= cap)
				break;
			out[pos++] = '\\';
			out[pos++] = 'x';
			out[pos++] = hex[c >> 4];
			out[pos++] = hex[c & 15];
		} else {
			if (pos + 1 >= cap)
				break;
			out[pos++] = (char)c;
		}
	}
	return pos;
}

static size_t
put_str(char *out, size_t pos, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (pos + n >= cap)
		n = cap - pos - 1;
	memcpy(out + pos, s, n);
	return pos + n;
}

/* The URI with the values of credential parameters replaced. */
static size_t
put_uri(char *out, size_t pos, size_t cap, const char *uri)
{
	static const char *const hidden[] = { "access_token=", "token=", "refresh_token=" };
	const char *q = strchr(uri, '?'), *p;
	size_t i;

	if (q == NULL)
		return put_escaped(out, pos, cap, uri, 4096);
	pos = put_escaped(out, pos, cap, uri, (size_t)(q - uri) + 1);
	p = q + 1;
	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		int masked = 0;
		for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
			size_t hl = strlen(hidden[i]);
			if (len >= hl && strncmp(p, hidden[i], hl) == 0) {
				pos = put_escaped(out, pos, cap, p, hl);
				pos = put_str(out, pos, cap, "[hidden]");
				masked = 1;
				break;
			}
		}
		if (!masked)
			pos = put_escaped(out, pos, cap, p, len);
		if (amp == NULL)
			break;
		pos = put_str(out, pos, cap, "&");
		p = amp + 1;
	}
	return pos;
}

size_t
accesslog_format(const struct accesslog_entry *e, char *out, size_t outsz)
{
	size_t pos = 0;
	int n;

	pos = put_str(out, pos, outsz, e->addr);
	pos = put_str(out, pos, outsz, " - ");
	pos = e->user && *e->user ? put_escaped(out, pos, outsz, e->user, 128) :
	    put_str(out, pos, outsz, "-");
	pos = put_str(out, pos, outsz, " ");
	pos = put_str(out, pos, outsz, e->time);
	pos = put_str(out, pos, outsz, " \"");
	pos = put_str(out, pos, outsz, e->method);
	pos = put_str(out, pos, outsz, " ");
	pos = put_uri(out, pos, outsz, e->uri);
	n = snprintf(out + pos, outsz - pos, " HTTP/%d.%d\" %d %llu \"", e->http_major,
	    e->http_minor, e->status, (unsigned long long)e->bytes);
	if (n > 0 && (size_t)n < outsz - pos)
		pos += (size_t)n;
	pos = e->referer ? put_escaped(out, pos, outsz, e->referer, 1024) :
	    put_str(out, pos, outsz, "-");
	pos = put_str(out, pos, outsz, "\" \"");
	pos = e->user_agent ? put_escaped(out, pos, outsz, e->user_agent, 1024) :
	    put_str(out, pos, outsz, "-");
	n = snprintf(out + pos, outsz - pos, "\" %.3f\n", e->request_time);
	if (n > 0 && (size_t)n < outsz - pos)
		pos += (size_t)n;
	else {
		pos = pos < outsz - 1 ? pos : outsz - 2;
		out[pos++] = '\n';
	}
	out[pos] = '\0';
	return pos;
}

void
accesslog_write(struct accesslog *l, const struct accesslog_entry *e)
{
	char line[LINE_MAX_LEN];
	size_t n;

	if (l == NULL)
		return;
	n = accesslog_format(e, line, sizeof(line));
	if (l->buf == NULL) {
		write_all(l->fd, line, n);
		return;
	}
	if (l->len + n > l->cap)
		accesslog_flush(l);
	memcpy(l->buf + l->len, line, n);
	l->len += n;
}

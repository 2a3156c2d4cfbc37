/*
 * accesslog.h: the access log of a worker, in the combined format plus the request time:
 *
 *   addr - user [time] "request" status bytes "referer" "user-agent" request_time
 *
 * Lines go out with one write(2) each (O_APPEND keeps lines of several workers whole),
 * or gathered in a buffer flushed when full, every `flush` and on exit. Values from the
 * client are escaped (\xHH) and credentials in the query (access_token, token) hidden.
 */
#ifndef STREAMD_ACCESSLOG_H
#define STREAMD_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

struct accesslog;

struct accesslog *accesslog_open(const char *path, size_t buffer, char *err, size_t errlen);
void accesslog_close(struct accesslog *l);
int  accesslog_reopen(struct accesslog *l);
void accesslog_flush(struct accesslog *l);

struct accesslog_entry {
	const char     *addr;
	const char     *user;           /* NULL: "-" */
	const char     *time;           /* "[25/Nov/2026:17:26:50 +0000]" */
	const char     *method;
	const char     *uri;
	int             http_major, http_minor;
	int             status;
	uint64_t        bytes;
	const char     *referer;
	const char     *user_agent;
	double          request_time;   /* seconds */
};

void accesslog_write(struct accesslog *l, const struct accesslog_entry *e);
/* Format one line into out (for tests); returns its length. */
size_t accesslog_format(const struct accesslog_entry *e, char *out, size_t outsz);

#endif

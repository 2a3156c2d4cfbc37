/*
 * precond.h: conditional requests (RFC 9110, section 13): If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since, evaluated in the order of section 13.2.2, and
 * If-Range for range requests. Pure.
 *
 *   If-None-Match = "*" / #entity-tag      entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
 */
#ifndef STREAMD_PRECOND_H
#define STREAMD_PRECOND_H

#include <time.h>

struct precond_entity {
	const char     *etag;   /* strong, with quotes: "\"abc\"" */
	time_t          mtime;  /* Last-Modified, seconds */
};

struct precond_headers {
	const char     *if_match;
	const char     *if_none_match;
	const char     *if_modified_since;
	const char     *if_unmodified_since;
	const char     *if_range;
};

enum precond_result {
	PRECOND_PROCEED = 0,
	PRECOND_NOT_MODIFIED,   /* 304 (GET/HEAD) */
	PRECOND_FAILED          /* 412 */
};

/* get_or_head: 1 for GET and HEAD (304 applies), 0 otherwise. */
enum precond_result precond_eval(const struct precond_headers *h,
    const struct precond_entity *e, int get_or_head);
/* 1 if a Range may be honoured given If-Range (absent counts as yes), 0 to send 200. */
int precond_if_range(const char *if_range, const struct precond_entity *e);
/* 1 if list ("*" or entity-tags) matches etag; weak: weak comparison. */
int precond_etag_match(const char *list, const char *etag, int weak);

#endif

/*
 * precond.cpp: evaluation of conditional request headers (see precond.h).
 */
#include <string.h>

#include "httpdate.h"
#include "precond.h"

/* Compare two entity-tags; weak ignores the W/ prefix, strong requires both strong. */
static int
tag_equal(const char *a, size_t alen, const char *b, size_t blen, int weak)
{
	int aw = alen >= 2 && a[0] == 'W' && a[1] == '/';
	int bw = blen >= 2 && b[0] == 'W' && b[1] == '/';

	if (!weak && (aw || bw))
		return 0;
	if (aw) {
		a += 2;
		alen -= 2;
	}
	if (bw) {
		b += 2;
		blen -= 2;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

int
precond_etag_match(const char *list, const char *etag, int weak)
{
	const char *p = list, *start;
	size_t elen = strlen(etag);

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*') {
		const char *q = p + 1;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0')
			return 1;
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0;              /* malformed list: no match */
		p++;
		while (*p != '\0' && *p != '"')
			p++;
		if (*p != '"')
			return 0;
		p++;
		if (tag_equal(start, (size_t)(p - start), etag, elen, weak))
			return 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return 0;
	}
	return 0;
}

enum precond_result
precond_eval(const struct precond_headers *h, const struct precond_entity *e,
    int get_or_head)
{
	time_t t;

	/* 1. If-Match, else 2. If-Unmodified-Since */
	if (h->if_match != NULL) {
		if (!precond_etag_match(h->if_match, e->etag, 0))
			return PRECOND_FAILED;
	} else if (h->if_unmodified_since != NULL &&
	    httpdate_parse(h->if_unmodified_since, &t) == 0) {
		if (e->mtime > t)
			return PRECOND_FAILED;
	}
	/* 3. If-None-Match, else 4. If-Modified-Since (GET/HEAD only) */
	if (h->if_none_match != NULL) {
		if (precond_etag_match(h->if_none_match, e->etag, 1))
			return get_or_head ? PRECOND_NOT_MODIFIED : PRECOND_FAILED;
	} else if (get_or_head && h->if_modified_since != NULL &&
	    httpdate_parse(h->if_modified_since, &t) == 0) {
		if (e->mtime <= t)
			return PRECOND_NOT_MODIFIED;
	}
	return PRECOND_PROCEED;
}

int
precond_if_range(const char *if_range, const struct precond_entity *e)
{
	const char *p = if_range;
	time_t t;

	if (p == NULL)
		return 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '"' || (p[0] == 'W' && p[1] == '/')) {
		size_t n = strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		return tag_equal(p, n, e->etag, strlen(e->etag), 0);
	}
	if (httpdate_parse(p, &t) == 0)
		return t == e->mtime;
	return 0;
}

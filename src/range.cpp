/*
 * range.cpp: Range header parser (grammar in range.h).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "range.h"

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* 1*DIGIT into *v; NULL on no digits or overflow. */
static const char *
parse_pos(const char *p, int64_t *v)
{
	int64_t n = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p)) {
		if (n > (INT64_MAX - 9) / 10)
			return NULL;
		n = n * 10 + (*p - '0');
		p++;
	}
	*v = n;
	return p;
}

enum range_result
range_parse(const char *value, int64_t size, int max_ranges, int64_t max_len,
    struct range *out, int *n)
{
	const char *p;
	int64_t first, last;
	int count = 0, specs = 0, suffix;

	*n = 0;
	if (value == NULL || size <= 0)
		return RANGE_IGNORE;
	p = skip_ows(value);
	if (strncasecmp(p, "bytes", 5) != 0)
		return RANGE_IGNORE;
	p = skip_ows(p + 5);
	if (*p != '=')
		return RANGE_IGNORE;
	p = skip_ows(p + 1);
	for (;;) {
		/* Empty list elements (",,") are allowed by the list ABNF. */
		while (*p == ',')
			p = skip_ows(p + 1);
		if (*p == '\0')
			break;
		suffix = 0;
		first = last = -1;
		if (*p == '-') {
			suffix = 1;
			if ((p = parse_pos(p + 1, &last)) == NULL)
				return RANGE_IGNORE;
		} else {
			if ((p = parse_pos(p, &first)) == NULL || *p != '-')
				return RANGE_IGNORE;
			p++;
			if (isdigit((unsigned char)*p)) {
				if ((p = parse_pos(p, &last)) == NULL)
					return RANGE_IGNORE;
				if (last < first)
					return RANGE_IGNORE;   /* invalid range-spec */
			}
		}
		p = skip_ows(p);
		if (*p != ',' && *p != '\0')
			return RANGE_IGNORE;
		if (++specs > max_ranges)
			return RANGE_IGNORE;           /* abusive: answer with the whole file */

		if (suffix) {
			if (last == 0)
				continue;              /* unsatisfiable */
			first = last >= size ? 0 : size - last;
			last = size - 1;
		} else {
			if (first >= size)
				continue;              /* unsatisfiable */
			if (last == -1 || last >= size)
				last = size - 1;
		}
		if (last - first + 1 > max_len)
			last = first + max_len - 1;
		out[count].start = first;
		out[count].end = last;
		count++;
	}
	if (specs == 0)
		return RANGE_IGNORE;
	*n = count;
	return count == 0 ? RANGE_UNSATISFIABLE : RANGE_OK;
}

/*
 * query.cpp: query-string parameter lookup and percent-decoding (see query.h).
 */
#include <string.h>

#include "query.h"
#include "util.h"

int
query_decode(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
    int plus_is_space)
{
	size_t i, n = 0;
	int hi, lo;
	char c;

	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			hi = hex_value(in[i + 1]);
			lo = hex_value(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0' || n + 1 >= outsz)
			return -1;
		out[n++] = c;
	}
	if (n >= outsz)
		return -1;
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/*
 * A value inside the query string, which is NUL-terminated and ends the value with '&'
 * or the NUL: strcspn finds its plain prefix a vector at a time, query_decode the rest.
 */
static int
decode_value(const char *val, size_t vlen, struct query_param *p)
{
	size_t plain = strcspn(val, "%+&"), rest;

	if (plain > vlen)
		plain = vlen;
	if (plain >= p->outsz)
		return -1;
	memcpy(p->out, val, plain);
	if (query_decode(val + plain, vlen - plain, p->out + plain, p->outsz - plain, &rest,
	    1) == -1)
		return -1;
	p->len = plain + rest;
	return 0;
}

void
query_find(const char *q, struct query_param *p, int n)
{
	const char *amp, *eq, *val[QUERY_FIND_MAX];
	size_t namelen[QUERY_FIND_MAX], vlen[QUERY_FIND_MAX], klen;
	int seen[QUERY_FIND_MAX], i;

	if (n > QUERY_FIND_MAX)
		n = QUERY_FIND_MAX;
	for (i = 0; i < n; i++) {
		namelen[i] = strlen(p[i].name);
		seen[i] = 0;
		p[i].len = 0;
		p[i].result = QUERY_MISSING;
	}
	for (; q != NULL && *q != '\0'; q = *amp ? amp + 1 : amp) {
		amp = strchr(q, '&');
		if (amp == NULL)
			amp = q + strlen(q);
		eq = (const char *)memchr(q, '=', (size_t)(amp - q));
		klen = eq ? (size_t)(eq - q) : (size_t)(amp - q);
		for (i = 0; i < n; i++) {
			if (klen != namelen[i] || memcmp(q, p[i].name, klen) != 0)
				continue;
			seen[i]++;
			val[i] = eq ? eq + 1 : amp;
			vlen[i] = (size_t)(amp - val[i]);
		}
	}
	for (i = 0; i < n; i++) {
		if (seen[i] == 0)
			continue;
		if (seen[i] > 1 || decode_value(val[i], vlen[i], &p[i]) == -1)
			p[i].result = QUERY_BAD;
		else
			p[i].result = QUERY_FOUND;
	}
}

enum query_result
query_get(const char *q, const char *name, char *out, size_t outsz, size_t *outlen)
{
	struct query_param p = { name, out, outsz, 0, QUERY_MISSING };

	query_find(q, &p, 1);
	if (p.result == QUERY_FOUND)
		*outlen = p.len;
	return p.result;
}

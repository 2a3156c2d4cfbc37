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

enum query_result
query_get(const char *q, const char *name, char *out, size_t outsz, size_t *outlen)
{
	size_t namelen = strlen(name), klen, vlen;
	const char *p, *amp, *eq, *val = NULL;
	size_t found_len = 0;
	int found = 0;

	if (q == NULL)
		return QUERY_MISSING;
	for (p = q; *p != '\0'; p = *amp ? amp + 1 : amp) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = (const char *)memchr(p, '=', (size_t)(amp - p));
		klen = eq ? (size_t)(eq - p) : (size_t)(amp - p);
		if (klen != namelen || strncmp(p, name, namelen) != 0)
			continue;
		if (found)
			return QUERY_BAD;
		found = 1;
		val = eq ? eq + 1 : amp;
		found_len = (size_t)(amp - val);
	}
	if (!found)
		return QUERY_MISSING;
	vlen = found_len;
	if (query_decode(val, vlen, out, outsz, outlen, 1) == -1)
		return QUERY_BAD;
	return QUERY_FOUND;
}

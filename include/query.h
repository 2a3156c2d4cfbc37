/*
 * query.h: one parameter of a URL query string.
 *
 *   query = param *( "&" param )      param = name [ "=" value ]
 *
 * Values are percent-decoded ("+" is a space). A parameter given twice is an error, so
 * that "?sig=a&sig=b" cannot mean two things to two parsers.
 */
#ifndef STREAMD_QUERY_H
#define STREAMD_QUERY_H

#include <stddef.h>

enum query_result {
	QUERY_FOUND = 0,
	QUERY_MISSING = 1,
	QUERY_BAD = -1          /* duplicate, bad escape, NUL, or longer than the buffer */
};

/* Find name in q (may be NULL); decoded value into out (NUL-terminated). */
enum query_result query_get(const char *q, const char *name, char *out, size_t outsz,
    size_t *outlen);

/* One parameter for query_find: name and buffer in; result and decoded length out. */
struct query_param {
	const char     *name;
	char           *out;
	size_t          outsz;
	size_t          len;
	enum query_result result;
};
#define QUERY_FIND_MAX 8

/* Up to QUERY_FIND_MAX parameters in one pass over q; each as query_get would find it. */
void query_find(const char *q, struct query_param *p, int n);

/* Percent-decode len bytes into out; plus_is_space for query values. -1 if malformed,
 * has %00, or does not fit (out needs len + 1). */
int query_decode(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
    int plus_is_space);

#endif

/*
 * evfast.cpp: faster bodies for five functions that evhttp calls on every request (four
 * of libevent's, one of glibc's), each keeping the contract of the one it stands in for
 * (libevent 2.1's evutil.c and http.c; glibc's sscanf). libevent calls them through its
 * PLT, so a definition in the executable is the one the whole process uses (ELF symbol
 * interposition, as with malloc). Where that does not hold, libevent's and glibc's own
 * run and nothing else changes; evfast_active() tells which.
 *
 * evutil_vsnprintf: evhttp writes the status line and every response header with
 *   evbuffer_add_printf, and glibc's vsnprintf costs about 1,200 instructions a call
 *   whatever it prints (callgrind): 3,700 of the 31,000 a 64 KiB range request took.
 *   The two formats evhttp writes a response head with are copied here directly;
 *   every other format goes to vsnprintf, as in libevent.
 * evutil_ascii_strcasecmp, evutil_ascii_strncasecmp, evhttp_find_header: evhttp looks
 *   for a header about 5 times a request, comparing names with a function call for each
 *   character in libevent: 1,300 instructions a request. Here the compare is inline.
 * __isoc99_sscanf (glibc's sscanf for C99 programs): evhttp reads the HTTP version of
 *   every request with sscanf(version, "HTTP/%d.%d%c", ...): 1,300 instructions. A
 *   version of exactly "HTTP/" digit "." digit is read here, with the result sscanf gives
 *   it; any other string or format goes to glibc's __isoc99_vsscanf.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "evfast.h"
#include "util.h"

/* Append n bytes of s to t (cut at its end), counting what the whole would take. */
static void
put(struct text *t, size_t *total, const char *s, size_t n)
{
	*total += n;
	text_put(t, s, n);
}

static void
put_int(struct text *t, size_t *total, int v)
{
	char d[12];
	struct text nt = { d, d + sizeof(d) };

	if (v < 0)
		TEXT_LIT(&nt, "-");
	text_u64(&nt, v < 0 ? 0U - (unsigned int)v : (unsigned int)v);
	put(t, total, d, (size_t)(nt.p - d));
}

/* One of evhttp's two response-head formats written from ap; -1 if this is neither. */
static int
head_format(char *buf, size_t buflen, const char *format, va_list ap)
{
	struct text t = { buf, buf + buflen - 1 };     /* room for the NUL */
	size_t total = 0;
	const char *s1, *s2;
	int major, minor, code;

	if (strcmp(format, "%s: %s\r\n") == 0) {
		s1 = va_arg(ap, const char *);
		s2 = va_arg(ap, const char *);
		if (s1 == NULL || s2 == NULL)
			return -1;
		put(&t, &total, s1, strlen(s1));
		put(&t, &total, ": ", 2);
		put(&t, &total, s2, strlen(s2));
	} else if (strcmp(format, "HTTP/%d.%d %d %s\r\n") == 0) {
		major = va_arg(ap, int);
		minor = va_arg(ap, int);
		code = va_arg(ap, int);
		s1 = va_arg(ap, const char *);
		if (s1 == NULL)
			return -1;
		put(&t, &total, "HTTP/", 5);
		put_int(&t, &total, major);
		put(&t, &total, ".", 1);
		put_int(&t, &total, minor);
		put(&t, &total, " ", 1);
		put_int(&t, &total, code);
		put(&t, &total, " ", 1);
		put(&t, &total, s1, strlen(s1));
	} else {
		return -1;
	}
	put(&t, &total, "\r\n", 2);
	if (total > INT_MAX)
		return -1;              /* vsnprintf's EOVERFLOW, from vsnprintf itself */
	*t.p = '\0';
	buf[buflen - 1] = '\0';        /* as libevent leaves it */
	return (int)total;
}

int
evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
{
	va_list aq;
	int r;

	if (buflen == 0)
		return 0;
	va_copy(aq, ap);
	r = head_format(buf, buflen, format, aq);
	va_end(aq);
	if (r >= 0)
		return r;
	r = vsnprintf(buf, buflen, format, ap);
	buf[buflen - 1] = '\0';
	return r;
}

/* libevent lowers ASCII letters only and compares the results as (signed) char. */
static inline char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

int
evutil_ascii_strncasecmp(const char *s1, const char *s2, size_t n)
{
	char c1, c2;

	while (n--) {
		c1 = lower(*s1++);
		c2 = lower(*s2++);
		if (c1 != c2)
			return c1 < c2 ? -1 : 1;
		if (c1 == '\0')
			return 0;
	}
	return 0;
}

int
evutil_ascii_strcasecmp(const char *s1, const char *s2)
{
	return evutil_ascii_strncasecmp(s1, s2, (size_t)-1);     /* ends at the NUL */
}

const char *
evhttp_find_header(const struct evkeyvalq *headers, const char *key)
{
	const struct evkeyval *h;
	char first = lower(key[0]);

	TAILQ_FOREACH(h, headers, next)
		if (lower(h->key[0]) == first && evutil_ascii_strcasecmp(h->key, key) == 0)
			return h->value;
	return NULL;
}

extern "C" int __isoc99_vsscanf(const char *s, const char *format, va_list ap);

extern "C" int
__isoc99_sscanf(const char *s, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	if (strcmp(format, "HTTP/%d.%d%c") == 0 && strncmp(s, "HTTP/", 5) == 0 &&
	    s[5] >= '0' && s[5] <= '9' && s[6] == '.' && s[7] >= '0' && s[7] <= '9' &&
	    s[8] == '\0') {
		*va_arg(ap, int *) = s[5] - '0';
		*va_arg(ap, int *) = s[7] - '0';
		r = 2;                  /* %c meets the end of the string */
	} else {
		r = __isoc99_vsscanf(s, format, ap);
	}
	va_end(ap);
	return r;
}

int
evfast_active(void)
{
	void *used = dlsym(RTLD_DEFAULT, "evutil_vsnprintf");

	return used == (void *)&evutil_vsnprintf;
}

/*
 * evfast_ref.h: for test_evfast and fuzz_evfast, the two sides they compare: evfast's
 * evutil_vsnprintf called as snprintf, and the references it must agree with, glibc's
 * vsnprintf with libevent's contract around it (evutil.c) and glibc's own vsscanf.
 */
#ifndef STREAMD_TEST_EVFAST_REF_H
#define STREAMD_TEST_EVFAST_REF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <event2/util.h>

extern "C" int __isoc99_vsscanf(const char *s, const char *format, va_list ap);

static inline int
reference_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (len == 0)
		return 0;
	va_start(ap, fmt);
	r = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	buf[len - 1] = '\0';
	return r;
}

static inline int
fast_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = evutil_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

static inline int
reference_sscanf(const char *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __isoc99_vsscanf(s, fmt, ap);
	va_end(ap);
	return r;
}

#endif

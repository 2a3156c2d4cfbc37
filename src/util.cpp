/*
 * util.cpp: hex, string and clock helpers (see util.h).
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/* Value of each byte as a hex digit, -1 for the rest: no branch to mispredict. */
static const signed char hex_digit[256] = {
#define X16 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
	X16, X16, X16,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, X16,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, X16,
	X16, X16, X16, X16, X16, X16, X16, X16
#undef X16
};

int
hex_value(char c)
{
	return hex_digit[(unsigned char)c];
}

int
hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	size_t i;
	int hi, lo, bad = 0;

	if (inlen != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		hi = hex_digit[(unsigned char)in[2 * i]];
		lo = hex_digit[(unsigned char)in[2 * i + 1]];
		bad |= hi | lo;
		out[i] = (unsigned char)((unsigned)hi << 4 | (unsigned)lo);
	}
	return bad < 0 ? -1 : 0;
}

void
text_put(struct text *t, const char *s, size_t n)
{
	if (n > (size_t)(t->end - t->p))
		n = (size_t)(t->end - t->p);
	memcpy(t->p, s, n);
	t->p += n;
}

void
text_str(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

void
text_u64(struct text *t, uint64_t v)
{
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	    "8081828384858687888990919293949596979899";
	char d[20];
	size_t i = sizeof(d);

	while (v >= 100) {              /* two digits per division */
		i -= 2;
		memcpy(d + i, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		i -= 2;
		memcpy(d + i, pairs + 2 * v, 2);
	} else {
		d[--i] = (char)('0' + v);
	}
	text_put(t, d + i, sizeof(d) - i);
}

size_t
str_lcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
str_token_eq(const char *s, size_t len, const char *name)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

int64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

int64_t
clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * util.h: small helpers with no better home: hex, bounded copies, clocks.
 */
#ifndef STREAMD_UTIL_H
#define STREAMD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void   hex_encode(const unsigned char *in, size_t len, char *out);
/* Exactly 2 * outlen hex digits (either case) into out; -1 if malformed. */
int    hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen);
/* Copy at most size - 1 bytes and terminate; returns strlen(src). */
size_t str_lcpy(char *dst, const char *src, size_t size);
/* Case-insensitive comparison of a token list element ("a, b;q=1") to name. */
int    str_token_eq(const char *s, size_t len, const char *name);
/* Value of one hex digit, -1 if c is not one. */
int    hex_value(char c);
/*
 * Text assembled by hand where printf would be a per-request cost: appends stop at end
 * (the text is cut, never overrun); the caller terminates it if it needs a C string.
 */
struct text {
	char           *p;
	char           *end;
};
void   text_put(struct text *t, const char *s, size_t n);
void   text_str(struct text *t, const char *s);
void   text_u64(struct text *t, uint64_t v);
#define TEXT_LIT(t, s) text_put((t), (s), sizeof(s) - 1)
/* CLOCK_MONOTONIC in ms and µs, CLOCK_REALTIME in ms. */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
int64_t clock_wall_ms(void);

#endif

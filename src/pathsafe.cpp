/*
 * pathsafe.cpp: decode and confine request paths (rules in pathsafe.h).
 */
#include <string.h>

#include "pathsafe.h"
#include "util.h"

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned int cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;                   /* overlong, out of range, or surrogate */
	return len;
}

enum pathsafe_result
pathsafe_check(const char *path, size_t len)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t i = 0, seg_start = 0, n;

	if (len == 0 || len > PATHSAFE_MAX)
		return PATHSAFE_REJECT;
	while (i < len) {
		if (i == seg_start) {
			if (p[i] == '/' || p[i] == '.')
				return PATHSAFE_REJECT;    /* empty segment, "..", dot-file */
		}
		if (p[i] == '/') {
			if (i - seg_start > 255)
				return PATHSAFE_REJECT;
			seg_start = i + 1;
			i++;
			continue;
		}
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
			return PATHSAFE_REJECT;
		if ((n = utf8_len(p + i, len - i)) == 0)
			return PATHSAFE_REJECT;
		i += n;
	}
	if (seg_start == len || len - seg_start > 255)
		return PATHSAFE_REJECT;            /* trailing slash, or long name */
	return PATHSAFE_OK;
}

enum pathsafe_result
pathsafe_decode(const char *raw, size_t rawlen, char *out, size_t outsz, size_t *outlen)
{
	size_t i, n = 0;
	int hi, lo;
	char c;

	*outlen = 0;
	for (i = 0; i < rawlen; i++) {
		c = raw[i];
		if (c == '%') {
			if (i + 2 >= rawlen)
				return PATHSAFE_BAD_ESCAPE;
			hi = hex_value(raw[i + 1]);
			lo = hex_value(raw[i + 2]);
			if (hi < 0 || lo < 0)
				return PATHSAFE_BAD_ESCAPE;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || n + 1 >= outsz)
			return PATHSAFE_REJECT;     /* %00, or longer than any path we serve */
		out[n++] = c;
	}
	out[n] = '\0';
	*outlen = n;
	return pathsafe_check(out, n);
}

int
pathsafe_encode(const char *path, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)path[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			if (n + 1 >= outsz)
				return -1;
			out[n++] = (char)c;
		} else {
			if (n + 3 >= outsz)
				return -1;
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0x0f];
		}
	}
	if (n >= outsz)
		return -1;
	out[n] = '\0';
	return 0;
}

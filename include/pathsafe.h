/*
 * pathsafe.h: the file part of a /stream/ URL: percent-decoding, the checks that keep a
 * request inside audio_root by construction, and percent-encoding for minted URLs.
 *
 * A path is accepted only if, after decoding, it is relative, at most PATHSAFE_MAX bytes,
 * valid UTF-8 without control characters or backslashes, and made of non-empty segments
 * that do not start with "." (no ".", "..", or dot-files). Symlinks are the file cache's
 * job (it opens beneath the root).
 */
#ifndef STREAMD_PATHSAFE_H
#define STREAMD_PATHSAFE_H

#include <stddef.h>

#define PATHSAFE_MAX 1024

enum pathsafe_result {
	PATHSAFE_OK = 0,
	PATHSAFE_BAD_ESCAPE = -1,       /* malformed percent-encoding: 400 */
	PATHSAFE_REJECT = -2            /* not a path we serve: 404 */
};

/* Decode raw (rawlen bytes, no query) into out and check it. */
enum pathsafe_result pathsafe_decode(const char *raw, size_t rawlen, char *out,
    size_t outsz, size_t *outlen);
/* Check an already decoded path. */
enum pathsafe_result pathsafe_check(const char *path, size_t len);
/* Percent-encode everything but unreserved characters and "/"; -1 if out is short. */
int pathsafe_encode(const char *path, size_t len, char *out, size_t outsz);

#endif

/*
 * range.h: the HTTP Range request header (RFC 9110, section 14), byte ranges only.
 *
 *   Range          = "bytes" "=" range-set        (unit case-insensitive)
 *   range-set      = range-spec *( OWS "," OWS range-spec )
 *   range-spec     = first-pos "-" [ last-pos ]    ; int-range
 *                  / "-" suffix-length             ; suffix-range
 *
 * Pure: no I/O, bytes in, ranges out.
 */
#ifndef STREAMD_RANGE_H
#define STREAMD_RANGE_H

#include <stdint.h>

#define RANGE_MAX 100

struct range {
	int64_t start;          /* first byte */
	int64_t end;            /* last byte, inclusive */
};

enum range_result {
	RANGE_IGNORE = 0,       /* no header, other unit, invalid or too many: send 200 */
	RANGE_OK,               /* ranges[0..n) satisfiable, in request order */
	RANGE_UNSATISFIABLE     /* send 416 with Content-Range: bytes * / size */
};

/*
 * Parse value against a representation of size bytes. Unsatisfiable specs are dropped;
 * each kept range is clamped to the file and then to at most max_len bytes.
 */
enum range_result range_parse(const char *value, int64_t size, int max_ranges,
    int64_t max_len, struct range *out, int *n);

#endif

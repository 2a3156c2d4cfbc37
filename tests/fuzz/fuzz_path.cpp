// fuzz_path.cpp: libFuzzer target for percent-decoding and path confinement
// (pathsafe.h): whatever is accepted must be a relative path without "..", dot-file
// segments, backslashes or NUL.
// sources: pathsafe.cpp mime.cpp util.cpp
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mime.h"
#include "pathsafe.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PATHSAFE_MAX + 1], enc[3 * PATHSAFE_MAX + 1], back[PATHSAFE_MAX + 1];
	size_t n, m, i;

	if (pathsafe_decode((const char *)data, size, out, sizeof(out), &n) != PATHSAFE_OK)
		return 0;
	if (n == 0 || out[0] == '/' || memchr(out, '\0', n) != NULL ||
	    memchr(out, '\\', n) != NULL || strstr(out, "/.") != NULL || out[0] == '.' ||
	    strstr(out, "//") != NULL)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			__builtin_trap();
	mime_type(out, n);
	/* encoding and decoding again gives the same path */
	if (pathsafe_encode(out, n, enc, sizeof(enc)) != 0 ||
	    pathsafe_decode(enc, strlen(enc), back, sizeof(back), &m) != PATHSAFE_OK ||
	    m != n || memcmp(back, out, n) != 0)
		__builtin_trap();
	return 0;
}

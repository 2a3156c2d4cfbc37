// fuzz_evfast.cpp: libFuzzer target for evfast's stand-ins (evfast.h), each against the
// function it replaces: glibc's vsnprintf and vsscanf on the same arbitrary input.
// sources: evfast.cpp util.cpp
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/util.h>

#include "evfast.h"
#include "../evfast_ref.h"

/* Input: buffer length, three ints' worth of bytes, then text cut in two at the first 0. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[600], want[700], got[700];
	const char *s1, *s2;
	size_t len, n;
	int v[3], rw, rg, i, maj[2], min[2];
	char ch[2];

	if (size < 13 || size - 13 >= sizeof(text))
		return 0;
	len = data[0] % sizeof(want);
	memcpy(v, data + 1, sizeof(v));
	n = size - 13;
	memcpy(text, data + 13, n);
	text[n] = '\0';
	s1 = text;
	s2 = text + strlen(text) + (strlen(text) < n ? 1 : 0);

	memset(want, 'W', sizeof(want));
	memset(got, 'W', sizeof(got));
	rw = reference_snprintf(want, len, "%s: %s\r\n", s1, s2);
	rg = fast_snprintf(got, len, "%s: %s\r\n", s1, s2);
	if (rw != rg || memcmp(want, got, sizeof(want)) != 0)
		__builtin_trap();
	memset(want, 'W', sizeof(want));
	memset(got, 'W', sizeof(got));
	rw = reference_snprintf(want, len, "HTTP/%d.%d %d %s\r\n", v[0], v[1], v[2], s2);
	rg = fast_snprintf(got, len, "HTTP/%d.%d %d %s\r\n", v[0], v[1], v[2], s2);
	if (rw != rg || memcmp(want, got, sizeof(want)) != 0)
		__builtin_trap();

	for (i = 0; i < 2; i++) {
		maj[i] = min[i] = -77;
		ch[i] = '?';
	}
	rw = reference_sscanf(s1, "HTTP/%d.%d%c", &maj[0], &min[0], &ch[0]);
	rg = sscanf(s1, "HTTP/%d.%d%c", &maj[1], &min[1], &ch[1]);
	if (rw != rg || maj[0] != maj[1] || min[0] != min[1] || ch[0] != ch[1])
		__builtin_trap();
	if (evfast_active() != 1)
		__builtin_trap();
	return 0;
}

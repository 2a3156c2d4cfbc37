// fuzz_range.cpp: libFuzzer target for the Range header parser (range.h).
// sources: range.cpp
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "range.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct range r[RANGE_MAX];
	char buf[4096];
	int n, i;
	int64_t fsize;

	if (size < 8 || size > sizeof(buf) + 8)
		return 0;
	memcpy(&fsize, data, 8);
	fsize &= 0xffffffffffffLL;
	memcpy(buf, data + 8, size - 8);
	buf[size - 8] = '\0';
	if (range_parse(buf, fsize, 16, 1 << 20, r, &n) == RANGE_OK) {
		for (i = 0; i < n; i++) {
			if (r[i].start < 0 || r[i].end < r[i].start || r[i].end >= fsize ||
			    r[i].end - r[i].start + 1 > (1 << 20))
				__builtin_trap();
		}
	}
	return 0;
}

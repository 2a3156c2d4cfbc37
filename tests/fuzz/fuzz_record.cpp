// fuzz_record.cpp: libFuzzer target for the analytics datagram decoder (record.h)
// and the session tracker fed with what it decodes (sessions.h).
// sources: record.cpp sessions.cpp util.cpp
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "sessions.h"

static struct sessions *ss;

static void
on_access(const struct analytics_access *a, void *arg)
{
	(void)arg;
	sessions_track(ss, a, "127.0.0.1", a->ts_ms);
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ss == NULL)
		ss = sessions_new(60000);
	analytics_decode(data, size, on_access, NULL, NULL);
	sessions_expire(ss, INT64_MAX / 2);
	return 0;
}

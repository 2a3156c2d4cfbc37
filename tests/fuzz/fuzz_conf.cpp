// fuzz_conf.cpp: libFuzzer target for the configuration parser (conf.h): any text either
// loads or fails with "FILE:LINE: reason".
// sources: conf.cpp log.cpp
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct conf c;
	char err[1024];
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/streamd-fuzz-%d.conf", (int)getpid());
		log_set_level(LOG_LEVEL_CRIT);
	}
	/* include walks the file system; other targets cover the rest */
	if (memmem(data, size, "include", 7) != NULL)
		return 0;
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (conf_load(&c, path, err, sizeof(err)) == -1) {
		if (strncmp(err, path, strlen(path)) != 0 && strncmp(err, "environment", 11) != 0)
			__builtin_trap();
	}
	conf_free(&c);
	return 0;
}

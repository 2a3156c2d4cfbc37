/*
 * proctitle.cpp: process titles (see proctitle.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "proctitle.h"

static char  *title_start;
static size_t title_len;

void
proctitle_init(int argc, char **argv)
{
	char *end;
	int i;

	if (argc < 1 || argv[0] == NULL)
		return;
	/* The arguments are contiguous; use all of them (not the environment). */
	end = argv[0] + strlen(argv[0]);
	for (i = 1; i < argc; i++)
		if (argv[i] == end + 1)
			end = argv[i] + strlen(argv[i]);
	title_start = argv[0];
	title_len = (size_t)(end - argv[0]);
}

void
proctitle_set(const char *comm, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (title_start == NULL || title_len < 8)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memset(title_start, 0, title_len + 1);
	snprintf(title_start, title_len + 1, "%s", buf);
}

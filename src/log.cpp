/*
 * log.cpp: the error log (see log.h). Owns the process's error-log descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "streamd.h"

static int  log_fd_cur = STDERR_FILENO;
static int  log_level_cur = LOG_LEVEL_NOTICE;
static char log_path_cur[4096];
static char log_ident[48] = "streamd";

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};

void
log_set_ident(const char *ident)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

static int
open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_open(const char *path, int level, char *err, size_t errlen)
{
	int fd;

	log_level_cur = level;
	if (path == NULL || strcmp(path, "stderr") == 0) {
		if (log_fd_cur != STDERR_FILENO && log_fd_cur >= 0)
			close(log_fd_cur);
		log_fd_cur = STDERR_FILENO;
		log_path_cur[0] = '\0';
		return 0;
	}
	fd = open_append(path);
	if (fd == -1) {
		snprintf(err, errlen, "error_log %s: %s", path, strerror(errno));
		return -1;
	}
	if (log_fd_cur != STDERR_FILENO && log_fd_cur >= 0)
		close(log_fd_cur);
	log_fd_cur = fd;
	snprintf(log_path_cur, sizeof(log_path_cur), "%s", path);
	return 0;
}

int
log_reopen(void)
{
	int fd;

	if (log_path_cur[0] == '\0')
		return 0;
	fd = open_append(log_path_cur);
	if (fd == -1) {
		log_warn("reopen %s", log_path_cur);
		return -1;
	}
	if (log_fd_cur != STDERR_FILENO)
		close(log_fd_cur);
	log_fd_cur = fd;
	return 0;
}

void
log_set_level(int level)
{
	log_level_cur = level;
}

int
log_get_level(void)
{
	return log_level_cur;
}

int
log_fd(void)
{
	return log_fd_cur;
}

const char *
log_path(void)
{
	return log_path_cur[0] ? log_path_cur : NULL;
}

int
log_level_parse(const char *name)
{
	int i;

	for (i = LOG_LEVEL_CRIT; i <= LOG_LEVEL_DEBUG; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	if (strcmp(name, "warning") == 0)
		return LOG_LEVEL_WARN;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_LEVEL_DEBUG)
		return "?";
	return level_names[level];
}

static void
log_vwrite(int level, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int saved = errno, r;

	if (level > log_level_cur)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03dZ [%s] %s[%d]: ",
	    (int)(tv.tv_usec / 1000), level_names[level], log_ident, (int)getpid());
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n = MIN(n + (size_t)r, sizeof(line) - 1);
	}
	if (with_errno && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
		if (r > 0)
			n = MIN(n + (size_t)r, sizeof(line) - 1);
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(log_fd_cur, line, n) == -1) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

#define LOG_FN(name, level, with_errno)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite(level, with_errno, fmt, ap);		\
	va_end(ap);					\
}

LOG_FN(log_crit, LOG_LEVEL_CRIT, 0)
LOG_FN(log_error, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_notice, LOG_LEVEL_NOTICE, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_CRIT, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

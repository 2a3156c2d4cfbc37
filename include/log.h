/*
 * log.h: the error log. One line per message, written with a single write(2) so that lines
 * from several processes appending to one file never interleave. Every process (master,
 * workers, collector) owns its own descriptor and reopens it on SIGUSR1.
 *
 * Style of OpenBSD's log.c: log_warn() appends strerror(errno), log_warnx() does not.
 */
#ifndef STREAMD_LOG_H
#define STREAMD_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_CRIT = 2,
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7
};

/* Name this process in every line ("master", "worker 2", "collector"). */
void log_set_ident(const char *ident);
/* path NULL or "stderr": standard error. Returns 0, or -1 with err filled. */
int  log_open(const char *path, int level, char *err, size_t errlen);
/* Reopen the current file (logrotate). Keeps the old descriptor if the open fails. */
int  log_reopen(void);
void log_set_level(int level);
int  log_get_level(void);
/* Descriptor the log writes to (for fchown after creation). */
int  log_fd(void);
const char *log_path(void);
/* "debug" .. "crit"; -1 if unknown. */
int  log_level_parse(const char *name);
const char *log_level_name(int level);

void log_crit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

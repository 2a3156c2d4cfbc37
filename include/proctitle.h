/*
 * proctitle.h: process names that ps(1) and top(1) show, as nginx does
 * ("streamd: master", "streamd: worker 1", "streamd: collector"). The command line is
 * rewritten in place (within the space of the original arguments) and the short name
 * (/proc/PID/comm) set with prctl(PR_SET_NAME).
 */
#ifndef STREAMD_PROCTITLE_H
#define STREAMD_PROCTITLE_H

/* Remember where argv lives; call first thing in main(). */
void proctitle_init(int argc, char **argv);
/* comm: at most 15 characters. */
void proctitle_set(const char *comm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

/*
 * notify.h: the service manager notification protocol (sd_notify(3)) without libsystemd:
 * one datagram "KEY=VALUE\n..." to the AF_UNIX socket named by $NOTIFY_SOCKET.
 */
#ifndef STREAMD_NOTIFY_H
#define STREAMD_NOTIFY_H

#include <stdint.h>

/* Read NOTIFY_SOCKET / WATCHDOG_USEC and clear them from the environment. */
void notify_init(void);
int  notify_enabled(void);
/* Send msg (several lines allowed); 0 if sent or no manager, -1 on error. */
int  notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Watchdog interval in microseconds (0: none). */
uint64_t notify_watchdog_usec(void);
/* CLOCK_MONOTONIC in microseconds, for RELOADING=1 MONOTONIC_USEC=. */
uint64_t notify_monotonic_usec(void);

#endif

/*
 * net.h: listening sockets: bind (with SO_REUSEPORT for one socket per worker), probe that
 * an address is not served by another process, and sockets passed by systemd
 * (LISTEN_FDS / LISTEN_PID). Errors go to a caller-supplied buffer, redis anet style.
 */
#ifndef STREAMD_NET_H
#define STREAMD_NET_H

#include <stddef.h>

#include "conf.h"

/* A bound, listening, non-blocking, close-on-exec socket; -1 with err filled. */
int net_listen(const struct conf_addr *a, int reuseport, char *err, size_t errlen);
/* 0 if nothing listens on a (a plain bind succeeds), -1 with err filled otherwise. */
int net_probe(const struct conf_addr *a, char *err, size_t errlen);
/*
 * Sockets passed by the service manager: fills fds (up to max) and returns how many,
 * 0 if none. Clears the variables so children do not see them.
 */
int net_activation_fds(int *fds, int max);
/* Address of a listening socket into a (text form too). */
int net_sockname(int fd, struct conf_addr *a);
/* 1 if SO_REUSEPORT is set on fd. */
int net_is_reuseport(int fd);

#endif

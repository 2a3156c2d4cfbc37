/*
 * streamd.h: project-wide constants and tiny helpers shared by every module.
 */
#ifndef STREAMD_H
#define STREAMD_H

#include <stddef.h>
#include <stdint.h>

#ifndef STREAMD_VERSION
#define STREAMD_VERSION "0.0.0"
#endif

#define STREAMD_NAME            "streamd"
#define STREAMD_DEFAULT_CONF    "/etc/streamd/streamd.conf"

#define NITEMS(a)               (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)               ((a) < (b) ? (a) : (b))
#define MAX(a, b)               ((a) > (b) ? (a) : (b))

#define STREAMD_OK              0
#define STREAMD_ERR             (-1)

/* Upper bound on worker processes (and so on metrics slots per generation). */
#define STREAMD_MAX_WORKERS     64

#endif

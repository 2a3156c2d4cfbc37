/*
 * mime.h: the audio types streamd serves, by file extension. Anything else is not served.
 */
#ifndef STREAMD_MIME_H
#define STREAMD_MIME_H

#include <stddef.h>

/* Content-Type for path's extension (case-insensitive), or NULL if it is not audio. */
const char *mime_type(const char *path, size_t len);

#endif

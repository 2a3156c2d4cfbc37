/*
 * evfast.h: faster bodies for functions that evhttp calls on every request
 * (evutil_vsnprintf, evutil_ascii_strcasecmp, evutil_ascii_strncasecmp,
 * evhttp_find_header, __isoc99_sscanf), with their contracts unchanged. They take the
 * libraries' place by ELF symbol interposition.
 */
#ifndef STREAMD_EVFAST_H
#define STREAMD_EVFAST_H

/* 1 if libevent's own calls reach these bodies (the process resolves them here). */
int evfast_active(void);

#endif

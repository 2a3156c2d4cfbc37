/*
 * admin.h: GET /admin/stats. Checks the admin credentials, parses the period
 * (?from=&to= as unix seconds or ISO 8601 UTC, ?limit= for the top list), asks the
 * collector (which owns the database) over its local socket without blocking the worker,
 * adds live figures from shared memory and answers JSON (gzip when accepted).
 */
#ifndef STREAMD_ADMIN_H
#define STREAMD_ADMIN_H

#include <stdint.h>

struct worker;
struct conn;
struct evhttp_request;

void admin_stats(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *query);
/* Parse a time given as unix seconds ("1764000000", "1764000000.5") or ISO 8601
 * ("2026-11-25", "2026-11-25T17:00:00Z"); milliseconds into *ms. -1 if neither. */
int  admin_parse_time(const char *s, int64_t *ms);

#endif

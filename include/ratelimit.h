/*
 * ratelimit.h: per-client rate limits and connection counts, shared by all workers.
 *
 * Each (client address, route class) has a GCRA token bucket (the "generic cell rate
 * algorithm", the arithmetic of nginx's limit_req): rate r per second and burst b admit
 * b + 1 requests at once, then one every 1/r s. State lives in a fixed table in shared
 * memory, in sets of 8 entries locked by stripe; when a set is full, the entry evicted is
 * the one that carries the least information: never one with open connections, a full
 * bucket first (it equals a fresh one), a client refused within the last minute last. A
 * flood of new addresses thus cannot wash out the abusers, and the memory never grows.
 *
 * Refused requests get 429 with Retry-After and the IETF httpapi RateLimit-Policy /
 * RateLimit fields (draft-ietf-httpapi-ratelimit-headers).
 */
#ifndef STREAMD_RATELIMIT_H
#define STREAMD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct worker;
struct conn;
struct evhttp_request;
struct ratelimit;

#define RATELIMIT_SET   8
#define RATELIMIT_CONNS 7               /* pseudo class holding connection counts */

size_t ratelimit_shm_size(const struct conf *c);
void   ratelimit_shm_init(const struct conf *c);
struct ratelimit *ratelimit_attach(const struct conf *c);
void   ratelimit_detach(struct ratelimit *rl);

/* -1 if a 429 was sent. */
int  ratelimit_request(struct worker *w, struct conn *c, struct evhttp_request *req,
    int rclass);
/* Count a new connection of c's peer; -1 if over max_client_connections. */
int  ratelimit_conn_open(struct worker *w, struct conn *c);
void ratelimit_conn_close(struct worker *w, struct conn *c);

/*
 * The bucket arithmetic on one table (exported for tests): 1 admitted, 0 refused with
 * *retry_us until the next admission; *remaining is what is left of the burst.
 */
int  ratelimit_take(void *table, size_t entries, const unsigned char addr[16], int rclass,
    double rate, int burst, int64_t now_us, int64_t *retry_us, int *remaining);
int  ratelimit_conns(void *table, size_t entries, const unsigned char addr[16], int delta,
    int limit, int64_t now_us);

#endif

/*
 * metrics.h: the counters every process keeps in its own shared-memory slot (one writer
 * per slot, no locks), and the Prometheus text rendering that sums all slots so that any
 * worker can answer /metrics for the whole server.
 */
#ifndef STREAMD_METRICS_H
#define STREAMD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "streamd.h"

enum metrics_route {
	ROUTE_STREAM = 0,
	ROUTE_HEALTH,
	ROUTE_METRICS,
	ROUTE_ADMIN,
	ROUTE_AUTH,
	ROUTE_OTHER,
	ROUTE_COUNT
};

/* Status codes counted one by one; anything else lands in the last column. */
#define METRICS_CODES 26

/* Why a credential was refused (label "reason"). */
enum metrics_auth {
	AUTH_SIG_MISSING = 0,
	AUTH_SIG_MALFORMED,
	AUTH_SIG_INVALID,
	AUTH_SIG_EXPIRED,
	AUTH_TOKEN_MALFORMED,
	AUTH_TOKEN_SIGNATURE,
	AUTH_TOKEN_EXPIRED,
	AUTH_TOKEN_NOT_YET_VALID,
	AUTH_TOKEN_CLAIMS,          /* iss, aud, iat, missing exp ... */
	AUTH_TOKEN_ALGORITHM,
	AUTH_TOKEN_KEY,             /* unknown or missing kid */
	AUTH_TOKEN_REVOKED,
	AUTH_TOKEN_SCOPE,           /* authenticated but not permitted */
	AUTH_REFRESH_REUSE,
	AUTH_ADMIN_TOKEN,
	AUTH_REASON_COUNT
};

#define METRICS_BUCKETS 14          /* duration histogram upper bounds, see metrics.cpp */
#define METRICS_RL_CLASSES 4

struct metrics_slot {
	uint64_t        requests[ROUTE_COUNT][METRICS_CODES];
	uint64_t        bytes_sent[ROUTE_COUNT];
	uint64_t        duration_bucket[ROUTE_COUNT][METRICS_BUCKETS];
	uint64_t        duration_count[ROUTE_COUNT];
	uint64_t        duration_sum_us[ROUTE_COUNT];
	uint64_t        range_requests;
	uint64_t        multipart_requests;
	uint64_t        not_modified;
	int64_t         streams_active;                 /* gauge: audio bodies being sent */
	uint64_t        aborted_responses;
	uint64_t        connections_total;
	int64_t         connections_active;             /* gauge */
	uint64_t        connections_refused;            /* max_connections / per client */
	uint64_t        auth_failures[AUTH_REASON_COUNT];
	uint64_t        rate_limited[METRICS_RL_CLASSES];
	uint64_t        rate_limited_dry_run[METRICS_RL_CLASSES];
	uint64_t        filecache_hits;
	uint64_t        filecache_misses;
	int64_t         filecache_entries;              /* gauge */
	uint64_t        analytics_records;              /* handed to the collector */
	uint64_t        analytics_dropped;              /* could not be kept */
	uint64_t        analytics_send_batches;
	int64_t         analytics_pending;              /* gauge: waiting in the worker */
	uint64_t        timeouts_header;
	uint64_t        timeouts_send;
	uint64_t        requests_rejected;              /* 413, 414, 431 */
	uint64_t        tokens_issued;
	uint64_t        tokens_revoked;
} __attribute__((aligned(64)));

#define METRIC_ADD(field, v) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), \
	    __ATOMIC_RELAXED)

/* Column of a status code in requests[][]. */
int  metrics_code_index(int status);
int  metrics_code_at(int index);        /* 0 for the "other" column */
/* Bucket index for a duration in microseconds. */
int  metrics_bucket(uint64_t us);
const char *metrics_route_name(int route);
const char *metrics_auth_name(int reason);

/* Count one finished request in slot. */
void metrics_request(struct metrics_slot *s, int route, int status, uint64_t body_bytes,
    uint64_t duration_us);

struct evbuffer;
/* Render the Prometheus text exposition (0.0.4) of the whole server into out. */
int  metrics_render(struct evbuffer *out);

#endif

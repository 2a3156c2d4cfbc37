/*
 * ratelimit.cpp: shared-memory rate limiting and per-client connection counting
 * (see ratelimit.h).
 */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "conf.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "shm.h"
#include "worker.h"
#include "util.h"

#define LOCK_STRIPES 256

struct rl_entry {
	unsigned char   addr[16];
	int32_t         rclass;         /* -1: free */
	int32_t         conns;
	int64_t         tat_us;         /* theoretical arrival time (GCRA) */
	int64_t         seen_us;
	int64_t         refused_us;     /* last time a request was refused, 0 never */
};

/* A client refused this recently is an abuser: its entry is the last to go. */
#define ABUSER_MEMORY_US (60LL * 1000000)

struct ratelimit {
	struct rl_entry *table;
	size_t           entries;
	int              enabled;
};

static const char *const class_names[] = { "stream", "auth", "admin", "other" };

static size_t
entries_of(const struct conf *c)
{
	size_t n = (size_t)c->rate_limit_table;

	n = (n + RATELIMIT_SET - 1) / RATELIMIT_SET * RATELIMIT_SET;
	return n < RATELIMIT_SET ? RATELIMIT_SET : n;
}

size_t
ratelimit_shm_size(const struct conf *c)
{
	return entries_of(c) * sizeof(struct rl_entry);
}

void
ratelimit_shm_init(const struct conf *c)
{
	struct rl_entry *t = (struct rl_entry *)shm_region(SHM_REGION_RATELIMIT, NULL);
	size_t i, n = entries_of(c);

	if (t == NULL)
		return;
	for (i = 0; i < n; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].rclass = -1;
	}
}

struct ratelimit *
ratelimit_attach(const struct conf *c)
{
	struct ratelimit *rl = (struct ratelimit *)calloc(1, sizeof(*rl));
	size_t len;

	(void)c;
	if (rl == NULL)
		return NULL;
	rl->table = (struct rl_entry *)shm_region(SHM_REGION_RATELIMIT, &len);
	rl->entries = rl->table ? len / sizeof(struct rl_entry) : 0;
	return rl;
}

void
ratelimit_detach(struct ratelimit *rl)
{
	free(rl);
}

static uint32_t
hash_key(const unsigned char addr[16], int rclass)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++) {
		h ^= addr[i];
		h *= 16777619u;
	}
	h ^= (uint32_t)rclass;
	h *= 16777619u;
	return h ^ (h >> 15);
}

static int
lock_of(size_t set)
{
	return SHM_LOCKS_RATELIMIT + (int)(set % LOCK_STRIPES);
}

/*
 * The entry for (addr, rclass) in its set, created if needed. Caller holds the set's
 * lock. NULL if the set is full of entries that must not be dropped.
 */
static struct rl_entry *
lookup(struct rl_entry *t, size_t entries, const unsigned char addr[16], int rclass,
    int64_t now_us, int create)
{
	size_t set = hash_key(addr, rclass) % (entries / RATELIMIT_SET), i;
	struct rl_entry *base = t + set * RATELIMIT_SET, *free_e = NULL, *victim = NULL;
	int64_t best = INT64_MIN, score;

	for (i = 0; i < RATELIMIT_SET; i++) {
		struct rl_entry *e = &base[i];
		if (e->rclass == rclass && memcmp(e->addr, addr, 16) == 0)
			return e;
		if (e->rclass == -1 && free_e == NULL)
			free_e = e;
	}
	if (!create)
		return NULL;
	if (free_e == NULL) {
		/*
		 * Evict the entry worth least: never one with open connections; among the
		 * others, clients refused lately go last; then the most credit first (a
		 * bucket refilled long ago is the same as no entry), then the oldest.
		 */
		for (i = 0; i < RATELIMIT_SET; i++) {
			struct rl_entry *e = &base[i];
			if (e->conns > 0)
				continue;
			score = now_us - e->tat_us;     /* > 0: credit, < 0: debt */
			if (score > INT64_MAX / 4)
				score = INT64_MAX / 4;
			if (score < INT64_MIN / 4)
				score = INT64_MIN / 4;
			if (e->refused_us != 0 && now_us - e->refused_us < ABUSER_MEMORY_US)
				score -= INT64_MAX / 2;
			if (score > best || (score == best && victim != NULL &&
			    e->seen_us < victim->seen_us)) {
				best = score;
				victim = e;
			}
		}
		if (victim == NULL)
			return NULL;
		free_e = victim;
	}
	memset(free_e, 0, sizeof(*free_e));
	memcpy(free_e->addr, addr, 16);
	free_e->rclass = rclass;
	free_e->tat_us = now_us;
	free_e->seen_us = now_us;
	return free_e;
}

int
ratelimit_take(void *table, size_t entries, const unsigned char addr[16], int rclass,
    double rate, int burst, int64_t now_us, int64_t *retry_us, int *remaining)
{
	struct rl_entry *t = (struct rl_entry *)table, *e;
	size_t set = hash_key(addr, rclass) % (entries / RATELIMIT_SET);
	int64_t interval = (int64_t)(1e6 / rate), tau = interval * burst, tat;
	int ok;

	if (interval < 1)
		interval = 1;
	shm_lock(lock_of(set));
	e = lookup(t, entries, addr, rclass, now_us, 1);
	if (e == NULL) {
		/* Nothing can be evicted: admit rather than punish an unknown client. */
		shm_unlock(lock_of(set));
		*retry_us = 0;
		*remaining = burst;
		return 1;
	}
	e->seen_us = now_us;
	tat = e->tat_us > now_us ? e->tat_us : now_us;
	if (tat - now_us > tau) {
		*retry_us = tat - now_us - tau;
		*remaining = 0;
		e->refused_us = now_us;
		ok = 0;
	} else {
		e->tat_us = tat + interval;
		*retry_us = 0;
		*remaining = (int)((tau - (e->tat_us - now_us)) / interval) + 1;
		if (*remaining < 0)
			*remaining = 0;
		ok = 1;
	}
	shm_unlock(lock_of(set));
	return ok;
}

int
ratelimit_conns(void *table, size_t entries, const unsigned char addr[16], int delta,
    int limit, int64_t now_us)
{
	struct rl_entry *t = (struct rl_entry *)table, *e;
	size_t set = hash_key(addr, RATELIMIT_CONNS) % (entries / RATELIMIT_SET);
	int ok = 1;

	shm_lock(lock_of(set));
	e = lookup(t, entries, addr, RATELIMIT_CONNS, now_us, delta > 0);
	if (e != NULL) {
		if (delta > 0 && limit > 0 && e->conns >= limit) {
			ok = 0;
		} else {
			e->conns += delta;
			if (e->conns < 0)
				e->conns = 0;
			e->seen_us = now_us;
			/* An idle connection entry is worth nothing: make it evictable. */
			if (e->conns == 0)
				e->tat_us = 0;
		}
	}
	shm_unlock(lock_of(set));
	return ok;
}

static void
addr16(const struct sockaddr_storage *ss, unsigned char out[16])
{
	memset(out, 0, 16);
	if (ss->ss_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static int
exempt(const struct conf *c, const struct sockaddr_storage *ss)
{
	return conf_cidr_match(c->rate_limit_allow, c->nrate_limit_allow,
	    (const struct sockaddr *)ss);
}

int
ratelimit_request(struct worker *w, struct conn *c, struct evhttp_request *req, int rclass)
{
	const struct conf_rate *r = &w->conf->rate[rclass];
	unsigned char a[16];
	char buf[128];
	int64_t retry;
	int remaining, q, win, secs;

	if (!r->set || c == NULL || w->rl == NULL || w->rl->entries == 0 ||
	    exempt(w->conf, &c->client))
		return 0;
	addr16(&c->client, a);
	if (ratelimit_take(w->rl->table, w->rl->entries, a, rclass, r->rate, r->burst, clock_mono_us(),
	    &retry, &remaining))
		return 0;
	if (w->conf->rate_limit_dry_run) {
		METRIC_ADD(w->m->rate_limited_dry_run[rclass], 1);
		log_info("rate limit (dry run): %s exceeds the %s limit", c->client_text,
		    class_names[rclass]);
		return 0;
	}
	METRIC_ADD(w->m->rate_limited[rclass], 1);
	secs = (int)((retry + 999999) / 1000000);
	if (secs < 1)
		secs = 1;
	if (r->rate >= 1) {
		q = (int)lround(r->rate);
		win = 1;
	} else {
		q = (int)lround(r->rate * 60);
		win = 60;
	}
	snprintf(buf, sizeof(buf), "%d", secs);
	http_out(req, "Retry-After", buf);
	snprintf(buf, sizeof(buf), "\"%s\";q=%d;w=%d", class_names[rclass], q + r->burst, win);
	http_out(req, "RateLimit-Policy", buf);
	snprintf(buf, sizeof(buf), "\"%s\";r=%d;t=%d", class_names[rclass], remaining, secs);
	http_out(req, "RateLimit", buf);
	http_error(w, c, req, 429, "too_many_requests",
	    "rate limit exceeded; retry after the time in Retry-After");
	return -1;
}

int
ratelimit_conn_open(struct worker *w, struct conn *c)
{
	unsigned char a[16];

	if (w->conf->max_client_connections <= 0 || w->rl == NULL || w->rl->entries == 0 ||
	    exempt(w->conf, &c->peer) ||
	    conf_cidr_match(w->conf->trusted_proxies, w->conf->ntrusted_proxies,
	    (const struct sockaddr *)&c->peer))
		return 0;
	addr16(&c->peer, a);
	if (!ratelimit_conns(w->rl->table, w->rl->entries, a, 1,
	    w->conf->max_client_connections, clock_mono_us())) {
		log_info("%s: over max_client_connections (%d)", c->peer_text,
		    w->conf->max_client_connections);
		return -1;
	}
	c->client_counted = 1;
	return 0;
}

void
ratelimit_conn_close(struct worker *w, struct conn *c)
{
	unsigned char a[16];

	if (!c->client_counted || w->rl == NULL)
		return;
	addr16(&c->peer, a);
	ratelimit_conns(w->rl->table, w->rl->entries, a, -1, 0, clock_mono_us());
	c->client_counted = 0;
}

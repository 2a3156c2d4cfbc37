/*
 * metrics.cpp: per-process counters and the Prometheus text exposition (format 0.0.4)
 * of their sums over every slot in shared memory.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf.h"
#include "metrics.h"
#include "shm.h"

static const int codes[METRICS_CODES - 1] = {
	200, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 408, 410, 411, 412, 413,
	414, 415, 416, 429, 431, 500, 501, 503, 505
};

/* Upper bounds of the duration histogram, microseconds. */
static const uint64_t bucket_us[METRICS_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};

static const char *const route_names[ROUTE_COUNT] = {
	"stream", "health", "metrics", "admin", "auth", "other"
};

static const char *const auth_names[AUTH_REASON_COUNT] = {
	"signature_missing", "signature_malformed", "signature_invalid", "signature_expired",
	"token_malformed", "token_signature", "token_expired", "token_not_yet_valid",
	"token_claims", "token_algorithm", "token_key", "token_revoked", "token_scope",
	"refresh_reuse", "admin_token"
};

static const char *const rl_names[METRICS_RL_CLASSES] = { "stream", "auth", "admin", "other" };

int
metrics_code_index(int status)
{
	int i;

	for (i = 0; i < METRICS_CODES - 1; i++)
		if (codes[i] == status)
			return i;
	return METRICS_CODES - 1;
}

int
metrics_code_at(int index)
{
	return index >= 0 && index < METRICS_CODES - 1 ? codes[index] : 0;
}

int
metrics_bucket(uint64_t us)
{
	int i;

	for (i = 0; i < METRICS_BUCKETS; i++)
		if (us <= bucket_us[i])
			return i;
	return METRICS_BUCKETS;     /* only +Inf */
}

const char *
metrics_route_name(int route)
{
	return route >= 0 && route < ROUTE_COUNT ? route_names[route] : "other";
}

const char *
metrics_auth_name(int reason)
{
	return reason >= 0 && reason < AUTH_REASON_COUNT ? auth_names[reason] : "other";
}

void
metrics_request(struct metrics_slot *s, int route, int status, uint64_t body_bytes,
    uint64_t duration_us)
{
	int b;

	if (s == NULL)
		return;
	METRIC_ADD(s->requests[route][metrics_code_index(status)], 1);
	METRIC_ADD(s->bytes_sent[route], body_bytes);
	b = metrics_bucket(duration_us);
	if (b < METRICS_BUCKETS)
		METRIC_ADD(s->duration_bucket[route][b], 1);
	METRIC_ADD(s->duration_count[route], 1);
	METRIC_ADD(s->duration_sum_us[route], duration_us);
}

/* Sum of one field over every slot: off is its byte offset in struct metrics_slot. */
static uint64_t
sum_u64(size_t off)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < SHM_MAX_PROCS; i++) {
		const char *base = (const char *)shm_slot(i);
		if (base != NULL)
			total += __atomic_load_n((const uint64_t *)(base + off), __ATOMIC_RELAXED);
	}
	return total;
}

#define SUM(field) sum_u64(offsetof(struct metrics_slot, field))

static void
header(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
simple(struct evbuffer *out, const char *name, const char *type, const char *help,
    uint64_t v)
{
	header(out, name, type, help);
	evbuffer_add_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

int
metrics_render(struct evbuffer *out)
{
	struct shm_header *h = shm_get();
	int r, c, b, i, alive = 0, collector_alive = 0;
	uint64_t v, cum;
	int64_t active = 0;

	if (h == NULL)
		return -1;
	header(out, "streamd_build_info", "gauge", "Build information.");
	evbuffer_add_printf(out, "streamd_build_info{version=\"%s\"} 1\n", STREAMD_VERSION);
	header(out, "process_start_time_seconds", "gauge",
	    "Start time of the master process since the Unix epoch in seconds.");
	evbuffer_add_printf(out, "process_start_time_seconds %.3f\n",
	    (double)h->start_time_ms / 1000.0);

	header(out, "streamd_http_requests_total", "counter",
	    "HTTP requests answered, by route and status code.");
	for (r = 0; r < ROUTE_COUNT; r++) {
		for (c = 0; c < METRICS_CODES; c++) {
			v = sum_u64(offsetof(struct metrics_slot, requests) +
			    sizeof(uint64_t) * (size_t)(r * METRICS_CODES + c));
			if (v == 0)
				continue;
			if (metrics_code_at(c) != 0)
				evbuffer_add_printf(out, "streamd_http_requests_total{route=\"%s\","
				    "code=\"%d\"} %llu\n", route_names[r], metrics_code_at(c),
				    (unsigned long long)v);
			else
				evbuffer_add_printf(out, "streamd_http_requests_total{route=\"%s\","
				    "code=\"other\"} %llu\n", route_names[r], (unsigned long long)v);
		}
	}
	header(out, "streamd_http_response_body_bytes_total", "counter",
	    "Response body bytes sent, by route.");
	for (r = 0; r < ROUTE_COUNT; r++) {
		v = sum_u64(offsetof(struct metrics_slot, bytes_sent) + sizeof(uint64_t) * (size_t)r);
		evbuffer_add_printf(out, "streamd_http_response_body_bytes_total{route=\"%s\"} "
		    "%llu\n", route_names[r], (unsigned long long)v);
	}
	header(out, "streamd_http_request_duration_seconds", "histogram",
	    "Time from request headers read to response fully sent, by route.");
	for (r = 0; r < ROUTE_COUNT; r++) {
		cum = 0;
		for (b = 0; b < METRICS_BUCKETS; b++) {
			cum += sum_u64(offsetof(struct metrics_slot, duration_bucket) +
			    sizeof(uint64_t) * (size_t)(r * METRICS_BUCKETS + b));
			evbuffer_add_printf(out, "streamd_http_request_duration_seconds_bucket"
			    "{route=\"%s\",le=\"%g\"} %llu\n", route_names[r],
			    (double)bucket_us[b] / 1e6, (unsigned long long)cum);
		}
		v = sum_u64(offsetof(struct metrics_slot, duration_count) +
		    sizeof(uint64_t) * (size_t)r);
		evbuffer_add_printf(out, "streamd_http_request_duration_seconds_bucket"
		    "{route=\"%s\",le=\"+Inf\"} %llu\n", route_names[r], (unsigned long long)v);
		evbuffer_add_printf(out, "streamd_http_request_duration_seconds_sum"
		    "{route=\"%s\"} %.6f\n", route_names[r],
		    (double)sum_u64(offsetof(struct metrics_slot, duration_sum_us) +
		    sizeof(uint64_t) * (size_t)r) / 1e6);
		evbuffer_add_printf(out, "streamd_http_request_duration_seconds_count"
		    "{route=\"%s\"} %llu\n", route_names[r], (unsigned long long)v);
	}
	simple(out, "streamd_http_range_requests_total", "counter",
	    "Requests answered with 206 Partial Content.", SUM(range_requests));
	simple(out, "streamd_http_multipart_ranges_total", "counter",
	    "206 responses with several ranges (multipart/byteranges).",
	    SUM(multipart_requests));
	simple(out, "streamd_http_aborted_responses_total", "counter",
	    "Responses cut short because the client went away or timed out.",
	    SUM(aborted_responses));
	simple(out, "streamd_http_rejected_requests_total", "counter",
	    "Requests refused for their size (413, 414, 431).", SUM(requests_rejected));

	for (i = 0; i < SHM_MAX_PROCS; i++) {
		struct metrics_slot *s = shm_slot(i);
		active += __atomic_load_n(&s->connections_active, __ATOMIC_RELAXED);
		if (h->procs[i].pid != 0 && h->procs[i].kind == SHM_PROC_WORKER &&
		    !h->procs[i].stopping)
			alive++;
		if (h->procs[i].pid != 0 && h->procs[i].kind == SHM_PROC_COLLECTOR)
			collector_alive = 1;
	}
	simple(out, "streamd_streams_active", "gauge", "Audio responses being sent now.",
	    (uint64_t)MAX(0, (int64_t)SUM(streams_active)));
	simple(out, "streamd_connections_active", "gauge", "Open client connections.",
	    (uint64_t)(active < 0 ? 0 : active));
	simple(out, "streamd_connections_accepted_total", "counter",
	    "Client connections accepted.", SUM(connections_total));
	simple(out, "streamd_connections_refused_total", "counter",
	    "Connections closed at once by max_connections or max_client_connections.",
	    SUM(connections_refused));
	header(out, "streamd_timeouts_total", "counter",
	    "Connections closed by a timeout, by kind.");
	evbuffer_add_printf(out, "streamd_timeouts_total{kind=\"header\"} %llu\n",
	    (unsigned long long)SUM(timeouts_header));
	evbuffer_add_printf(out, "streamd_timeouts_total{kind=\"send\"} %llu\n",
	    (unsigned long long)SUM(timeouts_send));

	header(out, "streamd_auth_failures_total", "counter",
	    "Refused signed URLs and tokens, by reason.");
	for (i = 0; i < AUTH_REASON_COUNT; i++)
		evbuffer_add_printf(out, "streamd_auth_failures_total{reason=\"%s\"} %llu\n",
		    auth_names[i], (unsigned long long)sum_u64(offsetof(struct metrics_slot,
		    auth_failures) + sizeof(uint64_t) * (size_t)i));
	header(out, "streamd_rate_limited_total", "counter",
	    "Requests refused with 429, by route class.");
	for (i = 0; i < METRICS_RL_CLASSES; i++)
		evbuffer_add_printf(out, "streamd_rate_limited_total{class=\"%s\"} %llu\n",
		    rl_names[i], (unsigned long long)sum_u64(offsetof(struct metrics_slot,
		    rate_limited) + sizeof(uint64_t) * (size_t)i));
	header(out, "streamd_rate_limited_dry_run_total", "counter",
	    "Requests that would have been refused (rate_limit_dry_run), by route class.");
	for (i = 0; i < METRICS_RL_CLASSES; i++)
		evbuffer_add_printf(out, "streamd_rate_limited_dry_run_total{class=\"%s\"} %llu\n",
		    rl_names[i], (unsigned long long)sum_u64(offsetof(struct metrics_slot,
		    rate_limited_dry_run) + sizeof(uint64_t) * (size_t)i));

	simple(out, "streamd_open_file_cache_hits_total", "counter",
	    "Open-file cache lookups served from the cache.", SUM(filecache_hits));
	simple(out, "streamd_open_file_cache_misses_total", "counter",
	    "Open-file cache lookups that opened the file.", SUM(filecache_misses));
	simple(out, "streamd_open_file_cache_entries", "gauge",
	    "Files held open by the caches of all workers.", SUM(filecache_entries));

	simple(out, "streamd_workers_configured", "gauge", "Workers the configuration asks for.",
	    (uint64_t)h->workers_configured);
	simple(out, "streamd_workers_alive", "gauge", "Worker processes serving now.",
	    (uint64_t)alive);
	simple(out, "streamd_worker_restarts_total", "counter",
	    "Workers replaced after an unexpected exit.", h->worker_restarts);
	simple(out, "streamd_reloads_total", "counter", "Successful configuration reloads.",
	    h->reloads);
	simple(out, "streamd_reload_failures_total", "counter",
	    "Reloads refused because the new configuration was invalid.", h->reload_failures);

	simple(out, "streamd_analytics_records_total", "counter",
	    "Analytics records handed to the collector.", SUM(analytics_records));
	simple(out, "streamd_analytics_dropped_total", "counter",
	    "Analytics records lost because the worker queue was full.",
	    SUM(analytics_dropped));
	simple(out, "streamd_analytics_queue_depth", "gauge",
	    "Analytics records waiting in workers and in the collector.",
	    (uint64_t)(SUM(analytics_pending) + (uint64_t)h->collector.queue_depth));
	simple(out, "streamd_analytics_batches_total", "counter",
	    "Transactions committed by the collector.", (uint64_t)h->collector.batches);
	simple(out, "streamd_analytics_rows_total", "counter",
	    "Analytics records committed to the database.", (uint64_t)h->collector.rows);
	simple(out, "streamd_analytics_errors_total", "counter",
	    "Collector transactions that failed.", (uint64_t)h->collector.errors);
	simple(out, "streamd_collector_up", "gauge",
	    "1 if the collector runs and its database is open.",
	    (uint64_t)(collector_alive && h->collector.up));
	simple(out, "streamd_listening_sessions_open", "gauge",
	    "Listening sessions with activity within session_idle.",
	    (uint64_t)h->collector.sessions_open);
	simple(out, "streamd_tokens_issued_total", "counter",
	    "Access and refresh tokens issued by /auth/refresh.", SUM(tokens_issued));
	simple(out, "streamd_tokens_revoked_total", "counter",
	    "Tokens and token families revoked.", SUM(tokens_revoked));
	return 0;
}

/*
 * health.cpp: health checks and the /metrics endpoint (see health.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "conf.h"
#include "conn.h"
#include "filecache.h"
#include "health.h"
#include "http.h"
#include "metrics.h"
#include "shm.h"
#include "worker.h"
#include "util.h"

enum { ST_OK = 0, ST_DEGRADED = 1, ST_FAIL = 2 };

static const char *const st_names[] = { "ok", "degraded", "fail" };

static int
allowed(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	if (w->conf->nhealth_allow == 0 || c == NULL)
		return 1;
	if (conf_cidr_match(w->conf->health_allow, w->conf->nhealth_allow,
	    (const struct sockaddr *)&c->client))
		return 1;
	http_error(w, c, req, 403, "forbidden", "not allowed from this address");
	return 0;
}

static int64_t
uptime_s(struct worker *w)
{
	struct shm_header *h = shm_get();

	return h ? (worker_now_ms(w) - h->start_time_ms) / 1000 : 0;
}

static int64_t
rss_of(pid_t pid)
{
	char path[64];
	long pages = 0, rss = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : (int64_t)rss * sysconf(_SC_PAGESIZE);
}

static cJSON *
check(cJSON *checks, const char *name, int st, int *overall)
{
	cJSON *o = cJSON_AddObjectToObject(checks, name);

	cJSON_AddStringToObject(o, "status", st_names[st]);
	if (st > *overall)
		*overall = st;
	return o;
}

/* Is the database file (or, before it exists, its directory) writable? */
static int
db_writable(const char *path)
{
	char dir[4096];
	struct stat st;
	char *slash;

	if (stat(path, &st) == 0)
		return (st.st_mode & 0222) != 0 && access(path, W_OK) == 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	return access(slash ? dir : ".", W_OK) == 0;
}

static void
detailed(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	struct shm_header *h = shm_get();
	struct conf *cf = w->conf;
	struct statvfs vfs;
	cJSON *root = cJSON_CreateObject(), *checks, *o, *arr;
	double load[3] = { 0, 0, 0 };
	int64_t now = clock_mono_ms(), free_b, total_b, rss;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int overall = ST_OK, st, i, alive = 0, collector_alive = 0, collector_proc = -1;
	char *json;

	if (root == NULL) {
		http_error(w, c, req, 500, "internal_error", "out of memory");
		return;
	}
	cJSON_AddStringToObject(root, "status", "ok");
	cJSON_AddStringToObject(root, "version", STREAMD_VERSION);
	cJSON_AddNumberToObject(root, "uptime_s", (double)uptime_s(w));
	checks = cJSON_AddObjectToObject(root, "checks");

	st = filecache_root_ok(w->fc) ? ST_OK : ST_FAIL;
	o = check(checks, "audio_root", st, &overall);
	cJSON_AddStringToObject(o, "path", cf->audio_root);
	cJSON_AddBoolToObject(o, "readable", st == ST_OK);

	if (statvfs(cf->audio_root, &vfs) == 0) {
		free_b = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
		total_b = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
		st = free_b < cf->health_disk_min_free ? ST_FAIL :
		    free_b < cf->health_disk_warn_free ? ST_DEGRADED : ST_OK;
		o = check(checks, "disk", st, &overall);
		cJSON_AddNumberToObject(o, "free_bytes", (double)free_b);
		cJSON_AddNumberToObject(o, "total_bytes", (double)total_b);
	} else {
		o = check(checks, "disk", ST_FAIL, &overall);
		cJSON_AddStringToObject(o, "error", "statvfs failed");
	}
	cJSON_AddNumberToObject(o, "min_free_bytes", (double)cf->health_disk_min_free);
	cJSON_AddNumberToObject(o, "warn_free_bytes", (double)cf->health_disk_warn_free);

	for (i = 0; i < SHM_MAX_PROCS; i++) {
		if (h->procs[i].pid == 0)
			continue;
		if (h->procs[i].kind == SHM_PROC_WORKER && !h->procs[i].stopping)
			alive++;
		if (h->procs[i].kind == SHM_PROC_COLLECTOR) {
			collector_proc = i;
			collector_alive = now - h->procs[i].heartbeat_ms < 5000;
		}
	}

	if (cf->analytics && cf->database != NULL) {
		int wr = h->collector.db_writable && db_writable(cf->database);
		st = wr ? ST_OK : ST_FAIL;
		o = check(checks, "database", st, &overall);
		cJSON_AddStringToObject(o, "path", cf->database);
		cJSON_AddBoolToObject(o, "writable", wr);
		cJSON_AddNumberToObject(o, "size_bytes", (double)h->collector.db_bytes);
	} else {
		o = check(checks, "database", ST_OK, &overall);
		cJSON_AddBoolToObject(o, "enabled", 0);
	}

	st = !collector_alive ? ST_DEGRADED :
	    h->collector.queue_depth > cf->health_queue_max ? ST_DEGRADED : ST_OK;
	o = check(checks, "collector", st, &overall);
	cJSON_AddBoolToObject(o, "alive", collector_alive);
	cJSON_AddNumberToObject(o, "queue_depth", (double)h->collector.queue_depth);
	cJSON_AddNumberToObject(o, "batches", (double)h->collector.batches);
	cJSON_AddNumberToObject(o, "rows", (double)h->collector.rows);
	if (h->collector.last_commit_ms > 0)
		cJSON_AddNumberToObject(o, "last_commit_age_s",
		    (double)(now - h->collector.last_commit_ms) / 1000.0);

	st = alive >= h->workers_configured ? ST_OK : ST_DEGRADED;
	o = check(checks, "workers", st, &overall);
	cJSON_AddNumberToObject(o, "alive", alive);
	cJSON_AddNumberToObject(o, "configured", h->workers_configured);

	if (getloadavg(load, 3) == -1)
		load[0] = load[1] = load[2] = 0;
	if (ncpu < 1)
		ncpu = 1;
	st = load[0] / (double)ncpu > cf->health_load_max ? ST_DEGRADED : ST_OK;
	o = check(checks, "load", st, &overall);
	cJSON_AddNumberToObject(o, "load1", load[0]);
	cJSON_AddNumberToObject(o, "load5", load[1]);
	cJSON_AddNumberToObject(o, "load15", load[2]);
	cJSON_AddNumberToObject(o, "cpus", (double)ncpu);
	cJSON_AddNumberToObject(o, "max_per_cpu", cf->health_load_max);

	o = cJSON_AddObjectToObject(checks, "memory");
	rss = rss_of(h->master_pid);
	cJSON_AddNumberToObject(o, "master_rss_bytes", (double)rss);
	arr = cJSON_AddArrayToObject(o, "workers");
	for (i = 0; i < SHM_MAX_PROCS; i++) {
		if (h->procs[i].pid == 0 || h->procs[i].kind != SHM_PROC_WORKER)
			continue;
		cJSON *wo = cJSON_CreateObject();
		cJSON_AddNumberToObject(wo, "pid", h->procs[i].pid);
		cJSON_AddNumberToObject(wo, "index", h->procs[i].worker_index);
		cJSON_AddNumberToObject(wo, "generation", h->procs[i].generation);
		cJSON_AddNumberToObject(wo, "rss_bytes", (double)h->procs[i].rss_bytes);
		cJSON_AddNumberToObject(wo, "connections_accepted",
		    (double)shm_slot(i)->connections_total);
		cJSON_AddNumberToObject(wo, "connections_open",
		    (double)shm_slot(i)->connections_active);
		cJSON_AddItemToArray(arr, wo);
	}
	if (collector_proc >= 0)
		cJSON_AddNumberToObject(o, "collector_rss_bytes",
		    (double)rss_of(h->procs[collector_proc].pid));

	o = cJSON_AddObjectToObject(checks, "connections");
	cJSON_AddNumberToObject(o, "open", (double)h->connections);
	cJSON_AddNumberToObject(o, "max", cf->max_connections);

	cJSON_ReplaceItemInObject(root, "status", cJSON_CreateString(st_names[overall]));
	json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (json == NULL) {
		http_error(w, c, req, 500, "internal_error", "out of memory");
		return;
	}
	http_json(w, c, req, overall == ST_FAIL ? 503 : 200, json, strlen(json));
	free(json);
}

void
health_handle(struct worker *w, struct conn *c, struct evhttp_request *req, int want_detail)
{
	char json[160];
	int n;

	if (!allowed(w, c, req))
		return;
	if (want_detail) {
		detailed(w, c, req);
		return;
	}
	n = snprintf(json, sizeof(json), "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%lld}\n",
	    STREAMD_VERSION, (long long)uptime_s(w));
	http_json(w, c, req, 200, json, (size_t)n);
}

void
health_metrics(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	struct evbuffer *body;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char clen[24];

	if (!allowed(w, c, req))
		return;
	if ((body = evbuffer_new()) == NULL || metrics_render(body) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		http_error(w, c, req, 500, "internal_error", "cannot render metrics");
		return;
	}
	http_common_headers(w, req, 0);
	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(clen, sizeof(clen), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", clen);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	http_send(w, c, req, 200, body);
	evbuffer_free(body);
}

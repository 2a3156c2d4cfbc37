/*
 * collector_bench.cpp: the collector's sustained write rate. Encodes N access records
 * the way workers do, packs them into datagrams, and runs them through the collector's
 * path (decode, session tracking, one transaction per batch) into a fresh SQLite file.
 *
 *   build/collector_bench [records] [batch]      (make bench builds and runs it: row g)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "sessions.h"
#include "store.h"

static struct store *st;
static struct sessions *ss;
static long rows;

static void
on_access(const struct analytics_access *a, void *arg)
{
	struct session *s;
	int64_t track;

	(void)arg;
	track = store_track_id(st, a->path, a->path_len);
	s = sessions_track(ss, a, "192.0.2.1", a->ts_ms);
	if (s != NULL && s->id == 0)
		store_save_session(st, s);
	store_insert_request(st, a, "192.0.2.1", track, s ? s->id : 0);
	rows++;
}

static int
save(struct session *s, void *arg)
{
	(void)arg;
	return store_save_session(st, s);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 500000, batch = argc > 2 ? atol(argv[2]) : 1000, i;
	unsigned char dgram[ANALYTICS_DGRAM_MAX], rec[ANALYTICS_REC_MAX];
	struct analytics_access a;
	char path[64], db[64], err[256];
	size_t len = 8, rl;
	uint16_t count = 0;
	double t0, t1;

	snprintf(db, sizeof(db), "/tmp/collector-bench-%d.db", (int)getpid());
	if ((st = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	ss = sessions_new(300000);
	memcpy(dgram, ANALYTICS_MAGIC, 4);
	t0 = now();
	store_begin(st);
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		snprintf(path, sizeof(path), "albums/%03ld/track-%02ld.mp3", i % 500, i % 12);
		a.ts_ms = 1764000000000LL + i;
		a.duration_us = 1500;
		a.status = i % 3 ? 200 : 206;
		a.family = 4;
		a.addr[0] = 192;
		a.addr[3] = (unsigned char)(i % 250);
		a.bytes = 65536;
		a.range_start = i % 3 ? -1 : 0;
		a.range_end = i % 3 ? -1 : 65535;
		a.file_size = 4 << 20;
		a.path = path;
		a.path_len = (uint16_t)strlen(path);
		a.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0";
		a.user_agent_len = (uint16_t)strlen(a.user_agent);
		rl = analytics_encode_access(&a, rec, sizeof(rec));
		if (len + rl > sizeof(dgram)) {
			memcpy(dgram + 4, &count, 2);
			analytics_decode(dgram, len, on_access, NULL, NULL);
			len = 8;
			count = 0;
		}
		memcpy(dgram + len, rec, rl);
		len += rl;
		count++;
		if (rows > 0 && rows % batch == 0) {
			sessions_flush(ss, save, NULL);
			store_commit(st);
			store_begin(st);
		}
	}
	memcpy(dgram + 4, &count, 2);
	analytics_decode(dgram, len, on_access, NULL, NULL);
	sessions_flush(ss, save, NULL);
	store_commit(st);
	t1 = now();
	printf("collector: %ld records in %.2f s = %.0f records/s (batch %ld, %.1f MB database)\n",
	    rows, t1 - t0, (double)rows / (t1 - t0), batch, (double)store_size(st) / 1048576.0);
	store_close(st);
	sessions_free(ss);
	unlink(db);
	snprintf(path, sizeof(path), "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db);
	unlink(path);
	return 0;
}

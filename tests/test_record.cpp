/* test_record.cpp: analytics records (record.h) and listening sessions (sessions.h). */
#include "cmocka_inc.h"
#include <string.h>

#include "record.h"
#include "sessions.h"

static struct analytics_access got;
static char got_path[64];
static int n_access, n_revoke;

static void
on_access(const struct analytics_access *a, void *arg)
{
	(void)arg;
	got = *a;
	memcpy(got_path, a->path, a->path_len);
	got_path[a->path_len] = '\0';
	n_access++;
}

static void
on_revoke(const struct analytics_revoke *r, void *arg)
{
	(void)arg;
	assert_int_equal(r->kind, 2);
	assert_int_equal(r->id_len, 3);
	assert_memory_equal(r->id, "fam", 3);
	n_revoke++;
}

static size_t
dgram(unsigned char *out, const unsigned char *recs, size_t len, uint16_t count)
{
	memcpy(out, ANALYTICS_MAGIC, 4);
	memcpy(out + 4, &count, 2);
	memset(out + 6, 0, 2);
	memcpy(out + 8, recs, len);
	return 8 + len;
}

static void
roundtrip(void **state)
{
	unsigned char rec[ANALYTICS_REC_MAX * 2], dg[ANALYTICS_REC_MAX * 3];
	struct analytics_access a;
	struct analytics_revoke r;
	size_t n, m;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.ts_ms = 1700000000123;
	a.duration_us = 4567;
	a.status = 206;
	a.family = 4;
	a.addr[0] = 127;
	a.addr[3] = 1;
	a.bytes = 1000;
	a.range_start = 0;
	a.range_end = 999;
	a.file_size = 5000;
	a.path = "dir/a.mp3";
	a.path_len = 9;
	a.user_agent = "ua";
	a.user_agent_len = 2;
	n = analytics_encode_access(&a, rec, sizeof(rec));
	assert_true(n > 0);
	analytics_settle(rec, 321, 1);
	memset(&r, 0, sizeof(r));
	r.kind = 2;
	r.exp = 99;
	r.id = "fam";
	r.id_len = 3;
	m = analytics_encode_revoke(&r, rec + n, sizeof(rec) - n);
	assert_true(m > 0);
	n_access = n_revoke = 0;
	assert_int_equal(analytics_decode(dg, dgram(dg, rec, n + m, 2), on_access, on_revoke,
	    NULL), 2);
	assert_int_equal(n_access, 1);
	assert_int_equal(n_revoke, 1);
	assert_int_equal(got.ts_ms, 1700000000123);
	assert_int_equal(got.status, 206);
	assert_int_equal(got.bytes, 321);
	assert_true(got.flags & ANALYTICS_F_ABORTED);
	assert_int_equal(got.file_size, 5000);
	assert_string_equal(got_path, "dir/a.mp3");
	assert_int_equal(got.subject_len, 0);
	/* damaged datagrams */
	assert_int_equal(analytics_decode(dg, 7, on_access, on_revoke, NULL), -1);
	dg[0] = 'X';
	assert_int_equal(analytics_decode(dg, n + m + 8, on_access, on_revoke, NULL), -1);
	dgram(dg, rec, n + m, 2);
	assert_int_equal(analytics_decode(dg, n + 8 + 5, on_access, on_revoke, NULL), -1);
	assert_int_equal(analytics_encode_access(&a, rec, 10), 0);
}

static struct analytics_access
req(int64_t ts, int64_t start, uint64_t bytes, const char *ua)
{
	struct analytics_access a;

	memset(&a, 0, sizeof(a));
	a.ts_ms = ts;
	a.duration_us = 1000;
	a.status = start >= 0 ? 206 : 200;
	a.bytes = bytes;
	a.range_start = start;
	a.range_end = start >= 0 ? start + (int64_t)bytes - 1 : -1;
	a.file_size = 10000;
	a.path = "song.mp3";
	a.path_len = 8;
	a.user_agent = ua;
	a.user_agent_len = (uint16_t)strlen(ua);
	return a;
}

static void
sessions_player(void **state)
{
	struct sessions *s = sessions_new(60000);
	struct session *ss;
	struct analytics_access a;

	(void)state;
	a = req(1000, 0, 2500, "p");                    /* open, stop after 2500 bytes */
	ss = sessions_track(s, &a, "1.2.3.4", 0);
	assert_non_null(ss);
	a = req(5000, 5000, 1000, "p");                 /* seek */
	assert_ptr_equal(sessions_track(s, &a, "1.2.3.4", 0), ss);
	a = req(7000, 6000, 1000, "p");                 /* continues from there: no seek */
	sessions_track(s, &a, "1.2.3.4", 0);
	a = req(9000, 1000, 2000, "p");                 /* seek back, overlapping the start */
	sessions_track(s, &a, "1.2.3.4", 0);
	assert_int_equal(ss->requests, 4);
	assert_int_equal(ss->seeks, 2);
	assert_int_equal(ss->bytes, 6500);
	assert_int_equal(ss->max_offset, 7000);
	assert_int_equal(session_covered(ss), 3000 + 2000);     /* [0,3000) and [5000,7000) */
	assert_true(session_completion(ss) > 0.49 && session_completion(ss) < 0.51);
	/* another user agent is another listener; a long pause is a new session */
	a = req(9500, 0, 100, "q");
	assert_ptr_not_equal(sessions_track(s, &a, "1.2.3.4", 0), ss);
	a = req(200000, 0, 100, "p");
	ss = sessions_track(s, &a, "1.2.3.4", 0);
	assert_int_equal(ss->requests, 1);
	/* not listening: errors, HEAD, nothing sent, impossible offsets */
	a = req(200100, 0, 100, "p");
	a.status = 404;
	assert_null(sessions_track(s, &a, "1.2.3.4", 0));
	a = req(200100, 0, 0, "p");
	assert_null(sessions_track(s, &a, "1.2.3.4", 0));
	a = req(200100, 9990, 100, "p");
	assert_null(sessions_track(s, &a, "1.2.3.4", 0));
	a = req(200100, 0, 100, "p");
	a.flags = ANALYTICS_F_HEAD;
	assert_null(sessions_track(s, &a, "1.2.3.4", 0));
	assert_int_equal(sessions_active(s, 200100), 1);
	sessions_free(s);
}

/* Spans sorted, with a gap between neighbours, inside the file. */
static void
assert_spans_ok(const struct session *ss)
{
	int i;

	assert_true(ss->nspans >= 1 && ss->nspans <= SESSION_MAX_SPANS);
	for (i = 0; i < ss->nspans; i++) {
		assert_true(ss->spans[i][0] >= 0 && ss->spans[i][0] < ss->spans[i][1]);
		assert_true(ss->spans[i][1] <= 10000);
		if (i > 0)
			assert_true(ss->spans[i - 1][1] < ss->spans[i][0]);
	}
}

/* Coverage against a byte map: exact while the spans fit, never less once they do not. */
static void
sessions_coverage_random(void **state)
{
	static unsigned char map[10000];
	struct sessions *s = sessions_new(60000);
	struct session *ss = NULL;
	struct analytics_access a;
	unsigned seed = 12345;
	int round, i, k, exact;
	int64_t start, ts = 1000, want;
	uint64_t bytes;

	(void)state;
	for (round = 0; round < 200; round++) {
		memset(map, 0, sizeof(map));
		exact = 1;
		for (k = 0; k < 60; k++) {
			seed = seed * 1103515245u + 12345u;
			start = (int64_t)(seed >> 8) % 9000;
			seed = seed * 1103515245u + 12345u;
			bytes = 1 + (seed >> 8) % (round % 2 ? 50 : 1500);
			if (start + (int64_t)bytes > 10000)
				bytes = (uint64_t)(10000 - start);
			a = req(ts, start, bytes, round % 3 ? "p" : "q");
			ts += 10;
			ss = sessions_track(s, &a, "1.2.3.4", 0);
			assert_non_null(ss);
			if (k == 0)
				assert_int_equal(ss->nspans, 1);
			memset(map + start, 1, bytes);
			for (want = 0, i = 0; i < 10000; i++)
				want += map[i];
			assert_spans_ok(ss);
			if (ss->nspans == SESSION_MAX_SPANS)
				exact = 0;
			if (exact)
				assert_int_equal(session_covered(ss), want);
			else
				assert_true(session_covered(ss) >= want);
		}
		ts += 120000;                   /* the next round is a new session */
	}
	sessions_free(s);
}

static int
count_flush(struct session *ss, void *arg)
{
	(void)ss;
	(*(int *)arg)++;
	return 0;
}

static void
sessions_subject_probe_and_expiry(void **state)
{
	struct sessions *s = sessions_new(1000);
	struct analytics_access a;
	struct session *ss;
	int i, n = 0;
	char key[160];

	(void)state;
	a = req(0, 0, 2, "Safari");                     /* a 2-byte probe at offset 0 */
	a.subject = "alice";
	a.subject_len = 5;
	sessions_listener_key(&a, "9.9.9.9", key, sizeof(key));
	assert_string_equal(key, "sub:alice");
	{
		/* without a subject: address and an 8-digit hash of the user agent */
		struct analytics_access b = req(0, 0, 2, "Safari");
		char k2[160], k3[160], small[8];
		size_t i2;

		sessions_listener_key(&b, "10.0.0.1", k2, sizeof(k2));
		assert_int_equal(strlen(k2), strlen("ip:10.0.0.1 ua:") + 8);
		assert_memory_equal(k2, "ip:10.0.0.1 ua:", 15);
		for (i2 = 15; i2 < 23; i2++)
			assert_non_null(strchr("0123456789abcdef", k2[i2]));
		b.user_agent = "Firefox";
		b.user_agent_len = 7;
		sessions_listener_key(&b, "10.0.0.1", k3, sizeof(k3));
		assert_string_not_equal(k2, k3);
		sessions_listener_key(&b, "10.0.0.1", small, sizeof(small));
		assert_string_equal(small, "ip:10.0");          /* cut, terminated */
	}
	ss = sessions_track(s, &a, "9.9.9.9", 0);
	a = req(10, 0, 9000, "Safari");
	a.subject = "alice";
	a.subject_len = 5;
	assert_ptr_equal(sessions_track(s, &a, "9.9.9.9", 0), ss);
	assert_int_equal(ss->seeks, 0);                 /* the probe is not a seek */
	/* many spans stay bounded */
	for (i = 0; i < 100; i++) {
		a = req(20 + i, 100 * i, 10, "Safari");
		a.subject = "alice";
		a.subject_len = 5;
		sessions_track(s, &a, "9.9.9.9", 0);
	}
	assert_true(ss->nspans <= SESSION_MAX_SPANS);
	assert_int_equal(sessions_flush(s, count_flush, &n), 1);
	assert_int_equal(sessions_flush(s, count_flush, &n), 0);
	assert_int_equal(sessions_expire(s, 100000), 1);
	assert_int_equal(sessions_active(s, 100000), 0);
	sessions_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(sessions_player),
		cmocka_unit_test(sessions_coverage_random),
		cmocka_unit_test(sessions_subject_probe_and_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

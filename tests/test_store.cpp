/* test_store.cpp: request rows through the grouped inserts, read back with SQLite (store.h). */
#include "cmocka_inc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "record.h"
#include "store.h"

static char db_path[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(db_path, sizeof(db_path), "/tmp/test_store-%d.db", (int)getpid());
	return 0;
}

static int
teardown(void **state)
{
	char p[80];

	(void)state;
	unlink(db_path);
	snprintf(p, sizeof(p), "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db_path);
	unlink(p);
	return 0;
}

/* Row i of the test: every optional column absent in some rows, texts of varied length. */
static void
row(int i, struct analytics_access *a, char *ua, char *subject)
{
	memset(a, 0, sizeof(*a));
	a->ts_ms = 1700000000000LL + i;
	a->duration_us = (uint32_t)(100 + i);
	a->status = (uint16_t)(i % 7 == 0 ? 404 : 206);
	a->flags = (uint8_t)((i % 5 == 0 ? ANALYTICS_F_ABORTED : 0) |
	    (i % 11 == 0 ? ANALYTICS_F_HEAD : 0));
	a->bytes = (uint64_t)i * 1000;
	a->range_start = i % 3 == 0 ? -1 : i;
	a->range_end = i % 3 == 0 ? -1 : i + 99;
	a->file_size = i % 4 == 0 ? -1 : 100000 + i;
	snprintf(ua, 600, "agent/%d%*s", i, i * 13 % 500, "x");
	a->user_agent = i % 2 ? ua : NULL;
	a->user_agent_len = (uint16_t)(i % 2 ? strlen(ua) : 0);
	snprintf(subject, 64, "user-%d", i);
	a->subject = i % 6 == 1 ? subject : NULL;
	a->subject_len = (uint16_t)(i % 6 == 1 ? strlen(subject) : 0);
	a->referrer = i % 9 == 2 ? "https://example.org/p" : NULL;
	a->referrer_len = (uint16_t)(i % 9 == 2 ? 21 : 0);
}

static void
check_rows(int from, int n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct analytics_access a;
	char ua[600], subject[64], client[32];
	int i = from;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT ts_ms, client, subject, track_id, "
	    "status, bytes, range_start, range_end, file_size, duration_us, user_agent, "
	    "referrer, session_id, aborted, head FROM requests ORDER BY id", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		row(i, &a, ua, subject);
		snprintf(client, sizeof(client), "10.0.0.%d", i % 256);
		assert_int_equal(sqlite3_column_int64(st, 0), a.ts_ms);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), client);
		if (a.subject != NULL)
			assert_string_equal((const char *)sqlite3_column_text(st, 2), subject);
		else
			assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
		if (i % 8 == 0)
			assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
		else
			assert_int_equal(sqlite3_column_int64(st, 3), i % 8);
		assert_int_equal(sqlite3_column_int(st, 4), a.status);
		assert_int_equal(sqlite3_column_int64(st, 5), (int64_t)a.bytes);
		if (a.range_start < 0) {
			assert_int_equal(sqlite3_column_type(st, 6), SQLITE_NULL);
			assert_int_equal(sqlite3_column_type(st, 7), SQLITE_NULL);
		} else {
			assert_int_equal(sqlite3_column_int64(st, 6), a.range_start);
			assert_int_equal(sqlite3_column_int64(st, 7), a.range_end);
		}
		if (a.file_size < 0)
			assert_int_equal(sqlite3_column_type(st, 8), SQLITE_NULL);
		else
			assert_int_equal(sqlite3_column_int64(st, 8), a.file_size);
		assert_int_equal(sqlite3_column_int64(st, 9), a.duration_us);
		if (a.user_agent != NULL)
			assert_string_equal((const char *)sqlite3_column_text(st, 10), ua);
		else
			assert_int_equal(sqlite3_column_type(st, 10), SQLITE_NULL);
		if (a.referrer != NULL)
			assert_string_equal((const char *)sqlite3_column_text(st, 11),
			    "https://example.org/p");
		else
			assert_int_equal(sqlite3_column_type(st, 11), SQLITE_NULL);
		if (i % 10 == 0)
			assert_int_equal(sqlite3_column_type(st, 12), SQLITE_NULL);
		else
			assert_int_equal(sqlite3_column_int64(st, 12), 1000 + i);
		assert_int_equal(sqlite3_column_int(st, 13), i % 5 == 0);
		assert_int_equal(sqlite3_column_int(st, 14), i % 11 == 0);
		i++;
	}
	assert_int_equal(i - from, n);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
insert(struct store *s, int i)
{
	struct analytics_access a;
	char ua[600], subject[64], client[32];

	row(i, &a, ua, subject);
	snprintf(client, sizeof(client), "10.0.0.%d", i % 256);
	assert_int_equal(store_insert_request(s, &a, client, i % 8, i % 10 ? 1000 + i : 0), 0);
}

/* Rows from to to - 1 in one committed transaction. */
static void
batch(struct store *s, int from, int to)
{
	int i;

	assert_int_equal(store_begin(s), 0);
	for (i = from; i < to; i++)
		insert(s, i);
	assert_int_equal(store_commit(s), 0);
}

/* Every value back as given, in order, across whole groups and remainders. */
static void
rows_round_trip(void **state)
{
	char err[256];
	struct store *s = store_open(db_path, err, sizeof(err));

	(void)state;
	assert_non_null(s);
	batch(s, 0, 37);                /* two groups of 16 and 5 single rows */
	batch(s, 37, 40);               /* fewer than a group */
	batch(s, 40, 56);               /* exactly a group */
	store_close(s);
	check_rows(0, 56);
}

/* A rolled-back batch leaves nothing behind, not even rows still waiting for a group. */
static void
rollback_drops_waiting_rows(void **state)
{
	char err[256];
	struct store *s = store_open(db_path, err, sizeof(err));
	int i;

	(void)state;
	assert_non_null(s);
	assert_int_equal(store_begin(s), 0);
	for (i = 0; i < 20; i++)
		insert(s, i);
	store_rollback(s);
	batch(s, 0, 3);
	store_close(s);
	check_rows(0, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rows_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(rollback_drops_waiting_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * store.cpp: SQLite analytics store (see store.h; schema in man/streamd-analytics.7).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "record.h"
#include "log.h"
#include "sessions.h"
#include "store.h"

#define TRACK_CACHE 16384

/* Migration i brings the schema from version i to i + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	"CREATE TABLE tracks("
	"  id INTEGER PRIMARY KEY,"
	"  path TEXT NOT NULL UNIQUE);"
	"CREATE TABLE sessions("
	"  id INTEGER PRIMARY KEY,"
	"  listener TEXT NOT NULL,"
	"  subject TEXT,"
	"  client TEXT NOT NULL,"
	"  user_agent TEXT,"
	"  track_id INTEGER NOT NULL REFERENCES tracks(id),"
	"  started_ms INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  max_offset INTEGER NOT NULL,"
	"  covered INTEGER NOT NULL,"
	"  file_size INTEGER NOT NULL,"
	"  completion REAL NOT NULL,"
	"  seeks INTEGER NOT NULL,"
	"  requests INTEGER NOT NULL,"
	"  prev_start INTEGER NOT NULL,"
	"  prev_end INTEGER NOT NULL,"
	"  spans BLOB);"
	"CREATE INDEX sessions_last ON sessions(last_ms);"
	"CREATE INDEX sessions_started ON sessions(started_ms);"
	"CREATE TABLE requests("
	"  id INTEGER PRIMARY KEY,"
	"  ts_ms INTEGER NOT NULL,"
	"  client TEXT NOT NULL,"
	"  subject TEXT,"
	"  track_id INTEGER REFERENCES tracks(id),"
	"  status INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  range_start INTEGER,"
	"  range_end INTEGER,"
	"  file_size INTEGER,"
	"  duration_us INTEGER NOT NULL,"
	"  user_agent TEXT,"
	"  referrer TEXT,"
	"  session_id INTEGER REFERENCES sessions(id),"
	"  aborted INTEGER NOT NULL,"
	"  head INTEGER NOT NULL);"
	"CREATE INDEX requests_ts ON requests(ts_ms);"
	"CREATE TABLE revocations("
	"  kind INTEGER NOT NULL,"
	"  id TEXT NOT NULL,"
	"  exp INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(kind, id)) WITHOUT ROWID;"
	"CREATE VIEW requests_v AS SELECT r.*, t.path AS path FROM requests r"
	"  LEFT JOIN tracks t ON t.id = r.track_id;"
	"CREATE VIEW sessions_v AS SELECT s.*, t.path AS path FROM sessions s"
	"  JOIN tracks t ON t.id = s.track_id;",
};

struct track_slot {
	char           *path;
	int64_t         id;
};

/*
 * Request rows wait here and go in ROWS_PER_INSERT at a time, one INSERT with that many
 * VALUES tuples: a statement's fixed work (cursors, the row id search, halting) is paid
 * once per group. OR FAIL: the statement needs no statement journal (the values given
 * never break a constraint), which a plain multi-row INSERT keeps in case one does.
 * Together a quarter fewer instructions per row (callgrind, collector_bench).
 * store_commit writes what waits, so a committed batch holds every row given before.
 */
#define ROWS_PER_INSERT 16
#define REQUEST_COLS    15

struct pending_row {
	struct analytics_access a;              /* its text pointers point into a datagram */
	size_t          text[4], text_len[4];   /* so the text is in the arena: client,
	                                         * subject, user agent, referrer */
	int64_t         track_id, session_id;
};

struct store {
	sqlite3        *db;
	char           *path;
	sqlite3_stmt   *ins_request, *ins_requests, *ins_session, *upd_session, *ins_track,
	               *sel_track, *ins_revoke;
	struct pending_row rows[ROWS_PER_INSERT];
	int             nrows;
	char           *arena;                  /* the rows' text, by offset */
	size_t          arena_len, arena_cap;
	struct track_slot tracks[TRACK_CACHE];
	char            err[256];
};

static int
exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "%s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
	    SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "prepare: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

#define REQUEST_INSERT "INSERT OR FAIL INTO requests(ts_ms, client, subject, track_id, status, " \
	"bytes, range_start, range_end, file_size, duration_us, user_agent, referrer, " \
	"session_id, aborted, head) VALUES"
#define REQUEST_TUPLE "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

/* One INSERT for a single row, one for ROWS_PER_INSERT. */
static int
prepare_requests(struct store *s)
{
	char sql[sizeof(REQUEST_INSERT) + ROWS_PER_INSERT * sizeof(REQUEST_TUPLE)];
	size_t n = sizeof(REQUEST_INSERT) - 1;
	int i;

	if (prepare(s, &s->ins_request, REQUEST_INSERT REQUEST_TUPLE) == -1)
		return -1;
	memcpy(sql, REQUEST_INSERT, n);
	for (i = 0; i < ROWS_PER_INSERT; i++) {
		if (i > 0)
			sql[n++] = ',';
		memcpy(sql + n, REQUEST_TUPLE, sizeof(REQUEST_TUPLE) - 1);
		n += sizeof(REQUEST_TUPLE) - 1;
	}
	sql[n] = '\0';
	return prepare(s, &s->ins_requests, sql);
}

static int
migrate(struct store *s)
{
	sqlite3_stmt *st;
	int version = 0, v;
	char sql[64];

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(s->err, sizeof(s->err), "database schema version %d is newer than this "
		    "streamd (%d)", version, STORE_SCHEMA_VERSION);
		return -1;
	}
	for (v = version; v < STORE_SCHEMA_VERSION; v++) {
		if (exec(s, "BEGIN IMMEDIATE") == -1)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(s, migrations[v]) == -1 || exec(s, sql) == -1) {
			exec(s, "ROLLBACK");
			return -1;
		}
		if (exec(s, "COMMIT") == -1)
			return -1;
		log_notice("database %s: schema version %d", s->path, v + 1);
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = (struct store *)calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->path = strdup(path);
	/*
	 * Before SQLite's first use in the process (it refuses later, harmlessly): no
	 * allocation statistics, so no global mutex around every allocation of an insert
	 * (6 % of the collector's instructions per record, callgrind).
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode=WAL") == -1 ||
	    exec(s, "PRAGMA synchronous=NORMAL") == -1 ||
	    exec(s, "PRAGMA foreign_keys=OFF") == -1 ||
	    exec(s, "PRAGMA temp_store=MEMORY") == -1 ||
	    migrate(s) == -1 ||
	    prepare_requests(s) == -1 ||
	    prepare(s, &s->ins_session, "INSERT INTO sessions(listener, subject, client, "
	    "user_agent, track_id, started_ms, last_ms, bytes, max_offset, covered, file_size, "
	    "completion, seeks, requests, prev_start, prev_end, spans) "
	    "VALUES(?,?,?,?,(SELECT id FROM tracks WHERE path = ?),?,?,?,?,?,?,?,?,?,?,?,?)") == -1 ||
	    prepare(s, &s->upd_session, "UPDATE sessions SET last_ms=?, bytes=?, max_offset=?, "
	    "covered=?, file_size=?, completion=?, seeks=?, requests=?, prev_start=?, "
	    "prev_end=?, spans=?, started_ms=? WHERE id=?") == -1 ||
	    prepare(s, &s->ins_track, "INSERT OR IGNORE INTO tracks(path) VALUES(?)") == -1 ||
	    prepare(s, &s->sel_track, "SELECT id FROM tracks WHERE path=?") == -1 ||
	    prepare(s, &s->ins_revoke, "INSERT INTO revocations(kind, id, exp, created_ms) "
	    "VALUES(?,?,?,?) ON CONFLICT(kind, id) DO UPDATE SET exp=max(exp, excluded.exp)") ==
	    -1) {
		snprintf(err, errlen, "database %s: %s", path, s->err);
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	sqlite3_finalize(s->ins_request);
	sqlite3_finalize(s->ins_requests);
	sqlite3_finalize(s->ins_session);
	sqlite3_finalize(s->upd_session);
	sqlite3_finalize(s->ins_track);
	sqlite3_finalize(s->sel_track);
	sqlite3_finalize(s->ins_revoke);
	if (s->db != NULL)
		sqlite3_close(s->db);
	for (i = 0; i < TRACK_CACHE; i++)
		free(s->tracks[i].path);
	free(s->arena);
	free(s->path);
	free(s);
}

const char *
store_error(struct store *s)
{
	return s->err;
}

int
store_begin(struct store *s)
{
	return exec(s, "BEGIN IMMEDIATE");
}

static int flush_requests(struct store *s);

int
store_commit(struct store *s)
{
	if (flush_requests(s) == -1) {
		store_rollback(s);
		return -1;
	}
	return exec(s, "COMMIT");
}

void
store_rollback(struct store *s)
{
	char *msg = NULL;

	s->nrows = 0;
	s->arena_len = 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, &msg);
	sqlite3_free(msg);
}

/* Run st to its end and reset it; the bindings are cleared unless keep_bindings. */
static int
step_reset(struct store *s, sqlite3_stmt *st, int keep_bindings)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (!keep_bindings)
		sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		snprintf(s->err, sizeof(s->err), "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static int
step_done(struct store *s, sqlite3_stmt *st)
{
	return step_reset(s, st, 0);
}

static uint32_t
fnv(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 16777619u;
	}
	return h;
}

int64_t
store_track_id(struct store *s, const char *path, size_t len)
{
	struct track_slot *slot = &s->tracks[fnv(path, len) % TRACK_CACHE];
	int64_t id = -1;

	if (slot->path != NULL && strlen(slot->path) == len && memcmp(slot->path, path, len) == 0)
		return slot->id;
	sqlite3_bind_text(s->ins_track, 1, path, (int)len, SQLITE_STATIC);
	if (step_done(s, s->ins_track) == -1)
		return -1;
	sqlite3_bind_text(s->sel_track, 1, path, (int)len, SQLITE_STATIC);
	if (sqlite3_step(s->sel_track) == SQLITE_ROW)
		id = sqlite3_column_int64(s->sel_track, 0);
	sqlite3_reset(s->sel_track);
	sqlite3_clear_bindings(s->sel_track);
	if (id >= 0) {
		free(slot->path);
		if ((slot->path = (char *)malloc(len + 1)) != NULL) {
			memcpy(slot->path, path, len);
			slot->path[len] = '\0';
			slot->id = id;
		}
	}
	return id;
}

static void
bind_opt_text(sqlite3_stmt *st, int i, const char *p, size_t n)
{
	if (p == NULL || n == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, p, (int)n, SQLITE_STATIC);
}

static void
bind_opt_int(sqlite3_stmt *st, int i, int present, int64_t v)
{
	if (present)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Row r's 15 values from parameter base + 1 on. */
static void
bind_row(struct store *s, sqlite3_stmt *st, int base, const struct pending_row *r)
{
	const char *t[4];
	int i;

	for (i = 0; i < 4; i++)
		t[i] = s->arena + r->text[i];
	sqlite3_bind_int64(st, base + 1, r->a.ts_ms);
	sqlite3_bind_text(st, base + 2, t[0], (int)r->text_len[0], SQLITE_STATIC);
	bind_opt_text(st, base + 3, t[1], r->text_len[1]);
	bind_opt_int(st, base + 4, r->track_id > 0, r->track_id);
	sqlite3_bind_int(st, base + 5, r->a.status);
	sqlite3_bind_int64(st, base + 6, (sqlite3_int64)r->a.bytes);
	bind_opt_int(st, base + 7, r->a.range_start >= 0, r->a.range_start);
	bind_opt_int(st, base + 8, r->a.range_start >= 0, r->a.range_end);
	bind_opt_int(st, base + 9, r->a.file_size >= 0, r->a.file_size);
	sqlite3_bind_int64(st, base + 10, r->a.duration_us);
	bind_opt_text(st, base + 11, t[2], r->text_len[2]);
	bind_opt_text(st, base + 12, t[3], r->text_len[3]);
	bind_opt_int(st, base + 13, r->session_id > 0, r->session_id);
	sqlite3_bind_int(st, base + 14, (r->a.flags & ANALYTICS_F_ABORTED) != 0);
	sqlite3_bind_int(st, base + 15, (r->a.flags & ANALYTICS_F_HEAD) != 0);
}

/* Insert the waiting rows: a full group with one statement, fewer one by one. */
static int
flush_requests(struct store *s)
{
	int i, n = s->nrows, rc = 0;

	s->nrows = 0;
	if (n == ROWS_PER_INSERT) {
		for (i = 0; i < n; i++)
			bind_row(s, s->ins_requests, i * REQUEST_COLS, &s->rows[i]);
		rc = step_reset(s, s->ins_requests, 1);   /* bind_row sets every value */
	} else {
		for (i = 0; i < n && rc == 0; i++) {
			bind_row(s, s->ins_request, 0, &s->rows[i]);
			rc = step_reset(s, s->ins_request, 1);
		}
	}
	s->arena_len = 0;
	return rc;
}

/* Copy n bytes of text into the arena; its offset in *off. */
static int
keep_text(struct store *s, const char *p, size_t n, size_t *off)
{
	char *na;
	size_t cap;

	if (s->arena_len + n + 1 > s->arena_cap) {
		cap = s->arena_cap ? s->arena_cap : 4096;
		while (cap < s->arena_len + n + 1)
			cap *= 2;
		if ((na = (char *)realloc(s->arena, cap)) == NULL) {
			snprintf(s->err, sizeof(s->err), "out of memory");
			return -1;
		}
		s->arena = na;
		s->arena_cap = cap;
	}
	*off = s->arena_len;
	if (n > 0)
		memcpy(s->arena + s->arena_len, p, n);
	s->arena[s->arena_len + n] = '\0';
	s->arena_len += n + 1;
	return 0;
}

int
store_insert_request(struct store *s, const struct analytics_access *a, const char *client,
    int64_t track_id, int64_t session_id)
{
	struct pending_row *r = &s->rows[s->nrows];

	r->a = *a;              /* the text it points to is copied into the arena below */
	r->track_id = track_id;
	r->session_id = session_id;
	r->text_len[0] = strlen(client);
	r->text_len[1] = a->subject != NULL ? a->subject_len : 0;
	r->text_len[2] = a->user_agent != NULL ? a->user_agent_len : 0;
	r->text_len[3] = a->referrer != NULL ? a->referrer_len : 0;
	if (keep_text(s, client, r->text_len[0], &r->text[0]) == -1 ||
	    keep_text(s, a->subject, r->text_len[1], &r->text[1]) == -1 ||
	    keep_text(s, a->user_agent, r->text_len[2], &r->text[2]) == -1 ||
	    keep_text(s, a->referrer, r->text_len[3], &r->text[3]) == -1)
		return -1;
	if (++s->nrows == ROWS_PER_INSERT)
		return flush_requests(s);
	return 0;
}

int
store_save_session(struct store *s, struct session *ss)
{
	sqlite3_stmt *st;
	int i = 1;

	if (ss->id == 0) {
		st = s->ins_session;
		sqlite3_bind_text(st, i++, ss->listener, -1, SQLITE_STATIC);
		bind_opt_text(st, i++, ss->subject, strlen(ss->subject));
		sqlite3_bind_text(st, i++, ss->client, -1, SQLITE_STATIC);
		bind_opt_text(st, i++, ss->user_agent, ss->user_agent ? strlen(ss->user_agent) : 0);
		sqlite3_bind_text(st, i++, ss->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, i++, ss->started_ms);
	} else {
		st = s->upd_session;
	}
	sqlite3_bind_int64(st, i++, ss->last_ms);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)ss->bytes);
	sqlite3_bind_int64(st, i++, ss->max_offset);
	sqlite3_bind_int64(st, i++, session_covered(ss));
	sqlite3_bind_int64(st, i++, ss->file_size);
	sqlite3_bind_double(st, i++, session_completion(ss));
	sqlite3_bind_int(st, i++, ss->seeks);
	sqlite3_bind_int(st, i++, ss->requests);
	sqlite3_bind_int64(st, i++, ss->prev_start);
	sqlite3_bind_int64(st, i++, ss->prev_end);
	sqlite3_bind_blob(st, i++, ss->spans, (int)(sizeof(ss->spans[0]) * (size_t)ss->nspans),
	    SQLITE_STATIC);
	if (ss->id != 0) {
		sqlite3_bind_int64(st, i++, ss->started_ms);
		sqlite3_bind_int64(st, i++, ss->id);
	}
	if (step_done(s, st) == -1)
		return -1;
	if (ss->id == 0)
		ss->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_revoke(struct store *s, int kind, const char *id, size_t len, int64_t exp,
    int64_t now_ms)
{
	sqlite3_bind_int(s->ins_revoke, 1, kind);
	sqlite3_bind_text(s->ins_revoke, 2, id, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s->ins_revoke, 3, exp);
	sqlite3_bind_int64(s->ins_revoke, 4, now_ms);
	return step_done(s, s->ins_revoke);
}

int
store_load_revocations(struct store *s, int64_t now_s,
    void (*cb)(int kind, const char *id, int64_t exp, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT kind, id, exp FROM revocations WHERE exp >= ?",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, now_s);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cb(sqlite3_column_int(st, 0), (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_int64(st, 2), arg);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

int
store_load_sessions(struct store *s, int64_t since_ms, struct sessions *into)
{
	sqlite3_stmt *st;
	struct session ss;
	int n = 0, blen;
	const void *blob;

	if (sqlite3_prepare_v2(s->db, "SELECT s.id, listener, coalesce(subject, ''), client, "
	    "user_agent, t.path, started_ms, last_ms, bytes, max_offset, file_size, seeks, "
	    "requests, prev_start, prev_end, spans FROM sessions s JOIN tracks t "
	    "ON t.id = s.track_id WHERE last_ms >= ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, since_ms);
	while (sqlite3_step(st) == SQLITE_ROW) {
		memset(&ss, 0, sizeof(ss));
		ss.id = sqlite3_column_int64(st, 0);
		snprintf(ss.listener, sizeof(ss.listener), "%s", sqlite3_column_text(st, 1));
		snprintf(ss.subject, sizeof(ss.subject), "%s", sqlite3_column_text(st, 2));
		snprintf(ss.client, sizeof(ss.client), "%s", sqlite3_column_text(st, 3));
		ss.user_agent = (char *)sqlite3_column_text(st, 4);
		ss.path = (char *)sqlite3_column_text(st, 5);
		ss.started_ms = sqlite3_column_int64(st, 6);
		ss.last_ms = sqlite3_column_int64(st, 7);
		ss.bytes = (uint64_t)sqlite3_column_int64(st, 8);
		ss.max_offset = sqlite3_column_int64(st, 9);
		ss.file_size = sqlite3_column_int64(st, 10);
		ss.seeks = sqlite3_column_int(st, 11);
		ss.requests = sqlite3_column_int(st, 12);
		ss.prev_start = sqlite3_column_int64(st, 13);
		ss.prev_end = sqlite3_column_int64(st, 14);
		blob = sqlite3_column_blob(st, 15);
		blen = sqlite3_column_bytes(st, 15);
		if (blob != NULL && blen > 0 && (size_t)blen <= sizeof(ss.spans) &&
		    blen % (int)sizeof(ss.spans[0]) == 0) {
			memcpy(ss.spans, blob, (size_t)blen);
			ss.nspans = blen / (int)sizeof(ss.spans[0]);
		}
		if (ss.path != NULL && sessions_restore(into, &ss) != NULL)
			n++;
	}
	sqlite3_finalize(st);
	return n;
}

int
store_purge(struct store *s, int64_t before_ms, int64_t now_s)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (store_begin(s) == -1)
		return -1;
	if (before_ms > 0) {
		if (sqlite3_prepare_v2(s->db, "DELETE FROM requests WHERE ts_ms < ?", -1, &st,
		    NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, before_ms);
			rc |= sqlite3_step(st) != SQLITE_DONE;
			sqlite3_finalize(st);
		}
		if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE last_ms < ?", -1, &st,
		    NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, before_ms);
			rc |= sqlite3_step(st) != SQLITE_DONE;
			sqlite3_finalize(st);
		}
	}
	if (sqlite3_prepare_v2(s->db, "DELETE FROM revocations WHERE exp < ?", -1, &st,
	    NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now_s);
		rc |= sqlite3_step(st) != SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (rc != 0) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s);
}

int64_t
store_size(struct store *s)
{
	char wal[4096 + 8];
	struct stat st;
	int64_t total = 0;

	if (stat(s->path, &st) == 0)
		total += st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &st) == 0)
		total += st.st_size;
	return total;
}

/* ---------------------------------------------------------------- /admin/stats */

static sqlite3_stmt *
q(struct store *s, const char *sql, int64_t from, int64_t to)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "%s", sqlite3_errmsg(s->db));
		return NULL;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	return st;
}

static void
iso_hour(int64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:00:00Z", &tm);
}

char *
store_stats(struct store *s, int64_t from, int64_t to, int limit, int64_t idle_ms)
{
	cJSON *root = cJSON_CreateObject(), *o, *arr, *item;
	sqlite3_stmt *st;
	char hour[32];
	char *out = NULL;

	if (root == NULL)
		return NULL;
	cJSON_AddNumberToObject(root, "from", (double)from / 1000.0);
	cJSON_AddNumberToObject(root, "to", (double)to / 1000.0);

	/* Requests in the window. */
	o = cJSON_AddObjectToObject(root, "totals");
	if ((st = q(s, "SELECT count(*), coalesce(sum(bytes), 0), "
	    "coalesce(sum(status >= 400), 0), coalesce(sum(status = 206), 0), "
	    "count(DISTINCT coalesce(subject, client)) "
	    "FROM requests WHERE ts_ms >= ? AND ts_ms < ?", from, to)) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddNumberToObject(o, "requests", (double)sqlite3_column_int64(st, 0));
		cJSON_AddNumberToObject(o, "bytes", (double)sqlite3_column_int64(st, 1));
		cJSON_AddNumberToObject(o, "errors", (double)sqlite3_column_int64(st, 2));
		cJSON_AddNumberToObject(o, "range_requests", (double)sqlite3_column_int64(st, 3));
		cJSON_AddNumberToObject(o, "unique_clients", (double)sqlite3_column_int64(st, 4));
	}
	sqlite3_finalize(st);
	/* Sessions that started in the window. */
	if ((st = q(s, "SELECT count(*), count(DISTINCT listener), coalesce(avg(completion), 0), "
	    "coalesce(sum(completion >= 0.95), 0), coalesce(sum(seeks), 0), "
	    "coalesce(sum(bytes), 0) FROM sessions WHERE started_ms >= ? AND started_ms < ?",
	    from, to)) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddNumberToObject(o, "sessions", (double)sqlite3_column_int64(st, 0));
		cJSON_AddNumberToObject(o, "unique_listeners", (double)sqlite3_column_int64(st, 1));
		cJSON_AddNumberToObject(o, "completion_avg", sqlite3_column_double(st, 2));
		cJSON_AddNumberToObject(o, "sessions_completed", (double)sqlite3_column_int64(st, 3));
		cJSON_AddNumberToObject(o, "seeks", (double)sqlite3_column_int64(st, 4));
		cJSON_AddNumberToObject(o, "session_bytes", (double)sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);

	/* Completion rate distribution. */
	o = cJSON_AddObjectToObject(root, "completion");
	if ((st = q(s, "SELECT coalesce(sum(completion < 0.25), 0), "
	    "coalesce(sum(completion >= 0.25 AND completion < 0.5), 0), "
	    "coalesce(sum(completion >= 0.5 AND completion < 0.75), 0), "
	    "coalesce(sum(completion >= 0.75 AND completion < 0.95), 0), "
	    "coalesce(sum(completion >= 0.95), 0), count(*) "
	    "FROM sessions WHERE started_ms >= ? AND started_ms < ?", from, to)) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		double total = (double)sqlite3_column_int64(st, 5);
		cJSON_AddNumberToObject(o, "lt_25", (double)sqlite3_column_int64(st, 0));
		cJSON_AddNumberToObject(o, "25_50", (double)sqlite3_column_int64(st, 1));
		cJSON_AddNumberToObject(o, "50_75", (double)sqlite3_column_int64(st, 2));
		cJSON_AddNumberToObject(o, "75_95", (double)sqlite3_column_int64(st, 3));
		cJSON_AddNumberToObject(o, "ge_95", (double)sqlite3_column_int64(st, 4));
		cJSON_AddNumberToObject(o, "rate", total > 0 ?
		    (double)sqlite3_column_int64(st, 4) / total : 0);
	}
	sqlite3_finalize(st);

	/* Top tracks by sessions (plays), then bytes. */
	arr = cJSON_AddArrayToObject(root, "top_tracks");
	if ((st = q(s, "SELECT t.path, count(*), count(DISTINCT s.listener), sum(s.bytes), "
	    "avg(s.completion), sum(s.completion >= 0.95) FROM sessions s "
	    "JOIN tracks t ON t.id = s.track_id WHERE s.started_ms >= ? AND s.started_ms < ? "
	    "GROUP BY s.track_id ORDER BY count(*) DESC, sum(s.bytes) DESC LIMIT ?", from,
	    to)) == NULL)
		goto fail;
	sqlite3_bind_int(st, 3, limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "path", (const char *)sqlite3_column_text(st, 0));
		cJSON_AddNumberToObject(item, "sessions", (double)sqlite3_column_int64(st, 1));
		cJSON_AddNumberToObject(item, "listeners", (double)sqlite3_column_int64(st, 2));
		cJSON_AddNumberToObject(item, "bytes", (double)sqlite3_column_int64(st, 3));
		cJSON_AddNumberToObject(item, "completion_avg", sqlite3_column_double(st, 4));
		cJSON_AddNumberToObject(item, "completed", (double)sqlite3_column_int64(st, 5));
		cJSON_AddItemToArray(arr, item);
	}
	sqlite3_finalize(st);

	/* Status codes. */
	o = cJSON_AddObjectToObject(root, "status_codes");
	if ((st = q(s, "SELECT status, count(*) FROM requests WHERE ts_ms >= ? AND ts_ms < ? "
	    "GROUP BY status ORDER BY status", from, to)) == NULL)
		goto fail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char code[16];
		snprintf(code, sizeof(code), "%d", sqlite3_column_int(st, 0));
		cJSON_AddNumberToObject(o, code, (double)sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);

	/* Per-hour series (UTC). */
	arr = cJSON_AddArrayToObject(root, "hourly");
	if ((st = q(s, "SELECT ts_ms / 3600000, count(*), sum(bytes), "
	    "count(DISTINCT coalesce(subject, client)) FROM requests "
	    "WHERE ts_ms >= ? AND ts_ms < ? GROUP BY 1 ORDER BY 1", from, to)) == NULL)
		goto fail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		item = cJSON_CreateObject();
		iso_hour(sqlite3_column_int64(st, 0) * 3600000, hour, sizeof(hour));
		cJSON_AddStringToObject(item, "hour", hour);
		cJSON_AddNumberToObject(item, "requests", (double)sqlite3_column_int64(st, 1));
		cJSON_AddNumberToObject(item, "bytes", (double)sqlite3_column_int64(st, 2));
		cJSON_AddNumberToObject(item, "listeners", (double)sqlite3_column_int64(st, 3));
		cJSON_AddItemToArray(arr, item);
	}
	sqlite3_finalize(st);

	/* Listeners with a session active within session_idle of "to". */
	o = cJSON_AddObjectToObject(root, "recent");
	if ((st = q(s, "SELECT count(DISTINCT listener), count(*) FROM sessions "
	    "WHERE last_ms >= ? AND started_ms < ?", to - idle_ms, to)) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddNumberToObject(o, "listeners", (double)sqlite3_column_int64(st, 0));
		cJSON_AddNumberToObject(o, "sessions", (double)sqlite3_column_int64(st, 1));
		cJSON_AddNumberToObject(o, "window_s", (double)idle_ms / 1000.0);
	}
	sqlite3_finalize(st);

	out = cJSON_PrintUnformatted(root);
fail:
	cJSON_Delete(root);
	return out;
}

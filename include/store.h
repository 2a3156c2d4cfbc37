/*
 * store.h: the analytics database (SQLite, WAL), used only by the collector: the schema
 * and its versioned migrations, prepared statements for the batched writes, retention,
 * revocations, and the queries behind /admin/stats. The only includer of sqlite3.h.
 * The schema is documented in streamd-analytics(7).
 */
#ifndef STREAMD_STORE_H
#define STREAMD_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct session;
struct sessions;
struct analytics_access;

#define STORE_SCHEMA_VERSION 1

struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);

int  store_begin(struct store *s);
int  store_commit(struct store *s);
void store_rollback(struct store *s);

/* Id of a track path, created if new (cached). -1 on error. */
int64_t store_track_id(struct store *s, const char *path, size_t len);
int  store_insert_request(struct store *s, const struct analytics_access *a,
    const char *client, int64_t track_id, int64_t session_id);
/* Insert (sets ss->id) or update a session row. */
int  store_save_session(struct store *s, struct session *ss);
int  store_revoke(struct store *s, int kind, const char *id, size_t len, int64_t exp,
    int64_t now_ms);
int  store_load_revocations(struct store *s, int64_t now_s,
    void (*cb)(int kind, const char *id, int64_t exp, void *arg), void *arg);
int  store_load_sessions(struct store *s, int64_t since_ms, struct sessions *into);
/* Delete requests and sessions older than before_ms (0: keep), and dead revocations. */
int  store_purge(struct store *s, int64_t before_ms, int64_t now_s);
/* /admin/stats over [from_ms, to_ms): JSON text (malloc'd), NULL on error. */
char *store_stats(struct store *s, int64_t from_ms, int64_t to_ms, int limit,
    int64_t idle_ms);
/* Bytes used by the database and its WAL. */
int64_t store_size(struct store *s);
const char *store_error(struct store *s);

#endif

/*
 * sessions.h: listening sessions, built by the collector from access records. Pure: no
 * database, no I/O.
 *
 * A listener is the token subject when there is one, else the client address plus a hash
 * of the user agent. Consecutive successful responses (200/206, GET) for the same listener
 * and file, each starting less than `idle` after the previous one ended, form a session:
 *   bytes       body bytes delivered, all requests together
 *   max_offset  highest byte offset reached (exclusive end of the furthest range)
 *   covered     bytes of the file delivered at least once (ranges merged)
 *   completion  covered / file size, 0..1
 *   seeks       requests that did not start where the previous one ended (a 0-offset
 *               probe of at most 1 KiB before the real request is not a seek)
 */
#ifndef STREAMD_SESSIONS_H
#define STREAMD_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_MAX_SPANS 32

struct analytics_access;

struct session {
	int64_t         id;             /* database row, 0 until stored */
	char            listener[160];
	char            subject[128];
	char            client[48];
	char           *user_agent;
	char           *path;
	int64_t         started_ms;
	int64_t         last_ms;        /* end of the latest response */
	uint64_t        bytes;
	int64_t         max_offset;
	int64_t         file_size;
	int             seeks;
	int             requests;
	int64_t         prev_start, prev_end;
	int64_t         spans[SESSION_MAX_SPANS][2];    /* covered [start, end) */
	int             nspans;
	int             dirty;
	struct session *hnext;
	struct session *next, *prev;    /* all sessions, most recent first */
};

struct sessions;

struct sessions *sessions_new(int64_t idle_ms);
void sessions_free(struct sessions *s);
void sessions_set_idle(struct sessions *s, int64_t idle_ms);

/*
 * Account one access record (client: text address). Returns the session it joined or
 * started, or NULL if the response is not listening (error, HEAD, nothing sent).
 */
struct session *sessions_track(struct sessions *s, const struct analytics_access *a,
    const char *client, int64_t now_ms);
/* Put back a session loaded from the database (after a collector restart). */
struct session *sessions_restore(struct sessions *s, const struct session *from);
int64_t session_covered(const struct session *ss);
double  session_completion(const struct session *ss);
/* Forget sessions idle for longer than idle (they are stored already). */
int  sessions_expire(struct sessions *s, int64_t now_ms);
/* Sessions active within idle. */
int  sessions_active(struct sessions *s, int64_t now_ms);
/* Call fn on each dirty session and clear the flag if fn returns 0. */
int  sessions_flush(struct sessions *s, int (*fn)(struct session *, void *), void *arg);
/* Listener key of a record (subject, or client + user-agent hash). */
void sessions_listener_key(const struct analytics_access *a, const char *client,
    char *out, size_t outsz);

#endif

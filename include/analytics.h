/*
 * analytics.h: the analytics record and the worker side of the batched queue.
 *
 * Workers never touch SQLite. Each finished response (and each revocation) becomes one
 * compact record, appended to a bounded per-worker buffer that is sent to the collector
 * as one datagram per batch over a socketpair the master holds open (so records sent
 * before a worker or the collector dies wait in the kernel). Sending never blocks: when
 * the socket is full the records stay in the buffer; when the buffer is full new records
 * are dropped and counted (streamd_analytics_dropped_total).
 *
 * Wire format (native byte order; both ends are the same binary on the same host):
 *   datagram = "SDR1" count:u16 pad:u16 record{count}
 *   record   = len:u16 type:u8 body (len bytes, type included)
 *   ACCESS   = ts_ms:i64 dur_us:u32 status:u16 flags:u8 family:u8 addr:16
 *              bytes:u64 range_start:i64 range_end:i64 file_size:i64
 *              str subject, str path, str user_agent, str referrer
 *   REVOKE   = kind:u8 exp:i64 str id
 *   str      = len:u16 bytes
 */
#ifndef STREAMD_ANALYTICS_H
#define STREAMD_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#define ANALYTICS_MAGIC         "SDR1"
#define ANALYTICS_DGRAM_MAX     (60 * 1024)
#define ANALYTICS_REC_MAX       2600

enum analytics_type {
	ANALYTICS_ACCESS = 1,
	ANALYTICS_REVOKE = 2
};

#define ANALYTICS_F_ABORTED     0x01
#define ANALYTICS_F_HEAD        0x02

struct analytics_access {
	int64_t         ts_ms;          /* request start, wall clock */
	uint32_t        duration_us;
	uint16_t        status;
	uint8_t         flags;
	uint8_t         family;         /* 4 or 6 */
	unsigned char   addr[16];
	uint64_t        bytes;          /* body bytes delivered */
	int64_t         range_start;    /* -1: whole file */
	int64_t         range_end;
	int64_t         file_size;      /* -1: not a file response */
	const char     *subject;        /* decoded views into the datagram (not NUL-terminated) */
	const char     *path;
	const char     *user_agent;
	const char     *referrer;
	uint16_t        subject_len, path_len, user_agent_len, referrer_len;
};

struct analytics_revoke {
	uint8_t         kind;           /* enum revoke_kind */
	int64_t         exp;            /* unix seconds after which it can be forgotten */
	const char     *id;
	uint16_t        id_len;
};

/* Encoding and decoding (pure). Encoders return bytes written or 0 if out is short. */
size_t analytics_encode_access(const struct analytics_access *a, unsigned char *out,
    size_t outsz);
size_t analytics_encode_revoke(const struct analytics_revoke *r, unsigned char *out,
    size_t outsz);
/*
 * Walk a datagram: calls on_access / on_revoke for each record. Returns the number of
 * records, or -1 if the datagram is malformed (nothing after the bad record is used).
 */
int analytics_decode(const unsigned char *buf, size_t len,
    void (*on_access)(const struct analytics_access *, void *),
    void (*on_revoke)(const struct analytics_revoke *, void *), void *arg);

/* Worker side. */
struct worker;
struct conn;
struct analytics_queue;

struct analytics_queue *analytics_queue_new(struct worker *w, int fd);
/* Send what is left (trying for a moment if flush_all), then free. */
void analytics_queue_free(struct analytics_queue *q, int flush_all);
/*
 * The record of the request that just finished on c, encoded into out
 * (ANALYTICS_REC_MAX bytes); 0 if the request is not recorded (analytics off, not
 * /stream). analytics_settle() fixes its byte count later, analytics_send() queues it.
 */
size_t analytics_encode_request(struct worker *w, struct conn *c, uint64_t sent,
    uint64_t dur_us, int aborted, unsigned char *out);
void analytics_settle(unsigned char *rec, uint64_t sent, int aborted);
void analytics_send(struct worker *w, const unsigned char *rec, size_t len);
/* A revocation to persist. */
void analytics_revocation(struct worker *w, int kind, const char *id, int64_t exp);
/* Once a second from the worker's tick. */
void analytics_tick(struct worker *w);

#endif

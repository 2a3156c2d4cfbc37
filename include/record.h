/*
 * record.h: the analytics record, the unit workers hand to the collector. Pure: bytes
 * in, bytes out.
 *
 * Wire format (native byte order; both ends are the same binary on the same host):
 *   datagram = "SDR1" count:u16 pad:u16 record{count}
 *   record   = len:u16 type:u8 body          (len counts the whole record)
 *   ACCESS   = ts_ms:i64 dur_us:u32 status:u16 flags:u8 family:u8 addr:16
 *              bytes:u64 range_start:i64 range_end:i64 file_size:i64
 *              str subject, str path, str user_agent, str referrer
 *   REVOKE   = kind:u8 exp:i64 str id
 *   str      = len:u16 bytes
 * Unknown record types are skipped, so an older collector can read a newer worker.
 */
#ifndef STREAMD_RECORD_H
#define STREAMD_RECORD_H

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
	const char     *subject;        /* views into the datagram (not NUL-terminated) */
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

/* Encoders return bytes written, or 0 if out is short. */
size_t analytics_encode_access(const struct analytics_access *a, unsigned char *out,
    size_t outsz);
size_t analytics_encode_revoke(const struct analytics_revoke *r, unsigned char *out,
    size_t outsz);
/* Rewrite the byte count (and the aborted flag) of an encoded ACCESS record. */
void analytics_settle(unsigned char *rec, uint64_t sent, int aborted);
/*
 * Walk a datagram: calls on_access / on_revoke for each record. Returns the number of
 * records, or -1 if the datagram is malformed (nothing after the bad record is used).
 */
int analytics_decode(const unsigned char *buf, size_t len,
    void (*on_access)(const struct analytics_access *, void *),
    void (*on_revoke)(const struct analytics_revoke *, void *), void *arg);

#endif

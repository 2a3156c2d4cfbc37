/*
 * analytics.h: the worker side of the batched analytics queue.
 *
 * Workers never touch SQLite. Each finished /stream response (and each revocation)
 * becomes one record (record.h), appended to a bounded per-worker buffer that is sent to
 * the collector as one datagram per batch over a socketpair the master holds open (so
 * records sent before a worker or the collector dies wait in the kernel). Sending never
 * blocks: when the socket is full the records stay in the buffer; when the buffer is
 * full new records are dropped and counted (streamd_analytics_dropped_total).
 */
#ifndef STREAMD_ANALYTICS_H
#define STREAMD_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

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
void analytics_send(struct worker *w, const unsigned char *rec, size_t len);
/* A revocation to persist. */
void analytics_revocation(struct worker *w, int kind, const char *id, int64_t exp);
/* Once a second from the worker's tick. */
void analytics_tick(struct worker *w);

#endif

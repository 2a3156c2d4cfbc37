/*
 * collector.h: the collector process. The only process that opens SQLite: it reads the
 * workers' record datagrams, writes them in one transaction per batch (analytics_batch
 * records or analytics_flush, whichever comes first), keeps listening sessions, persists
 * revocations and loads them into shared memory at start, and answers /admin/stats
 * queries that workers forward over a local socket. On SIGTERM (and on a reload) it
 * drains the socket and commits before exiting.
 *
 * Query protocol (unix stream socket; peers must run as the same user):
 *   frame = length:u32 (native order) JSON
 *   request  {"op":"stats","from":MS,"to":MS,"limit":N}
 *   response the stats JSON, or {"error":"..."}
 */
#ifndef STREAMD_COLLECTOR_H
#define STREAMD_COLLECTOR_H

struct conf;

struct collector_args {
	struct conf    *conf;
	int             proc;
	int             records_fd;     /* datagrams from the workers */
	int             query_fd;       /* listening socket for stats queries */
	int             master_fd;      /* EOF when the master dies */
};

int collector_main(const struct collector_args *a);

#endif

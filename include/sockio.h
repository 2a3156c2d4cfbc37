/*
 * sockio.h: the socket I/O of a client connection, beneath evhttp.
 *
 * evhttp reads and writes through a socket bufferevent, and that costs two system calls
 * per request which nginx does not make: an ioctl(FIONREAD) before every read, and an
 * epoll_ctl each time evhttp turns reading off for a request and on again after it.
 * Once evhttp has set a connection up, this module takes the socket from the bufferevent:
 * one edge-triggered event per connection (registered once, EPOLLIN|EPOLLOUT|EPOLLET)
 * reads into the bufferevent's input and writes its output. evhttp still sees a
 * bufferevent whose callbacks run as before (read callback when data arrived while
 * reading is enabled, write callback when the output drained, EOF and errors through
 * the event callback); its enable/disable calls now cost no system call.
 */
#ifndef STREAMD_SOCKIO_H
#define STREAMD_SOCKIO_H

struct conn;

/* Take over c->fd from c->bev. 0, or -1 (no memory: the caller drops the connection). */
int  sockio_attach(struct conn *c);
/* The connection is closing: stop watching the socket (evhttp closes it). */
void sockio_detach(struct conn *c);
/*
 * A handler queued a complete response: write what the socket takes now, so that a
 * response that fits completes within this loop iteration. c may be closed on return
 * (conn_hold keeps its memory).
 */
void sockio_flush(struct conn *c);
/* Look at the connection again later in this loop iteration (pending input, EOF). */
void sockio_kick(struct conn *c);
/* While nonzero, output added to c is written by the caller (sockio_flush), not kicked. */
void sockio_sending(struct conn *c, int on);

#endif

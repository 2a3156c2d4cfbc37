/*
 * clientip.h: the client address of a request. The peer address, unless the peer is one
 * of `trusted_proxies`: then the address the proxy reports, from real_ip_header:
 *   X-Forwarded-For   walked from the right, skipping trusted hops (nginx real_ip_recursive)
 *   X-Real-IP         one address
 *   Forwarded         RFC 7239 for= parameters, walked from the right like X-Forwarded-For
 * Headers from an untrusted peer are ignored; so is a header that does not parse.
 */
#ifndef STREAMD_CLIENTIP_H
#define STREAMD_CLIENTIP_H

#include <sys/socket.h>

struct conf;
struct worker;
struct conn;
struct evhttp_request;

enum clientip_header {
	REALIP_XFF = 0,
	REALIP_X_REAL_IP = 1,
	REALIP_FORWARDED = 2
};

/* Pure: the client address for peer given the header value (NULL if absent). */
void clientip_pick(const struct conf *c, const struct sockaddr *peer, const char *value,
    struct sockaddr_storage *out);
/* Parse one address ("1.2.3.4", "::1", "[::1]:80", "1.2.3.4:80"); -1 if not one. */
int  clientip_parse(const char *s, size_t len, struct sockaddr_storage *out);
/* Sets c->client and c->client_text for req. */
void clientip_resolve(struct worker *w, struct conn *c, struct evhttp_request *req);
/* Text form of an address (IPv4-mapped shown as IPv4). */
void clientip_text(const struct sockaddr *sa, char *out, size_t outsz);

#endif

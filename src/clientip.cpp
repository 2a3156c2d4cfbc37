/*
 * clientip.cpp: client address behind trusted proxies (see clientip.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "clientip.h"
#include "conf.h"
#include "conn.h"
#include "http.h"
#include "worker.h"

int
clientip_parse(const char *s, size_t len, struct sockaddr_storage *out)
{
	char buf[64];
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	const char *rb;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		rb = (const char *)memchr(s, ']', len);
		if (rb == NULL || (size_t)(rb - s - 1) >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, (size_t)(rb - s - 1));
		buf[rb - s - 1] = '\0';
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	/* IPv4, maybe with a port */
	if (strchr(buf, ':') != NULL)
		*strchr(buf, ':') = '\0';
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	return -1;
}

static int
trusted(const struct conf *c, const struct sockaddr_storage *ss)
{
	return conf_cidr_match(c->trusted_proxies, c->ntrusted_proxies,
	    (const struct sockaddr *)ss);
}

/* Walk a comma-separated list from the right, skipping trusted hops. */
static int
walk_list(const struct conf *c, const char *value, int forwarded,
    struct sockaddr_storage *out)
{
	const char *end = value + strlen(value), *start, *p;
	struct sockaddr_storage cand;
	int found = 0;

	while (end > value) {
		start = end;
		while (start > value && start[-1] != ',')
			start--;
		p = start;
		if (forwarded) {
			/* element: pairs separated by ';'; we want for=... */
			const char *q = p, *f = NULL;
			while (q < end) {
				while (q < end && (*q == ' ' || *q == ';'))
					q++;
				if ((size_t)(end - q) >= 4 && strncasecmp(q, "for=", 4) == 0) {
					f = q + 4;
					break;
				}
				while (q < end && *q != ';')
					q++;
			}
			if (f == NULL)
				return found ? 0 : -1;
			q = f;
			while (q < end && *q != ';')
				q++;
			if (clientip_parse(f, (size_t)(q - f), &cand) == -1)
				return found ? 0 : -1;
		} else if (clientip_parse(p, (size_t)(end - p), &cand) == -1) {
			return found ? 0 : -1;
		}
		*out = cand;
		found = 1;
		if (!trusted(c, &cand))
			return 0;
		end = start > value ? start - 1 : value;
	}
	return found ? 0 : -1;
}

void
clientip_pick(const struct conf *c, const struct sockaddr *peer, const char *value,
    struct sockaddr_storage *out)
{
	struct sockaddr_storage cand;
	socklen_t len = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);

	memset(out, 0, sizeof(*out));
	memcpy(out, peer, len);
	if (value == NULL || c->ntrusted_proxies == 0 ||
	    !conf_cidr_match(c->trusted_proxies, c->ntrusted_proxies, peer))
		return;
	if (c->real_ip_header == REALIP_X_REAL_IP) {
		if (clientip_parse(value, strlen(value), &cand) == 0)
			*out = cand;
		return;
	}
	if (walk_list(c, value, c->real_ip_header == REALIP_FORWARDED, &cand) == 0)
		*out = cand;
}

void
clientip_text(const struct sockaddr *sa, char *out, size_t outsz)
{
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
		    (socklen_t)outsz);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)outsz);
		else
			inet_ntop(AF_INET6, a6, out, (socklen_t)outsz);
	} else {
		snprintf(out, outsz, "-");
	}
}

void
clientip_resolve(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	static const char *const names[] = { "X-Forwarded-For", "X-Real-IP", "Forwarded" };
	const char *value;

	if (w->conf->ntrusted_proxies == 0 || c->peer.ss_family == AF_UNSPEC)
		return;                 /* c->client already is the peer */
	value = http_in(req, names[w->conf->real_ip_header]);
	clientip_pick(w->conf, (const struct sockaddr *)&c->peer, value, &c->client);
	clientip_text((const struct sockaddr *)&c->client, c->client_text,
	    sizeof(c->client_text));
}

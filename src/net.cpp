/*
 * net.cpp: listening sockets (see net.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#define NET_BACKLOG 4096

int
net_listen(const struct conf_addr *a, int reuseport, char *err, size_t errlen)
{
	int fd, on = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket for %s: %s", a->text, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) ||
	    (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)) {
		snprintf(err, errlen, "setsockopt for %s: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	/* Accepted sockets inherit it: no Nagle wait before the last segment of a body. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		snprintf(err, errlen, "bind %s: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, NET_BACKLOG) == -1) {
		snprintf(err, errlen, "listen %s: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
net_probe(const struct conf_addr *a, char *err, size_t errlen)
{
	int fd, on = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket for %s: %s", a->text, strerror(errno));
		return -1;
	}
	/* SO_REUSEADDR only: lets TIME_WAIT pass, fails on any listener, ours or not. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		snprintf(err, errlen, "bind %s: %s%s", a->text, strerror(errno),
		    errno == EADDRINUSE ? " (is another streamd running?)" : "");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
net_activation_fds(int *fds, int max)
{
	const char *pid_s = getenv("LISTEN_PID"), *n_s = getenv("LISTEN_FDS");
	long pid, n, i;
	char *end;

	if (pid_s == NULL || n_s == NULL)
		return 0;
	pid = strtol(pid_s, &end, 10);
	if (*end != '\0' || pid != (long)getpid())
		return 0;
	n = strtol(n_s, &end, 10);
	if (*end != '\0' || n < 1)
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		int fd = 3 + (int)i;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fds[i] = fd;
	}
	return (int)n;
}

int
net_sockname(int fd, struct conf_addr *a)
{
	char txt[INET6_ADDRSTRLEN];

	memset(a, 0, sizeof(*a));
	a->len = sizeof(a->ss);
	if (getsockname(fd, (struct sockaddr *)&a->ss, &a->len) == -1)
		return -1;
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &sin->sin_addr, txt, sizeof(txt));
		snprintf(a->text, sizeof(a->text), "%s:%u", txt, ntohs(sin->sin_port));
	} else if (a->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, txt, sizeof(txt));
		snprintf(a->text, sizeof(a->text), "[%s]:%u", txt, ntohs(sin6->sin6_port));
	} else {
		return -1;
	}
	return 0;
}

int
net_is_reuseport(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) == -1)
		return 0;
	return on != 0;
}

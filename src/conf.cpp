/*
 * conf.cpp: configuration loader. Owns the directive table, the tokenizer, the value
 * parsers (sizes, durations, addresses, networks), environment overrides and the checks
 * that run after parsing. `streamd -t` and SIGHUP run exactly this code.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "streamd.h"

#define CONF_MAX_ARGS     64
#define CONF_MAX_DEPTH    8
#define CONF_MAX_TOKEN    4096
#define CONF_MAX_FILE     (4 * 1024 * 1024)

enum conf_type {
	T_STR,          /* char * */
	T_PATH,         /* char *, resolved against the file's directory */
	T_SIZE,         /* int64_t */
	T_DURATION,     /* int64_t, milliseconds */
	T_INT,          /* int */
	T_FLAG,         /* int, on|off */
	T_CUSTOM        /* setter knows */
};

/* Flags of a directive. */
#define F_MULTI   0x01  /* may appear more than once */
#define F_RELOAD  0x02  /* SIGHUP can change it */

struct conf_parse {
	struct conf    *conf;
	const char     *file;      /* interned in conf->files */
	char            dir[PATH_MAX];
	int             line;
	int             depth;
};

struct conf_directive;
typedef int (*conf_setter)(struct conf_parse *, const struct conf_directive *,
    char **argv, int argc, char *err, size_t errlen);

struct conf_directive {
	const char     *name;
	int             min_args;
	int             max_args;  /* -1: any */
	enum conf_type  type;
	conf_setter     set;       /* NULL: generic setter for type */
	size_t          offset;
	unsigned        flags;
	int64_t         lo, hi;    /* bounds for T_SIZE, T_DURATION, T_INT */
};

static int set_listen(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_workers(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_secret_key(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_secret_key_file(struct conf_parse *, const struct conf_directive *, char **,
    int, char *, size_t);
static int set_access_log(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_error_log(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_log_level(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_pid_file(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_open_file_cache(struct conf_parse *, const struct conf_directive *, char **,
    int, char *, size_t);
static int set_include(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_origins(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_cidrs(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_real_ip_header(struct conf_parse *, const struct conf_directive *, char **,
    int, char *, size_t);
static int set_rate_limit(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_database(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_role(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);
static int set_load_max(struct conf_parse *, const struct conf_directive *, char **, int,
    char *, size_t);

#define OFF(f) offsetof(struct conf, f)
#define KB     ((int64_t)1024)
#define MB     (KB * 1024)
#define GB     (MB * 1024)
#define SEC    ((int64_t)1000)
#define DAY    (SEC * 86400)
#define BIG    INT64_MAX

/*
 * Every directive, sorted by name. Documented one by one in man/streamd.conf.5; a unit
 * test checks that each name appears there.
 */
static const struct conf_directive directives[] = {
	{ "access_log", 1, 3, T_CUSTOM, set_access_log, 0, F_RELOAD, 0, 0 },
	{ "access_token_query", 1, 1, T_FLAG, NULL, OFF(access_token_query), F_RELOAD, 0, 0 },
	{ "admin_token", 1, 1, T_STR, NULL, OFF(admin_token), F_RELOAD, 0, 0 },
	{ "allowed_origins", 1, -1, T_CUSTOM, set_origins, 0, F_RELOAD | F_MULTI, 0, 0 },
	{ "analytics", 1, 1, T_FLAG, NULL, OFF(analytics), F_RELOAD, 0, 0 },
	{ "analytics_batch", 1, 1, T_INT, NULL, OFF(analytics_batch), F_RELOAD, 1, 100000 },
	{ "analytics_flush", 1, 1, T_DURATION, NULL, OFF(analytics_flush), F_RELOAD, 1, 60 * SEC },
	{ "analytics_queue", 1, 1, T_INT, NULL, OFF(analytics_queue), F_RELOAD, 16, 10000000 },
	{ "analytics_retention", 1, 1, T_DURATION, NULL, OFF(analytics_retention), F_RELOAD, 0, BIG },
	{ "audio_root", 1, 1, T_PATH, NULL, OFF(audio_root), F_RELOAD, 0, 0 },
	{ "auth_sign_ttl", 1, 1, T_DURATION, NULL, OFF(auth_sign_ttl), F_RELOAD, SEC, 7 * DAY },
	{ "client_header_timeout", 1, 1, T_DURATION, NULL, OFF(client_header_timeout), F_RELOAD, 100, DAY },
	{ "daemon", 1, 1, T_FLAG, NULL, OFF(daemon), 0, 0, 0 },
	{ "database", 1, 1, T_CUSTOM, set_database, 0, 0, 0, 0 },
	{ "error_log", 1, 1, T_CUSTOM, set_error_log, 0, F_RELOAD, 0, 0 },
	{ "group", 1, 1, T_STR, NULL, OFF(group), 0, 0, 0 },
	{ "health_allow", 1, -1, T_CUSTOM, set_cidrs, OFF(health_allow), F_RELOAD | F_MULTI, 0, 0 },
	{ "health_disk_min_free", 1, 1, T_SIZE, NULL, OFF(health_disk_min_free), F_RELOAD, 0, BIG },
	{ "health_disk_warn_free", 1, 1, T_SIZE, NULL, OFF(health_disk_warn_free), F_RELOAD, 0, BIG },
	{ "health_load_max", 1, 1, T_CUSTOM, set_load_max, 0, F_RELOAD, 0, 0 },
	{ "health_queue_max", 1, 1, T_SIZE, NULL, OFF(health_queue_max), F_RELOAD, 1, BIG },
	{ "include", 1, 1, T_CUSTOM, set_include, 0, F_MULTI | F_RELOAD, 0, 0 },
	{ "jwt_access_ttl", 1, 1, T_DURATION, NULL, OFF(jwt_access_ttl), F_RELOAD, SEC, 30 * DAY },
	{ "jwt_audience", 1, 1, T_STR, NULL, OFF(jwt_audience), F_RELOAD, 0, 0 },
	{ "jwt_issuer", 1, 1, T_STR, NULL, OFF(jwt_issuer), F_RELOAD, 0, 0 },
	{ "jwt_jwks", 1, 1, T_PATH, NULL, OFF(jwt_jwks), F_RELOAD, 0, 0 },
	{ "jwt_leeway", 1, 1, T_DURATION, NULL, OFF(jwt_leeway), F_RELOAD, 0, DAY },
	{ "jwt_max_size", 1, 1, T_SIZE, NULL, OFF(jwt_max_size), F_RELOAD, 256, 64 * KB },
	{ "jwt_public_key", 1, 1, T_PATH, NULL, OFF(jwt_public_key), F_RELOAD, 0, 0 },
	{ "jwt_refresh_ttl", 1, 1, T_DURATION, NULL, OFF(jwt_refresh_ttl), F_RELOAD, SEC, 365 * DAY },
	{ "jwt_secret", 1, 1, T_CUSTOM, set_secret_key, OFF(jwt_secret), F_RELOAD, 0, 0 },
	{ "jwt_secret_file", 1, 1, T_CUSTOM, set_secret_key_file, OFF(jwt_secret), F_RELOAD, 0, 0 },
	{ "jwt_signing_key", 1, 1, T_CUSTOM, set_secret_key_file, OFF(jwt_signing_key), F_RELOAD, 0, 0 },
	{ "keepalive_requests", 1, 1, T_INT, NULL, OFF(keepalive_requests), F_RELOAD, 1, 1000000000 },
	{ "keepalive_timeout", 1, 1, T_DURATION, NULL, OFF(keepalive_timeout), F_RELOAD, 0, DAY },
	{ "listen", 1, 1, T_CUSTOM, set_listen, 0, F_MULTI | F_RELOAD, 0, 0 },
	{ "log_level", 1, 1, T_CUSTOM, set_log_level, 0, F_RELOAD, 0, 0 },
	{ "max_body_size", 1, 1, T_SIZE, NULL, OFF(max_body_size), F_RELOAD, 0, 64 * MB },
	{ "max_client_connections", 1, 1, T_INT, NULL, OFF(max_client_connections), F_RELOAD, 0, 1000000 },
	{ "max_connections", 1, 1, T_INT, NULL, OFF(max_connections), F_RELOAD, 1, 10000000 },
	{ "max_file_size", 1, 1, T_SIZE, NULL, OFF(max_file_size), F_RELOAD, 0, BIG },
	{ "max_header_size", 1, 1, T_SIZE, NULL, OFF(max_header_size), F_RELOAD, 1 * KB, 1 * MB },
	{ "max_headers", 1, 1, T_INT, NULL, OFF(max_headers), F_RELOAD, 1, 10000 },
	{ "max_range_size", 1, 1, T_SIZE, NULL, OFF(max_range_size), F_RELOAD, 1, BIG },
	{ "max_ranges", 1, 1, T_INT, NULL, OFF(max_ranges), F_RELOAD, 1, 100 },
	{ "max_uri_length", 1, 1, T_SIZE, NULL, OFF(max_uri_length), F_RELOAD, 256, 1 * MB },
	{ "open_file_cache", 1, 2, T_CUSTOM, set_open_file_cache, 0, F_RELOAD, 0, 0 },
	{ "pid_file", 1, 1, T_CUSTOM, set_pid_file, 0, 0, 0, 0 },
	{ "rate_limit", 2, 3, T_CUSTOM, set_rate_limit, 0, F_MULTI | F_RELOAD, 0, 0 },
	{ "rate_limit_allow", 1, -1, T_CUSTOM, set_cidrs, OFF(rate_limit_allow), F_MULTI | F_RELOAD, 0, 0 },
	{ "rate_limit_dry_run", 1, 1, T_FLAG, NULL, OFF(rate_limit_dry_run), F_RELOAD, 0, 0 },
	{ "rate_limit_table", 1, 1, T_INT, NULL, OFF(rate_limit_table), 0, 64, 16777216 },
	{ "real_ip_header", 1, 1, T_CUSTOM, set_real_ip_header, 0, F_RELOAD, 0, 0 },
	{ "role", 1, -1, T_CUSTOM, set_role, 0, F_MULTI | F_RELOAD, 0, 0 },
	{ "secret_key", 1, 1, T_CUSTOM, set_secret_key, OFF(secret_key), F_RELOAD, 0, 0 },
	{ "secret_key_file", 1, 1, T_CUSTOM, set_secret_key_file, OFF(secret_key), F_RELOAD, 0, 0 },
	{ "send_timeout", 1, 1, T_DURATION, NULL, OFF(send_timeout), F_RELOAD, 100, DAY },
	{ "server_tokens", 1, 1, T_FLAG, NULL, OFF(server_tokens), F_RELOAD, 0, 0 },
	{ "session_idle", 1, 1, T_DURATION, NULL, OFF(session_idle), F_RELOAD, SEC, DAY },
	{ "shutdown_timeout", 1, 1, T_DURATION, NULL, OFF(shutdown_timeout), F_RELOAD, 0, DAY },
	{ "signature_leeway", 1, 1, T_DURATION, NULL, OFF(signature_leeway), F_RELOAD, 0, DAY },
	{ "trusted_proxies", 1, -1, T_CUSTOM, set_cidrs, OFF(trusted_proxies), F_MULTI | F_RELOAD, 0, 0 },
	{ "user", 1, 2, T_CUSTOM, NULL, 0, 0, 0, 0 },
	{ "worker_rlimit_nofile", 1, 1, T_INT, NULL, OFF(worker_rlimit_nofile), 0, 64, 10000000 },
	{ "workers", 1, 1, T_CUSTOM, set_workers, 0, F_RELOAD, 0, 0 },
};

#define NDIRECTIVES ((int)NITEMS(directives))

static const char *const perm_names[PERM_COUNT] = {
	"stream", "stream_hq", "view_analytics", "system_admin", "upload", "moderate"
};

/* ---------------------------------------------------------------- helpers */

static void
perr(struct conf_parse *p, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
perr(struct conf_parse *p, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", p->file, p->line, msg);
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = (char *)malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/* Resolve path against dir unless absolute. */
static char *
resolve_path(const char *dir, const char *path)
{
	char buf[PATH_MAX];
	int n;

	if (path[0] == '/' || dir[0] == '\0')
		return xstrdup(path);
	n = snprintf(buf, sizeof(buf), "%s/%s", dir, path);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return xstrdup(buf);
}

static const char *
intern_file(struct conf *c, const char *path)
{
	char **nf;
	int i;

	for (i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], path) == 0)
			return c->files[i];
	nf = (char **)realloc(c->files, sizeof(char *) * (size_t)(c->nfiles + 1));
	if (nf == NULL)
		return NULL;
	c->files = nf;
	if ((c->files[c->nfiles] = xstrdup(path)) == NULL)
		return NULL;
	return c->files[c->nfiles++];
}

/* ---------------------------------------------------------------- value parsers */

int
conf_parse_size(const char *s, int64_t *out)
{
	char *end;
	unsigned long long v;
	int64_t mul = 1;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = KB; end++;
		break;
	case 'm': case 'M':
		mul = MB; end++;
		break;
	case 'g': case 'G':
		mul = GB; end++;
		break;
	default:
		return -1;
	}
	if (*end != '\0')
		return -1;
	if (v > (unsigned long long)(INT64_MAX / mul))
		return -1;
	*out = (int64_t)v * mul;
	return 0;
}

int
conf_parse_duration(const char *s, int64_t *out_ms)
{
	const char *p = s;
	int64_t total = 0, mul;
	unsigned long long v;
	char *end;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0 || v > (unsigned long long)INT64_MAX / 1000 / 86400)
			return -1;
		p = end;
		if (p[0] == 'm' && p[1] == 's') {
			mul = 1; p += 2;
		} else if (*p == 's') {
			mul = SEC; p++;
		} else if (*p == 'm') {
			mul = 60 * SEC; p++;
		} else if (*p == 'h') {
			mul = 3600 * SEC; p++;
		} else if (*p == 'd') {
			mul = DAY; p++;
		} else if (*p == '\0' && p == end && total == 0 && end != s) {
			mul = SEC;        /* a bare number means seconds */
		} else {
			return -1;
		}
		total += (int64_t)v * mul;
	}
	*out_ms = total;
	return 0;
}

int
conf_parse_addr(const char *s, struct conf_addr *a, char *err, size_t errlen)
{
	char host[64];
	const char *colon, *port_s;
	char *end;
	unsigned long port;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host)) {
			snprintf(err, errlen, "invalid address \"%s\" (use [IPv6]:PORT)", s);
			return -1;
		}
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		port_s = rb + 2;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "invalid IPv6 address \"%s\"", host);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		a->len = sizeof(*sin6);
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			strcpy(host, "0.0.0.0");
			port_s = s;
		} else {
			if ((size_t)(colon - s) >= sizeof(host) || strchr(s, ':') != colon) {
				snprintf(err, errlen, "invalid address \"%s\"", s);
				return -1;
			}
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
			port_s = colon + 1;
		}
		if (strcmp(host, "*") == 0)
			strcpy(host, "0.0.0.0");
		else if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errlen, "invalid address \"%s\" (host names are not "
			    "supported, use an IP address)", host);
			return -1;
		}
		sin->sin_family = AF_INET;
		a->len = sizeof(*sin);
	}
	if (!isdigit((unsigned char)port_s[0])) {
		snprintf(err, errlen, "invalid port in \"%s\"", s);
		return -1;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
		snprintf(err, errlen, "invalid port in \"%s\"", s);
		return -1;
	}
	if (a->ss.ss_family == AF_INET6) {
		char txt[INET6_ADDRSTRLEN];
		sin6->sin6_port = htons((uint16_t)port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, txt, sizeof(txt));
		snprintf(a->text, sizeof(a->text), "[%s]:%lu", txt, port);
	} else {
		char txt[INET_ADDRSTRLEN];
		sin->sin_port = htons((uint16_t)port);
		inet_ntop(AF_INET, &sin->sin_addr, txt, sizeof(txt));
		snprintf(a->text, sizeof(a->text), "%s:%lu", txt, port);
	}
	return 0;
}

int
conf_parse_cidr(const char *s, struct conf_cidr *c)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long bits;

	memset(c, 0, sizeof(*c));
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		c->bits = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		c->bits = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || bits < 0 || bits > c->bits)
			return -1;
		c->bits = (int)bits;
	}
	return 0;
}

static int
prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

int
conf_cidr_match(const struct conf_cidr *list, int n, const struct sockaddr *sa)
{
	const unsigned char *v4 = NULL, *v6 = NULL;
	static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	int i;

	if (sa->sa_family == AF_INET) {
		v4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		v6 = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (memcmp(v6, mapped, 12) == 0)
			v4 = v6 + 12;
	} else {
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (list[i].family == AF_INET && v4 != NULL &&
		    prefix_match(v4, list[i].addr, list[i].bits))
			return 1;
		if (list[i].family == AF_INET6 && v6 != NULL &&
		    prefix_match(v6, list[i].addr, list[i].bits))
			return 1;
	}
	return 0;
}

int
conf_perm_parse(const char *name)
{
	int i;

	for (i = 0; i < PERM_COUNT; i++)
		if (strcmp(name, perm_names[i]) == 0)
			return i;
	return -1;
}

const char *
conf_perm_name(int perm)
{
	return perm >= 0 && perm < PERM_COUNT ? perm_names[perm] : "?";
}

uint32_t
conf_role_perms(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nroles; i++)
		if (strcmp(c->roles[i].name, name) == 0)
			return c->roles[i].perms;
	return 0;
}

/* ---------------------------------------------------------------- setters */

static int
set_generic(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	struct conf *c = p->conf;
	void *field = (char *)c + d->offset;
	int64_t v;
	char *end;
	long long iv;

	(void)argc;
	switch (d->type) {
	case T_STR:
		if (argv[1][0] == '\0') {
			perr(p, err, errlen, "%s: empty value", d->name);
			return -1;
		}
		free(*(char **)field);
		if ((*(char **)field = xstrdup(argv[1])) == NULL)
			goto nomem;
		return 0;
	case T_PATH:
		if (argv[1][0] == '\0') {
			perr(p, err, errlen, "%s: empty path", d->name);
			return -1;
		}
		free(*(char **)field);
		if ((*(char **)field = resolve_path(p->dir, argv[1])) == NULL)
			goto nomem;
		return 0;
	case T_SIZE:
		if (conf_parse_size(argv[1], &v) == -1) {
			perr(p, err, errlen, "%s: invalid size \"%s\" (use N, Nk, Nm or Ng)",
			    d->name, argv[1]);
			return -1;
		}
		goto bounds;
	case T_DURATION:
		if (conf_parse_duration(argv[1], &v) == -1) {
			perr(p, err, errlen, "%s: invalid duration \"%s\" (use e.g. 500ms, "
			    "30s, 5m, 1h, 1d)", d->name, argv[1]);
			return -1;
		}
		goto bounds;
	case T_INT:
		errno = 0;
		iv = strtoll(argv[1], &end, 10);
		if (!isdigit((unsigned char)argv[1][0]) || errno != 0 || *end != '\0') {
			perr(p, err, errlen, "%s: invalid number \"%s\"", d->name, argv[1]);
			return -1;
		}
		v = iv;
		goto bounds;
	case T_FLAG:
		if (strcmp(argv[1], "on") == 0)
			*(int *)field = 1;
		else if (strcmp(argv[1], "off") == 0)
			*(int *)field = 0;
		else {
			perr(p, err, errlen, "%s: expected \"on\" or \"off\", not \"%s\"",
			    d->name, argv[1]);
			return -1;
		}
		return 0;
	case T_CUSTOM:
		break;
	}
	perr(p, err, errlen, "%s: internal error", d->name);
	return -1;

bounds:
	if (v < d->lo || v > d->hi) {
		perr(p, err, errlen, "%s: value \"%s\" out of range", d->name, argv[1]);
		return -1;
	}
	if (d->type == T_INT)
		*(int *)field = (int)v;
	else
		*(int64_t *)field = v;
	return 0;
nomem:
	perr(p, err, errlen, "%s: out of memory", d->name);
	return -1;
}

static int
set_user(struct conf_parse *p, char **argv, int argc, char *err, size_t errlen)
{
	struct conf *c = p->conf;

	if (argv[1][0] == '\0') {
		perr(p, err, errlen, "user: empty name");
		return -1;
	}
	free(c->user);
	c->user = xstrdup(argv[1]);
	if (argc == 3) {
		free(c->group);
		c->group = xstrdup(argv[2]);
	}
	return 0;
}

static int
set_listen(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	struct conf *c = p->conf;
	struct conf_addr a, *na;
	char msg[256];
	int i;

	(void)d; (void)argc;
	if (conf_parse_addr(argv[1], &a, msg, sizeof(msg)) == -1) {
		perr(p, err, errlen, "listen: %s", msg);
		return -1;
	}
	for (i = 0; i < c->nlistens; i++) {
		if (strcmp(c->listens[i].text, a.text) == 0) {
			perr(p, err, errlen, "listen: duplicate address %s", a.text);
			return -1;
		}
	}
	na = (struct conf_addr *)realloc(c->listens, sizeof(*na) * (size_t)(c->nlistens + 1));
	if (na == NULL) {
		perr(p, err, errlen, "listen: out of memory");
		return -1;
	}
	c->listens = na;
	c->listens[c->nlistens++] = a;
	return 0;
}

static int
set_workers(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	char *end;
	long v;

	(void)d; (void)argc;
	if (strcmp(argv[1], "auto") == 0) {
		p->conf->workers = 0;
		return 0;
	}
	errno = 0;
	v = strtol(argv[1], &end, 10);
	if (!isdigit((unsigned char)argv[1][0]) || errno != 0 || *end != '\0' || v < 1 ||
	    v > STREAMD_MAX_WORKERS) {
		perr(p, err, errlen, "workers: expected \"auto\" or 1..%d, not \"%s\"",
		    STREAMD_MAX_WORKERS, argv[1]);
		return -1;
	}
	p->conf->workers = (int)v;
	return 0;
}

static int
store_key(struct conf_parse *p, const struct conf_directive *d, const unsigned char *key,
    size_t len, char *err, size_t errlen)
{
	unsigned char **field = (unsigned char **)((char *)p->conf + d->offset);
	size_t *lenp = (size_t *)((char *)field + sizeof(unsigned char *));

	if (len == 0) {
		perr(p, err, errlen, "%s: empty key", d->name);
		return -1;
	}
	free(*field);
	if ((*field = (unsigned char *)malloc(len + 1)) == NULL) {
		perr(p, err, errlen, "%s: out of memory", d->name);
		return -1;
	}
	memcpy(*field, key, len);
	(*field)[len] = '\0';
	*lenp = len;
	return 0;
}

static int
set_secret_key(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	(void)argc;
	return store_key(p, d, (const unsigned char *)argv[1], strlen(argv[1]), err, errlen);
}

/* Read a key file: its bytes, without a trailing newline. */
static int
read_key_file(const char *path, unsigned char *buf, size_t bufsz, size_t *len, char *msg,
    size_t msglen, int *world_readable)
{
	struct stat st;
	ssize_t n;
	size_t total = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	*world_readable = (st.st_mode & S_IROTH) != 0;
	while (total < bufsz) {
		n = read(fd, buf + total, bufsz - total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(msg, msglen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	if (total == bufsz) {
		snprintf(msg, msglen, "%s: key file larger than %zu bytes", path, bufsz - 1);
		return -1;
	}
	while (total > 0 && (buf[total - 1] == '\n' || buf[total - 1] == '\r'))
		total--;
	*len = total;
	return 0;
}

static int
set_secret_key_file(struct conf_parse *p, const struct conf_directive *d, char **argv,
    int argc, char *err, size_t errlen)
{
	unsigned char buf[4097];
	char msg[PATH_MAX + 128];
	char *path;
	size_t len;
	int wr = 0, rc;

	(void)argc;
	if ((path = resolve_path(p->dir, argv[1])) == NULL) {
		perr(p, err, errlen, "%s: path too long", d->name);
		return -1;
	}
	rc = read_key_file(path, buf, sizeof(buf), &len, msg, sizeof(msg), &wr);
	free(path);
	if (rc == -1) {
		perr(p, err, errlen, "%s: %s", d->name, msg);
		return -1;
	}
	if (wr)
		log_warnx("%s:%d: %s: %s is readable by every user", p->file, p->line,
		    d->name, argv[1]);
	rc = store_key(p, d, buf, len, err, errlen);
	memset(buf, 0, sizeof(buf));
	return rc;
}

static int
set_optional_path(struct conf_parse *p, const char *name, const char *arg, char **field,
    const char *none, char *err, size_t errlen)
{
	free(*field);
	*field = NULL;
	if (strcmp(arg, none) == 0)
		return 0;
	if (arg[0] == '\0') {
		perr(p, err, errlen, "%s: empty path", name);
		return -1;
	}
	if ((*field = resolve_path(p->dir, arg)) == NULL) {
		perr(p, err, errlen, "%s: path too long", name);
		return -1;
	}
	return 0;
}

static int
set_access_log(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	struct conf *c = p->conf;
	int i;

	(void)d;
	if (set_optional_path(p, "access_log", argv[1], &c->access_log, "off", err,
	    errlen) == -1)
		return -1;
	for (i = 2; i < argc; i++) {
		if (strncmp(argv[i], "buffer=", 7) == 0) {
			if (conf_parse_size(argv[i] + 7, &c->access_log_buffer) == -1 ||
			    c->access_log_buffer > 16 * MB) {
				perr(p, err, errlen, "access_log: invalid buffer size \"%s\"",
				    argv[i] + 7);
				return -1;
			}
		} else if (strncmp(argv[i], "flush=", 6) == 0) {
			if (conf_parse_duration(argv[i] + 6, &c->access_log_flush) == -1 ||
			    c->access_log_flush < 1) {
				perr(p, err, errlen, "access_log: invalid flush time \"%s\"",
				    argv[i] + 6);
				return -1;
			}
		} else {
			perr(p, err, errlen, "access_log: unknown parameter \"%s\"", argv[i]);
			return -1;
		}
	}
	if (c->access_log == NULL && argc > 2) {
		perr(p, err, errlen, "access_log: \"off\" takes no parameters");
		return -1;
	}
	return 0;
}

static int
set_error_log(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	(void)d; (void)argc;
	return set_optional_path(p, "error_log", argv[1], &p->conf->error_log, "stderr", err,
	    errlen);
}

static int
set_pid_file(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	(void)d; (void)argc;
	return set_optional_path(p, "pid_file", argv[1], &p->conf->pid_file, "off", err,
	    errlen);
}

static int
set_database(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	(void)d; (void)argc;
	return set_optional_path(p, "database", argv[1], &p->conf->database, "off", err,
	    errlen);
}

static int
set_log_level(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	int lv = log_level_parse(argv[1]);

	(void)d; (void)argc;
	if (lv == -1) {
		perr(p, err, errlen, "log_level: unknown level \"%s\" (debug, info, notice, "
		    "warn, error, crit)", argv[1]);
		return -1;
	}
	p->conf->log_level = lv;
	return 0;
}

static int
set_open_file_cache(struct conf_parse *p, const struct conf_directive *d, char **argv,
    int argc, char *err, size_t errlen)
{
	struct conf *c = p->conf;
	int64_t v;
	int i, have_max = 0;

	(void)d;
	if (strcmp(argv[1], "off") == 0) {
		if (argc != 2) {
			perr(p, err, errlen, "open_file_cache: \"off\" takes no parameters");
			return -1;
		}
		c->open_file_cache_max = 0;
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "max=", 4) == 0) {
			char *end;
			long n;
			errno = 0;
			n = strtol(argv[i] + 4, &end, 10);
			if (!isdigit((unsigned char)argv[i][4]) || errno != 0 || *end != '\0' ||
			    n < 1 || n > 1000000) {
				perr(p, err, errlen, "open_file_cache: invalid max \"%s\"",
				    argv[i] + 4);
				return -1;
			}
			c->open_file_cache_max = (int)n;
			have_max = 1;
		} else if (strncmp(argv[i], "valid=", 6) == 0) {
			if (conf_parse_duration(argv[i] + 6, &v) == -1) {
				perr(p, err, errlen, "open_file_cache: invalid valid time \"%s\"",
				    argv[i] + 6);
				return -1;
			}
			c->open_file_cache_valid = v;
		} else {
			perr(p, err, errlen, "open_file_cache: unknown parameter \"%s\" "
			    "(max=N valid=TIME, or off)", argv[i]);
			return -1;
		}
	}
	if (!have_max) {
		perr(p, err, errlen, "open_file_cache: max=N is required");
		return -1;
	}
	return 0;
}

static int
set_origins(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	struct conf *c = p->conf;
	char **no;
	int i;

	(void)d;
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "*") != 0 && strncmp(o, "http://", 7) != 0 &&
		    strncmp(o, "https://", 8) != 0) {
			perr(p, err, errlen, "allowed_origins: \"%s\" is not an origin "
			    "(scheme://host[:port]) or *", o);
			return -1;
		}
		if (strlen(o) >= CONF_MAX_ORIGIN || (strcmp(o, "*") != 0 &&
		    (strchr(o + 8, '/') != NULL || o[strlen(o) - 1] == '/'))) {
			perr(p, err, errlen, "allowed_origins: \"%s\": an origin has no path", o);
			return -1;
		}
		no = (char **)realloc(c->allowed_origins,
		    sizeof(char *) * (size_t)(c->nallowed_origins + 1));
		if (no == NULL || (no[c->nallowed_origins] = xstrdup(o)) == NULL) {
			if (no != NULL)
				c->allowed_origins = no;
			perr(p, err, errlen, "allowed_origins: out of memory");
			return -1;
		}
		c->allowed_origins = no;
		c->nallowed_origins++;
	}
	return 0;
}

static int
set_cidrs(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	struct conf_cidr **list = (struct conf_cidr **)((char *)p->conf + d->offset);
	int *n = (int *)((char *)list + sizeof(struct conf_cidr *));
	struct conf_cidr cidr, *nl;
	int i;

	for (i = 1; i < argc; i++) {
		if (conf_parse_cidr(argv[i], &cidr) == -1) {
			perr(p, err, errlen, "%s: invalid address or network \"%s\"", d->name,
			    argv[i]);
			return -1;
		}
		nl = (struct conf_cidr *)realloc(*list, sizeof(*nl) * (size_t)(*n + 1));
		if (nl == NULL) {
			perr(p, err, errlen, "%s: out of memory", d->name);
			return -1;
		}
		*list = nl;
		nl[(*n)++] = cidr;
	}
	return 0;
}

static int
set_real_ip_header(struct conf_parse *p, const struct conf_directive *d, char **argv,
    int argc, char *err, size_t errlen)
{
	static const char *const names[] = { "X-Forwarded-For", "X-Real-IP", "Forwarded" };
	size_t i;

	(void)d; (void)argc;
	for (i = 0; i < NITEMS(names); i++) {
		if (strcasecmp(argv[1], names[i]) == 0) {
			p->conf->real_ip_header = (int)i;
			return 0;
		}
	}
	perr(p, err, errlen, "real_ip_header: expected X-Forwarded-For, X-Real-IP or "
	    "Forwarded, not \"%s\"", argv[1]);
	return -1;
}

/* rate_limit CLASS RATE [burst=N]   RATE: Nr/s or Nr/m */
static int
set_rate_limit(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	static const char *const classes[RL_CLASS_COUNT] = { "stream", "auth", "admin", "other" };
	struct conf_rate r;
	char *end;
	double v;
	long burst;
	int cls = -1, i;

	(void)d;
	for (i = 0; i < RL_CLASS_COUNT; i++)
		if (strcmp(argv[1], classes[i]) == 0)
			cls = i;
	if (cls == -1) {
		perr(p, err, errlen, "rate_limit: unknown class \"%s\" (stream, auth, admin, "
		    "other)", argv[1]);
		return -1;
	}
	if (p->conf->rate[cls].set) {
		perr(p, err, errlen, "rate_limit: class \"%s\" is already limited", argv[1]);
		return -1;
	}
	errno = 0;
	v = strtod(argv[2], &end);
	if (!isdigit((unsigned char)argv[2][0]) || errno != 0 || v <= 0 || v > 1e7 ||
	    (strcmp(end, "r/s") != 0 && strcmp(end, "r/m") != 0)) {
		perr(p, err, errlen, "rate_limit: invalid rate \"%s\" (e.g. 10r/s, 30r/m)",
		    argv[2]);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.set = 1;
	r.rate = strcmp(end, "r/m") == 0 ? v / 60.0 : v;
	r.burst = 0;
	if (argc == 4) {
		if (strncmp(argv[3], "burst=", 6) != 0 || !isdigit((unsigned char)argv[3][6])) {
			perr(p, err, errlen, "rate_limit: expected burst=N, not \"%s\"", argv[3]);
			return -1;
		}
		errno = 0;
		burst = strtol(argv[3] + 6, &end, 10);
		if (errno != 0 || *end != '\0' || burst < 0 || burst > 1000000) {
			perr(p, err, errlen, "rate_limit: invalid burst \"%s\"", argv[3] + 6);
			return -1;
		}
		r.burst = (int)burst;
	}
	p->conf->rate[cls] = r;
	return 0;
}

/* role NAME PERM...   (replaces the default of that role) */
static int
set_role(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	struct conf *c = p->conf;
	struct conf_role *r = NULL, *nr;
	uint32_t perms = 0;
	int i, perm;

	(void)d;
	if (strlen(argv[1]) >= sizeof(r->name) || argv[1][0] == '\0') {
		perr(p, err, errlen, "role: invalid role name \"%s\"", argv[1]);
		return -1;
	}
	for (i = 2; i < argc; i++) {
		if ((perm = conf_perm_parse(argv[i])) == -1) {
			perr(p, err, errlen, "role %s: unknown permission \"%s\"", argv[1],
			    argv[i]);
			return -1;
		}
		perms |= 1u << perm;
	}
	for (i = 0; i < c->nroles; i++)
		if (strcmp(c->roles[i].name, argv[1]) == 0)
			r = &c->roles[i];
	if (r == NULL) {
		nr = (struct conf_role *)realloc(c->roles, sizeof(*nr) * (size_t)(c->nroles + 1));
		if (nr == NULL) {
			perr(p, err, errlen, "role: out of memory");
			return -1;
		}
		c->roles = nr;
		r = &c->roles[c->nroles++];
		snprintf(r->name, sizeof(r->name), "%s", argv[1]);
	}
	r->perms = perms;
	return 0;
}

static int
set_load_max(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	char *end;
	double v;

	(void)d; (void)argc;
	errno = 0;
	v = strtod(argv[1], &end);
	if (!isdigit((unsigned char)argv[1][0]) || errno != 0 || *end != '\0' || v <= 0) {
		perr(p, err, errlen, "health_load_max: invalid number \"%s\"", argv[1]);
		return -1;
	}
	p->conf->health_load_max = v;
	return 0;
}

static int parse_file(struct conf_parse *parent, struct conf *c, const char *path,
    int depth, char *err, size_t errlen);

static int
set_include(struct conf_parse *p, const struct conf_directive *d, char **argv, int argc,
    char *err, size_t errlen)
{
	glob_t g;
	char *pattern;
	size_t i;
	int rc;

	(void)d; (void)argc;
	if (p->depth + 1 >= CONF_MAX_DEPTH) {
		perr(p, err, errlen, "include: nested too deep (loop?)");
		return -1;
	}
	if ((pattern = resolve_path(p->dir, argv[1])) == NULL) {
		perr(p, err, errlen, "include: path too long");
		return -1;
	}
	memset(&g, 0, sizeof(g));
	rc = glob(pattern, GLOB_ERR, NULL, &g);
	if (rc == GLOB_NOMATCH && strpbrk(argv[1], "*?[") != NULL) {
		/* A pattern that matches nothing is fine, as in nginx. */
		free(pattern);
		globfree(&g);
		return 0;
	}
	if (rc != 0) {
		perr(p, err, errlen, "include: %s: %s", argv[1],
		    rc == GLOB_NOMATCH ? "No such file or directory" : "cannot read");
		free(pattern);
		globfree(&g);
		return -1;
	}
	free(pattern);
	for (i = 0; i < g.gl_pathc; i++) {
		if (parse_file(p, p->conf, g.gl_pathv[i], p->depth + 1, err, errlen) == -1) {
			globfree(&g);
			return -1;
		}
	}
	globfree(&g);
	return 0;
}

/* ---------------------------------------------------------------- tokenizer */

struct conf_lexer {
	const char     *buf;
	size_t          len;
	size_t          pos;
	int             line;
};

/*
 * Next token into tok. Returns 1 for a word, ';' for the terminator, 0 at end of file,
 * -1 on error (msg filled). *quoted tells whether the word was quoted.
 */
static int
lex_next(struct conf_lexer *lx, char *tok, size_t toksz, int *quoted, char *msg,
    size_t msglen)
{
	size_t n = 0;
	char q;

	*quoted = 0;
	for (;;) {
		while (lx->pos < lx->len && isspace((unsigned char)lx->buf[lx->pos])) {
			if (lx->buf[lx->pos] == '\n')
				lx->line++;
			lx->pos++;
		}
		if (lx->pos < lx->len && lx->buf[lx->pos] == '#') {
			while (lx->pos < lx->len && lx->buf[lx->pos] != '\n')
				lx->pos++;
			continue;
		}
		break;
	}
	if (lx->pos >= lx->len)
		return 0;
	if (lx->buf[lx->pos] == ';') {
		lx->pos++;
		return ';';
	}
	if (lx->buf[lx->pos] == '{' || lx->buf[lx->pos] == '}') {
		snprintf(msg, msglen, "unexpected \"%c\" (blocks are not supported)",
		    lx->buf[lx->pos]);
		return -1;
	}
	if (lx->buf[lx->pos] == '"' || lx->buf[lx->pos] == '\'') {
		int qline = lx->line;

		q = lx->buf[lx->pos++];
		*quoted = 1;
		for (;;) {
			char ch;
			if (lx->pos >= lx->len) {
				lx->line = qline;
				snprintf(msg, msglen, "unterminated quoted string");
				return -1;
			}
			ch = lx->buf[lx->pos++];
			if (ch == q)
				break;
			if (ch == '\n')
				lx->line++;
			if (ch == '\\' && lx->pos < lx->len) {
				ch = lx->buf[lx->pos++];
				if (ch == 'n')
					ch = '\n';
				else if (ch == 't')
					ch = '\t';
			}
			if (ch == '\0') {
				snprintf(msg, msglen, "NUL byte in quoted string");
				return -1;
			}
			if (n + 1 >= toksz) {
				snprintf(msg, msglen, "token too long");
				return -1;
			}
			tok[n++] = ch;
		}
		if (lx->pos < lx->len && !isspace((unsigned char)lx->buf[lx->pos]) &&
		    lx->buf[lx->pos] != ';') {
			snprintf(msg, msglen, "unexpected \"%c\" after quoted string",
			    lx->buf[lx->pos]);
			return -1;
		}
		tok[n] = '\0';
		return 1;
	}
	while (lx->pos < lx->len) {
		char ch = lx->buf[lx->pos];
		if (isspace((unsigned char)ch) || ch == ';' || ch == '#')
			break;
		if (ch == '"' || ch == '\'' || ch == '{' || ch == '}') {
			snprintf(msg, msglen, "unexpected \"%c\" inside a word", ch);
			return -1;
		}
		if (ch == '\0') {
			snprintf(msg, msglen, "NUL byte in file");
			return -1;
		}
		if (n + 1 >= toksz) {
			snprintf(msg, msglen, "token too long");
			return -1;
		}
		tok[n++] = ch;
		lx->pos++;
	}
	tok[n] = '\0';
	return 1;
}

static const struct conf_directive *
find_directive(const char *name, int *index)
{
	int lo = 0, hi = NDIRECTIVES - 1, mid, cmp;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		cmp = strcmp(name, directives[mid].name);
		if (cmp == 0) {
			*index = mid;
			return &directives[mid];
		}
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
apply_directive(struct conf_parse *p, char **argv, int argc, char *err, size_t errlen)
{
	const struct conf_directive *d;
	struct conf *c = p->conf;
	int idx;

	if ((d = find_directive(argv[0], &idx)) == NULL) {
		perr(p, err, errlen, "unknown directive \"%s\"", argv[0]);
		return -1;
	}
	if (argc - 1 < d->min_args || (d->max_args >= 0 && argc - 1 > d->max_args)) {
		perr(p, err, errlen, "invalid number of arguments in \"%s\"", d->name);
		return -1;
	}
	if (!(d->flags & F_MULTI) && c->src[idx].line != 0) {
		perr(p, err, errlen, "\"%s\" directive is duplicate (first at %s:%d)", d->name,
		    c->src[idx].file, c->src[idx].line);
		return -1;
	}
	/* The two spellings of one key exclude each other. */
	if (d->offset != 0 && (d->set == set_secret_key || d->set == set_secret_key_file)) {
		int j;
		for (j = 0; j < NDIRECTIVES; j++) {
			if (j != idx && directives[j].offset == d->offset &&
			    c->src[j].line != 0) {
				perr(p, err, errlen, "\"%s\" conflicts with \"%s\" at %s:%d",
				    d->name, directives[j].name, c->src[j].file, c->src[j].line);
				return -1;
			}
		}
	}
	c->src[idx].file = p->file;
	c->src[idx].line = p->line;
	if (strcmp(d->name, "user") == 0)
		return set_user(p, argv, argc, err, errlen);
	if (d->set != NULL)
		return d->set(p, d, argv, argc, err, errlen);
	return set_generic(p, d, argv, argc, err, errlen);
}

static int
read_whole_file(const char *path, char **out, size_t *outlen, char *msg, size_t msglen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t total = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(msg, msglen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size > CONF_MAX_FILE) {
		snprintf(msg, msglen, "file too large");
		close(fd);
		return -1;
	}
	if ((buf = (char *)malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		close(fd);
		return -1;
	}
	while (total < (size_t)st.st_size) {
		n = read(fd, buf + total, (size_t)st.st_size - total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	buf[total] = '\0';
	*out = buf;
	*outlen = total;
	return 0;
}

static int
parse_file(struct conf_parse *parent, struct conf *c, const char *path, int depth,
    char *err, size_t errlen)
{
	struct conf_parse p;
	struct conf_lexer lx;
	char msg[512];
	char *buf = NULL, *argv[CONF_MAX_ARGS];
	char tok[CONF_MAX_TOKEN];
	const char *slash;
	int argc = 0, r, quoted, i, rc = -1, start_line = 1;

	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.depth = depth;
	if ((p.file = intern_file(c, path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	slash = strrchr(path, '/');
	if (slash != NULL)
		snprintf(p.dir, sizeof(p.dir), "%.*s", (int)(slash - path), path);
	if (slash == path)
		strcpy(p.dir, "/");
	if (read_whole_file(path, &buf, &lx.len, msg, sizeof(msg)) == -1) {
		if (parent != NULL)
			snprintf(err, errlen, "%s:%d: include %s: %s", parent->file,
			    parent->line, path, msg);
		else
			snprintf(err, errlen, "%s:0: %s", path, msg);
		return -1;
	}
	lx.buf = buf;
	lx.pos = 0;
	lx.line = 1;
	for (;;) {
		r = lex_next(&lx, tok, sizeof(tok), &quoted, msg, sizeof(msg));
		p.line = lx.line;
		if (r == -1) {
			perr(&p, err, errlen, "%s", msg);
			goto out;
		}
		if (r == 0) {
			if (argc > 0) {
				p.line = start_line;
				perr(&p, err, errlen, "unexpected end of file, expecting \";\" "
				    "after \"%s\"", argv[0]);
				goto out;
			}
			break;
		}
		if (r == ';') {
			if (argc == 0) {
				perr(&p, err, errlen, "unexpected \";\"");
				goto out;
			}
			p.line = start_line;
			if (apply_directive(&p, argv, argc, err, errlen) == -1)
				goto out;
			for (i = 0; i < argc; i++)
				free(argv[i]);
			argc = 0;
			continue;
		}
		if (argc == 0) {
			start_line = lx.line;
			if (quoted) {
				perr(&p, err, errlen, "directive name may not be quoted");
				goto out;
			}
		}
		if (argc == CONF_MAX_ARGS) {
			perr(&p, err, errlen, "too many arguments");
			goto out;
		}
		if ((argv[argc] = xstrdup(tok)) == NULL) {
			perr(&p, err, errlen, "out of memory");
			goto out;
		}
		argc++;
	}
	rc = 0;
out:
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- defaults, env, checks */

static void
set_defaults(struct conf *c)
{
	static const struct { const char *name; uint32_t perms; } roles[] = {
		{ "admin", (1u << PERM_STREAM) | (1u << PERM_STREAM_HQ) |
		    (1u << PERM_VIEW_ANALYTICS) | (1u << PERM_SYSTEM_ADMIN) |
		    (1u << PERM_UPLOAD) | (1u << PERM_MODERATE) },
		{ "moderator", (1u << PERM_STREAM) | (1u << PERM_STREAM_HQ) |
		    (1u << PERM_VIEW_ANALYTICS) | (1u << PERM_MODERATE) },
		{ "premium", (1u << PERM_STREAM) | (1u << PERM_STREAM_HQ) },
		{ "artist", (1u << PERM_STREAM) | (1u << PERM_STREAM_HQ) |
		    (1u << PERM_VIEW_ANALYTICS) | (1u << PERM_UPLOAD) },
		{ "user", (1u << PERM_STREAM) },
		{ "guest", 0 },
	};
	size_t i;

	c->workers = 0;
	c->shutdown_timeout = 30 * SEC;
	c->audio_root = xstrdup("/var/lib/streamd/audio");
	c->max_file_size = 100 * MB;
	c->max_range_size = 10 * MB;
	c->max_ranges = 16;
	c->open_file_cache_max = 1024;
	c->open_file_cache_valid = 30 * SEC;
	c->signature_leeway = 0;
	c->keepalive_timeout = 75 * SEC;
	c->keepalive_requests = 1000;
	c->client_header_timeout = 60 * SEC;
	c->send_timeout = 60 * SEC;
	c->max_connections = 10000;
	c->max_client_connections = 0;
	c->max_header_size = 16 * KB;
	c->max_headers = 100;
	c->max_uri_length = 8 * KB;
	c->max_body_size = 64 * KB;
	c->access_log_flush = 1 * SEC;
	c->log_level = LOG_LEVEL_NOTICE;
	c->real_ip_header = 0;
	c->rate_limit_table = 65536;
	c->database = xstrdup("/var/lib/streamd/streamd.db");
	c->analytics = 1;
	c->analytics_batch = 1000;
	c->analytics_flush = 1 * SEC;
	c->analytics_queue = 20000;
	c->session_idle = 5 * 60 * SEC;
	c->analytics_retention = 90 * DAY;
	c->health_disk_min_free = 64 * MB;
	c->health_disk_warn_free = 1 * GB;
	c->health_load_max = 4.0;
	c->health_queue_max = 50000;
	c->jwt_leeway = 30 * SEC;
	c->jwt_access_ttl = 15 * 60 * SEC;
	c->jwt_refresh_ttl = 30 * DAY;
	c->jwt_max_size = 8 * KB;
	c->auth_sign_ttl = 5 * 60 * SEC;
	c->roles = (struct conf_role *)calloc(NITEMS(roles), sizeof(struct conf_role));
	if (c->roles != NULL) {
		for (i = 0; i < NITEMS(roles); i++) {
			snprintf(c->roles[i].name, sizeof(c->roles[i].name), "%s", roles[i].name);
			c->roles[i].perms = roles[i].perms;
		}
		c->nroles = (int)NITEMS(roles);
	}
}

/* The variables of the original stream server win over the file. */
static int
apply_env(struct conf *c, char *err, size_t errlen)
{
	const char *v;
	int64_t n;
	int i;

	if ((v = getenv("STREAM_SERVER_PORT")) != NULL && *v != '\0') {
		char *end;
		long port;
		errno = 0;
		port = strtol(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || errno != 0 || *end != '\0' || port < 1 ||
		    port > 65535) {
			snprintf(err, errlen, "environment STREAM_SERVER_PORT: invalid port \"%s\"",
			    v);
			return -1;
		}
		if (c->nlistens == 0) {
			char text[32];
			snprintf(text, sizeof(text), "0.0.0.0:%ld", port);
			c->listens = (struct conf_addr *)calloc(1, sizeof(struct conf_addr));
			if (c->listens == NULL)
				return -1;
			conf_parse_addr(text, &c->listens[0], err, errlen);
			c->nlistens = 1;
		}
		for (i = 0; i < c->nlistens; i++) {
			struct conf_addr *a = &c->listens[i];
			char *colon = strrchr(a->text, ':');
			if (a->ss.ss_family == AF_INET)
				((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
			else
				((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
			if (colon != NULL)
				snprintf(colon + 1, sizeof(a->text) - (size_t)(colon + 1 - a->text),
				    "%ld", port);
		}
	}
	if ((v = getenv("AUDIO_DIR")) != NULL && *v != '\0') {
		free(c->audio_root);
		c->audio_root = xstrdup(v);
	}
	if ((v = getenv("SECRET_KEY")) != NULL && *v != '\0') {
		free(c->secret_key);
		c->secret_key = (unsigned char *)xstrdup(v);
		c->secret_key_len = strlen(v);
	}
	if ((v = getenv("MAX_FILE_SIZE")) != NULL && *v != '\0') {
		if (conf_parse_size(v, &n) == -1) {
			snprintf(err, errlen, "environment MAX_FILE_SIZE: invalid size \"%s\"", v);
			return -1;
		}
		c->max_file_size = n;
	}
	if ((v = getenv("MAX_RANGE_SIZE")) != NULL && *v != '\0') {
		if (conf_parse_size(v, &n) == -1 || n < 1) {
			snprintf(err, errlen, "environment MAX_RANGE_SIZE: invalid size \"%s\"", v);
			return -1;
		}
		c->max_range_size = n;
	}
	if ((v = getenv("DATABASE_URL")) != NULL && *v != '\0') {
		if (strncmp(v, "sqlite:", 7) != 0 || v[7] == '\0') {
			snprintf(err, errlen, "environment DATABASE_URL: expected sqlite:PATH, "
			    "not \"%s\"", v);
			return -1;
		}
		v += 7;
		if (strncmp(v, "//", 2) == 0)     /* sqlite:///abs/path */
			v += 2;
		free(c->database);
		c->database = xstrdup(v);
	}
	if ((v = getenv("ALLOWED_ORIGINS")) != NULL && *v != '\0') {
		char *copy = xstrdup(v), *tok, *save = NULL;
		struct conf_parse p;
		char *argv[2];
		for (i = 0; i < c->nallowed_origins; i++)
			free(c->allowed_origins[i]);
		c->nallowed_origins = 0;
		memset(&p, 0, sizeof(p));
		p.conf = c;
		p.file = "environment ALLOWED_ORIGINS";
		for (tok = strtok_r(copy, ", ", &save); tok != NULL;
		    tok = strtok_r(NULL, ", ", &save)) {
			argv[0] = (char *)"allowed_origins";
			argv[1] = tok;
			if (set_origins(&p, NULL, argv, 2, err, errlen) == -1) {
				free(copy);
				return -1;
			}
		}
		free(copy);
	}
	return 0;
}

static const char *
src_of(const struct conf *c, const char *name, char *buf, size_t len)
{
	int i;

	for (i = 0; i < NDIRECTIVES; i++) {
		if (strcmp(directives[i].name, name) == 0 && c->src[i].line != 0) {
			snprintf(buf, len, "%s:%d", c->src[i].file, c->src[i].line);
			return buf;
		}
	}
	snprintf(buf, len, "%s", c->file);
	return buf;
}

/* Where the key stored at offset was set (secret_key or secret_key_file, ...). */
static const char *
key_src(const struct conf *c, size_t offset, char *buf, size_t len)
{
	int i;

	for (i = 0; i < NDIRECTIVES; i++) {
		if (directives[i].offset == offset && directives[i].type == T_CUSTOM &&
		    c->src[i].line != 0) {
			snprintf(buf, len, "%s:%d", c->src[i].file, c->src[i].line);
			return buf;
		}
	}
	snprintf(buf, len, "%s", c->file);
	return buf;
}

static int
check(struct conf *c, char *err, size_t errlen)
{
	char where[PATH_MAX + 16];
	struct stat st;

	if (c->nlistens == 0) {
		c->listens = (struct conf_addr *)calloc(1, sizeof(struct conf_addr));
		if (c->listens == NULL)
			return -1;
		conf_parse_addr("127.0.0.1:8082", &c->listens[0], err, errlen);
		c->nlistens = 1;
	}
	if (c->secret_key == NULL) {
		snprintf(err, errlen, "%s: no secret_key or secret_key_file (needed to verify "
		    "signed URLs)", c->file);
		return -1;
	}
	if (c->secret_key_len < 32) {
		snprintf(err, errlen, "%s: secret key is %zu bytes, at least 32 are required",
		    getenv("SECRET_KEY") && *getenv("SECRET_KEY") ? "environment SECRET_KEY" :
		    key_src(c, OFF(secret_key), where, sizeof(where)), c->secret_key_len);
		return -1;
	}
	if (c->audio_root == NULL || stat(c->audio_root, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: audio_root \"%s\": %s",
		    getenv("AUDIO_DIR") && *getenv("AUDIO_DIR") ? "environment AUDIO_DIR" :
		    src_of(c, "audio_root", where, sizeof(where)),
		    c->audio_root ? c->audio_root : "",
		    c->audio_root && stat(c->audio_root, &st) == 0 ? "not a directory" :
		    strerror(errno));
		return -1;
	}
	if (c->max_range_size < 1) {
		snprintf(err, errlen, "%s: max_range_size must be at least 1 byte",
		    src_of(c, "max_range_size", where, sizeof(where)));
		return -1;
	}
	if (c->health_disk_warn_free < c->health_disk_min_free)
		c->health_disk_warn_free = c->health_disk_min_free;
	if (c->jwt_signing_key != NULL && c->jwt_signing_key_len < 32) {
		snprintf(err, errlen, "%s: jwt_signing_key is %zu bytes, at least 32 are required",
		    src_of(c, "jwt_signing_key", where, sizeof(where)), c->jwt_signing_key_len);
		return -1;
	}
	if (c->jwt_secret != NULL && c->jwt_secret_len < 32) {
		snprintf(err, errlen, "%s: jwt secret is %zu bytes, at least 32 are required",
		    key_src(c, OFF(jwt_secret), where, sizeof(where)), c->jwt_secret_len);
		return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char abspath[PATH_MAX];

	memset(c, 0, sizeof(*c));
	c->src = (struct conf_src *)calloc((size_t)NDIRECTIVES, sizeof(struct conf_src));
	if (c->src == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	set_defaults(c);
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    (size_t)snprintf(abspath, sizeof(abspath), "%s/%s", cwd, path) >=
		    sizeof(abspath)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
	} else {
		snprintf(abspath, sizeof(abspath), "%s", path);
	}
	snprintf(c->file, sizeof(c->file), "%s", abspath);
	if (parse_file(NULL, c, abspath, 0, err, errlen) == -1)
		return -1;
	if (apply_env(c, err, errlen) == -1)
		return -1;
	return check(c, err, errlen);
}

static void
free_key(unsigned char *k, size_t len)
{
	if (k != NULL) {
		memset(k, 0, len);
		free(k);
	}
}

void
conf_free(struct conf *c)
{
	int i;

	free(c->listens);
	free(c->user);
	free(c->group);
	free(c->pid_file);
	free(c->audio_root);
	free_key(c->secret_key, c->secret_key_len);
	free(c->access_log);
	free(c->error_log);
	for (i = 0; i < c->nallowed_origins; i++)
		free(c->allowed_origins[i]);
	free(c->allowed_origins);
	free(c->trusted_proxies);
	free(c->rate_limit_allow);
	free(c->database);
	free(c->admin_token);
	free(c->health_allow);
	free_key(c->jwt_secret, c->jwt_secret_len);
	free(c->jwt_public_key);
	free(c->jwt_jwks);
	free_key(c->jwt_signing_key, c->jwt_signing_key_len);
	free(c->jwt_issuer);
	free(c->jwt_audience);
	free(c->roles);
	free(c->src);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	memset(c, 0, sizeof(*c));
}

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

void
conf_keep_static(const struct conf *old, struct conf *next, void (*note)(const char *name))
{
	/* Directives without F_RELOAD, with how to compare and restore each. */
	if (str_differs(old->user, next->user) || str_differs(old->group, next->group)) {
		note("user");
		free(next->user);
		free(next->group);
		next->user = old->user ? xstrdup(old->user) : NULL;
		next->group = old->group ? xstrdup(old->group) : NULL;
	}
	if (old->daemon != next->daemon) {
		note("daemon");
		next->daemon = old->daemon;
	}
	if (str_differs(old->pid_file, next->pid_file)) {
		note("pid_file");
		free(next->pid_file);
		next->pid_file = old->pid_file ? xstrdup(old->pid_file) : NULL;
	}
	if (str_differs(old->database, next->database)) {
		note("database");
		free(next->database);
		next->database = old->database ? xstrdup(old->database) : NULL;
	}
	if (old->rate_limit_table != next->rate_limit_table) {
		note("rate_limit_table");
		next->rate_limit_table = old->rate_limit_table;
	}
	if (old->worker_rlimit_nofile != next->worker_rlimit_nofile) {
		note("worker_rlimit_nofile");
		next->worker_rlimit_nofile = old->worker_rlimit_nofile;
	}
}

int
conf_workers(const struct conf *c)
{
	long n;

	if (c->workers > 0)
		return c->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > STREAMD_MAX_WORKERS)
		n = STREAMD_MAX_WORKERS;
	return (int)n;
}

const char *const *
conf_directive_names(void)
{
	static const char *names[NITEMS(directives) + 1];
	int i;

	for (i = 0; i < NDIRECTIVES; i++)
		names[i] = directives[i].name;
	names[NDIRECTIVES] = NULL;
	return names;
}

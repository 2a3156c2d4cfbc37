/*
 * conf.h: the configuration: its structure, the loader (file, includes, environment
 * overrides, validation) and the comparison used on reload.
 *
 * Grammar (nginx-like):
 *   file      = *( directive | comment )
 *   directive = name *( WS arg ) ";"
 *   arg       = bare | '"' *( char | '\' char ) '"' | "'" ... "'"
 *   comment   = "#" to end of line (outside quotes)
 * Sizes: N, Nk, Nm, Ng (binary multiples). Durations: N (seconds) or a sequence of
 * N followed by ms, s, m, h, d ("1h30m"). Every error reads "FILE:LINE: reason".
 * Relative paths are resolved against the directory of the file that names them.
 */
#ifndef STREAMD_CONF_H
#define STREAMD_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/socket.h>

struct conf_addr {
	struct sockaddr_storage ss;
	socklen_t               len;
	char                    text[64];      /* "127.0.0.1:8082", "[::1]:8082" */
};

struct conf_cidr {
	int                     family;        /* AF_INET or AF_INET6 */
	unsigned char           addr[16];
	int                     bits;
};

/* Permission names known to the daemon; roles map to a set of these (bits). */
enum conf_perm {
	PERM_STREAM = 0,
	PERM_STREAM_HQ,
	PERM_VIEW_ANALYTICS,
	PERM_SYSTEM_ADMIN,
	PERM_UPLOAD,
	PERM_MODERATE,
	PERM_COUNT
};

struct conf_role {
	char                    name[32];
	uint32_t                perms;         /* bit set of enum conf_perm */
};

/* Rate-limit classes (a route belongs to one). */
enum conf_rl_class {
	RL_STREAM = 0,
	RL_AUTH,
	RL_ADMIN,
	RL_OTHER,
	RL_CLASS_COUNT
};

struct conf_rate {
	int                     set;           /* 0: class not limited */
	double                  rate;          /* tokens per second */
	int                     burst;
};

#define CONF_MAX_ORIGIN 256

/* Where a directive was set. */
struct conf_src {
	const char             *file;
	int                     line;
};

struct conf {
	char                    file[PATH_MAX];        /* main file, absolute */

	/* network and processes */
	struct conf_addr       *listens;
	int                     nlistens;
	int                     workers;               /* 0 = one per CPU */
	char                   *user;
	char                   *group;
	int                     daemon;
	int                     allow_root_workers;
	char                   *pid_file;              /* NULL = none */
	int64_t                 shutdown_timeout;      /* ms */
	int                     worker_rlimit_nofile;  /* 0 = leave as is */

	/* files */
	char                   *audio_root;
	int64_t                 max_file_size;
	int64_t                 max_range_size;
	int                     max_ranges;
	int                     open_file_cache_max;   /* 0 = off */
	int64_t                 open_file_cache_valid; /* ms */

	/* signed URLs */
	unsigned char          *secret_key;
	size_t                  secret_key_len;
	int64_t                 signature_leeway;      /* ms */

	/* connections and limits */
	int64_t                 keepalive_timeout;     /* ms */
	int                     keepalive_requests;
	int64_t                 client_header_timeout; /* ms */
	int64_t                 send_timeout;          /* ms */
	int                     max_connections;       /* whole server */
	int                     max_client_connections;/* per client address, 0 = off */
	int64_t                 max_header_size;
	int                     max_headers;
	int64_t                 max_uri_length;
	int64_t                 max_body_size;

	/* logs */
	char                   *access_log;            /* NULL = off */
	int64_t                 access_log_buffer;     /* 0 = one write per request */
	int64_t                 access_log_flush;      /* ms */
	char                   *error_log;             /* NULL = stderr */
	int                     log_level;

	/* headers, CORS and proxies */
	int                     server_tokens;
	char                  **allowed_origins;       /* "*" allowed */
	int                     nallowed_origins;
	struct conf_cidr       *trusted_proxies;
	int                     ntrusted_proxies;
	int                     real_ip_header;        /* enum in clientip.h */

	/* rate limiting */
	struct conf_rate        rate[RL_CLASS_COUNT];
	struct conf_cidr       *rate_limit_allow;
	int                     nrate_limit_allow;
	int                     rate_limit_dry_run;
	int                     rate_limit_table;      /* entries */

	/* analytics, health, admin */
	char                   *database;
	int                     analytics;
	int                     analytics_batch;       /* records per transaction */
	int64_t                 analytics_flush;       /* ms */
	int                     analytics_queue;       /* records a worker may hold */
	int64_t                 session_idle;          /* ms */
	int64_t                 analytics_retention;   /* ms, 0 = keep */
	char                   *admin_token;
	struct conf_cidr       *health_allow;
	int                     nhealth_allow;
	int64_t                 health_disk_min_free;  /* bytes: below = fail */
	int64_t                 health_disk_warn_free; /* bytes: below = degraded */
	double                  health_load_max;       /* per CPU: above = degraded */
	int64_t                 health_queue_max;      /* records: above = degraded */

	/* JWT */
	unsigned char          *jwt_secret;
	size_t                  jwt_secret_len;
	char                   *jwt_public_key;        /* PEM file */
	char                   *jwt_jwks;              /* JWKS file */
	unsigned char          *jwt_signing_key;       /* HMAC key streamd signs with */
	size_t                  jwt_signing_key_len;
	char                   *jwt_issuer;
	char                   *jwt_audience;
	int64_t                 jwt_leeway;            /* ms */
	int64_t                 jwt_access_ttl;        /* ms */
	int64_t                 jwt_refresh_ttl;       /* ms */
	int64_t                 jwt_max_size;          /* bytes */
	int                     access_token_query;
	struct conf_role       *roles;
	int                     nroles;
	int64_t                 auth_sign_ttl;         /* ms: lifetime of URLs from /auth/sign */

	/* bookkeeping for errors found after parsing (which line set what) */
	struct conf_src        *src;                   /* one per directive-table entry */
	char                  **files;                 /* every file read, for src[] */
	int                     nfiles;
};

/* Defaults, then FILE (and its includes), then the environment, then validation. */
int  conf_load(struct conf *c, const char *path, char *err, size_t errlen);
void conf_free(struct conf *c);

/*
 * Reload: for every directive that SIGHUP cannot change and that differs, call note()
 * with its name and put the old value back into next.
 */
void conf_keep_static(const struct conf *old, struct conf *next,
    void (*note)(const char *name));

/* Effective worker count (auto resolved). */
int  conf_workers(const struct conf *c);

/* Parsers shared with other modules and unit tests. */
int  conf_parse_size(const char *s, int64_t *out);
int  conf_parse_duration(const char *s, int64_t *out_ms);
int  conf_parse_addr(const char *s, struct conf_addr *a, char *err, size_t errlen);
int  conf_parse_cidr(const char *s, struct conf_cidr *c);
int  conf_cidr_match(const struct conf_cidr *list, int n, const struct sockaddr *sa);
int  conf_perm_parse(const char *name);
const char *conf_perm_name(int perm);
/* Permission bits of a role name; 0 if unknown. */
uint32_t conf_role_perms(const struct conf *c, const char *name);

/* Names of every directive, NULL-terminated (the man-page test walks it). */
const char *const *conf_directive_names(void);

#endif

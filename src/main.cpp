/*
 * main.cpp: the command line (documented in man/streamd.8).
 *
 *   streamd [-c file] [-d] [-f] [-t] [-V] [-h]
 *   streamd sign [-c file] [-e seconds] path
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include "conf.h"
#include "evmem.h"
#include "jwt.h"
#include "log.h"
#include "master.h"
#include "mime.h"
#include "notify.h"
#include "pathsafe.h"
#include "priv.h"
#include "proctitle.h"
#include "sign.h"
#include "streamd.h"

/*
 * Without -c: the system file, or the sample of the source tree when streamd runs from
 * one (./streamd after `make`), so `./streamd sign x.mp3` works there too.
 */
static const char *
default_conf(void)
{
	if (access(STREAMD_DEFAULT_CONF, F_OK) != 0 && access("etc/streamd.conf", R_OK) == 0 &&
	    access("src/main.cpp", F_OK) == 0)
		return "etc/streamd.conf";
	return STREAMD_DEFAULT_CONF;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: streamd [-dfhtV] [-c file]\n"
	    "       streamd sign [-c file] [-e seconds] path\n"
	    "\n"
	    "  -c file     configuration file (default " STREAMD_DEFAULT_CONF ")\n"
	    "  -d          detach from the terminal (daemon)\n"
	    "  -f          stay in the foreground, even with \"daemon on\"\n"
	    "  -t          test the configuration and exit\n"
	    "  -V          print the version and exit\n"
	    "  -h          print this help and exit\n"
	    "  sign        print a signed /stream URL for path\n"
	    "    -e secs   lifetime of the URL (default 3600)\n");
}

/* Load and check a configuration the way the master will; 0 or -1 (printed). */
static int
load(struct conf *c, const char *path)
{
	char err[1024];
	struct jwt_keys *keys;
	uid_t uid;
	gid_t gid;

	if (conf_load(c, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "streamd: %s\n", err);
		return -1;
	}
	if (priv_lookup(c, &uid, &gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "streamd: %s: %s\n", c->file, err);
		return -1;
	}
	err[0] = '\0';
	keys = jwt_keys_load(c, err, sizeof(err));
	jwt_keys_free(keys);
	if (keys == NULL && err[0] != '\0') {
		fprintf(stderr, "streamd: %s: %s\n", c->file, err);
		return -1;
	}
	return 0;
}

static int
cmd_sign(int argc, char **argv, const char *default_conf)
{
	const char *conf_path = default_conf, *path;
	struct sign_key key;
	struct conf c;
	char url[4 * PATHSAFE_MAX + 128], *end;
	long lifetime = 3600;
	int ch;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:e:h")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'e':
			errno = 0;
			lifetime = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || lifetime < 1 || lifetime > 10L * 365 * 86400) {
				fprintf(stderr, "streamd sign: -e: invalid lifetime \"%s\"\n", optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	path = argv[optind];
	while (*path == '/')
		path++;
	if (pathsafe_check(path, strlen(path)) != PATHSAFE_OK) {
		fprintf(stderr, "streamd sign: \"%s\" is not a path streamd serves (relative, no "
		    "\"..\", no dot-files)\n", argv[optind]);
		return 1;
	}
	if (mime_type(path, strlen(path)) == NULL)
		fprintf(stderr, "streamd sign: warning: \"%s\" has no audio extension and will "
		    "not be served\n", path);
	if (conf_load(&c, conf_path, url, sizeof(url)) == -1) {
		fprintf(stderr, "streamd: %s\n", url);
		return 1;
	}
	if (sign_key_init(&key, c.secret_key, c.secret_key_len) == -1 ||
	    sign_url(&key, path, strlen(path), (int64_t)time(NULL) + lifetime, url,
	    sizeof(url)) == -1) {
		fprintf(stderr, "streamd sign: cannot sign \"%s\"\n", path);
		conf_free(&c);
		return 1;
	}
	printf("%s\n", url);
	sign_key_free(&key);
	conf_free(&c);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf_path = default_conf();
	struct conf *c;
	int ch, test = 0, foreground = 0, daemonize = 0;

	evmem_install();                /* before anything allocates through libevent */
	if (argc > 1 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1, conf_path);
	while ((ch = getopt(argc, argv, "c:dfhtV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			daemonize = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("streamd %s (libevent %s, %s, SQLite %s)\n", STREAMD_VERSION,
			    event_get_version(), OPENSSL_VERSION_TEXT, sqlite3_libversion());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	notify_init();
	if ((c = (struct conf *)calloc(1, sizeof(*c))) == NULL) {
		fprintf(stderr, "streamd: out of memory\n");
		return 1;
	}
	if (load(c, conf_path) == -1) {
		conf_free(c);
		free(c);
		return 1;
	}
	if (test) {
		fprintf(stderr, "streamd: the configuration file %s syntax is ok\n"
		    "streamd: configuration file %s test is successful\n", c->file, c->file);
		conf_free(c);
		free(c);
		return 0;
	}
	/* The title overwrites argv (and so optarg): keep the absolute path of the file. */
	proctitle_init(argc, argv);
	if (foreground)
		daemonize = 0;
	else if (c->daemon)
		daemonize = 1;
	return master_run(c, c->file, daemonize);
}

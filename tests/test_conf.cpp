/* test_conf.cpp: the configuration loader, including every error path (conf.h). */
#include "cmocka_inc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static char dir[256];
static char audio[300];
static char keyline[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/streamd-conf-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(audio, sizeof(audio), "%s/audio", dir);
	mkdir(audio, 0755);
	snprintf(keyline, sizeof(keyline), "secret_key 0123456789abcdef0123456789abcdef;\n");
	unsetenv("STREAM_SERVER_PORT");
	unsetenv("AUDIO_DIR");
	unsetenv("SECRET_KEY");
	unsetenv("MAX_FILE_SIZE");
	unsetenv("MAX_RANGE_SIZE");
	unsetenv("DATABASE_URL");
	unsetenv("ALLOWED_ORIGINS");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Load text (with audio_root and a key prepended unless raw); returns conf_load's rc. */
static int
load(const char *text, int raw, struct conf *c, char *err, size_t errlen)
{
	char buf[8192], path[512];

	if (raw)
		snprintf(buf, sizeof(buf), "%s", text);
	else
		snprintf(buf, sizeof(buf), "audio_root %s;\n%s%s", audio, keyline, text);
	write_file("t.conf", buf);
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	err[0] = '\0';
	return conf_load(c, path, err, errlen);
}

/* text must fail with "t.conf:LINE: ...contains..." */
static void
fails_at(const char *text, int line, const char *contains)
{
	struct conf c;
	char err[1024], want[600];

	if (load(text, 0, &c, err, sizeof(err)) == 0) {
		conf_free(&c);
		fail_msg("accepted: %s", text);
	}
	snprintf(want, sizeof(want), "%s/t.conf:%d: ", dir, line);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, contains) == NULL)
		fail_msg("for %s\nwant %s...%s\ngot  %s", text, want, contains, err);
	conf_free(&c);
}

static void
accepts_everything(void **state)
{
	struct conf c;
	char err[1024];

	(void)state;
	write_file("inc1.conf", "max_ranges 5;\n");
	write_file("keyfile", "abcdefghijklmnopqrstuvwxyz0123456789\n");
	chmod("/tmp", 01777);
	assert_int_equal(load(
	    "# comment\n"
	    "listen 127.0.0.1:8082; listen [::1]:9000;  # two\n"
	    "listen 8083;\n"
	    "workers 3;\n"
	    "signature_leeway 1m30s;\n"
	    "max_file_size 2g;\n"
	    "max_range_size 512k;\n"
	    "keepalive_timeout 500ms;\n"
	    "client_header_timeout 10;\n"
	    "send_timeout 1h;\n"
	    "access_log \"logs/access log\" buffer=64k flush=2s;\n"
	    "error_log stderr;\n"
	    "log_level debug;\n"
	    "pid_file off;\n"
	    "open_file_cache max=10 valid=5s;\n"
	    "include inc*.conf;\n"
	    "include nothing-*.conf;\n"
	    "server_tokens on;\n"
	    "allowed_origins https://a.example http://b.example:8080;\n"
	    "trusted_proxies 127.0.0.1 10.0.0.0/8 ::1;\n"
	    "real_ip_header X-Real-IP;\n"
	    "rate_limit stream 10r/s burst=20;\n"
	    "rate_limit auth 30r/m;\n"
	    "role listener stream;\n"
	    "role admin stream view_analytics;\n"
	    "user 'nobody';\n"
	    "health_load_max 2.5;\n"
	    "database off;\n", 0, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nlistens, 3);
	assert_string_equal(c.listens[0].text, "127.0.0.1:8082");
	assert_string_equal(c.listens[1].text, "[::1]:9000");
	assert_string_equal(c.listens[2].text, "0.0.0.0:8083");
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.signature_leeway, 90000);
	assert_int_equal(c.max_file_size, 2LL << 30);
	assert_int_equal(c.max_range_size, 512 * 1024);
	assert_int_equal(c.keepalive_timeout, 500);
	assert_int_equal(c.client_header_timeout, 10000);
	assert_int_equal(c.send_timeout, 3600000);
	assert_non_null(strstr(c.access_log, "/logs/access log"));
	assert_int_equal(c.access_log[0], '/');
	assert_int_equal(c.access_log_buffer, 65536);
	assert_int_equal(c.access_log_flush, 2000);
	assert_null(c.error_log);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_null(c.pid_file);
	assert_int_equal(c.open_file_cache_max, 10);
	assert_int_equal(c.max_ranges, 5);
	assert_int_equal(c.server_tokens, 1);
	assert_int_equal(c.nallowed_origins, 2);
	assert_int_equal(c.ntrusted_proxies, 3);
	assert_int_equal(c.real_ip_header, 1);
	assert_true(c.rate[0].set);
	assert_true(c.rate[0].rate == 10.0);
	assert_int_equal(c.rate[0].burst, 20);
	assert_true(c.rate[1].rate > 0.49 && c.rate[1].rate < 0.51);
	assert_int_equal(conf_role_perms(&c, "listener"), 1u << PERM_STREAM);
	assert_int_equal(conf_role_perms(&c, "admin"),
	    (1u << PERM_STREAM) | (1u << PERM_VIEW_ANALYTICS));
	assert_int_equal(conf_role_perms(&c, "premium"),
	    (1u << PERM_STREAM) | (1u << PERM_STREAM_HQ));
	assert_int_equal(conf_role_perms(&c, "nosuch"), 0);
	assert_string_equal(c.user, "nobody");
	assert_null(c.database);
	conf_free(&c);

	/* a key file, with its newline stripped */
	assert_int_equal(load("secret_key_file keyfile;\n", 1, &c, err, sizeof(err)), -1);
	conf_free(&c);
	{
		char text[512];
		snprintf(text, sizeof(text), "audio_root %s;\nsecret_key_file keyfile;\n", audio);
		assert_int_equal(load(text, 1, &c, err, sizeof(err)), 0);
		assert_int_equal(c.secret_key_len, 36);
		conf_free(&c);
	}
}

static void
defaults(void **state)
{
	struct conf c;
	char err[1024];

	(void)state;
	assert_int_equal(load("", 0, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nlistens, 1);
	assert_string_equal(c.listens[0].text, "127.0.0.1:8082");
	assert_int_equal(c.max_file_size, 100LL << 20);
	assert_int_equal(c.max_range_size, 10LL << 20);
	assert_int_equal(c.signature_leeway, 0);
	assert_int_equal(c.workers, 0);
	assert_true(conf_workers(&c) >= 1);
	assert_null(c.access_log);
	assert_null(c.pid_file);
	assert_non_null(c.database);
	conf_free(&c);
}

static void
syntax_errors(void **state)
{
	(void)state;
	fails_at("nosuch 1;\n", 3, "unknown directive \"nosuch\"");
	fails_at("\nworkers;\n", 4, "invalid number of arguments in \"workers\"");
	fails_at("workers 1 2;\n", 3, "invalid number of arguments");
	fails_at("workers 1;\nworkers 2;\n", 4, "duplicate");
	fails_at("workers 1\n", 3, "unexpected end of file");
	fails_at(";\n", 3, "unexpected \";\"");
	fails_at("http {\n", 3, "blocks are not supported");
	fails_at("audio_log \"x;\n", 3, "unterminated quoted string");
	fails_at("\"workers\" 1;\n", 3, "may not be quoted");
	fails_at("error_log \"a\"b;\n", 3, "after quoted string");
	fails_at("error_log a\"b;\n", 3, "inside a word");
}

static void
value_errors(void **state)
{
	(void)state;
	fails_at("max_file_size 10x;\n", 3, "invalid size");
	fails_at("max_file_size -1;\n", 3, "invalid size");
	fails_at("max_file_size 99999999999g;\n", 3, "invalid size");
	fails_at("send_timeout 5y;\n", 3, "invalid duration");
	fails_at("send_timeout 1s5;\n", 3, "invalid duration");
	fails_at("send_timeout ms;\n", 3, "invalid duration");
	fails_at("send_timeout 10ms;\n", 3, "out of range");
	fails_at("keepalive_requests 0;\n", 3, "out of range");
	fails_at("keepalive_requests ten;\n", 3, "invalid number");
	fails_at("server_tokens yes;\n", 3, "expected \"on\" or \"off\"");
	fails_at("workers 0;\n", 3, "workers: expected");
	fails_at("workers 1000;\n", 3, "workers: expected");
	fails_at("workers many;\n", 3, "workers: expected");
	fails_at("listen 127.0.0.1;\n", 3, "invalid");
	fails_at("listen 127.0.0.1:0;\n", 3, "invalid port");
	fails_at("listen 127.0.0.1:70000;\n", 3, "invalid port");
	fails_at("listen example.com:80;\n", 3, "host names are not supported");
	fails_at("listen [::1:80;\n", 3, "invalid address");
	fails_at("listen [zz]:80;\n", 3, "invalid IPv6");
	fails_at("listen 1.2.3.4:80;\nlisten 1.2.3.4:80;\n", 4, "duplicate address");
	fails_at("log_level loud;\n", 3, "unknown level");
	fails_at("access_log a.log buffer=huge;\n", 3, "invalid buffer");
	fails_at("access_log a.log flush=0;\n", 3, "invalid flush");
	fails_at("access_log a.log gzip;\n", 3, "unknown parameter");
	fails_at("access_log off buffer=1k;\n", 3, "takes no parameters");
	fails_at("open_file_cache valid=1s;\n", 3, "max=N is required");
	fails_at("open_file_cache max=0;\n", 3, "invalid max");
	fails_at("open_file_cache max=1 valid=x;\n", 3, "invalid valid time");
	fails_at("open_file_cache max=1 size=3;\n", 3, "unknown parameter");
	fails_at("open_file_cache off max=1;\n", 3, "takes no parameters");
	fails_at("allowed_origins example.com;\n", 3, "is not an origin");
	fails_at("allowed_origins https://a.example/path;\n", 3, "has no path");
	fails_at("trusted_proxies 10.0.0.0/33;\n", 3, "invalid address or network");
	fails_at("trusted_proxies nothing;\n", 3, "invalid address or network");
	fails_at("real_ip_header X-Client;\n", 3, "expected X-Forwarded-For");
	fails_at("rate_limit video 1r/s;\n", 3, "unknown class");
	fails_at("rate_limit stream 1r/h;\n", 3, "invalid rate");
	fails_at("rate_limit stream 0r/s;\n", 3, "invalid rate");
	fails_at("rate_limit stream 1r/s surge=3;\n", 3, "expected burst=N");
	fails_at("rate_limit stream 1r/s;\nrate_limit stream 2r/s;\n", 4, "already limited");
	fails_at("role dj stream fly;\n", 3, "unknown permission \"fly\"");
	fails_at("health_load_max high;\n", 3, "invalid number");
	fails_at("include missing.conf;\n", 3, "include: missing.conf");
	fails_at("secret_key_file nokey;\n", 3, "conflicts with");
	fails_at("user \"\";\n", 3, "empty name");
	fails_at("error_log \"\";\n", 3, "empty path");
}

static void
semantic_errors(void **state)
{
	struct conf c;
	char err[1024], text[1024], want[600];

	(void)state;
	/* a short key names the line that set it */
	snprintf(text, sizeof(text), "audio_root %s;\n\nsecret_key short;\n", audio);
	assert_int_equal(load(text, 1, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:3: secret key is 5 bytes, at least 32", dir);
	assert_non_null(strstr(err, want));
	conf_free(&c);
	write_file("short.key", "abc\n");
	snprintf(text, sizeof(text), "audio_root %s;\nsecret_key_file short.key;\n", audio);
	assert_int_equal(load(text, 1, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:2: secret key is 3 bytes", dir);
	assert_non_null(strstr(err, want));
	conf_free(&c);
	/* no key at all */
	snprintf(text, sizeof(text), "audio_root %s;\n", audio);
	assert_int_equal(load(text, 1, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no secret_key"));
	conf_free(&c);
	/* missing audio_root directory */
	snprintf(text, sizeof(text), "%saudio_root /nonexistent/x;\n", keyline);
	assert_int_equal(load(text, 1, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:2: audio_root \"/nonexistent/x\": ", dir);
	assert_non_null(strstr(err, want));
	conf_free(&c);
	/* a key file that is not there */
	snprintf(text, sizeof(text), "audio_root %s;\nsecret_key_file none.key;\n", audio);
	assert_int_equal(load(text, 1, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:2: secret_key_file: "));
	conf_free(&c);
	/* jwt_signing_key too short */
	write_file("sk", "0123456789\n");
	assert_int_equal(load("jwt_signing_key sk;\n", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "jwt_signing_key is 10 bytes"));
	conf_free(&c);
	/* an include loop */
	write_file("loop.conf", "include loop.conf;\n");
	assert_int_equal(load("include loop.conf;\n", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nested too deep"));
	conf_free(&c);
	/* errors inside an included file carry that file's name */
	write_file("bad.conf", "\n\nbogus 1;\n");
	assert_int_equal(load("include bad.conf;\n", 0, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/bad.conf:3: unknown directive", dir);
	assert_non_null(strstr(err, want));
	conf_free(&c);
	/* a file that does not exist */
	assert_int_equal(conf_load(&c, "/nonexistent/streamd.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/streamd.conf:0: "));
	conf_free(&c);
}

static void
environment(void **state)
{
	struct conf c;
	char err[1024];

	(void)state;
	setenv("STREAM_SERVER_PORT", "9123", 1);
	setenv("MAX_FILE_SIZE", "5m", 1);
	setenv("MAX_RANGE_SIZE", "1024", 1);
	setenv("SECRET_KEY", "ffffffffffffffffffffffffffffffffffff", 1);
	setenv("DATABASE_URL", "sqlite:///var/tmp/x.db", 1);
	setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example", 1);
	assert_int_equal(load("listen 127.0.0.1:8000;\n", 0, &c, err, sizeof(err)), 0);
	assert_string_equal(c.listens[0].text, "127.0.0.1:9123");
	assert_int_equal(c.max_file_size, 5 << 20);
	assert_int_equal(c.max_range_size, 1024);
	assert_int_equal(c.secret_key_len, 36);
	assert_string_equal(c.database, "/var/tmp/x.db");
	assert_int_equal(c.nallowed_origins, 2);
	conf_free(&c);
	setenv("AUDIO_DIR", "/nonexistent", 1);
	assert_int_equal(load("", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment AUDIO_DIR"));
	conf_free(&c);
	unsetenv("AUDIO_DIR");
	setenv("MAX_FILE_SIZE", "lots", 1);
	assert_int_equal(load("", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment MAX_FILE_SIZE"));
	conf_free(&c);
	setenv("MAX_FILE_SIZE", "1m", 1);
	setenv("STREAM_SERVER_PORT", "http", 1);
	assert_int_equal(load("", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment STREAM_SERVER_PORT"));
	conf_free(&c);
	unsetenv("STREAM_SERVER_PORT");
	setenv("DATABASE_URL", "postgres://x", 1);
	assert_int_equal(load("", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment DATABASE_URL"));
	conf_free(&c);
	setenv("SECRET_KEY", "short", 1);
	unsetenv("DATABASE_URL");
	assert_int_equal(load("", 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment SECRET_KEY"));
	conf_free(&c);
	unsetenv("SECRET_KEY");
	unsetenv("MAX_FILE_SIZE");
	unsetenv("MAX_RANGE_SIZE");
	unsetenv("ALLOWED_ORIGINS");
}

static void
parsers(void **state)
{
	int64_t v;
	struct conf_cidr cidr;
	struct sockaddr_in sin;

	(void)state;
	assert_int_equal(conf_parse_size("0", &v), 0);
	assert_int_equal(conf_parse_size("1K", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(conf_parse_size("1.5m", &v), -1);
	assert_int_equal(conf_parse_duration("1d2h", &v), 0);
	assert_int_equal(v, 93600000);
	assert_int_equal(conf_parse_duration("", &v), -1);
	assert_int_equal(conf_parse_duration("h", &v), -1);
	assert_int_equal(conf_parse_cidr("192.168.0.0/16", &cidr), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xc0a80a01);        /* 192.168.10.1 */
	assert_true(conf_cidr_match(&cidr, 1, (struct sockaddr *)&sin));
	sin.sin_addr.s_addr = htonl(0xc0a90a01);
	assert_false(conf_cidr_match(&cidr, 1, (struct sockaddr *)&sin));
	assert_int_equal(conf_parse_cidr("::ffff:0:0/96", &cidr), 0);
	assert_int_equal(conf_parse_cidr("1.2.3.4/", &cidr), -1);
}

/* Every directive is documented in man/streamd.conf.5 (run from the source tree). */
static void
documented(void **state)
{
	const char *const *names = conf_directive_names();
	char *text, needle[96];
	long len;
	FILE *f;

	(void)state;
	f = fopen("man/streamd.conf.5", "r");
	if (f == NULL)
		f = fopen("../man/streamd.conf.5", "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = (char *)malloc((size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	for (; *names != NULL; names++) {
		snprintf(needle, sizeof(needle), ".It Ic %s", *names);
		if (strstr(text, needle) == NULL)
			fail_msg("directive %s is not documented in streamd.conf(5)", *names);
	}
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_everything),
		cmocka_unit_test(defaults),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(value_errors),
		cmocka_unit_test(semantic_errors),
		cmocka_unit_test(environment),
		cmocka_unit_test(parsers),
		cmocka_unit_test(documented),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

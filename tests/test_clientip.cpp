/* test_clientip.cpp: client addresses behind trusted proxies (clientip.h), access log
 * lines (accesslog.h). */
#include "cmocka_inc.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "accesslog.h"
#include "clientip.h"
#include "conf.h"

static struct conf C;

static const char *
pick(const char *peer, const char *value, int header)
{
	static char out[64];
	struct sockaddr_storage ss, res;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, peer, &sin->sin_addr);
	C.real_ip_header = header;
	clientip_pick(&C, (struct sockaddr *)&ss, value, &res);
	clientip_text((struct sockaddr *)&res, out, sizeof(out));
	return out;
}

static void
proxies(void **state)
{
	struct conf_cidr t[2];

	(void)state;
	memset(&C, 0, sizeof(C));
	conf_parse_cidr("127.0.0.1", &t[0]);
	conf_parse_cidr("10.0.0.0/8", &t[1]);
	C.trusted_proxies = t;
	C.ntrusted_proxies = 2;
	assert_string_equal(pick("127.0.0.1", "1.2.3.4", REALIP_XFF), "1.2.3.4");
	assert_string_equal(pick("127.0.0.1", "5.5.5.5, 1.2.3.4, 10.9.9.9", REALIP_XFF), "1.2.3.4");
	assert_string_equal(pick("127.0.0.1", "10.1.1.1, 10.2.2.2", REALIP_XFF), "10.1.1.1");
	assert_string_equal(pick("127.0.0.1", "bogus", REALIP_XFF), "127.0.0.1");
	assert_string_equal(pick("127.0.0.1", "1.2.3.4:5678", REALIP_XFF), "1.2.3.4");
	assert_string_equal(pick("127.0.0.1", "[2001:db8::1]:80", REALIP_XFF), "2001:db8::1");
	assert_string_equal(pick("127.0.0.1", NULL, REALIP_XFF), "127.0.0.1");
	/* an untrusted peer's headers count for nothing */
	assert_string_equal(pick("8.8.8.8", "1.2.3.4", REALIP_XFF), "8.8.8.8");
	assert_string_equal(pick("127.0.0.1", "9.8.7.6", REALIP_X_REAL_IP), "9.8.7.6");
	assert_string_equal(pick("127.0.0.1", "for=192.0.2.60;proto=http, for=10.0.0.3",
	    REALIP_FORWARDED), "192.0.2.60");
	assert_string_equal(pick("127.0.0.1", "for=\"[2001:db8:cafe::17]:4711\"",
	    REALIP_FORWARDED), "2001:db8:cafe::17");
	assert_string_equal(pick("127.0.0.1", "for=unknown", REALIP_FORWARDED), "127.0.0.1");
	assert_string_equal(pick("127.0.0.1", "proto=https", REALIP_FORWARDED), "127.0.0.1");
}

static void
access_lines(void **state)
{
	struct accesslog_entry e;
	char line[1024];

	(void)state;
	memset(&e, 0, sizeof(e));
	e.addr = "192.0.2.1";
	e.time = "[25/Nov/2026:17:26:50 +0000]";
	e.method = "GET";
	e.uri = "/stream/a.mp3?expires=1&sig=ab&access_token=SECRET.TOKEN&x=\"q\"";
	e.http_major = 1;
	e.http_minor = 1;
	e.status = 206;
	e.bytes = 1234;
	e.user_agent = "Player \"1\"\n";
	e.request_time = 0.0123;
	accesslog_format(&e, line, sizeof(line));
	assert_string_equal(line, "192.0.2.1 - - [25/Nov/2026:17:26:50 +0000] \"GET "
	    "/stream/a.mp3?expires=1&sig=ab&access_token=[hidden]&x=\\x22q\\x22 HTTP/1.1\" 206 "
	    "1234 \"-\" \"Player \\x221\\x22\\x0A\" 0.012\n");
	e.user = "bob";
	e.referer = "https://app.example/";
	accesslog_format(&e, line, sizeof(line));
	assert_non_null(strstr(line, " - bob ["));
	assert_non_null(strstr(line, "\"https://app.example/\""));
	assert_null(strstr(line, "SECRET"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proxies),
		cmocka_unit_test(access_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// fuzz_query.cpp: libFuzzer target for the query string and signed-URL checks
// (query.h, sign.h).
// sources: query.cpp sign.cpp pathsafe.cpp util.cpp
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "query.h"
#include "sign.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sign_key key;
	static int ready;
	char q[8192], exp[64], sig[128], tok[256];
	size_t n;
	int64_t e;
	enum query_result re, rs;

	if (!ready) {
		sign_key_init(&key, (const unsigned char *)"0123456789abcdef0123456789abcdef", 32);
		ready = 1;
	}
	if (size >= sizeof(q))
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	re = query_get(q, "expires", exp, sizeof(exp), &n);
	if (re == QUERY_FOUND && strlen(exp) != n)
		__builtin_trap();
	rs = query_get(q, "sig", sig, sizeof(sig), &n);
	query_get(q, "access_token", tok, sizeof(tok), &n);
	{
		/* three names in one pass: each exactly as found alone */
		char o[3][128];
		struct query_param p[3] = {
			{ "expires", o[0], sizeof(exp), 0, QUERY_MISSING },
			{ "sig", o[1], sizeof(sig), 0, QUERY_MISSING },
			{ "x", o[2], 7, 0, QUERY_MISSING },
		};
		char x[7];
		enum query_result rx = query_get(q, "x", x, sizeof(x), &n);

		query_find(q, p, 3);
		if (p[0].result != re || p[1].result != rs || p[2].result != rx)
			__builtin_trap();
		if ((re == QUERY_FOUND && strcmp(o[0], exp) != 0) ||
		    (rs == QUERY_FOUND && strcmp(o[1], sig) != 0) ||
		    (rx == QUERY_FOUND && (strcmp(o[2], x) != 0 || strlen(x) != p[2].len)))
			__builtin_trap();
	}
	sign_check(&key, "a/b.mp3", 7, re == QUERY_FOUND ? exp : NULL,
	    rs == QUERY_FOUND ? sig : NULL, 1700000000, 5, &e);
	return 0;
}

// fuzz_jwt.cpp: libFuzzer target for the JWT parser and validator (jwt.h), with an HMAC
// key and a signing key configured, for access and refresh use.
// sources: jwt.cpp conf.cpp util.cpp log.cpp
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf.h"
#include "jwt.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	static struct jwt_keys *keys;
	static unsigned char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
	static unsigned char signing[] = "fuzz-signing-key-fuzz-signing-key-0123";
	struct jwt_claims cl;
	char why[160], err[256];
	unsigned char raw[512];
	size_t n;

	if (keys == NULL) {
		memset(&c, 0, sizeof(c));
		c.jwt_secret = secret;
		c.jwt_secret_len = sizeof(secret) - 1;
		c.jwt_signing_key = signing;
		c.jwt_signing_key_len = sizeof(signing) - 1;
		c.jwt_leeway = 30000;
		c.jwt_max_size = 8192;
		c.jwt_audience = (char *)"aud";
		keys = jwt_keys_load(&c, err, sizeof(err));
		if (keys == NULL)
			__builtin_trap();
	}
	jwt_verify(keys, (const char *)data, size, 1700000000, JWT_USE_ACCESS, &cl, why,
	    sizeof(why));
	jwt_verify(keys, (const char *)data, size, 1700000000, JWT_USE_REFRESH, &cl, why,
	    sizeof(why));
	b64url_decode((const char *)data, size, raw, sizeof(raw), &n);
	return 0;
}

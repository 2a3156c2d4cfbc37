/* test_jwt.cpp: base64url, JWT parsing and validation with HMAC keys (jwt.h). */
#include "cmocka_inc.h"
#include <stdio.h>
#include <string.h>

#include <openssl/hmac.h>

#include "conf.h"
#include "jwt.h"

static unsigned char SECRET[] = "unit-secret-unit-secret-unit-secret!!";
static unsigned char SIGNING[] = "unit-signing-key-unit-signing-key-xyz";
static struct conf C;
static struct jwt_keys *K;
#define NOW 1700000000LL

static int
setup(void **state)
{
	char err[256];

	(void)state;
	memset(&C, 0, sizeof(C));
	C.jwt_secret = SECRET;
	C.jwt_secret_len = sizeof(SECRET) - 1;
	C.jwt_signing_key = SIGNING;
	C.jwt_signing_key_len = sizeof(SIGNING) - 1;
	C.jwt_leeway = 30000;
	C.jwt_max_size = 4096;
	C.jwt_issuer = (char *)"https://issuer.example";
	C.jwt_audience = (char *)"streamd";
	K = jwt_keys_load(&C, err, sizeof(err));
	return K == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	jwt_keys_free(K);
	return 0;
}

/* HS256 token over header and payload JSON texts with key. */
static void
make(const char *header, const char *payload, const unsigned char *key, size_t keylen,
    char *out, size_t outsz)
{
	unsigned char mac[32];
	unsigned int n;
	int len;

	len = b64url_encode((const unsigned char *)header, strlen(header), out, outsz);
	out[len++] = '.';
	len += b64url_encode((const unsigned char *)payload, strlen(payload), out + len,
	    outsz - (size_t)len);
	HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)out, (size_t)len, mac, &n);
	out[len++] = '.';
	b64url_encode(mac, n, out + len, outsz - (size_t)len);
}

static enum jwt_error
verify(const char *tok, enum jwt_use use, struct jwt_claims *cl)
{
	char why[160];

	return jwt_verify(K, tok, strlen(tok), NOW, use, cl, why, sizeof(why));
}

#define GOOD "{\"iss\":\"https://issuer.example\",\"aud\":\"streamd\",\"exp\":1700000100"

static void
base64url(void **state)
{
	unsigned char out[64];
	char enc[64];
	size_t n;

	(void)state;
	assert_int_equal(b64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof(enc)), 3);
	assert_string_equal(enc, "-_8");
	assert_int_equal(b64url_decode("-_8", 3, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(b64url_decode("-_8=", 4, out, sizeof(out), &n), -1);   /* padding */
	assert_int_equal(b64url_decode("+/8", 3, out, sizeof(out), &n), -1);    /* base64 */
	assert_int_equal(b64url_decode("-_9", 3, out, sizeof(out), &n), -1);    /* loose bits */
	assert_int_equal(b64url_decode("A", 1, out, sizeof(out), &n), -1);
	assert_int_equal(b64url_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(b64url_decode("QUJD", 4, out, 2, &n), -1);             /* room */
}

static void
valid_tokens(void **state)
{
	struct jwt_claims cl;
	char tok[2048];

	(void)state;
	make("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", GOOD ",\"sub\":\"bob\",\"jti\":\"j1\","
	    "\"roles\":[\"premium\",\"x\"],\"permissions\":[\"view_analytics\",\"nope\"],"
	    "\"nbf\":1699999999,\"iat\":1700000000}", SECRET, sizeof(SECRET) - 1, tok, sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_OK);
	assert_string_equal(cl.sub, "bob");
	assert_string_equal(cl.jti, "j1");
	assert_int_equal(cl.nroles, 2);
	assert_int_equal(cl.perm_bits, 1u << PERM_VIEW_ANALYTICS);
	/* aud as an array; scope as a space-separated string */
	make("{\"alg\":\"HS384\"}", "{\"iss\":\"https://issuer.example\",\"aud\":[\"a\",\"streamd\"],"
	    "\"exp\":1700000100,\"scope\":\"stream upload\"}", SECRET, sizeof(SECRET) - 1, tok,
	    sizeof(tok));
	/* that one was signed HS256 under an HS384 header: the signature is wrong */
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_ERR_SIGNATURE);
	make("{\"alg\":\"HS256\"}", "{\"iss\":\"https://issuer.example\",\"aud\":[\"a\",\"streamd\"],"
	    "\"exp\":1700000100,\"scope\":\"stream upload\"}", SECRET, sizeof(SECRET) - 1, tok,
	    sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_OK);
	assert_int_equal(cl.perm_bits, (1u << PERM_STREAM) | (1u << PERM_UPLOAD));
	/* expired, but within the 30 s leeway */
	make("{\"alg\":\"HS256\"}", "{\"iss\":\"https://issuer.example\",\"aud\":\"streamd\","
	    "\"exp\":1699999980}", SECRET, sizeof(SECRET) - 1, tok, sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_OK);
}

static void
claim_errors(void **state)
{
	static const struct {
		const char *payload;
		enum jwt_error want;
	} cases[] = {
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"streamd\"}", JWT_ERR_CLAIMS },
		{ GOOD ",\"exp\":5}", JWT_ERR_MALFORMED },                  /* duplicate */
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"streamd\",\"exp\":\"1\"}",
		    JWT_ERR_CLAIMS },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"streamd\",\"exp\":1699999900}",
		    JWT_ERR_EXPIRED },
		{ GOOD ",\"nbf\":1700000100}", JWT_ERR_NOT_YET_VALID },
		{ GOOD ",\"iat\":1700000100}", JWT_ERR_CLAIMS },
		{ "{\"iss\":\"https://other\",\"aud\":\"streamd\",\"exp\":1700000100}", JWT_ERR_CLAIMS },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"x\",\"exp\":1700000100}",
		    JWT_ERR_CLAIMS },
		{ "{\"iss\":\"https://issuer.example\",\"exp\":1700000100}", JWT_ERR_CLAIMS },
		{ GOOD ",\"roles\":\"admin\"}", JWT_ERR_CLAIMS },
		{ GOOD ",\"roles\":[1]}", JWT_ERR_CLAIMS },
		{ GOOD ",\"roles\":[\"a\",null]}", JWT_ERR_CLAIMS },
		{ GOOD ",\"permissions\":\"stream\"}", JWT_ERR_CLAIMS },
		{ GOOD ",\"permissions\":[\"stream\",2]}", JWT_ERR_CLAIMS },
		{ GOOD ",\"role\":[\"admin\"]}", JWT_ERR_CLAIMS },
		{ GOOD ",\"sub\":7}", JWT_ERR_CLAIMS },
		{ GOOD ",\"typ\":\"refresh\"}", JWT_ERR_CLAIMS },         /* refresh as access */
		{ GOOD ",\"x\":[[[[[[[[[[1]]]]]]]]]]}", JWT_ERR_MALFORMED },
		{ "[1]", JWT_ERR_MALFORMED },
		{ "not json", JWT_ERR_MALFORMED },
		{ GOOD "} trailing", JWT_ERR_MALFORMED },
	};
	struct jwt_claims cl;
	char tok[2048];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make("{\"alg\":\"HS256\"}", cases[i].payload, SECRET, sizeof(SECRET) - 1, tok,
		    sizeof(tok));
		if (verify(tok, JWT_USE_ACCESS, &cl) != cases[i].want)
			fail_msg("case %zu (%s): got %d", i, cases[i].payload,
			    verify(tok, JWT_USE_ACCESS, &cl));
	}
}

static void
header_errors(void **state)
{
	static const struct {
		const char *header;
		enum jwt_error want;
	} cases[] = {
		{ "{\"alg\":\"none\"}", JWT_ERR_ALGORITHM },
		{ "{\"alg\":\"HS257\"}", JWT_ERR_ALGORITHM },
		{ "{\"alg\":\"RS256\"}", JWT_ERR_ALGORITHM },      /* an HMAC key pins HS* */
		{ "{}", JWT_ERR_MALFORMED },
		{ "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", JWT_ERR_CLAIMS },
		{ "{\"alg\":\"HS256\",\"b64\":false}", JWT_ERR_MALFORMED },
		{ "{\"alg\":\"HS256\",\"kid\":5}", JWT_ERR_MALFORMED },
		{ "{\"alg\":\"HS256\",\"alg\":\"none\"}", JWT_ERR_MALFORMED },
	};
	struct jwt_claims cl;
	char tok[2048];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make(cases[i].header, GOOD "}", SECRET, sizeof(SECRET) - 1, tok, sizeof(tok));
		if (verify(tok, JWT_USE_ACCESS, &cl) != cases[i].want)
			fail_msg("case %zu (%s): got %d", i, cases[i].header,
			    verify(tok, JWT_USE_ACCESS, &cl));
	}
	/* structure */
	assert_int_equal(verify("", JWT_USE_ACCESS, &cl), JWT_ERR_MALFORMED);
	assert_int_equal(verify("a.b", JWT_USE_ACCESS, &cl), JWT_ERR_MALFORMED);
	assert_int_equal(verify("a.b.c.d", JWT_USE_ACCESS, &cl), JWT_ERR_MALFORMED);
	assert_int_equal(verify("..", JWT_USE_ACCESS, &cl), JWT_ERR_MALFORMED);
	make("{\"alg\":\"HS256\"}", GOOD "}", SECRET, sizeof(SECRET) - 1, tok, sizeof(tok));
	tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_ERR_SIGNATURE);
	/* wrong key */
	make("{\"alg\":\"HS256\"}", GOOD "}", (const unsigned char *)"another-key-another-key-another!",
	    32, tok, sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_ERR_SIGNATURE);
}

static void
refresh_and_signing(void **state)
{
	struct jwt_claims cl;
	char tok[2048], kid[17], hdr[128], signed_tok[2048];

	(void)state;
	/* refresh tokens: only with the signing key, only as refresh */
	make("{\"alg\":\"HS256\",\"typ\":\"refresh+jwt\"}", GOOD ",\"jti\":\"r\"}", SIGNING,
	    sizeof(SIGNING) - 1, tok, sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_REFRESH, &cl), JWT_OK);
	assert_true(cl.refresh);
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_ERR_SIGNATURE);
	make("{\"alg\":\"HS256\"}", GOOD ",\"typ\":\"refresh\"}", SECRET, sizeof(SECRET) - 1, tok,
	    sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_REFRESH, &cl), JWT_ERR_SIGNATURE);
	make("{\"alg\":\"HS256\"}", GOOD "}", SIGNING, sizeof(SIGNING) - 1, tok, sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_REFRESH, &cl), JWT_ERR_CLAIMS);
	/* what streamd signs verifies with its kid */
	jwt_signing_kid(SIGNING, sizeof(SIGNING) - 1, kid);
	assert_int_equal(jwt_sign_hs256(SIGNING, sizeof(SIGNING) - 1, kid, "JWT", GOOD "}",
	    signed_tok, sizeof(signed_tok)), 0);
	assert_int_equal(verify(signed_tok, JWT_USE_ACCESS, &cl), JWT_OK);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
	make(hdr, GOOD "}", SECRET, sizeof(SECRET) - 1, tok, sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_ERR_SIGNATURE);
	/* an unknown kid with two keys around */
	make("{\"alg\":\"HS256\",\"kid\":\"nope\"}", GOOD "}", SECRET, sizeof(SECRET) - 1, tok,
	    sizeof(tok));
	assert_int_equal(verify(tok, JWT_USE_ACCESS, &cl), JWT_OK);   /* one external key */
	assert_int_equal(jwt_sign_hs256(SIGNING, sizeof(SIGNING) - 1, kid, "JWT", GOOD "}",
	    signed_tok, 20), -1);
}

static void
size_limit_and_perms(void **state)
{
	struct jwt_claims cl;
	char big[8192], payload[6000];
	struct conf c;
	int i;

	(void)state;
	snprintf(payload, sizeof(payload), GOOD ",\"pad\":\"%0*d\"}", 4000, 0);
	make("{\"alg\":\"HS256\"}", payload, SECRET, sizeof(SECRET) - 1, big, sizeof(big));
	assert_true(strlen(big) > 4096);
	assert_int_equal(verify(big, JWT_USE_ACCESS, &cl), JWT_ERR_MALFORMED);
	memset(&c, 0, sizeof(c));
	c.roles = (struct conf_role *)calloc(2, sizeof(struct conf_role));
	snprintf(c.roles[0].name, sizeof(c.roles[0].name), "dj");
	c.roles[0].perms = 1u << PERM_STREAM_HQ;
	c.nroles = 1;
	memset(&cl, 0, sizeof(cl));
	snprintf(cl.roles[0], 32, "dj");
	snprintf(cl.roles[1], 32, "unknown");
	cl.nroles = 2;
	cl.perm_bits = 1u << PERM_STREAM;
	assert_int_equal(jwt_claims_perms(&c, &cl), (1u << PERM_STREAM) | (1u << PERM_STREAM_HQ));
	free(c.roles);
	for (i = JWT_OK; i <= JWT_ERR_REVOKED; i++)
		assert_true(jwt_error_metric((enum jwt_error)i) >= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64url),
		cmocka_unit_test(valid_tokens),
		cmocka_unit_test(claim_errors),
		cmocka_unit_test(header_errors),
		cmocka_unit_test(refresh_and_signing),
		cmocka_unit_test(size_limit_and_perms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

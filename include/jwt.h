/*
 * jwt.h: JSON Web Tokens (RFC 7515 JWS compact form, RFC 7519 claims), parsed and checked
 * by our own code on cJSON and OpenSSL EVP.
 *
 *   token   = b64url(header) "." b64url(payload) "." b64url(signature)
 *   b64url  = base64url without padding (RFC 7515 section 2); any other byte is an error
 *
 * The algorithm is pinned by the key (from jwt_secret, jwt_public_key, a JWKS entry or
 * jwt_signing_key), never taken from the token: "none", an HMAC token checked against a
 * public key, unknown "crit" names and a missing or unknown "kid" when several keys exist
 * are all refused. Claims: "exp" required; "nbf" and "iat" (not in the future beyond the
 * leeway); "iss" and "aud" (string or array) when configured; "sub", "jti"; "roles" and
 * "permissions" arrays; "typ":"refresh" (or a header typ of "refresh+jwt") marks refresh
 * tokens, which only jwt_signing_key may sign. Duplicate member names, JSON nested
 * deeper than JWT_MAX_DEPTH and tokens longer than jwt_max_size are refused.
 */
#ifndef STREAMD_JWT_H
#define STREAMD_JWT_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct jwt_keys;

#define JWT_MAX_DEPTH   8
#define JWT_MAX_ROLES   16

enum jwt_alg {
	JWT_ALG_NONE = 0,
	JWT_HS256, JWT_HS384, JWT_HS512,
	JWT_RS256, JWT_RS384, JWT_RS512,
	JWT_PS256, JWT_PS384, JWT_PS512,
	JWT_ES256, JWT_ES384, JWT_ES512,
	JWT_EDDSA,
	JWT_ALG_COUNT
};

enum jwt_use {
	JWT_USE_ACCESS = 0,
	JWT_USE_REFRESH
};

enum jwt_error {
	JWT_OK = 0,
	JWT_ERR_MALFORMED,      /* not three base64url parts of JSON objects, too big, dup */
	JWT_ERR_ALGORITHM,      /* none, or not the key's algorithm */
	JWT_ERR_KEY,            /* kid missing/unknown, or no key for it */
	JWT_ERR_SIGNATURE,
	JWT_ERR_EXPIRED,
	JWT_ERR_NOT_YET_VALID,
	JWT_ERR_CLAIMS,         /* exp missing, iat in the future, iss/aud, crit, typ */
	JWT_ERR_REVOKED
};

struct jwt_claims {
	int64_t         exp;
	int64_t         nbf;
	int64_t         iat;
	int             has_iat;
	char            sub[128];
	char            jti[96];
	char            family[96];     /* "fam": refresh-token family (ours) */
	char            iss[256];
	int             refresh;        /* typ says refresh */
	int             nroles;
	char            roles[JWT_MAX_ROLES][32];
	uint32_t        perm_bits;      /* from a "permissions" array */
};

/* Keys from the configuration (NULL with err if one is unusable; NULL, no err, if none). */
struct jwt_keys *jwt_keys_load(const struct conf *c, char *err, size_t errlen);
void jwt_keys_free(struct jwt_keys *k);
int  jwt_keys_count(const struct jwt_keys *k);

enum jwt_error jwt_verify(struct jwt_keys *k, const char *token, size_t len, int64_t now,
    enum jwt_use use, struct jwt_claims *out, char *why, size_t whylen);
/* Permissions of the claims: role mapping from the config plus "permissions". */
uint32_t jwt_claims_perms(const struct conf *c, const struct jwt_claims *cl);
/* enum metrics_auth reason for an error. */
int  jwt_error_metric(enum jwt_error e);

/* Sign payload (a JSON object text) with HS256 and the given key and kid. -1 if no room. */
int  jwt_sign_hs256(const unsigned char *key, size_t keylen, const char *kid,
    const char *typ, const char *payload, char *out, size_t outsz);
/* The kid streamd puts on tokens it signs with jwt_signing_key. */
void jwt_signing_kid(const unsigned char *key, size_t keylen, char out[17]);

/* base64url without padding; decode is strict. -1 on error or short buffer. */
int  b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz);
int  b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz,
    size_t *outlen);

#endif

/*
 * jwt.cpp: JWT parsing, key sets and verification (rules in jwt.h).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "conf.h"
#include "jwt.h"
#include "metrics.h"
#include "util.h"

#define JWT_MAX_KEYS    64
#define JWT_JSON_MAX    (16 * 1024)

enum key_family {
	FAM_HMAC = 1,
	FAM_RSA,
	FAM_EC256,
	FAM_EC384,
	FAM_EC521,
	FAM_ED25519
};

struct jwt_key {
	char            kid[128];
	int             has_kid;
	enum key_family family;
	enum jwt_alg    alg;            /* JWT_ALG_NONE: any of the family */
	EVP_PKEY       *pkey;
	unsigned char  *secret;
	size_t          secret_len;
	int             signing;        /* jwt_signing_key: may sign refresh tokens */
};

struct jwt_keys {
	struct jwt_key  keys[JWT_MAX_KEYS];
	int             n;
	const struct conf *conf;
	int64_t         leeway_s;
	int64_t         max_size;
};

static const struct {
	const char     *name;
	enum jwt_alg    alg;
	enum key_family family;
	const char     *md;
} algs[] = {
	{ "HS256", JWT_HS256, FAM_HMAC, "SHA256" },
	{ "HS384", JWT_HS384, FAM_HMAC, "SHA384" },
	{ "HS512", JWT_HS512, FAM_HMAC, "SHA512" },
	{ "RS256", JWT_RS256, FAM_RSA, "SHA256" },
	{ "RS384", JWT_RS384, FAM_RSA, "SHA384" },
	{ "RS512", JWT_RS512, FAM_RSA, "SHA512" },
	{ "PS256", JWT_PS256, FAM_RSA, "SHA256" },
	{ "PS384", JWT_PS384, FAM_RSA, "SHA384" },
	{ "PS512", JWT_PS512, FAM_RSA, "SHA512" },
	{ "ES256", JWT_ES256, FAM_EC256, "SHA256" },
	{ "ES384", JWT_ES384, FAM_EC384, "SHA384" },
	{ "ES512", JWT_ES512, FAM_EC521, "SHA512" },
	{ "EdDSA", JWT_EDDSA, FAM_ED25519, NULL },
};

static int
alg_index(const char *name)
{
	size_t i;

	for (i = 0; i < NITEMS(algs); i++)
		if (strcmp(algs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---------------------------------------------------------------- base64url */

int
b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, n = 0;
	uint32_t v;

	if (outsz < (len + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[n++] = tab[v >> 18 & 63];
		out[n++] = tab[v >> 12 & 63];
		out[n++] = tab[v >> 6 & 63];
		out[n++] = tab[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[n++] = tab[v >> 18 & 63];
		out[n++] = tab[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[n++] = tab[v >> 18 & 63];
		out[n++] = tab[v >> 12 & 63];
		out[n++] = tab[v >> 6 & 63];
	}
	out[n] = '\0';
	return (int)n;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen)
{
	size_t i, n = 0, rem = len % 4;
	uint32_t v = 0;
	int d, bits = 0;

	if (rem == 1 || len / 4 * 3 + (rem ? rem - 1 : 0) > outsz)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = b64val(in[i])) < 0)
			return -1;          /* padding, whitespace, "+" or "/": not base64url */
		v = v << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (v != 0)
		return -1;                  /* non-canonical: leftover bits must be zero */
	*outlen = n;
	return 0;
}

/* ---------------------------------------------------------------- JSON checks */

/* Nesting depth of JSON text (strings skipped); -1 if quotes do not balance. */
static int
json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0, in_str = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']')
			depth--;
		else if (c == '\0')
			return -1;
	}
	return in_str ? -1 : max;
}

/* 1 if some object in the tree has two members with the same name. */
static int
has_duplicates(const cJSON *node)
{
	const cJSON *a, *b;

	if (cJSON_IsObject(node)) {
		for (a = node->child; a != NULL; a = a->next) {
			for (b = a->next; b != NULL; b = b->next)
				if (a->string && b->string && strcmp(a->string, b->string) == 0)
					return 1;
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		for (a = node->child; a != NULL; a = a->next)
			if (has_duplicates(a))
				return 1;
	return 0;
}

/* Decode one part and parse it as a JSON object with our limits. */
static cJSON *
parse_part(const char *b64, size_t len, char *why, size_t whylen, const char *what)
{
	unsigned char buf[JWT_JSON_MAX + 1];
	size_t n;
	cJSON *j;
	const char *end = NULL;

	if (len == 0 || len > JWT_JSON_MAX / 3 * 4 ||
	    b64url_decode(b64, len, buf, JWT_JSON_MAX, &n) == -1) {
		snprintf(why, whylen, "%s is not base64url", what);
		return NULL;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL || json_depth((const char *)buf, n) < 0) {
		snprintf(why, whylen, "%s is not JSON", what);
		return NULL;
	}
	if (json_depth((const char *)buf, n) > JWT_MAX_DEPTH) {
		snprintf(why, whylen, "%s is nested too deeply", what);
		return NULL;
	}
	/* n + 1: the terminating NUL must be seen to refuse trailing garbage. */
	j = cJSON_ParseWithLengthOpts((const char *)buf, n + 1, &end, 1);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		snprintf(why, whylen, "%s is not a JSON object", what);
		return NULL;
	}
	if (has_duplicates(j)) {
		cJSON_Delete(j);
		snprintf(why, whylen, "%s has duplicate member names", what);
		return NULL;
	}
	return j;
}

/* ---------------------------------------------------------------- keys */

static void
key_clear(struct jwt_key *k)
{
	EVP_PKEY_free(k->pkey);
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	memset(k, 0, sizeof(*k));
}

void
jwt_keys_free(struct jwt_keys *ks)
{
	int i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		key_clear(&ks->keys[i]);
	free(ks);
}

int
jwt_keys_count(const struct jwt_keys *ks)
{
	return ks ? ks->n : 0;
}

static enum key_family
pkey_family(EVP_PKEY *pk, char *err, size_t errlen)
{
	char group[64];
	size_t glen;

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		if (EVP_PKEY_get_bits(pk) < 2048) {
			snprintf(err, errlen, "RSA keys must have at least 2048 bits");
			return (enum key_family)0;
		}
		return FAM_RSA;
	case EVP_PKEY_ED25519:
		return FAM_ED25519;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen) != 1)
			break;
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return FAM_EC256;
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			return FAM_EC384;
		if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
			return FAM_EC521;
		snprintf(err, errlen, "unsupported EC curve %s", group);
		return (enum key_family)0;
	}
	snprintf(err, errlen, "unsupported key type");
	return (enum key_family)0;
}

static struct jwt_key *
add_key(struct jwt_keys *ks, char *err, size_t errlen)
{
	if (ks->n == JWT_MAX_KEYS) {
		snprintf(err, errlen, "more than %d JWT keys", JWT_MAX_KEYS);
		return NULL;
	}
	memset(&ks->keys[ks->n], 0, sizeof(ks->keys[0]));
	return &ks->keys[ks->n++];
}

static int
add_secret(struct jwt_keys *ks, const unsigned char *secret, size_t len, const char *kid,
    int signing, char *err, size_t errlen)
{
	struct jwt_key *k = add_key(ks, err, errlen);

	if (k == NULL)
		return -1;
	if ((k->secret = (unsigned char *)malloc(len)) == NULL)
		return -1;
	memcpy(k->secret, secret, len);
	k->secret_len = len;
	k->family = FAM_HMAC;
	k->signing = signing;
	if (kid != NULL) {
		snprintf(k->kid, sizeof(k->kid), "%s", kid);
		k->has_kid = 1;
	}
	if (signing)
		k->alg = JWT_HS256;
	return 0;
}

static int
load_pem(struct jwt_keys *ks, const char *path, char *err, size_t errlen)
{
	struct jwt_key *k;
	EVP_PKEY *pk;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "jwt_public_key %s: cannot open", path);
		return -1;
	}
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL) {
		snprintf(err, errlen, "jwt_public_key %s: not a PEM public key", path);
		return -1;
	}
	if ((k = add_key(ks, err, errlen)) == NULL) {
		EVP_PKEY_free(pk);
		return -1;
	}
	k->pkey = pk;
	if ((k->family = pkey_family(pk, err, errlen)) == 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "jwt_public_key %s: %s", path, msg);
		return -1;
	}
	return 0;
}

/* A JWK member decoded from base64url into a BIGNUM or raw bytes. */
static int
jwk_bytes(const cJSON *jwk, const char *name, unsigned char *out, size_t outsz, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);

	if (!cJSON_IsString(v))
		return -1;
	return b64url_decode(v->valuestring, strlen(v->valuestring), out, outsz, n);
}

/* The public key of type ("RSA", "EC") made of the parameters in bld; NULL if it is not one. */
static EVP_PKEY *
public_key(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
jwk_rsa(const cJSON *jwk)
{
	unsigned char nb[1024], eb[16];
	size_t nl, el;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if (jwk_bytes(jwk, "n", nb, sizeof(nb), &nl) == -1 ||
	    jwk_bytes(jwk, "e", eb, sizeof(eb), &el) == -1)
		return NULL;
	n = BN_bin2bn(nb, (int)nl, NULL);
	e = BN_bin2bn(eb, (int)el, NULL);
	if (n != NULL && e != NULL && (bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		pk = public_key("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

static EVP_PKEY *
jwk_ec(const cJSON *jwk, const char *crv)
{
	unsigned char x[80], y[80], pub[1 + 160];
	size_t xl, yl, sz;
	const char *group;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (strcmp(crv, "P-256") == 0) {
		group = "prime256v1";
		sz = 32;
	} else if (strcmp(crv, "P-384") == 0) {
		group = "secp384r1";
		sz = 48;
	} else if (strcmp(crv, "P-521") == 0) {
		group = "secp521r1";
		sz = 66;
	} else {
		return NULL;
	}
	if (jwk_bytes(jwk, "x", x, sizeof(x), &xl) == -1 ||
	    jwk_bytes(jwk, "y", y, sizeof(y), &yl) == -1 || xl > sz || yl > sz || xl == 0 ||
	    yl == 0)
		return NULL;
	/* RFC 7518 wants full-length coordinates; some encoders drop leading zeros. */
	memset(pub, 0, sizeof(pub));
	pub[0] = 0x04;
	memcpy(pub + 1 + (sz - xl), x, xl);
	memcpy(pub + 1 + sz + (sz - yl), y, yl);
	if ((bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * sz))
		pk = public_key("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

static int
load_jwks(struct jwt_keys *ks, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	long len;
	FILE *f;
	cJSON *root, *keys, *jwk;
	int idx = 0, loaded = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "jwt_jwks %s: cannot open", path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && len < 1024 * 1024 &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = (char *)malloc((size_t)len + 1)) != NULL) {
		if (fread(text, 1, (size_t)len, f) != (size_t)len) {
			free(text);
			text = NULL;
		} else {
			text[len] = '\0';
		}
	}
	fclose(f);
	if (text == NULL) {
		snprintf(err, errlen, "jwt_jwks %s: cannot read", path);
		return -1;
	}
	root = cJSON_Parse(text);
	free(text);
	keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	if (!cJSON_IsArray(keys)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "jwt_jwks %s: not a JWK set ({\"keys\": [...]})", path);
		return -1;
	}
	cJSON_ArrayForEach(jwk, keys) {
		const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
		const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
		const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
		const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
		const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
		struct jwt_key *k;
		EVP_PKEY *pk = NULL;
		unsigned char raw[512];
		size_t rawlen;
		int ai = -1;

		idx++;
		if (!cJSON_IsString(kty) || (use != NULL && (!cJSON_IsString(use) ||
		    strcmp(use->valuestring, "sig") != 0)))
			continue;               /* encryption keys are not ours */
		if (alg != NULL && (!cJSON_IsString(alg) || (ai = alg_index(alg->valuestring)) < 0)) {
			snprintf(err, errlen, "jwt_jwks %s: key %d: unsupported alg", path, idx);
			goto fail;
		}
		if ((k = add_key(ks, err, errlen)) == NULL)
			goto fail;
		if (cJSON_IsString(kid)) {
			snprintf(k->kid, sizeof(k->kid), "%s", kid->valuestring);
			k->has_kid = 1;
		}
		if (strcmp(kty->valuestring, "oct") == 0) {
			if (jwk_bytes(jwk, "k", raw, sizeof(raw), &rawlen) == -1 || rawlen < 32) {
				snprintf(err, errlen, "jwt_jwks %s: key %d: oct key must have k of at "
				    "least 32 bytes", path, idx);
				goto fail;
			}
			k->family = FAM_HMAC;
			k->secret = (unsigned char *)malloc(rawlen);
			if (k->secret == NULL)
				goto fail;
			memcpy(k->secret, raw, rawlen);
			k->secret_len = rawlen;
			OPENSSL_cleanse(raw, sizeof(raw));
		} else {
			if (strcmp(kty->valuestring, "RSA") == 0)
				pk = jwk_rsa(jwk);
			else if (strcmp(kty->valuestring, "EC") == 0 && cJSON_IsString(crv))
				pk = jwk_ec(jwk, crv->valuestring);
			else if (strcmp(kty->valuestring, "OKP") == 0 && cJSON_IsString(crv) &&
			    strcmp(crv->valuestring, "Ed25519") == 0 &&
			    jwk_bytes(jwk, "x", raw, sizeof(raw), &rawlen) == 0 && rawlen == 32)
				pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
			if (pk == NULL) {
				snprintf(err, errlen, "jwt_jwks %s: key %d: unsupported or invalid "
				    "%s key", path, idx, kty->valuestring);
				goto fail;
			}
			k->pkey = pk;
			if ((k->family = pkey_family(pk, err, errlen)) == 0) {
				char msg[128];
				snprintf(msg, sizeof(msg), "%s", err);
				snprintf(err, errlen, "jwt_jwks %s: key %d: %s", path, idx, msg);
				goto fail;
			}
		}
		if (ai >= 0) {
			if (algs[ai].family != k->family) {
				snprintf(err, errlen, "jwt_jwks %s: key %d: alg %s does not fit the "
				    "key type", path, idx, algs[ai].name);
				goto fail;
			}
			k->alg = algs[ai].alg;
		}
		loaded++;
	}
	cJSON_Delete(root);
	if (loaded == 0) {
		snprintf(err, errlen, "jwt_jwks %s: no signature keys", path);
		return -1;
	}
	return 0;
fail:
	cJSON_Delete(root);
	return -1;
}

void
jwt_signing_kid(const unsigned char *key, size_t keylen, char out[17])
{
	unsigned char md[32];
	unsigned int n;

	EVP_Digest(key, keylen, md, &n, EVP_sha256(), NULL);
	hex_encode(md, 8, out);
}

struct jwt_keys *
jwt_keys_load(const struct conf *c, char *err, size_t errlen)
{
	struct jwt_keys *ks;
	char kid[17];

	err[0] = '\0';
	if (c->jwt_secret == NULL && c->jwt_public_key == NULL && c->jwt_jwks == NULL &&
	    c->jwt_signing_key == NULL)
		return NULL;
	if ((ks = (struct jwt_keys *)calloc(1, sizeof(*ks))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ks->conf = c;
	ks->leeway_s = c->jwt_leeway / 1000;
	ks->max_size = c->jwt_max_size;
	if (c->jwt_secret != NULL &&
	    add_secret(ks, c->jwt_secret, c->jwt_secret_len, NULL, 0, err, errlen) == -1)
		goto fail;
	if (c->jwt_public_key != NULL && load_pem(ks, c->jwt_public_key, err, errlen) == -1)
		goto fail;
	if (c->jwt_jwks != NULL && load_jwks(ks, c->jwt_jwks, err, errlen) == -1)
		goto fail;
	if (c->jwt_signing_key != NULL) {
		jwt_signing_kid(c->jwt_signing_key, c->jwt_signing_key_len, kid);
		if (add_secret(ks, c->jwt_signing_key, c->jwt_signing_key_len, kid, 1, err,
		    errlen) == -1)
			goto fail;
	}
	return ks;
fail:
	jwt_keys_free(ks);
	return NULL;
}

/* ---------------------------------------------------------------- verification */

static int
verify_hmac(const struct jwt_key *k, const char *md, const char *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_get_digestbyname(md), k->secret, (int)k->secret_len,
	    (const unsigned char *)data, len, mac, &maclen) == NULL)
		return 0;
	return maclen == siglen && CRYPTO_memcmp(mac, sig, siglen) == 0;
}

/* JWS ECDSA signatures are R || S; OpenSSL wants DER. */
static int
ecdsa_der(const unsigned char *sig, size_t siglen, size_t coord, unsigned char **der,
    int *derlen)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;

	if (siglen != 2 * coord)
		return -1;
	if ((es = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(sig, (int)coord, NULL);
	s = BN_bin2bn(sig + coord, (int)coord, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	*der = NULL;
	*derlen = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? 0 : -1;
}

static int
verify_pkey(const struct jwt_key *k, int ai, const char *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = algs[ai].md ? EVP_get_digestbyname(algs[ai].md) : NULL;
	unsigned char *der = NULL;
	int derlen = 0, ok = 0;
	size_t coord = 0;

	if (ctx == NULL)
		return 0;
	if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey) != 1)
		goto out;
	switch (algs[ai].alg) {
	case JWT_PS256: case JWT_PS384: case JWT_PS512:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
			goto out;
		break;
	case JWT_RS256: case JWT_RS384: case JWT_RS512:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
			goto out;
		break;
	case JWT_ES256:
		coord = 32;
		break;
	case JWT_ES384:
		coord = 48;
		break;
	case JWT_ES512:
		coord = 66;
		break;
	default:
		break;
	}
	if (coord > 0) {
		if (ecdsa_der(sig, siglen, coord, &der, &derlen) == -1)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	}
	ok = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, len) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* A numeric date claim: -1 absent, -2 wrong type, else 0 with *v. */
static int
num_claim(const cJSON *p, const char *name, int64_t *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(p, name);

	if (j == NULL)
		return -1;
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble < 0 ||
	    j->valuedouble > 1e13)
		return -2;
	*v = (int64_t)floor(j->valuedouble);
	return 0;
}

/* A string claim copied into out: -1 absent, -2 wrong type or too long. */
static int
str_claim(const cJSON *p, const char *name, char *out, size_t outsz)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(p, name);

	if (j == NULL)
		return -1;
	if (!cJSON_IsString(j) || strlen(j->valuestring) >= outsz)
		return -2;
	memcpy(out, j->valuestring, strlen(j->valuestring) + 1);
	return 0;
}

/* Claim name, if present, in *out: 0, or -1 (and why) when it is not an array of strings. */
static int
string_array(const cJSON *p, const char *name, const cJSON **out, char *why, size_t whylen)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, name), *item;

	*out = a;
	if (a == NULL)
		return 0;
	if (cJSON_IsArray(a)) {
		cJSON_ArrayForEach(item, a)
			if (!cJSON_IsString(item))
				break;
		if (item == NULL)
			return 0;
	}
	snprintf(why, whylen, "%s must be an array of strings", name);
	return -1;
}

static enum jwt_error
claims(struct jwt_keys *ks, const cJSON *p, const cJSON *hdr, int64_t now,
    enum jwt_use use, struct jwt_claims *out, char *why, size_t whylen)
{
	const struct conf *c = ks->conf;
	const cJSON *aud, *roles, *perms, *item, *typ, *htyp;
	char scope[1024];
	int r, i, ok;

	r = num_claim(p, "exp", &out->exp);
	if (r == -1) {
		snprintf(why, whylen, "the token has no exp claim");
		return JWT_ERR_CLAIMS;
	}
	if (r == -2) {
		snprintf(why, whylen, "exp must be a number");
		return JWT_ERR_CLAIMS;
	}
	if ((r = num_claim(p, "nbf", &out->nbf)) == -2 ||
	    (r = num_claim(p, "iat", &out->iat)) == -2) {
		snprintf(why, whylen, "nbf and iat must be numbers");
		return JWT_ERR_CLAIMS;
	}
	out->has_iat = cJSON_GetObjectItemCaseSensitive(p, "iat") != NULL;
	if (str_claim(p, "sub", out->sub, sizeof(out->sub)) == -2 ||
	    str_claim(p, "jti", out->jti, sizeof(out->jti)) == -2 ||
	    str_claim(p, "fam", out->family, sizeof(out->family)) == -2 ||
	    str_claim(p, "iss", out->iss, sizeof(out->iss)) == -2) {
		snprintf(why, whylen, "sub, jti, fam and iss must be short strings");
		return JWT_ERR_CLAIMS;
	}
	if (now > out->exp + ks->leeway_s) {
		snprintf(why, whylen, "the token has expired");
		return JWT_ERR_EXPIRED;
	}
	if (cJSON_GetObjectItemCaseSensitive(p, "nbf") != NULL && now + ks->leeway_s < out->nbf) {
		snprintf(why, whylen, "the token is not valid yet");
		return JWT_ERR_NOT_YET_VALID;
	}
	if (out->has_iat && out->iat > now + ks->leeway_s) {
		snprintf(why, whylen, "the token was issued in the future");
		return JWT_ERR_CLAIMS;
	}
	if (c->jwt_issuer != NULL && strcmp(out->iss, c->jwt_issuer) != 0) {
		snprintf(why, whylen, "the token has the wrong issuer");
		return JWT_ERR_CLAIMS;
	}
	aud = cJSON_GetObjectItemCaseSensitive(p, "aud");
	if (aud != NULL && !cJSON_IsString(aud) && !cJSON_IsArray(aud)) {
		snprintf(why, whylen, "aud must be a string or an array");
		return JWT_ERR_CLAIMS;
	}
	if (c->jwt_audience != NULL) {
		ok = 0;
		if (cJSON_IsString(aud))
			ok = strcmp(aud->valuestring, c->jwt_audience) == 0;
		else if (cJSON_IsArray(aud))
			cJSON_ArrayForEach(item, aud)
				if (cJSON_IsString(item) && strcmp(item->valuestring, c->jwt_audience) == 0)
					ok = 1;
		if (!ok) {
			snprintf(why, whylen, "the token is not for this audience");
			return JWT_ERR_CLAIMS;
		}
	}
	if (string_array(p, "roles", &roles, why, whylen) == -1 ||
	    string_array(p, "permissions", &perms, why, whylen) == -1)
		return JWT_ERR_CLAIMS;
	if (roles != NULL) {
		cJSON_ArrayForEach(item, roles)
			if (out->nroles < JWT_MAX_ROLES && strlen(item->valuestring) < 32)
				snprintf(out->roles[out->nroles++], 32, "%s", item->valuestring);
	} else if ((item = cJSON_GetObjectItemCaseSensitive(p, "role")) != NULL) {
		if (!cJSON_IsString(item)) {
			snprintf(why, whylen, "role must be a string");
			return JWT_ERR_CLAIMS;
		}
		if (strlen(item->valuestring) < 32)
			snprintf(out->roles[out->nroles++], 32, "%s", item->valuestring);
	}
	cJSON_ArrayForEach(item, perms)
		if ((i = conf_perm_parse(item->valuestring)) >= 0)
			out->perm_bits |= 1u << i;
	if (str_claim(p, "scope", scope, sizeof(scope)) == 0) {
		char *save = NULL, *tok;
		for (tok = strtok_r(scope, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if ((i = conf_perm_parse(tok)) >= 0)
				out->perm_bits |= 1u << i;
	}
	typ = cJSON_GetObjectItemCaseSensitive(p, "typ");
	htyp = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
	if (typ == NULL)
		typ = cJSON_GetObjectItemCaseSensitive(p, "token_use");
	out->refresh = (cJSON_IsString(typ) && strcasecmp(typ->valuestring, "refresh") == 0) ||
	    (cJSON_IsString(htyp) && strcasecmp(htyp->valuestring, "refresh+jwt") == 0);
	if (use == JWT_USE_ACCESS && out->refresh) {
		snprintf(why, whylen, "a refresh token cannot be used for access");
		return JWT_ERR_CLAIMS;
	}
	if (use == JWT_USE_REFRESH && !out->refresh) {
		snprintf(why, whylen, "not a refresh token");
		return JWT_ERR_CLAIMS;
	}
	return JWT_OK;
}

enum jwt_error
jwt_verify(struct jwt_keys *ks, const char *token, size_t len, int64_t now, enum jwt_use use,
    struct jwt_claims *out, char *why, size_t whylen)
{
	const char *dot1, *dot2, *end = token + len;
	const cJSON *alg, *kid, *crit;
	const struct jwt_key *key = NULL;
	unsigned char sig[1024];
	size_t siglen;
	cJSON *hdr = NULL, *payload = NULL;
	enum jwt_error e = JWT_ERR_MALFORMED;
	int ai, i, candidates = 0, total = 0;

	memset(out, 0, sizeof(*out));
	if (ks == NULL) {
		snprintf(why, whylen, "no JWT keys are configured");
		return JWT_ERR_KEY;
	}
	if ((int64_t)len > ks->max_size) {
		snprintf(why, whylen, "the token is too large");
		return JWT_ERR_MALFORMED;
	}
	dot1 = (const char *)memchr(token, '.', len);
	dot2 = dot1 ? (const char *)memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1))) {
		snprintf(why, whylen, "the token is not three base64url parts");
		return JWT_ERR_MALFORMED;
	}
	if ((hdr = parse_part(token, (size_t)(dot1 - token), why, whylen, "the header")) == NULL)
		goto out;
	alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(alg)) {
		snprintf(why, whylen, "the header has no alg");
		goto out;
	}
	if ((ai = alg_index(alg->valuestring)) < 0) {
		snprintf(why, whylen, "algorithm not accepted");
		e = JWT_ERR_ALGORITHM;
		goto out;
	}
	crit = cJSON_GetObjectItemCaseSensitive(hdr, "crit");
	if (crit != NULL) {
		/* We implement no extension, so any critical one is unknown to us. */
		snprintf(why, whylen, "unsupported critical header parameter");
		e = JWT_ERR_CLAIMS;
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(hdr, "b64") != NULL) {
		snprintf(why, whylen, "unencoded payloads are not supported");
		goto out;
	}
	kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	if (kid != NULL && !cJSON_IsString(kid)) {
		snprintf(why, whylen, "kid must be a string");
		goto out;
	}
	for (i = 0; i < ks->n; i++) {
		if (ks->keys[i].signing)
			continue;
		total++;
		if (!ks->keys[i].has_kid)
			candidates++;
	}
	if (use == JWT_USE_REFRESH) {
		/* Only streamd's own signing key makes refresh tokens. */
		for (i = 0; i < ks->n && key == NULL; i++)
			if (ks->keys[i].signing && (kid == NULL ||
			    strcmp(ks->keys[i].kid, kid->valuestring) == 0))
				key = &ks->keys[i];
	} else if (kid != NULL) {
		for (i = 0; i < ks->n && key == NULL; i++)
			if (ks->keys[i].has_kid && strcmp(ks->keys[i].kid, kid->valuestring) == 0)
				key = &ks->keys[i];
		/* One key without a kid of its own: a kid on the token cannot be confused. */
		if (key == NULL && total == 1 && candidates == 1)
			for (i = 0; i < ks->n && key == NULL; i++)
				if (!ks->keys[i].signing)
					key = &ks->keys[i];
	} else if (candidates == 1) {
		for (i = 0; i < ks->n && key == NULL; i++)
			if (!ks->keys[i].signing && !ks->keys[i].has_kid)
				key = &ks->keys[i];
	} else if (total == 0) {
		/* Only the signing key: it verifies the access tokens it issued. */
		for (i = 0; i < ks->n && key == NULL; i++)
			if (ks->keys[i].signing)
				key = &ks->keys[i];
	}
	if (key == NULL) {
		snprintf(why, whylen, kid ? "unknown key id (kid)" : "the token needs a kid to "
		    "select one of several keys");
		e = JWT_ERR_KEY;
		goto out;
	}
	if (algs[ai].family != key->family || (key->alg != JWT_ALG_NONE &&
	    key->alg != algs[ai].alg)) {
		snprintf(why, whylen, "algorithm %s is not the key's", algs[ai].name);
		e = JWT_ERR_ALGORITHM;
		goto out;
	}
	if (b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), sig, sizeof(sig), &siglen) == -1 ||
	    siglen == 0) {
		snprintf(why, whylen, "the signature is not base64url");
		goto out;
	}
	if (key->family == FAM_HMAC ?
	    !verify_hmac(key, algs[ai].md, token, (size_t)(dot2 - token), sig, siglen) :
	    !verify_pkey(key, ai, token, (size_t)(dot2 - token), sig, siglen)) {
		snprintf(why, whylen, "the signature is not valid");
		e = JWT_ERR_SIGNATURE;
		goto out;
	}
	if ((payload = parse_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), why, whylen,
	    "the payload")) == NULL)
		goto out;
	e = claims(ks, payload, hdr, now, use, out, why, whylen);
	if (e == JWT_OK && use == JWT_USE_REFRESH && !key->signing) {
		snprintf(why, whylen, "refresh tokens must be signed by streamd's signing key");
		e = JWT_ERR_KEY;
	}
out:
	cJSON_Delete(hdr);
	cJSON_Delete(payload);
	return e;
}

uint32_t
jwt_claims_perms(const struct conf *c, const struct jwt_claims *cl)
{
	uint32_t perms = cl->perm_bits;
	int i;

	for (i = 0; i < cl->nroles; i++)
		perms |= conf_role_perms(c, cl->roles[i]);
	return perms;
}

int
jwt_error_metric(enum jwt_error e)
{
	switch (e) {
	case JWT_OK:
	case JWT_ERR_MALFORMED:
		return AUTH_TOKEN_MALFORMED;
	case JWT_ERR_ALGORITHM:
		return AUTH_TOKEN_ALGORITHM;
	case JWT_ERR_KEY:
		return AUTH_TOKEN_KEY;
	case JWT_ERR_SIGNATURE:
		return AUTH_TOKEN_SIGNATURE;
	case JWT_ERR_EXPIRED:
		return AUTH_TOKEN_EXPIRED;
	case JWT_ERR_NOT_YET_VALID:
		return AUTH_TOKEN_NOT_YET_VALID;
	case JWT_ERR_CLAIMS:
		return AUTH_TOKEN_CLAIMS;
	case JWT_ERR_REVOKED:
		return AUTH_TOKEN_REVOKED;
	}
	return AUTH_TOKEN_MALFORMED;
}

int
jwt_sign_hs256(const unsigned char *key, size_t keylen, const char *kid, const char *typ,
    const char *payload, char *out, size_t outsz)
{
	char header[160], *p = out;
	unsigned char mac[32];
	unsigned int maclen;
	int n;
	size_t used;

	n = snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"typ\":\"%s\",\"kid\":\"%s\"}",
	    typ, kid);
	if (n < 0 || (size_t)n >= sizeof(header))
		return -1;
	if ((n = b64url_encode((const unsigned char *)header, (size_t)n, p, outsz)) < 0)
		return -1;
	used = (size_t)n;
	if (used + 1 >= outsz)
		return -1;
	out[used++] = '.';
	if ((n = b64url_encode((const unsigned char *)payload, strlen(payload), out + used,
	    outsz - used)) < 0)
		return -1;
	used += (size_t)n;
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)out, used, mac,
	    &maclen) == NULL || used + 1 >= outsz)
		return -1;
	out[used++] = '.';
	if ((n = b64url_encode(mac, maclen, out + used, outsz - used)) < 0)
		return -1;
	return 0;
}

/*
 * sign.cpp: HMAC-SHA256 signed URLs (scheme in sign.h).
 */
/* The SHA256_* functions are deprecated in OpenSSL 3, not removed: see sign.h for why. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "pathsafe.h"
#include "sign.h"
#include "util.h"

#define BLOCK 64

int
sign_key_init(struct sign_key *k, const unsigned char *key, size_t len)
{
	unsigned char block[BLOCK], pad[BLOCK];
	size_t i;
	int ok;

	memset(k, 0, sizeof(*k));
	memset(block, 0, sizeof(block));
	if (len > BLOCK)
		SHA256(key, len, block);
	else
		memcpy(block, key, len);
	for (i = 0; i < BLOCK; i++)
		pad[i] = block[i] ^ 0x36;
	ok = SHA256_Init(&k->inner) == 1 && SHA256_Update(&k->inner, pad, BLOCK) == 1;
	for (i = 0; i < BLOCK; i++)
		pad[i] = block[i] ^ 0x5c;
	ok = ok && SHA256_Init(&k->outer) == 1 && SHA256_Update(&k->outer, pad, BLOCK) == 1;
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(pad, sizeof(pad));
	if (!ok) {
		sign_key_free(k);
		return -1;
	}
	k->ready = 1;
	return 0;
}

void
sign_key_free(struct sign_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int
sign_hmac(struct sign_key *k, const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen, unsigned char mac[SIGN_MAC_LEN])
{
	SHA256_CTX w;
	unsigned char ih[SIGN_MAC_LEN];
	int ok;

	if (!k->ready)
		return -1;
	w = k->inner;
	ok = (a == NULL || SHA256_Update(&w, a, alen) == 1) &&
	    (b == NULL || SHA256_Update(&w, b, blen) == 1) &&
	    (c == NULL || SHA256_Update(&w, c, clen) == 1) &&
	    SHA256_Final(ih, &w) == 1;
	if (ok) {
		w = k->outer;
		ok = SHA256_Update(&w, ih, sizeof(ih)) == 1 && SHA256_Final(mac, &w) == 1;
	}
	OPENSSL_cleanse(&w, sizeof(w));
	return ok ? 0 : -1;
}

int
sign_mac(struct sign_key *k, const char *path, size_t pathlen, int64_t expires,
    unsigned char mac[SIGN_MAC_LEN])
{
	char tail[24];
	int n;

	n = snprintf(tail, sizeof(tail), "|%lld", (long long)expires);
	return sign_hmac(k, path, pathlen, tail, (size_t)n, NULL, 0, mac);
}

enum sign_result
sign_check(struct sign_key *k, const char *path, size_t pathlen, const char *expires,
    const char *sig, int64_t now, int64_t leeway_s, int64_t *expires_out)
{
	unsigned char want[SIGN_MAC_LEN], got[SIGN_MAC_LEN];
	int64_t exp = 0;
	size_t i, elen;

	if (expires == NULL && sig == NULL)
		return SIGN_MISSING;
	if (expires == NULL || sig == NULL)
		return SIGN_MALFORMED;
	elen = strlen(expires);
	if (elen == 0 || elen > 18)
		return SIGN_MALFORMED;
	for (i = 0; i < elen; i++) {
		if (!isdigit((unsigned char)expires[i]))
			return SIGN_MALFORMED;
		exp = exp * 10 + (expires[i] - '0');
	}
	if (hex_decode(sig, strlen(sig), got, sizeof(got)) == -1)
		return SIGN_MALFORMED;
	/* MAC over the digits as received, so "0123" and "123" are different links. */
	{
		char tail[24];
		tail[0] = '|';
		memcpy(tail + 1, expires, elen);
		if (sign_hmac(k, path, pathlen, tail, elen + 1, NULL, 0, want) == -1)
			return SIGN_INVALID;
	}
	if (CRYPTO_memcmp(want, got, SIGN_MAC_LEN) != 0)
		return SIGN_INVALID;
	if (expires_out != NULL)
		*expires_out = exp;
	if (now > exp + leeway_s)
		return SIGN_EXPIRED;
	return SIGN_OK;
}

int
sign_url(struct sign_key *k, const char *path, size_t pathlen, int64_t expires, char *out,
    size_t outsz)
{
	unsigned char mac[SIGN_MAC_LEN];
	char hex[SIGN_HEX_LEN + 1], enc[3 * PATHSAFE_MAX + 1];
	int n;

	if (sign_mac(k, path, pathlen, expires, mac) == -1)
		return -1;
	if (pathsafe_encode(path, pathlen, enc, sizeof(enc)) == -1)
		return -1;
	hex_encode(mac, sizeof(mac), hex);
	n = snprintf(out, outsz, "/stream/%s?expires=%lld&sig=%s", enc, (long long)expires,
	    hex);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

const char *
sign_result_name(enum sign_result r)
{
	switch (r) {
	case SIGN_OK:
		return "ok";
	case SIGN_MISSING:
		return "missing";
	case SIGN_MALFORMED:
		return "malformed";
	case SIGN_INVALID:
		return "invalid_signature";
	case SIGN_EXPIRED:
		return "expired";
	}
	return "unknown";
}

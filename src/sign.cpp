/*
 * sign.cpp: HMAC-SHA256 signed URLs (scheme in sign.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pathsafe.h"
#include "sign.h"
#include "util.h"

#define BLOCK 64

static const EVP_MD *
sha256(void)
{
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md;
}

int
sign_key_init(struct sign_key *k, const unsigned char *key, size_t len)
{
	unsigned char block[BLOCK], pad[BLOCK];
	unsigned int dlen;
	EVP_MD_CTX *in = NULL, *out = NULL, *work = NULL;
	size_t i;

	memset(k, 0, sizeof(*k));
	memset(block, 0, sizeof(block));
	if (sha256() == NULL)
		return -1;
	in = EVP_MD_CTX_new();
	out = EVP_MD_CTX_new();
	work = EVP_MD_CTX_new();
	if (in == NULL || out == NULL || work == NULL)
		goto fail;
	if (len > BLOCK) {
		if (EVP_Digest(key, len, block, &dlen, sha256(), NULL) != 1)
			goto fail;
	} else {
		memcpy(block, key, len);
	}
	for (i = 0; i < BLOCK; i++)
		pad[i] = block[i] ^ 0x36;
	if (EVP_DigestInit_ex(in, sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(in, pad, BLOCK) != 1)
		goto fail;
	for (i = 0; i < BLOCK; i++)
		pad[i] = block[i] ^ 0x5c;
	if (EVP_DigestInit_ex(out, sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(out, pad, BLOCK) != 1)
		goto fail;
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(pad, sizeof(pad));
	k->inner = in;
	k->outer = out;
	k->work = work;
	return 0;
fail:
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(pad, sizeof(pad));
	EVP_MD_CTX_free(in);
	EVP_MD_CTX_free(out);
	EVP_MD_CTX_free(work);
	return -1;
}

void
sign_key_free(struct sign_key *k)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)k->inner);
	EVP_MD_CTX_free((EVP_MD_CTX *)k->outer);
	EVP_MD_CTX_free((EVP_MD_CTX *)k->work);
	memset(k, 0, sizeof(*k));
}

int
sign_hmac(struct sign_key *k, const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen, unsigned char mac[SIGN_MAC_LEN])
{
	EVP_MD_CTX *w = (EVP_MD_CTX *)k->work;
	unsigned char ih[SIGN_MAC_LEN];
	unsigned int n;

	if (w == NULL)
		return -1;
	if (EVP_MD_CTX_copy_ex(w, (EVP_MD_CTX *)k->inner) != 1)
		return -1;
	if ((a != NULL && EVP_DigestUpdate(w, a, alen) != 1) ||
	    (b != NULL && EVP_DigestUpdate(w, b, blen) != 1) ||
	    (c != NULL && EVP_DigestUpdate(w, c, clen) != 1) ||
	    EVP_DigestFinal_ex(w, ih, &n) != 1)
		return -1;
	if (EVP_MD_CTX_copy_ex(w, (EVP_MD_CTX *)k->outer) != 1 ||
	    EVP_DigestUpdate(w, ih, sizeof(ih)) != 1 ||
	    EVP_DigestFinal_ex(w, mac, &n) != 1)
		return -1;
	return 0;
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

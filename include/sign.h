/*
 * sign.h: signed, expiring stream URLs.
 *
 *   /stream/<path>?expires=<unix seconds>&sig=<64 hex>
 *   sig = lowercase hex( HMAC-SHA256( secret_key, <path> "|" <expires> ) )
 *
 * <path> is the percent-decoded path after "/stream/" without a leading slash. A client
 * mints a link in any language; in Python:
 *   hmac.new(key, f"{path}|{expires}".encode(), "sha256").hexdigest()
 * The MAC is checked before the expiry (so an expired link with a forged MAC is 403, not
 * 410) and compared in constant time. An expired, genuine link is 410 Gone: the resource
 * existed and the link did too, and asking again will not help.
 *
 * HMAC is built on OpenSSL's SHA-256 with the inner and outer key blocks hashed once at
 * start-up, so a request costs two short digest runs and no key setup. The states are
 * plain SHA256_CTX structures copied by value: OpenSSL 3's EVP_MD_CTX_copy_ex allocates
 * and frees a provider context on every copy, a third of a check's time (perf).
 */
#ifndef STREAMD_SIGN_H
#define STREAMD_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#define SIGN_MAC_LEN 32
#define SIGN_HEX_LEN 64

struct sign_key {
	SHA256_CTX      inner;  /* after (key ^ ipad) */
	SHA256_CTX      outer;  /* after (key ^ opad) */
	int             ready;
};

enum sign_result {
	SIGN_OK = 0,
	SIGN_MISSING,           /* neither expires nor sig: 401 */
	SIGN_MALFORMED,         /* one of them missing or not well-formed: 400 */
	SIGN_INVALID,           /* MAC mismatch: 403 */
	SIGN_EXPIRED            /* genuine but past expires + leeway: 410 */
};

int  sign_key_init(struct sign_key *k, const unsigned char *key, size_t len);
void sign_key_free(struct sign_key *k);
/* HMAC-SHA256 over the concatenation of up to three parts (NULL parts skipped). */
int  sign_hmac(struct sign_key *k, const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen, unsigned char mac[SIGN_MAC_LEN]);
/* MAC of "<path>|<expires>". */
int  sign_mac(struct sign_key *k, const char *path, size_t pathlen, int64_t expires,
    unsigned char mac[SIGN_MAC_LEN]);
/* expires and sig as received (decoded query values), either may be NULL. */
enum sign_result sign_check(struct sign_key *k, const char *path, size_t pathlen,
    const char *expires, const char *sig, int64_t now, int64_t leeway_s,
    int64_t *expires_out);
/* "/stream/<encoded path>?expires=N&sig=HEX" into out; -1 if it does not fit. */
int  sign_url(struct sign_key *k, const char *path, size_t pathlen, int64_t expires,
    char *out, size_t outsz);
const char *sign_result_name(enum sign_result r);

#endif

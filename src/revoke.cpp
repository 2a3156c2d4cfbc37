/*
 * revoke.cpp: shared-memory revocation set (see revoke.h).
 */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "revoke.h"
#include "shm.h"

#define STRIPES         64
#define PER_STRIPE      (REVOKE_ENTRIES / STRIPES)

struct revoke_entry {
	uint64_t        k1, k2;
	int64_t         exp;            /* 0: never used */
	uint32_t        kind;
	uint32_t        pad;
};

static struct revoke_entry *
table(void)
{
	return (struct revoke_entry *)shm_region(SHM_REGION_REVOKE, NULL);
}

size_t
revoke_shm_size(void)
{
	return sizeof(struct revoke_entry) * REVOKE_ENTRIES;
}

void
revoke_shm_init(void)
{
	struct revoke_entry *t = table();

	if (t != NULL)
		memset(t, 0, revoke_shm_size());
}

static void
key_of(int kind, const char *id, uint64_t *k1, uint64_t *k2)
{
	unsigned char md[32], k = (unsigned char)kind;
	unsigned int n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(md, 0, sizeof(md));
	if (ctx != NULL) {
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		EVP_DigestUpdate(ctx, &k, 1);
		EVP_DigestUpdate(ctx, id, strlen(id));
		EVP_DigestFinal_ex(ctx, md, &n);
		EVP_MD_CTX_free(ctx);
	}
	memcpy(k1, md, 8);
	memcpy(k2, md + 8, 8);
}

/* Find key in its stripe; *free_slot gets the first reusable slot. Caller locks. */
static struct revoke_entry *
find(struct revoke_entry *t, int kind, uint64_t k1, uint64_t k2, int64_t now,
    struct revoke_entry **free_slot)
{
	uint32_t stripe = (uint32_t)(k1 % STRIPES), home = (uint32_t)(k2 % PER_STRIPE), i;
	struct revoke_entry *base = t + (size_t)stripe * PER_STRIPE, *e;

	*free_slot = NULL;
	for (i = 0; i < PER_STRIPE; i++) {
		e = &base[(home + i) % PER_STRIPE];
		if (e->exp == 0) {
			if (*free_slot == NULL)
				*free_slot = e;
			return NULL;            /* never used: end of the probe chain */
		}
		if (e->k1 == k1 && e->k2 == k2 && e->kind == (uint32_t)kind)
			return e;
		if (e->exp < now && *free_slot == NULL)
			*free_slot = e;
	}
	return NULL;
}

static int
stripe_of(uint64_t k1)
{
	return SHM_LOCKS_REVOKE + (int)(k1 % STRIPES);
}

int
revoke_add(int kind, const char *id, int64_t exp, int64_t now)
{
	struct revoke_entry *t = table(), *e, *slot;
	uint64_t k1, k2;
	int rc = 0;

	if (t == NULL || id == NULL || *id == '\0')
		return -1;
	key_of(kind, id, &k1, &k2);
	shm_lock(stripe_of(k1));
	e = find(t, kind, k1, k2, now, &slot);
	if (e != NULL) {
		if (e->exp < exp)
			e->exp = exp;
	} else if (slot != NULL) {
		slot->k1 = k1;
		slot->k2 = k2;
		slot->kind = (uint32_t)kind;
		slot->exp = exp > 0 ? exp : 1;
	} else {
		rc = -1;
	}
	shm_unlock(stripe_of(k1));
	return rc;
}

int
revoke_has(int kind, const char *id, int64_t now)
{
	struct revoke_entry *t = table(), *e, *slot;
	uint64_t k1, k2;
	int found;

	if (t == NULL || id == NULL || *id == '\0')
		return 0;
	key_of(kind, id, &k1, &k2);
	shm_lock(stripe_of(k1));
	e = find(t, kind, k1, k2, now, &slot);
	found = e != NULL && e->exp >= now;
	shm_unlock(stripe_of(k1));
	return found;
}

int
revoke_mark_used(const char *jti, int64_t exp, int64_t now)
{
	struct revoke_entry *t = table(), *e, *slot;
	uint64_t k1, k2;
	int rc;

	if (t == NULL || jti == NULL || *jti == '\0')
		return -1;
	key_of(REVOKE_REFRESH_USED, jti, &k1, &k2);
	shm_lock(stripe_of(k1));
	e = find(t, REVOKE_REFRESH_USED, k1, k2, now, &slot);
	if (e != NULL && e->exp >= now) {
		rc = 1;
	} else if (e != NULL || slot != NULL) {
		if (e == NULL)
			e = slot;
		e->k1 = k1;
		e->k2 = k2;
		e->kind = REVOKE_REFRESH_USED;
		e->exp = exp > now ? exp : now + 1;
		rc = 0;
	} else {
		rc = -1;
	}
	shm_unlock(stripe_of(k1));
	return rc;
}

int
revoke_is_revoked(const char *jti, const char *family, int64_t iat)
{
	int64_t now = (int64_t)time(NULL);

	(void)iat;
	if (jti != NULL && *jti && revoke_has(REVOKE_JTI, jti, now))
		return 1;
	if (family != NULL && *family && revoke_has(REVOKE_FAMILY, family, now))
		return 1;
	return 0;
}

int
revoke_purge(int64_t now)
{
	static struct revoke_entry live[PER_STRIPE];
	struct revoke_entry *t = table(), *base, *slot;
	int s, i, n, total = 0;

	if (t == NULL)
		return 0;
	for (s = 0; s < STRIPES; s++) {
		base = t + (size_t)s * PER_STRIPE;
		shm_lock(SHM_LOCKS_REVOKE + s);
		n = 0;
		for (i = 0; i < PER_STRIPE; i++)
			if (base[i].exp >= now)
				live[n++] = base[i];
		memset(base, 0, sizeof(*base) * PER_STRIPE);
		for (i = 0; i < n; i++) {
			if (find(t, (int)live[i].kind, live[i].k1, live[i].k2, now, &slot) == NULL &&
			    slot != NULL)
				*slot = live[i];
		}
		shm_unlock(SHM_LOCKS_REVOKE + s);
		total += n;
	}
	return total;
}

/*
 * revoke.h: the revocation set every worker consults, kept in shared memory so that a
 * revocation made by one worker is in force in all of them at once. Entries are
 * revoked token ids (jti), revoked refresh-token families, and refresh tokens already
 * used (single use). The collector persists them in SQLite and loads them back at start.
 *
 * Keys are the first 128 bits of SHA-256(kind || id); a fixed table of REVOKE_ENTRIES
 * with 64 locked stripes and linear probing inside a stripe. Expired entries are reused.
 */
#ifndef STREAMD_REVOKE_H
#define STREAMD_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#define REVOKE_ENTRIES  65536

enum revoke_kind {
	REVOKE_JTI = 1,
	REVOKE_FAMILY = 2,
	REVOKE_REFRESH_USED = 3
};

size_t revoke_shm_size(void);
void revoke_shm_init(void);

/* Add (or extend) an entry; -1 if its stripe is full of live entries. */
int  revoke_add(int kind, const char *id, int64_t exp, int64_t now);
int  revoke_has(int kind, const char *id, int64_t now);
/* Mark a refresh token used: 0 if it was fresh, 1 if it had been used already, -1 full. */
int  revoke_mark_used(const char *jti, int64_t exp, int64_t now);
/* A token with this jti / family is revoked (empty strings are ignored). */
int  revoke_is_revoked(const char *jti, const char *family, int64_t iat);
/* Drop expired entries (rebuilds each stripe). Returns live entries. */
int  revoke_purge(int64_t now);

#endif

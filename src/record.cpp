/*
 * record.cpp: analytics record encoding and decoding (format in record.h).
 */
#include <string.h>

#include "record.h"

#define STR_MAX         1024

struct wbuf {
	unsigned char  *p;
	size_t          len, cap;
	int             overflow;
};

static void
put(struct wbuf *b, const void *v, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void
put_str(struct wbuf *b, const char *s, size_t n)
{
	uint16_t l;

	if (s == NULL)
		n = 0;
	if (n > STR_MAX)
		n = STR_MAX;
	l = (uint16_t)n;
	put(b, &l, sizeof(l));
	if (n > 0)
		put(b, s, n);
}

static size_t
finish(struct wbuf *b)
{
	uint16_t l;

	if (b->overflow || b->len > UINT16_MAX)
		return 0;
	l = (uint16_t)b->len;
	memcpy(b->p, &l, sizeof(l));
	return b->len;
}

size_t
analytics_encode_access(const struct analytics_access *a, unsigned char *out, size_t outsz)
{
	struct wbuf b = { out, 2, outsz, 0 };
	uint8_t type = ANALYTICS_ACCESS;

	if (outsz < 2)
		return 0;
	put(&b, &type, 1);
	put(&b, &a->ts_ms, 8);
	put(&b, &a->duration_us, 4);
	put(&b, &a->status, 2);
	put(&b, &a->flags, 1);
	put(&b, &a->family, 1);
	put(&b, a->addr, 16);
	put(&b, &a->bytes, 8);
	put(&b, &a->range_start, 8);
	put(&b, &a->range_end, 8);
	put(&b, &a->file_size, 8);
	put_str(&b, a->subject, a->subject_len);
	put_str(&b, a->path, a->path_len);
	put_str(&b, a->user_agent, a->user_agent_len);
	put_str(&b, a->referrer, a->referrer_len);
	return finish(&b);
}

size_t
analytics_encode_revoke(const struct analytics_revoke *r, unsigned char *out, size_t outsz)
{
	struct wbuf b = { out, 2, outsz, 0 };
	uint8_t type = ANALYTICS_REVOKE;

	if (outsz < 2)
		return 0;
	put(&b, &type, 1);
	put(&b, &r->kind, 1);
	put(&b, &r->exp, 8);
	put_str(&b, r->id, r->id_len);
	return finish(&b);
}

struct rbuf {
	const unsigned char *p;
	size_t          len, pos;
	int             bad;
};

static void
get(struct rbuf *b, void *v, size_t n)
{
	if (b->pos + n > b->len) {
		b->bad = 1;
		memset(v, 0, n);
		return;
	}
	memcpy(v, b->p + b->pos, n);
	b->pos += n;
}

static void
get_str(struct rbuf *b, const char **s, uint16_t *n)
{
	get(b, n, sizeof(*n));
	if (b->bad || b->pos + *n > b->len) {
		b->bad = 1;
		*s = NULL;
		*n = 0;
		return;
	}
	*s = (const char *)b->p + b->pos;
	b->pos += *n;
}

int
analytics_decode(const unsigned char *buf, size_t len,
    void (*on_access)(const struct analytics_access *, void *),
    void (*on_revoke)(const struct analytics_revoke *, void *), void *arg)
{
	struct analytics_access a;
	struct analytics_revoke r;
	struct rbuf b;
	uint16_t count, reclen;
	size_t pos = 8;
	uint8_t type;
	int i;

	if (len < 8 || memcmp(buf, ANALYTICS_MAGIC, 4) != 0)
		return -1;
	memcpy(&count, buf + 4, 2);
	for (i = 0; i < count; i++) {
		if (pos + 3 > len)
			return -1;
		memcpy(&reclen, buf + pos, 2);
		if (reclen < 3 || pos + reclen > len)
			return -1;
		b.p = buf + pos;
		b.len = reclen;
		b.pos = 2;
		b.bad = 0;
		get(&b, &type, 1);
		if (type == ANALYTICS_ACCESS) {
			memset(&a, 0, sizeof(a));
			get(&b, &a.ts_ms, 8);
			get(&b, &a.duration_us, 4);
			get(&b, &a.status, 2);
			get(&b, &a.flags, 1);
			get(&b, &a.family, 1);
			get(&b, a.addr, 16);
			get(&b, &a.bytes, 8);
			get(&b, &a.range_start, 8);
			get(&b, &a.range_end, 8);
			get(&b, &a.file_size, 8);
			get_str(&b, &a.subject, &a.subject_len);
			get_str(&b, &a.path, &a.path_len);
			get_str(&b, &a.user_agent, &a.user_agent_len);
			get_str(&b, &a.referrer, &a.referrer_len);
			if (b.bad)
				return -1;
			if (on_access != NULL)
				on_access(&a, arg);
		} else if (type == ANALYTICS_REVOKE) {
			memset(&r, 0, sizeof(r));
			get(&b, &r.kind, 1);
			get(&b, &r.exp, 8);
			get_str(&b, &r.id, &r.id_len);
			if (b.bad)
				return -1;
			if (on_revoke != NULL)
				on_revoke(&r, arg);
		}
		/* Unknown types are skipped: a newer worker may talk to an older collector. */
		pos += reclen;
	}
	return count;
}

/* Offsets of the fields analytics_settle() rewrites (see the format in analytics.h). */
#define OFF_FLAGS   (2 + 1 + 8 + 4 + 2)
#define OFF_BYTES   (OFF_FLAGS + 1 + 1 + 16)

void
analytics_settle(unsigned char *rec, uint64_t sent, int aborted)
{
	if (aborted)
		rec[OFF_FLAGS] |= ANALYTICS_F_ABORTED;
	memcpy(rec + OFF_BYTES, &sent, sizeof(sent));
}


/*
 * authapi.cpp: POST /auth/sign, /auth/refresh and /auth/revoke (see authapi.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "analytics.h"
#include "auth.h"
#include "authapi.h"
#include "conn.h"
#include "filecache.h"
#include "http.h"
#include "jwt.h"
#include "metrics.h"
#include "mime.h"
#include "pathsafe.h"
#include "query.h"
#include "revoke.h"
#include "sign.h"
#include "util.h"
#include "worker.h"

#define BODY_MAX   (64 * 1024)
#define TOKEN_MAX  8192

/* The request body as a NUL-terminated string (NULL if too large). */
static char *
body_text(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *s;

	if (n > BODY_MAX || (s = (char *)malloc(n + 1)) == NULL)
		return NULL;
	evbuffer_copyout(in, s, n);
	s[n] = '\0';
	*len = n;
	return s;
}

static int
is_form(struct evhttp_request *req)
{
	const char *ct = http_in(req, "Content-Type");

	return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/*
 * Field name of the body (JSON object member or form field) into out.
 * 0 found, 1 missing, -1 malformed body or wrong type.
 */
static int
field(struct evhttp_request *req, cJSON *json, const char *body, const char *name,
    char *out, size_t outsz)
{
	const cJSON *v;
	size_t n;

	if (json == NULL) {
		switch (query_get(body, name, out, outsz, &n)) {
		case QUERY_FOUND:
			return 0;
		case QUERY_MISSING:
			return 1;
		default:
			return -1;
		}
	}
	(void)req;
	v = cJSON_GetObjectItemCaseSensitive(json, name);
	if (v == NULL)
		return 1;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outsz)
		return -1;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* Parse the body as JSON (or a form); *json NULL for forms. -1 after answering 400. */
static int
read_body(struct worker *w, struct conn *c, struct evhttp_request *req, char **body,
    cJSON **json)
{
	size_t len = 0;

	*json = NULL;
	if ((*body = body_text(req, &len)) == NULL) {
		http_error(w, c, req, 413, "payload_too_large", "request body too large");
		return -1;
	}
	if (is_form(req))
		return 0;
	*json = cJSON_ParseWithLength(*body, len);
	if (*json == NULL || !cJSON_IsObject(*json)) {
		cJSON_Delete(*json);
		*json = NULL;
		free(*body);
		*body = NULL;
		http_error(w, c, req, 400, "bad_request", "the body must be a JSON object");
		return -1;
	}
	return 0;
}

static void
random_id(char out[33])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	hex_encode(r, sizeof(r), out);
}

/* A stable id for a token that has no jti: the hash of its signature. */
static void
token_id(const char *token, char out[33])
{
	unsigned char md[32];
	unsigned int n;

	EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
	hex_encode(md, 16, out);
}

/* ---------------------------------------------------------------- /auth/sign */

static void
auth_sign(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	struct auth_result a;
	const struct filecache_file *f;
	char path[PATHSAFE_MAX + 1], url[4 * PATHSAFE_MAX + 160], json[4 * PATHSAFE_MAX + 256];
	char *body = NULL, ttl_s[32];
	cJSON *j = NULL;
	int64_t now = worker_now_ms(w) / 1000, ttl = w->conf->auth_sign_ttl / 1000, expires;
	int hit, r;

	if (auth_bearer(w, c, req, PERM_STREAM, &a) == -1)
		return;
	if (read_body(w, c, req, &body, &j) == -1)
		return;
	r = field(req, j, body, "path", path, sizeof(path));
	if (r == 0 && path[0] == '/')
		memmove(path, path + 1, strlen(path));
	if (r != 0 || pathsafe_check(path, strlen(path)) != PATHSAFE_OK ||
	    mime_type(path, strlen(path)) == NULL) {
		http_error(w, c, req, 400, "bad_request",
		    "path must name an audio file under the audio root");
		goto out;
	}
	if (field(req, j, body, "expires_in", ttl_s, sizeof(ttl_s)) == 0 ||
	    (j != NULL && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "expires_in")))) {
		const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, "expires_in") : NULL;
		int64_t want = v && cJSON_IsNumber(v) ? (int64_t)v->valuedouble : atoll(ttl_s);
		if (want >= 1 && want < ttl)
			ttl = want;
	}
	if (filecache_get(w->fc, path, strlen(path), worker_now_ms(w), &f, &hit) !=
	    FILECACHE_OK) {
		http_error(w, c, req, 404, "not_found", "no such file");
		goto out;
	}
	filecache_release(w->fc, f);
	/* A link never outlives the token that asked for it. */
	expires = now + ttl;
	if (a.expires > 0 && expires > a.expires)
		expires = a.expires;
	if (sign_url(&w->key, path, strlen(path), expires, url, sizeof(url)) == -1) {
		http_error(w, c, req, 500, "internal_error", "cannot sign the URL");
		goto out;
	}
	snprintf(json, sizeof(json), "{\"url\":\"%s\",\"expires\":%lld,\"expires_in\":%lld}\n",
	    url, (long long)expires, (long long)(expires - now));
	http_json(w, c, req, 200, json, strlen(json));
out:
	cJSON_Delete(j);
	free(body);
}

/* ---------------------------------------------------------------- /auth/refresh */

static int
mint(struct worker *w, const struct jwt_claims *cl, const char *family, int refresh,
    int64_t now, int64_t ttl, char *out, size_t outsz, char *jti_out)
{
	cJSON *p = cJSON_CreateObject(), *roles;
	char kid[17], jti[33];
	char *text;
	int i, rc;

	if (p == NULL)
		return -1;
	random_id(jti);
	if (jti_out != NULL)
		memcpy(jti_out, jti, sizeof(jti));
	if (cl->sub[0])
		cJSON_AddStringToObject(p, "sub", cl->sub);
	if (w->conf->jwt_issuer != NULL)
		cJSON_AddStringToObject(p, "iss", w->conf->jwt_issuer);
	if (w->conf->jwt_audience != NULL)
		cJSON_AddStringToObject(p, "aud", w->conf->jwt_audience);
	cJSON_AddNumberToObject(p, "iat", (double)now);
	cJSON_AddNumberToObject(p, "exp", (double)(now + ttl));
	cJSON_AddStringToObject(p, "jti", jti);
	cJSON_AddStringToObject(p, "fam", family);
	roles = cJSON_AddArrayToObject(p, "roles");
	for (i = 0; i < cl->nroles; i++)
		cJSON_AddItemToArray(roles, cJSON_CreateString(cl->roles[i]));
	if (cl->perm_bits != 0) {
		cJSON *perms = cJSON_AddArrayToObject(p, "permissions");
		for (i = 0; i < PERM_COUNT; i++)
			if (cl->perm_bits & (1u << i))
				cJSON_AddItemToArray(perms, cJSON_CreateString(conf_perm_name(i)));
	}
	if (refresh)
		cJSON_AddStringToObject(p, "typ", "refresh");
	text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (text == NULL)
		return -1;
	jwt_signing_kid(w->conf->jwt_signing_key, w->conf->jwt_signing_key_len, kid);
	rc = jwt_sign_hs256(w->conf->jwt_signing_key, w->conf->jwt_signing_key_len, kid,
	    refresh ? "refresh+jwt" : "JWT", text, out, outsz);
	free(text);
	return rc;
}

static void
auth_refresh(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	struct jwt_claims cl;
	enum jwt_error e;
	char token[TOKEN_MAX], why[160], jti[100], family[100], new_jti[33];
	char access[TOKEN_MAX], refresh[TOKEN_MAX], *json = NULL, *body = NULL;
	cJSON *j = NULL;
	int64_t now = worker_now_ms(w) / 1000;
	int r, used;
	size_t cap;

	if (w->conf->jwt_signing_key == NULL || w->jwt == NULL) {
		http_error(w, c, req, 404, "not_found",
		    "token refresh is not configured (jwt_signing_key)");
		return;
	}
	if (read_body(w, c, req, &body, &j) == -1)
		return;
	r = field(req, j, body, "refresh_token", token, sizeof(token));
	if (r != 0) {
		http_error(w, c, req, 400, "invalid_request", "refresh_token is required");
		goto out;
	}
	e = jwt_verify(w->jwt, token, strlen(token), now, JWT_USE_REFRESH, &cl, why, sizeof(why));
	if (e != JWT_OK) {
		METRIC_ADD(w->m->auth_failures[jwt_error_metric(e)], 1);
		auth_deny(w, c, req, 401, "invalid_token", why);
		goto out;
	}
	if (cl.jti[0])
		snprintf(jti, sizeof(jti), "%s", cl.jti);
	else
		token_id(token, jti);
	snprintf(family, sizeof(family), "%s", cl.family[0] ? cl.family : jti);
	if (revoke_has(REVOKE_FAMILY, family, now) || revoke_has(REVOKE_JTI, jti, now)) {
		METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_REVOKED], 1);
		auth_deny(w, c, req, 401, "invalid_token", "the refresh token has been revoked");
		goto out;
	}
	used = revoke_mark_used(jti, cl.exp + w->conf->jwt_leeway / 1000, now);
	if (used == 1) {
		/* A rotated token came back: someone holds a stolen copy. Kill the family. */
		revoke_add(REVOKE_FAMILY, family, now + w->conf->jwt_refresh_ttl / 1000, now);
		analytics_revocation(w, REVOKE_FAMILY, family,
		    now + w->conf->jwt_refresh_ttl / 1000);
		METRIC_ADD(w->m->auth_failures[AUTH_REFRESH_REUSE], 1);
		METRIC_ADD(w->m->tokens_revoked, 1);
		auth_deny(w, c, req, 401, "invalid_token",
		    "refresh token reuse detected; the whole token family is revoked");
		goto out;
	}
	if (used == -1) {
		http_error(w, c, req, 503, "unavailable", "revocation table full");
		goto out;
	}
	analytics_revocation(w, REVOKE_REFRESH_USED, jti, cl.exp + w->conf->jwt_leeway / 1000);
	if (mint(w, &cl, family, 0, now, w->conf->jwt_access_ttl / 1000, access, sizeof(access),
	    NULL) == -1 ||
	    mint(w, &cl, family, 1, now, w->conf->jwt_refresh_ttl / 1000, refresh,
	    sizeof(refresh), new_jti) == -1) {
		http_error(w, c, req, 500, "internal_error", "cannot issue tokens");
		goto out;
	}
	METRIC_ADD(w->m->tokens_issued, 2);
	if (cl.sub[0] && c != NULL)
		snprintf(c->r.subject, sizeof(c->r.subject), "%s", cl.sub);
	cap = strlen(access) + strlen(refresh) + 256;
	if ((json = (char *)malloc(cap)) == NULL) {
		http_error(w, c, req, 500, "internal_error", "out of memory");
		goto out;
	}
	snprintf(json, cap, "{\"access_token\":\"%s\",\"token_type\":\"Bearer\","
	    "\"expires_in\":%lld,\"refresh_token\":\"%s\",\"refresh_expires_in\":%lld}\n",
	    access, (long long)(w->conf->jwt_access_ttl / 1000), refresh,
	    (long long)(w->conf->jwt_refresh_ttl / 1000));
	http_json(w, c, req, 200, json, strlen(json));
	OPENSSL_cleanse(json, cap);
out:
	OPENSSL_cleanse(token, sizeof(token));
	free(json);
	cJSON_Delete(j);
	free(body);
}

/* ---------------------------------------------------------------- /auth/revoke */

static void
revoke_one(struct worker *w, int kind, const char *id, int64_t exp, int64_t now)
{
	revoke_add(kind, id, exp, now);
	analytics_revocation(w, kind, id, exp);
	METRIC_ADD(w->m->tokens_revoked, 1);
}

static void
auth_revoke(struct worker *w, struct conn *c, struct evhttp_request *req)
{
	struct auth_result caller;
	struct jwt_claims cl;
	enum jwt_error e;
	char token[TOKEN_MAX], why[160], id[100], fam[100], json[400];
	char *body = NULL;
	cJSON *j = NULL;
	int64_t now = worker_now_ms(w) / 1000, keep = w->conf->jwt_refresh_ttl / 1000;
	int have_token, have_jti, have_fam, n = 0;

	if (w->jwt == NULL) {
		http_error(w, c, req, 404, "not_found", "tokens are not configured");
		return;
	}
	if (read_body(w, c, req, &body, &j) == -1)
		return;
	have_token = field(req, j, body, "token", token, sizeof(token));
	if (have_token == 1)
		have_token = field(req, j, body, "refresh_token", token, sizeof(token));
	have_jti = field(req, j, body, "jti", id, sizeof(id));
	have_fam = field(req, j, body, "family", fam, sizeof(fam));
	if (have_token < 0 || have_jti < 0 || have_fam < 0 ||
	    (have_token != 0 && have_jti != 0 && have_fam != 0)) {
		http_error(w, c, req, 400, "invalid_request",
		    "give the token to revoke (token), or a jti or family");
		goto out;
	}
	if (have_token == 0) {
		/* Holding the token is the right to revoke it (logout). Expired is fine. */
		e = jwt_verify(w->jwt, token, strlen(token), now, JWT_USE_ACCESS, &cl, why,
		    sizeof(why));
		if (e == JWT_ERR_CLAIMS && strstr(why, "refresh") != NULL)
			e = jwt_verify(w->jwt, token, strlen(token), now, JWT_USE_REFRESH, &cl, why,
			    sizeof(why));
		if (e != JWT_OK && e != JWT_ERR_EXPIRED) {
			METRIC_ADD(w->m->auth_failures[jwt_error_metric(e)], 1);
			auth_deny(w, c, req, 401, "invalid_token", why);
			goto out;
		}
		if (cl.jti[0] == '\0')
			token_id(token, cl.jti);
		if (e == JWT_OK) {
			revoke_one(w, REVOKE_JTI, cl.jti, cl.exp + w->conf->jwt_leeway / 1000, now);
			n++;
			if (cl.family[0]) {
				revoke_one(w, REVOKE_FAMILY, cl.family, now + keep, now);
				n++;
			}
		}
		snprintf(json, sizeof(json), "{\"revoked\":%d}\n", n);
		http_json(w, c, req, 200, json, strlen(json));
		goto out;
	}
	/* By id: the caller's own token family, or anything for system_admin. */
	if (auth_bearer(w, c, req, -1, &caller) == -1)
		goto out;
	if (!(caller.perms & (1u << PERM_SYSTEM_ADMIN)) &&
	    !(have_jti == 0 && strcmp(id, caller.jti) == 0) &&
	    !(have_fam == 0 && caller.family[0] && strcmp(fam, caller.family) == 0)) {
		METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_SCOPE], 1);
		auth_deny(w, c, req, 403, "insufficient_scope",
		    "revoking other tokens needs system_admin");
		goto out;
	}
	if (have_jti == 0) {
		revoke_one(w, REVOKE_JTI, id, now + keep, now);
		n++;
	}
	if (have_fam == 0) {
		revoke_one(w, REVOKE_FAMILY, fam, now + keep, now);
		n++;
	}
	snprintf(json, sizeof(json), "{\"revoked\":%d}\n", n);
	http_json(w, c, req, 200, json, strlen(json));
out:
	OPENSSL_cleanse(token, sizeof(token));
	cJSON_Delete(j);
	free(body);
}

void
authapi_handle(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *what)
{
	if (strcmp(what, "sign") == 0)
		auth_sign(w, c, req);
	else if (strcmp(what, "refresh") == 0)
		auth_refresh(w, c, req);
	else
		auth_revoke(w, c, req);
}

/*
 * auth.cpp: credential checks for the routes (see auth.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "conf.h"
#include "conn.h"
#include "http.h"
#include "jwt.h"
#include "metrics.h"
#include "query.h"
#include "revoke.h"
#include "sign.h"
#include "worker.h"

void
auth_deny(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    const char *error, const char *description)
{
	char chal[512], esc[256];
	const char *code;

	if (status == 401) {
		if (error != NULL) {
			/* RFC 6750 3: quoted-string values; keep them free of quotes. */
			http_json_escape(description, esc, sizeof(esc));
			for (char *p = esc; *p; p++)
				if (*p == '"' || *p == '\\')
					*p = '\'';
			snprintf(chal, sizeof(chal), "Bearer realm=\"streamd\", error=\"%s\", "
			    "error_description=\"%s\"", error, esc);
		} else {
			snprintf(chal, sizeof(chal), "Bearer realm=\"streamd\"");
		}
		http_out(req, "WWW-Authenticate", chal);
	} else if (status == 403 && error != NULL && strcmp(error, "insufficient_scope") == 0) {
		snprintf(chal, sizeof(chal), "Bearer realm=\"streamd\", error=\"insufficient_scope\"");
		http_out(req, "WWW-Authenticate", chal);
	}
	code = error != NULL ? error : "unauthorized";
	http_error(w, c, req, status, code, description);
}

/* Authorization: Bearer <token>, or NULL. Sets *bad if the header is not Bearer. */
static const char *
bearer_of(struct evhttp_request *req, int *bad)
{
	const char *h = http_in_hdr(req, HDR_AUTHORIZATION);

	*bad = 0;
	if (h == NULL)
		return NULL;
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		*bad = 1;
		return NULL;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (*h == '\0') {
		*bad = 1;
		return NULL;
	}
	return h;
}

/* Validate token; 0 with out filled, or -1 after answering 401. */
static int
check_token(struct worker *w, struct conn *c, struct evhttp_request *req, const char *token,
    struct auth_result *out)
{
	struct jwt_claims claims;
	enum jwt_error e;
	char why[160];

	if (w->jwt == NULL) {
		METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_KEY], 1);
		auth_deny(w, c, req, 401, "invalid_token", "token validation is not configured");
		return -1;
	}
	e = jwt_verify(w->jwt, token, strlen(token), worker_now_ms(w) / 1000, JWT_USE_ACCESS,
	    &claims, why, sizeof(why));
	if (e == JWT_OK && revoke_is_revoked(claims.jti, claims.family, claims.iat)) {
		e = JWT_ERR_REVOKED;
		snprintf(why, sizeof(why), "token has been revoked");
	}
	if (e != JWT_OK) {
		METRIC_ADD(w->m->auth_failures[jwt_error_metric(e)], 1);
		auth_deny(w, c, req, 401, "invalid_token", why);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->kind = AUTH_KIND_TOKEN;
	out->perms = jwt_claims_perms(w->conf, &claims);
	snprintf(out->subject, sizeof(out->subject), "%s", claims.sub);
	snprintf(out->jti, sizeof(out->jti), "%s", claims.jti);
	snprintf(out->family, sizeof(out->family), "%s", claims.family);
	out->expires = claims.exp;
	if (c != NULL)
		snprintf(c->r.subject, sizeof(c->r.subject), "%s", claims.sub);
	return 0;
}

static int
require(struct worker *w, struct conn *c, struct evhttp_request *req,
    const struct auth_result *a, uint32_t any_of, const char *what)
{
	char msg[128];

	if (a->perms & any_of)
		return 0;
	METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_SCOPE], 1);
	snprintf(msg, sizeof(msg), "the token does not grant %s", what);
	auth_deny(w, c, req, 403, "insufficient_scope", msg);
	return -1;
}

int
auth_bearer(struct worker *w, struct conn *c, struct evhttp_request *req, int perm,
    struct auth_result *out)
{
	const char *tok;
	int bad;

	tok = bearer_of(req, &bad);
	if (tok == NULL) {
		if (bad) {
			METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_MALFORMED], 1);
			auth_deny(w, c, req, 401, "invalid_request",
			    "Authorization must be \"Bearer <token>\"");
		} else {
			auth_deny(w, c, req, 401, NULL, "a bearer token is required");
		}
		return -1;
	}
	if (check_token(w, c, req, tok, out) == -1)
		return -1;
	if (perm >= 0)
		return require(w, c, req, out, 1u << perm, conf_perm_name(perm));
	return 0;
}

int
auth_stream(struct worker *w, struct conn *c, struct evhttp_request *req, const char *path,
    size_t pathlen, const char *query, struct auth_result *out)
{
	char expires[32], sig[80], token[8192];
	struct query_param qp[3] = {
		{ "access_token", token, sizeof(token), 0, QUERY_MISSING },
		{ "expires", expires, sizeof(expires), 0, QUERY_MISSING },
		{ "sig", sig, sizeof(sig), 0, QUERY_MISSING },
	};
	enum query_result qe, qs, qt;
	enum sign_result sr;
	const char *bearer;
	int64_t exp = 0;
	int bad;

	memset(out, 0, sizeof(*out));
	bearer = bearer_of(req, &bad);
	if (bearer != NULL || bad)
		return auth_bearer(w, c, req, PERM_STREAM, out);

	query_find(query, qp, 3);               /* one pass for the three */
	qt = qp[0].result;
	qe = qp[1].result;
	qs = qp[2].result;
	if (qt != QUERY_MISSING) {
		if (!w->conf->access_token_query) {
			METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_MALFORMED], 1);
			auth_deny(w, c, req, 401, "invalid_request",
			    "tokens in the query string are disabled (access_token_query off)");
			return -1;
		}
		if (qt == QUERY_BAD) {
			METRIC_ADD(w->m->auth_failures[AUTH_TOKEN_MALFORMED], 1);
			auth_deny(w, c, req, 401, "invalid_request", "malformed access_token");
			return -1;
		}
		if (check_token(w, c, req, token, out) == -1)
			return -1;
		OPENSSL_cleanse(token, sizeof(token));
		return require(w, c, req, out, 1u << PERM_STREAM, "stream");
	}

	if (qe == QUERY_BAD || qs == QUERY_BAD)
		sr = SIGN_MALFORMED;
	else
		sr = sign_check(&w->key, path, pathlen, qe == QUERY_FOUND ? expires : NULL,
		    qs == QUERY_FOUND ? sig : NULL, worker_now_ms(w) / 1000,
		    w->conf->signature_leeway / 1000, &exp);
	switch (sr) {
	case SIGN_OK:
		out->kind = AUTH_KIND_SIGNED;
		out->perms = 1u << PERM_STREAM;
		out->expires = exp;
		return 0;
	case SIGN_MISSING:
		METRIC_ADD(w->m->auth_failures[AUTH_SIG_MISSING], 1);
		auth_deny(w, c, req, 401, NULL,
		    "a signed URL (expires, sig) or a bearer token is required");
		return -1;
	case SIGN_MALFORMED:
		METRIC_ADD(w->m->auth_failures[AUTH_SIG_MALFORMED], 1);
		http_error(w, c, req, 400, "bad_request",
		    "expires must be unix seconds and sig 64 hex digits, each given once");
		return -1;
	case SIGN_INVALID:
		METRIC_ADD(w->m->auth_failures[AUTH_SIG_INVALID], 1);
		http_error(w, c, req, 403, "invalid_signature", "the signature does not match");
		return -1;
	case SIGN_EXPIRED:
		METRIC_ADD(w->m->auth_failures[AUTH_SIG_EXPIRED], 1);
		http_error(w, c, req, 410, "expired", "the signed URL has expired");
		return -1;
	}
	return -1;
}

int
auth_admin(struct worker *w, struct conn *c, struct evhttp_request *req, const char *query,
    struct auth_result *out)
{
	const char *bearer;
	char tok[1024];
	size_t tlen;
	enum query_result q;
	int bad;

	memset(out, 0, sizeof(*out));
	bearer = bearer_of(req, &bad);
	q = query_get(query, "token", tok, sizeof(tok), &tlen);
	if (w->conf->admin_token != NULL) {
		const char *given = bearer != NULL ? bearer : (q == QUERY_FOUND ? tok : NULL);
		size_t alen = strlen(w->conf->admin_token);
		if (given != NULL && strlen(given) == alen &&
		    CRYPTO_memcmp(given, w->conf->admin_token, alen) == 0) {
			out->kind = AUTH_KIND_ADMIN;
			out->perms = (1u << PERM_VIEW_ANALYTICS) | (1u << PERM_SYSTEM_ADMIN);
			snprintf(out->subject, sizeof(out->subject), "admin");
			if (c != NULL)
				snprintf(c->r.subject, sizeof(c->r.subject), "admin");
			OPENSSL_cleanse(tok, sizeof(tok));
			return 0;
		}
		/* Not the admin token: it may still be a JWT with the right role. */
		if (bearer == NULL || w->jwt == NULL || strchr(bearer, '.') == NULL) {
			OPENSSL_cleanse(tok, sizeof(tok));
			if (given != NULL || bad) {
				METRIC_ADD(w->m->auth_failures[AUTH_ADMIN_TOKEN], 1);
				auth_deny(w, c, req, 401, "invalid_token",
				    "the admin token is not valid");
			} else {
				auth_deny(w, c, req, 401, NULL, "an admin token is required");
			}
			return -1;
		}
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	if (auth_bearer(w, c, req, -1, out) == -1)
		return -1;
	return require(w, c, req, out, (1u << PERM_VIEW_ANALYTICS) | (1u << PERM_SYSTEM_ADMIN),
	    "view_analytics or system_admin");
}

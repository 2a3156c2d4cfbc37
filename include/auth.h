/*
 * auth.h: who may do what. Turns the credentials of a request (signed URL, JWT bearer
 * token, access_token query parameter, admin token) into a subject and a permission set,
 * and answers 400/401/403/410 itself when they do not suffice. Failures follow RFC 6750
 * (WWW-Authenticate: Bearer error="...") and never echo the credential.
 */
#ifndef STREAMD_AUTH_H
#define STREAMD_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;
struct evhttp_request;

enum auth_kind {
	AUTH_KIND_NONE = 0,
	AUTH_KIND_SIGNED,       /* signed URL */
	AUTH_KIND_TOKEN,        /* JWT */
	AUTH_KIND_ADMIN         /* the admin_token directive */
};

struct auth_result {
	enum auth_kind  kind;
	uint32_t        perms;          /* bits of enum conf_perm */
	char            subject[128];
	char            jti[96];
	char            family[96];
	int64_t         expires;        /* unix seconds the credential ends, 0 unknown */
};

/* /stream: returns 0 if allowed (out filled), -1 if an error response was sent. */
int auth_stream(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *path, size_t pathlen, const char *query, struct auth_result *out);
/* /admin/ routes: admin_token, or a token with view_analytics or system_admin. */
int auth_admin(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *query, struct auth_result *out);
/* A valid bearer token carrying perm (or any token if perm < 0). */
int auth_bearer(struct worker *w, struct conn *c, struct evhttp_request *req, int perm,
    struct auth_result *out);

/* Send 401 with a Bearer challenge (error may be NULL for "no credentials"). */
void auth_deny(struct worker *w, struct conn *c, struct evhttp_request *req, int status,
    const char *error, const char *description);

#endif

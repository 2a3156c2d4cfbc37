/*
 * authapi.h: the token endpoints.
 *
 *   POST /auth/sign     Bearer (stream) + {"path": P, "expires_in": S}
 *                       -> {"url": "/stream/...?expires=..&sig=..", "expires": T}
 *   POST /auth/refresh  {"refresh_token": R} (JSON or form)
 *                       -> {"access_token", "refresh_token", "token_type", "expires_in"}
 *                       Refresh tokens are single use; presenting a rotated one revokes
 *                       its whole family (theft detection).
 *   POST /auth/revoke   {"token": T} revokes T and its family (logout); {"jti": J} or
 *                       {"family": F} with a bearer token that owns it or system_admin.
 */
#ifndef STREAMD_AUTHAPI_H
#define STREAMD_AUTHAPI_H

struct worker;
struct conn;
struct evhttp_request;

/* what: "sign", "refresh" or "revoke". */
void authapi_handle(struct worker *w, struct conn *c, struct evhttp_request *req,
    const char *what);

#endif

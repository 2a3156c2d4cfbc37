/*
 * priv.h: dropping root in the children (workers, collector) after they opened what
 * needs root, and making files the children reopen later belong to that user.
 */
#ifndef STREAMD_PRIV_H
#define STREAMD_PRIV_H

#include <stddef.h>
#include <sys/types.h>

struct conf;

/* Resolve user/group of c (uid -1 if none or not root). -1 with err if unknown names. */
int priv_lookup(const struct conf *c, uid_t *uid, gid_t *gid, char *err, size_t errlen);
/* setgroups/setgid/setuid to c's user; no-op when not root or no user. -1 on failure. */
int priv_drop(const struct conf *c, char *err, size_t errlen);
/* chown path to c's user (if root and a user is set); for log files and the database dir. */
void priv_chown(const struct conf *c, const char *path);

#endif

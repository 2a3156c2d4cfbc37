/*
 * priv.cpp: privilege drop (see priv.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "priv.h"

int
priv_lookup(const struct conf *c, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (c->user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist", c->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) == NULL) {
			snprintf(err, errlen, "group \"%s\" does not exist", c->group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

int
priv_drop(const struct conf *c, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (priv_lookup(c, &uid, &gid, err, errlen) == -1)
		return -1;
	if (uid == (uid_t)-1)
		return 0;
	if (uid == 0)
		return 0;                       /* "user root;": told to keep root */
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1) {
		snprintf(err, errlen, "cannot switch to user %s: %s", c->user, strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		snprintf(err, errlen, "could regain root after switching to %s", c->user);
		return -1;
	}
	/* Cores of a worker are still useful; PR_SET_DUMPABLE is off after setuid. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

void
priv_chown(const struct conf *c, const char *path)
{
	char err[128];
	uid_t uid;
	gid_t gid;

	if (path == NULL || priv_lookup(c, &uid, &gid, err, sizeof(err)) == -1 ||
	    uid == (uid_t)-1)
		return;
	if (chown(path, uid, gid) == -1)
		log_warn("chown %s", path);
}

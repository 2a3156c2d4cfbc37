/*
 * master.h: the master process. Binds the listening sockets, creates shared memory,
 * forks the collector and the workers, then only supervises: signals, reloads, respawns,
 * the pid file and the service manager (sd_notify). It serves no request.
 */
#ifndef STREAMD_MASTER_H
#define STREAMD_MASTER_H

struct conf;

/* Run until stopped; returns the exit status. conf becomes the master's. */
int master_run(struct conf *conf, const char *conf_path, int daemonize);

#endif

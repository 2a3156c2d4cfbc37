/*
 * master.cpp: the master process (see master.h and ../shared/DESIGN.md).
 *
 * The master blocks every signal it handles and waits for them with sigtimedwait(), so
 * nothing runs in signal context and no libevent base exists here (children create
 * their own after fork). Listening sockets: one SO_REUSEPORT socket per worker and
 * address, kept open here so that a respawned worker (and the next generation after a
 * reload) inherits the same sockets and no queued connection is lost. When a reload
 * lowers the worker count the extra sockets stay and are shared out round-robin.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "collector.h"
#include "conf.h"
#include "jwt.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "notify.h"
#include "priv.h"
#include "proctitle.h"
#include "ratelimit.h"
#include "revoke.h"
#include "shm.h"
#include "streamd.h"
#include "worker.h"
#include "util.h"

#define MAX_SOCKETS     64
#define ANALYTICS_SNDBUF (8 * 1024 * 1024)

struct master_socket {
	struct conf_addr        addr;
	int                     fds[STREAMD_MAX_WORKERS];
	int                     nfds;
	int                     activated;      /* from the service manager */
	int                     shared;         /* one fd for every worker */
	int                     keep;
};

struct master_proc {
	pid_t                   pid;
	int                     kind;
	int                     generation;
	int                     index;
	int64_t                 started_ms;
	int                     stopping;
};

static struct {
	struct conf            *conf;
	const char             *conf_path;
	struct master_socket    socks[MAX_SOCKETS];
	int                     nsocks;
	int                     generation;
	int                     workers;        /* of the current generation */
	int                     death_pipe[2];
	int                     analytics[2];   /* [0] collector reads, [1] workers send */
	int                     query_fd;
	char                    query_name[64];
	struct master_proc      procs[SHM_MAX_PROCS];
	int64_t                 respawn_at[STREAMD_MAX_WORKERS];
	int                     crashes[STREAMD_MAX_WORKERS];
	int                     collector_proc;         /* -1: none running */
	int                     collector_wanted;
	int64_t                 collector_respawn_at;
	int                     collector_crashes;
	int                     stopping;
	int                     quick;
	int64_t                 stop_deadline;
	int64_t                 kill_deadline;
	int                     pid_fd;
	char                    pid_tmp[PATH_MAX];
	int                     ready_fd;               /* daemon parent waits on it */
	int64_t                 last_watchdog;
} M;

/* Start-up failure: tell a waiting daemon parent, log, exit. */
static void __attribute__((noreturn))
startup_fail(const char *msg)
{
	log_crit("%s", msg);
	if (M.ready_fd >= 0) {
		if (write(M.ready_fd, msg, strlen(msg)) == -1) {
			/* the parent will report a generic failure */
		}
	}
	if (log_path() != NULL)
		fprintf(stderr, "streamd: %s\n", msg);
	exit(1);
}

/* ---------------------------------------------------------------- pid file */

static int
pidfile_open(const char *path, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	int fd;

	/* A live instance holds a lock on the file it wrote. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd != -1) {
		if (flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
			n = read(fd, buf, sizeof(buf) - 1);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(err, errlen, "pid_file %s: streamd is already running (pid %s)",
			    path, buf[0] ? buf : "?");
			close(fd);
			return -1;
		}
		close(fd);
	}
	snprintf(M.pid_tmp, sizeof(M.pid_tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(M.pid_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "pid_file %s: %s", M.pid_tmp, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "pid_file %s: lock: %s", M.pid_tmp, strerror(errno));
		close(fd);
		unlink(M.pid_tmp);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n || fsync(fd) == -1 || rename(M.pid_tmp, path) == -1) {
		snprintf(err, errlen, "pid_file %s: %s", path, strerror(errno));
		close(fd);
		unlink(M.pid_tmp);
		return -1;
	}
	M.pid_tmp[0] = '\0';
	return fd;
}

static void
pidfile_remove(void)
{
	struct stat a, b;

	if (M.pid_fd < 0 || M.conf == NULL || M.conf->pid_file == NULL)
		return;
	/* Only our own file: a newer instance may have replaced it. */
	if (fstat(M.pid_fd, &a) == 0 && stat(M.conf->pid_file, &b) == 0 &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		unlink(M.conf->pid_file);
	close(M.pid_fd);
	M.pid_fd = -1;
}

/* ---------------------------------------------------------------- sockets */

static struct master_socket *
socket_find(const char *text)
{
	int i;

	for (i = 0; i < M.nsocks; i++)
		if (strcmp(M.socks[i].addr.text, text) == 0)
			return &M.socks[i];
	return NULL;
}

static void
socket_close(struct master_socket *s)
{
	int i;

	for (i = 0; i < s->nfds; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	s->nfds = 0;
}

/* Make sure s has at least n sockets (one per worker). */
static int
socket_grow(struct master_socket *s, int n, char *err, size_t errlen)
{
	int fd;

	if (s->shared)
		return 0;
	while (s->nfds < n) {
		fd = net_listen(&s->addr, 1, err, errlen);
		if (fd == -1)
			return -1;
		s->fds[s->nfds++] = fd;
	}
	return 0;
}

/* Take sockets from the service manager; they replace the listen directives. */
static int
sockets_activate(int workers, char *err, size_t errlen)
{
	int fds[MAX_SOCKETS], n, i;
	struct master_socket *s;

	n = net_activation_fds(fds, MAX_SOCKETS);
	for (i = 0; i < n; i++) {
		s = &M.socks[M.nsocks++];
		memset(s, 0, sizeof(*s));
		if (net_sockname(fds[i], &s->addr) == -1) {
			snprintf(err, errlen, "socket activation: fd %d is not a socket", fds[i]);
			return -1;
		}
		s->activated = 1;
		s->keep = 1;
		s->fds[0] = fds[i];
		s->nfds = 1;
		if (net_is_reuseport(fds[i])) {
			if (socket_grow(s, workers, err, errlen) == -1)
				return -1;
		} else {
			s->shared = 1;
		}
		log_notice("using socket %s from the service manager%s", s->addr.text,
		    s->shared ? " (shared by all workers; set ReusePort=yes for one per worker)" :
		    "");
	}
	return n;
}

/* Bind everything conf asks for that is not bound yet; mark what stays. */
static int
sockets_sync(struct conf *c, int workers, int startup, char *err, size_t errlen)
{
	struct master_socket *s;
	int i, added_from = M.nsocks;

	for (i = 0; i < M.nsocks; i++)
		M.socks[i].keep = M.socks[i].activated;
	if (M.nsocks > 0 && M.socks[0].activated) {
		for (i = 0; i < M.nsocks; i++)
			if (socket_grow(&M.socks[i], workers, err, errlen) == -1)
				return -1;
		return 0;
	}
	for (i = 0; i < c->nlistens; i++) {
		s = socket_find(c->listens[i].text);
		if (s == NULL) {
			if (M.nsocks == MAX_SOCKETS) {
				snprintf(err, errlen, "too many listen addresses (max %d)", MAX_SOCKETS);
				goto undo;
			}
			/* Refuse to join the SO_REUSEPORT group of another running server. */
			if (net_probe(&c->listens[i], err, errlen) == -1)
				goto undo;
			s = &M.socks[M.nsocks++];
			memset(s, 0, sizeof(*s));
			s->addr = c->listens[i];
		}
		s->keep = 1;
		if (socket_grow(s, workers, err, errlen) == -1)
			goto undo;
	}
	(void)startup;
	return 0;
undo:
	for (i = added_from; i < M.nsocks; i++)
		socket_close(&M.socks[i]);
	M.nsocks = added_from;
	return -1;
}

/* Close sockets no longer configured (old workers hold their own copies). */
static void
sockets_prune(void)
{
	int i, j = 0;

	for (i = 0; i < M.nsocks; i++) {
		if (M.socks[i].keep) {
			if (i != j)
				M.socks[j] = M.socks[i];
			j++;
		} else {
			log_notice("closing listen %s", M.socks[i].addr.text);
			socket_close(&M.socks[i]);
		}
	}
	M.nsocks = j;
}

/* ---------------------------------------------------------------- children */

static void
child_reset_signals(void)
{
	sigset_t all;
	int s;

	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/* In a child: close master-only descriptors. keep_fds: listening fds to keep. */
static void
child_close(const int *keep_fds, int nkeep, int is_collector)
{
	int i, j, k, keep;

	for (i = 0; i < M.nsocks; i++) {
		for (j = 0; j < M.socks[i].nfds; j++) {
			keep = 0;
			for (k = 0; k < nkeep; k++)
				if (keep_fds[k] == M.socks[i].fds[j])
					keep = 1;
			if (!keep)
				close(M.socks[i].fds[j]);
		}
	}
	close(M.death_pipe[1]);
	if (M.pid_fd >= 0)
		close(M.pid_fd);
	if (M.ready_fd >= 0)
		close(M.ready_fd);
	if (is_collector) {
		close(M.analytics[1]);
	} else {
		close(M.analytics[0]);
		if (M.query_fd >= 0)
			close(M.query_fd);
	}
}

/* A child ends here. Under LeakSanitizer, check it first (_exit skips atexit). */
static void __attribute__((noreturn))
child_exit(int status)
{
#if defined(__SANITIZE_ADDRESS__)
	__lsan_do_leak_check();
#endif
	_exit(status);
}

static int
proc_slot(void)
{
	int p = shm_proc_alloc();

	if (p == -1)
		log_warnx("no free process slot");
	return p;
}

static int
spawn_worker(int index, int generation, int workers)
{
	static struct worker_args a;        /* the child's copy survives the fork */
	struct shm_header *h = shm_get();
	struct master_socket *s;
	pid_t pid;
	int proc, i, k;

	if ((proc = proc_slot()) == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.conf = M.conf;
	a.index = index;
	a.proc = proc;
	a.generation = generation;
	a.master_fd = M.death_pipe[0];
	a.analytics_fd = M.analytics[1];
	a.collector_path = M.query_name;
	for (i = 0; i < M.nsocks; i++) {
		s = &M.socks[i];
		if (!s->keep)
			continue;               /* being removed by the reload under way */
		if (s->shared) {
			a.listen_fds[a.nlisten++] = s->fds[0];
			continue;
		}
		for (k = 0; k < s->nfds && a.nlisten < WORKER_MAX_LISTEN; k++)
			if (k % workers == index)
				a.listen_fds[a.nlisten++] = s->fds[k];
	}
	h->procs[proc].kind = SHM_PROC_WORKER;
	h->procs[proc].generation = generation;
	h->procs[proc].worker_index = index;
	h->procs[proc].stopping = 0;
	h->procs[proc].heartbeat_ms = 0;
	h->procs[proc].started_ms = clock_wall_ms();
	pid = fork();
	if (pid == -1) {
		log_warn("fork worker %d", index);
		h->procs[proc].kind = SHM_PROC_FREE;
		return -1;
	}
	if (pid == 0) {
		h->procs[proc].pid = (int32_t)getpid();
		child_reset_signals();
		child_close(a.listen_fds, a.nlisten, 0);
		proctitle_set("streamd-worker", "streamd: worker %d (generation %d)", index,
		    generation);
		child_exit(worker_main(&a));
	}
	h->procs[proc].pid = (int32_t)pid;
	M.procs[proc].pid = pid;
	M.procs[proc].kind = SHM_PROC_WORKER;
	M.procs[proc].generation = generation;
	M.procs[proc].index = index;
	M.procs[proc].started_ms = clock_mono_ms();
	M.procs[proc].stopping = 0;
	log_info("started worker %d (pid %d, generation %d)", index, (int)pid, generation);
	return proc;
}

static int
spawn_collector(void)
{
	static struct collector_args a;
	struct shm_header *h = shm_get();
	pid_t pid;
	int proc;

	if ((proc = proc_slot()) == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.conf = M.conf;
	a.proc = proc;
	a.records_fd = M.analytics[0];
	a.query_fd = M.query_fd;
	a.master_fd = M.death_pipe[0];
	h->procs[proc].kind = SHM_PROC_COLLECTOR;
	h->procs[proc].started_ms = clock_wall_ms();
	h->procs[proc].heartbeat_ms = 0;
	pid = fork();
	if (pid == -1) {
		log_warn("fork collector");
		h->procs[proc].kind = SHM_PROC_FREE;
		return -1;
	}
	if (pid == 0) {
		h->procs[proc].pid = (int32_t)getpid();
		child_reset_signals();
		child_close(NULL, 0, 1);
		proctitle_set("streamd-collect", "streamd: collector");
		child_exit(collector_main(&a));
	}
	h->procs[proc].pid = (int32_t)pid;
	M.procs[proc].pid = pid;
	M.procs[proc].kind = SHM_PROC_COLLECTOR;
	M.procs[proc].generation = M.generation;
	M.procs[proc].started_ms = clock_mono_ms();
	M.procs[proc].stopping = 0;
	M.collector_proc = proc;
	log_info("started collector (pid %d)", (int)pid);
	return proc;
}

static void
signal_generation(int generation, int sig, int below)
{
	int i;

	for (i = 0; i < SHM_MAX_PROCS; i++) {
		struct master_proc *p = &M.procs[i];
		if (p->pid <= 0 || p->kind != SHM_PROC_WORKER)
			continue;
		if ((below && p->generation < generation) || (!below && p->generation == generation)) {
			if (sig == SIGTERM || sig == SIGQUIT)
				p->stopping = 1;
			kill(p->pid, sig);
		}
	}
}

static int
count_workers(int generation, int any)
{
	int i, n = 0;

	for (i = 0; i < SHM_MAX_PROCS; i++)
		if (M.procs[i].pid > 0 && M.procs[i].kind == SHM_PROC_WORKER &&
		    (any || M.procs[i].generation == generation))
			n++;
	return n;
}

/* Wait (at most ms) until every worker of generation reported in. */
static void
wait_ready(int generation, int ms)
{
	struct shm_header *h = shm_get();
	int64_t end = clock_mono_ms() + ms;
	int i, ready;

	while (clock_mono_ms() < end) {
		ready = 1;
		for (i = 0; i < SHM_MAX_PROCS; i++)
			if (M.procs[i].pid > 0 && M.procs[i].kind == SHM_PROC_WORKER &&
			    M.procs[i].generation == generation && h->procs[i].heartbeat_ms == 0)
				ready = 0;
		if (ready)
			return;
		usleep(5000);
	}
}

static int
spawn_generation(void)
{
	int i, ok = 0;

	M.generation++;
	shm_get()->generation = M.generation;
	shm_get()->workers_configured = M.workers;
	for (i = 0; i < M.workers; i++) {
		M.crashes[i] = 0;
		M.respawn_at[i] = 0;
		if (spawn_worker(i, M.generation, M.workers) >= 0)
			ok++;
	}
	return ok;
}

static const char *
describe_exit(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
		    strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

static void
reap_children(void)
{
	char why[96];
	int status, i, unexpected;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < SHM_MAX_PROCS; i++)
			if (M.procs[i].pid == pid)
				break;
		if (i == SHM_MAX_PROCS)
			continue;
		struct master_proc *p = &M.procs[i];
		unexpected = !M.stopping && !p->stopping;
		describe_exit(status, why, sizeof(why));
		if (p->kind == SHM_PROC_WORKER) {
			if (unexpected && p->generation == M.generation && p->index < M.workers) {
				int64_t up = clock_mono_ms() - p->started_ms;
				int idx = p->index;
				M.crashes[idx] = up < 5000 ? M.crashes[idx] + 1 : 1;
				/* Immediately the first time; then back off up to 10 s. */
				M.respawn_at[idx] = clock_mono_ms() + (M.crashes[idx] <= 1 ? 0 :
				    MIN(10000, 100LL << MIN(M.crashes[idx] - 1, 7)));
				log_error("worker %d (pid %d) %s; restarting%s", idx, (int)pid, why,
				    M.crashes[idx] > 1 ? " after a back-off" : "");
				__atomic_add_fetch(&shm_get()->worker_restarts, 1, __ATOMIC_RELAXED);
			} else if (unexpected) {
				log_warnx("worker %d (pid %d) of generation %d %s", p->index, (int)pid,
				    p->generation, why);
			} else {
				log_info("worker %d (pid %d, generation %d) %s", p->index, (int)pid,
				    p->generation, why);
			}
		} else {
			if (unexpected) {
				int64_t up = clock_mono_ms() - p->started_ms;
				M.collector_crashes = up < 5000 ? M.collector_crashes + 1 : 1;
				log_error("collector (pid %d) %s; restarting", (int)pid, why);
				M.collector_respawn_at = clock_mono_ms() + (M.collector_crashes <= 1 ? 0 :
				    MIN(10000, 200LL << MIN(M.collector_crashes - 1, 6)));
			} else {
				log_info("collector (pid %d) %s", (int)pid, why);
				M.collector_respawn_at = clock_mono_ms();
			}
			M.collector_proc = -1;
		}
		shm_proc_reap(i, pid);
		memset(p, 0, sizeof(*p));
	}
}

static void
respawn_due(void)
{
	int64_t now = clock_mono_ms();
	int i, j, present;

	if (M.stopping)
		return;
	for (i = 0; i < M.workers; i++) {
		present = 0;
		for (j = 0; j < SHM_MAX_PROCS; j++)
			if (M.procs[j].pid > 0 && M.procs[j].kind == SHM_PROC_WORKER &&
			    M.procs[j].generation == M.generation && M.procs[j].index == i)
				present = 1;
		if (!present && now >= M.respawn_at[i])
			spawn_worker(i, M.generation, M.workers);
	}
	if (M.collector_wanted && M.collector_proc < 0 && now >= M.collector_respawn_at)
		spawn_collector();
}

/* ---------------------------------------------------------------- reload and logs */

static void
note_static(const char *name)
{
	log_warnx("reload: \"%s\" cannot change without a restart; keeping the old value",
	    name);
}

/* A reload that cannot be carried out: the running configuration stays; next is freed. */
static void
reload_failed(struct conf *next, const char *why)
{
	log_error("reload failed, keeping the running configuration: %s", why);
	if (next != NULL) {
		conf_free(next);
		free(next);
	}
	__atomic_add_fetch(&shm_get()->reload_failures, 1, __ATOMIC_RELAXED);
	notify_send("READY=1\nSTATUS=reload failed; serving with the previous configuration");
}

static void
reload(void)
{
	struct conf *next;
	struct jwt_keys *keys;
	char err[1024];
	int workers, old_gen = M.generation;

	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading configuration",
	    (unsigned long long)notify_monotonic_usec());
	log_notice("reloading configuration from %s", M.conf_path);
	next = (struct conf *)calloc(1, sizeof(*next));
	if (next == NULL || conf_load(next, M.conf_path, err, sizeof(err)) == -1) {
		reload_failed(next, next ? err : "out of memory");
		return;
	}
	err[0] = '\0';
	keys = jwt_keys_load(next, err, sizeof(err));
	jwt_keys_free(keys);
	if (keys == NULL && err[0] != '\0') {
		reload_failed(next, err);
		return;
	}
	conf_keep_static(M.conf, next, note_static);
	workers = conf_workers(next);
	if (sockets_sync(next, workers, 0, err, sizeof(err)) == -1) {
		reload_failed(next, err);
		return;
	}
	if ((next->error_log == NULL) != (M.conf->error_log == NULL) ||
	    (next->error_log != NULL && strcmp(next->error_log, M.conf->error_log) != 0)) {
		if (log_open(next->error_log, next->log_level, err, sizeof(err)) == -1)
			log_warnx("%s", err);
		else if (next->error_log != NULL)
			priv_chown(next, next->error_log);
	}
	log_set_level(next->log_level);

	/* The new generation starts on the same sockets, then the old one drains. */
	conf_free(M.conf);
	free(M.conf);
	M.conf = next;
	M.workers = workers;
	spawn_generation();
	wait_ready(M.generation, 3000);
	signal_generation(M.generation, SIGTERM, 1);
	sockets_prune();
	if (M.collector_proc >= 0) {
		M.procs[M.collector_proc].stopping = 1;
		kill(M.procs[M.collector_proc].pid, SIGTERM);
		M.collector_respawn_at = INT64_MAX;     /* respawned when it has exited */
	}
	__atomic_add_fetch(&shm_get()->reloads, 1, __ATOMIC_RELAXED);
	log_notice("configuration reloaded: generation %d (%d workers) replaces %d", M.generation,
	    M.workers, old_gen);
	notify_send("READY=1\nSTATUS=serving, %d workers (generation %d)", M.workers,
	    M.generation);
}

/* Make sure a log file exists and belongs to the workers' user, so they can reopen it. */
static void
prepare_log_file(const char *path)
{
	int fd;

	if (path == NULL)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_warn("open %s", path);
		return;
	}
	close(fd);
	priv_chown(M.conf, path);
}

static void
reopen_logs(void)
{
	int i;

	log_notice("reopening log files");
	log_reopen();
	if (log_path() != NULL)
		priv_chown(M.conf, log_path());
	prepare_log_file(M.conf->access_log);
	for (i = 0; i < SHM_MAX_PROCS; i++)
		if (M.procs[i].pid > 0)
			kill(M.procs[i].pid, SIGUSR1);
}

/* ---------------------------------------------------------------- set-up */

static void
raise_nofile(const struct conf *c)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (c->worker_rlimit_nofile > 0) {
		rl.rlim_cur = (rlim_t)c->worker_rlimit_nofile;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
	} else {
		if (rl.rlim_cur == rl.rlim_max)
			return;
		rl.rlim_cur = rl.rlim_max;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)rl.rlim_cur);
}

static int
setup_ipc(char *err, size_t errlen)
{
	struct sockaddr_un sun;
	unsigned char rnd[8];
	int size = ANALYTICS_SNDBUF, i;
	socklen_t len;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, M.analytics) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* Records wait in the kernel while the collector restarts: give them room. */
	if (setsockopt(M.analytics[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(M.analytics[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (setsockopt(M.analytics[0], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(M.analytics[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	fcntl(M.analytics[1], F_SETFL, O_NONBLOCK);
	fcntl(M.analytics[0], F_SETFL, O_NONBLOCK);

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		for (i = 0; i < (int)sizeof(rnd); i++)
			rnd[i] = (unsigned char)(getpid() >> (i % 4 * 8));
	snprintf(M.query_name, sizeof(M.query_name), "streamd-%d-%02x%02x%02x%02x%02x%02x%02x%02x",
	    (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	M.query_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (M.query_fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, M.query_name, strlen(M.query_name));   /* abstract */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(M.query_name));
	if (bind(M.query_fd, (struct sockaddr *)&sun, len) == -1 ||
	    listen(M.query_fd, 64) == -1) {
		snprintf(err, errlen, "collector socket: %s", strerror(errno));
		return -1;
	}
	if (pipe2(M.death_pipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(M.death_pipe[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static void
daemonize(const struct conf *c)
{
	int pfd[2], fd;
	char buf[1024];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		fatal("pipe");
	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid > 0) {
		/* The original process waits until the daemon serves (or fails). */
		close(pfd[1]);
		n = read(pfd[0], buf, sizeof(buf) - 1);
		if (n > 0 && strncmp(buf, "ok", 2) == 0 && n == 2)
			_exit(0);
		if (n > 0) {
			buf[n] = '\0';
			fprintf(stderr, "streamd: %s\n", buf);
		} else {
			fprintf(stderr, "streamd: failed to start (see the error log)\n");
		}
		_exit(1);
	}
	close(pfd[0]);
	if (setsid() == -1)
		fatal("setsid");
	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	M.ready_fd = pfd[1];
	if (chdir("/") == -1)
		fatal("chdir /");
	umask(027);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		/* Errors go to the error log from now on; keep stderr only if that is it. */
		if (c->error_log != NULL)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static void
tell_ready(void)
{
	if (M.ready_fd >= 0) {
		if (write(M.ready_fd, "ok", 2) == -1) {
			/* parent gone: nothing to tell */
		}
		close(M.ready_fd);
		M.ready_fd = -1;
	}
}

static void
ensure_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (path == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0750) == 0)
		priv_chown(M.conf, dir);
}

int
master_run(struct conf *conf, const char *conf_path, int want_daemon)
{
	sigset_t set;
	siginfo_t info;
	struct timespec ts;
	char err[1024];
	size_t regions[SHM_REGION_COUNT];
	uid_t uid;
	gid_t gid;
	int sig, i, n;
	int64_t now, wait_ms;

	memset(&M, 0, sizeof(M));
	M.conf = conf;
	/* A copy: the conf that owns conf_path is replaced on every reload. */
	M.conf_path = strdup(conf_path);
	M.pid_fd = -1;
	M.ready_fd = -1;
	M.query_fd = -1;
	M.collector_proc = -1;
	for (i = 0; i < SHM_MAX_PROCS; i++)
		M.procs[i].pid = 0;
	log_set_ident("master");
	signal(SIGPIPE, SIG_IGN);
	proctitle_set("streamd", "streamd: master -c %s", conf_path);

	if (priv_lookup(conf, &uid, &gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "streamd: %s\n", err);
		return 1;
	}
	if (geteuid() == 0 && conf->user == NULL) {
		/*
		 * In service (detached, or under a service manager) workers never run as root
		 * by accident; in the foreground (make run, a test, a debugging session) a
		 * warning says what is going on.
		 */
		if (want_daemon || notify_enabled()) {
			fprintf(stderr, "streamd: %s: refusing to run workers as root: set \"user\" "
			    "(e.g. \"user streamd;\"), or \"user root;\" to allow it\n", conf->file);
			return 1;
		}
		log_warnx("workers run as root: set \"user\" in %s (\"user root;\" silences this)",
		    conf->file);
	}
	if (geteuid() != 0 && conf->user != NULL)
		log_info("\"user %s\" ignored: not started as root", conf->user);
	if (want_daemon)
		daemonize(conf);
	if (log_open(conf->error_log, conf->log_level, err, sizeof(err)) == -1)
		startup_fail(err);
	if (conf->error_log != NULL)
		priv_chown(conf, conf->error_log);
	if (conf->pid_file != NULL && (M.pid_fd = pidfile_open(conf->pid_file, err,
	    sizeof(err))) == -1)
		startup_fail(err);
	raise_nofile(conf);

	regions[SHM_REGION_RATELIMIT] = ratelimit_shm_size(conf);
	regions[SHM_REGION_REVOKE] = revoke_shm_size();
	if (shm_create(regions) == -1)
		startup_fail("cannot create shared memory");
	ratelimit_shm_init(conf);
	revoke_shm_init();

	M.workers = conf_workers(conf);
	n = sockets_activate(M.workers, err, sizeof(err));
	if (n == -1)
		startup_fail(err);
	if (sockets_sync(conf, M.workers, 1, err, sizeof(err)) == -1)
		startup_fail(err);
	if (setup_ipc(err, sizeof(err)) == -1)
		startup_fail(err);
	prepare_log_file(conf->access_log);
	if (conf->database != NULL && conf->analytics)
		ensure_dir_of(conf->database);

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	M.collector_wanted = 1;
	if (spawn_collector() >= 0) {
		/* Workers check revocations from the first request: let it load them. */
		int64_t end = clock_mono_ms() + 5000;
		while (!shm_get()->collector.ready && clock_mono_ms() < end) {
			reap_children();
			if (M.collector_proc < 0)
				break;
			usleep(5000);
		}
	}
	if (spawn_generation() == 0)
		startup_fail("no worker could be started");
	wait_ready(M.generation, 5000);
	for (i = 0; i < M.nsocks; i++)
		log_notice("listening on %s (%d socket%s)", M.socks[i].addr.text,
		    M.socks[i].nfds, M.socks[i].nfds == 1 ? "" : "s");
	log_notice("streamd %s started: %d workers, audio_root %s", STREAMD_VERSION, M.workers,
	    conf->audio_root);
	notify_send("READY=1\nMAINPID=%d\nSTATUS=serving, %d workers", (int)getpid(),
	    M.workers);
	tell_ready();
	M.last_watchdog = clock_mono_ms();

	for (;;) {
		now = clock_mono_ms();
		wait_ms = 1000;
		if (notify_watchdog_usec() > 0) {
			int64_t period = (int64_t)(notify_watchdog_usec() / 2000);
			if (now - M.last_watchdog >= period) {
				notify_send("WATCHDOG=1");
				M.last_watchdog = now;
			}
			wait_ms = MIN(wait_ms, MAX(1, period - (now - M.last_watchdog)));
		}
		for (i = 0; i < M.workers; i++)
			if (M.respawn_at[i] > now)
				wait_ms = MIN(wait_ms, M.respawn_at[i] - now);
		if (!M.stopping)
			respawn_due();
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000;
		sig = sigtimedwait(&set, &info, &ts);
		if (sig == -1 && errno != EAGAIN && errno != EINTR)
			log_warn("sigtimedwait");
		switch (sig) {
		case SIGCHLD:
			reap_children();
			break;
		case SIGHUP:
			if (!M.stopping)
				reload();
			break;
		case SIGUSR1:
			reopen_logs();
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			if (!M.stopping || (sig == SIGQUIT && !M.quick)) {
				M.stopping = 1;
				M.quick = sig == SIGQUIT;
				log_notice("%s: stopping%s", strsignal(sig),
				    M.quick ? " now" : " gracefully");
				notify_send("STOPPING=1\nSTATUS=stopping");
				/* every generation: all are below the next one */
				signal_generation(M.generation + 1, M.quick ? SIGQUIT : SIGTERM, 1);
				M.stop_deadline = clock_mono_ms() + M.conf->shutdown_timeout + 5000;
			}
			break;
		}
		reap_children();
		if (M.stopping) {
			now = clock_mono_ms();
			if (count_workers(0, 1) > 0) {
				if (now > M.stop_deadline) {
					log_warnx("workers did not stop in time; killing them");
					signal_generation(M.generation + 1, SIGKILL, 1);
					M.stop_deadline = now + 5000;
				}
				continue;
			}
			/* Workers are gone: the collector commits what they sent, then exits. */
			if (M.collector_proc >= 0) {
				if (!M.procs[M.collector_proc].stopping) {
					M.procs[M.collector_proc].stopping = 1;
					kill(M.procs[M.collector_proc].pid, SIGTERM);
					M.kill_deadline = now + 30000;
				} else if (now > M.kill_deadline) {
					kill(M.procs[M.collector_proc].pid, SIGKILL);
				}
				continue;
			}
			break;
		}
	}
	log_notice("streamd stopped");
	pidfile_remove();
	for (i = 0; i < M.nsocks; i++)
		socket_close(&M.socks[i]);
	close(M.analytics[0]);
	close(M.analytics[1]);
	if (M.query_fd >= 0)
		close(M.query_fd);
	close(M.death_pipe[0]);
	close(M.death_pipe[1]);
	shm_destroy();
	conf_free(M.conf);
	free(M.conf);
	free((void *)M.conf_path);
	return 0;
}

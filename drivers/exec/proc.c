/* proc: see proc.h. */
#include "exec/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void exec_proc_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The full paths to try for argv[0] (NULL-terminated, new). */
static char **candidates(const char *prog, const char *path)
{
	if (strchr(prog, '/') || !path) {
		char **v = xcalloc(2, sizeof *v);
		v[0] = xstrdup(prog);
		return v;
	}
	size_t n = 2;
	for (const char *p = path; *p; p++)
		n += *p == ':';
	char **v = xcalloc(n, sizeof *v);
	size_t k = 0;
	const char *p = path;
	for (;;) {
		const char *e = strchr(p, ':');
		size_t dl = e ? (size_t)(e - p) : strlen(p);
		char *full = xmalloc(dl + strlen(prog) + 3);
		if (dl == 0)
			sprintf(full, "./%s", prog);
		else
			sprintf(full, "%.*s/%s", (int)dl, p, prog);
		v[k++] = full;
		if (!e)
			break;
		p = e + 1;
	}
	return v;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* In the child: moves fd to at least 10 (so that dup2 onto 0..3 never
 * overwrites another of ours). */
static int lift(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static void child_fail(int status_fd, int stage, int e)
{
	int msg[2] = {stage, e};
	ssize_t w = write(status_fd, msg, sizeof msg);
	(void)w;
	_exit(127);
}

enum { STAGE_FDS = 1, STAGE_CHDIR, STAGE_USER, STAGE_EXEC };

int exec_proc_spawn(const struct exec_spawn *s, struct exec_child *c, struct errbuf *err)
{
	c->pid = -1;
	c->pidfd = c->in_fd = c->out_fd = c->err_fd = -1;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, st[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
		errbuf_set(err, "pipe: %s", strerror(errno));
		goto fail;
	}
	char **cand = candidates(s->argv[0], s->path);
	sigset_t all, old;
	sigfillset(&all);
	/* No signal handler of the daemon may run in the child before execve. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP, RT */
		int fi = lift(in[0]), fo = lift(out[1]), fe = lift(er[1]), fs = lift(st[1]);
		if (fi < 0 || fo < 0 || fe < 0 || fs < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 ||
		    dup3(fs, 3, O_CLOEXEC) < 0)
			child_fail(fs >= 0 ? fs : st[1], STAGE_FDS, errno);
		if (close_range(4, ~0U, 0))
			child_fail(3, STAGE_FDS, errno);
		setpgid(0, 0);
		if (s->cwd && chdir(s->cwd))
			child_fail(3, STAGE_CHDIR, errno);
		if (s->user && s->user->set) {
			if (setgroups((size_t)s->user->ngroups, s->user->groups) || setgid(s->user->gid) ||
			    setuid(s->user->uid))
				child_fail(3, STAGE_USER, errno);
		}
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int e = ENOENT;
		for (size_t i = 0; cand[i]; i++) {
			execve(cand[i], s->argv, s->envp);
			if (errno != ENOENT && errno != ENOTDIR)
				e = errno;
		}
		child_fail(3, STAGE_EXEC, e);
	}
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free_strv(cand);
	if (pid < 0) {
		errbuf_set(err, "fork: %s", strerror(fork_errno));
		goto fail;
	}
	setpgid(pid, pid); /* also here, so that a kill of the group right after spawn reaches it */
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(st[1]);
	in[0] = out[1] = er[1] = st[1] = -1;
	int msg[2];
	ssize_t n;
	/* Returns at the child's execve (EOF) or its failure: a moment, as with posix_spawn. */
	do
		n = read(st[0], msg, sizeof msg);
	while (n < 0 && errno == EINTR);
	close(st[0]);
	st[0] = -1;
	if (n == (ssize_t)sizeof msg) {
		static const char *const stages[] = {"", "descriptors", "chdir", "user", "execve"};
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		errbuf_set(err, "cannot run %s: %s: %s", s->argv[0], stages[msg[0] >= 1 && msg[0] <= 4 ? msg[0] : 0],
		           strerror(msg[1]));
		goto fail;
	}
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd < 0) {
		errbuf_set(err, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	c->pid = pid;
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = er[0];
	fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		exec_proc_close_fd(&in[i]);
		exec_proc_close_fd(&out[i]);
		exec_proc_close_fd(&er[i]);
		exec_proc_close_fd(&st[i]);
	}
	return -1;
}

int exec_proc_reap(struct exec_child *c, int *status)
{
	if (c->pid <= 0)
		return -1;
	pid_t r;
	do
		r = waitpid(c->pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != c->pid)
		return -1;
	c->pid = -1;
	exec_proc_close_fd(&c->pidfd);
	return 0;
}

void exec_proc_kill(const struct exec_child *c, int sig)
{
	if (c->pid <= 0)
		return;
	if (kill(-c->pid, sig) < 0)
		kill(c->pid, sig);
}

int exec_user_resolve(const char *name, struct exec_user *u, struct errbuf *err)
{
	memset(u, 0, sizeof *u);
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = getpwnam_r(name, &pw, buf, sizeof buf, &res);
	if (rc || !res)
		return errbuf_set(err, "settings.user: no user \"%.60s\"%s%s", name, rc ? ": " : "",
		                  rc ? strerror(rc) : "");
	int n = 32;
	gid_t *g = xcalloc((size_t)n, sizeof *g);
	while (getgrouplist(name, pw.pw_gid, g, &n) < 0) {
		g = xrealloc(g, (size_t)n * sizeof *g);
	}
	u->set = true;
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	u->groups = g;
	u->ngroups = n;
	return 0;
}

void exec_user_clear(struct exec_user *u)
{
	free(u->groups);
	memset(u, 0, sizeof *u);
}

int exec_proc_read(int fd, struct sbuf *b, size_t max, size_t *dropped)
{
	char chunk[16384];
	/* At most 1 MiB per call: a program that floods must not hold the loop. */
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n > 0) {
			size_t room = b->len < max ? max - b->len : 0, k = (size_t)n < room ? (size_t)n : room;
			if (k)
				sbuf_add(b, chunk, k);
			*dropped += (size_t)n - k;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
	return 0;
}

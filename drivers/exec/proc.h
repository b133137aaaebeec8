/*
 * proc: starting a program without a shell, for the exec connection, and
 * reading its pipes without blocking.
 *
 * fork + execve (not posix_spawn: the child also needs setgroups/setgid/
 * setuid and close_range).  Between fork and execve the child calls only
 * async-signal-safe functions: everything (argv, environment, the PATH
 * candidates, the user's groups) is prepared by the parent.  The child gets
 * a process group of its own (so that a timeout kills what it started),
 * default signal dispositions and an empty signal mask, stdin/stdout/stderr
 * on pipes and no other descriptor.  A CLOEXEC status pipe carries execve's
 * errno back, so "cannot run" is an error of the spawn, not an exit status.
 * The parent gets a pidfd: readable when the child ends, watched on the
 * loop, so each child is reaped by pid (waitpid(pid)), never waitpid(-1).
 */
#ifndef SMSPOOL_EXEC_PROC_H
#define SMSPOOL_EXEC_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "errbuf.h"
#include "sbuf.h"
#include "util.h"

/* Whom the programs run as; resolved once (at open), used in the child. */
struct exec_user {
	bool set;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

struct exec_spawn {
	char *const *argv; /* argv[0]: a path (with '/', relative to cwd) or a name searched in path */
	char *const *envp;
	const char *cwd;  /* NULL: the daemon's */
	const char *path; /* directories searched for a name, ':'-separated */
	const struct exec_user *user;
};

struct exec_child {
	pid_t pid;
	int pidfd;                 /* readable once the child has ended */
	int in_fd, out_fd, err_fd; /* non-blocking, CLOEXEC; the parent's ends */
};

/* Starts the program.  Returns 0 with c filled, or -1 with err (c's
 * descriptors all -1, nothing left running). */
MUST_CHECK int exec_proc_spawn(const struct exec_spawn *s, struct exec_child *c, struct errbuf *err);
/* Reaps c (after its pidfd became readable) and closes the pidfd.  Returns
 * 0 with *status, or -1 when it has not ended. */
MUST_CHECK int exec_proc_reap(struct exec_child *c, int *status);
/* Sends sig to c's process group (and to c, should the group not exist yet). */
void exec_proc_kill(const struct exec_child *c, int sig);
/* Closes *fd when open and sets it to -1. */
void exec_proc_close_fd(int *fd);

/* Resolves a user name into e (getpwnam_r, getgrouplist).  Returns 0 or -1
 * with err. */
MUST_CHECK int exec_user_resolve(const char *name, struct exec_user *u, struct errbuf *err);
void exec_user_clear(struct exec_user *u);

/* Reads what fd has into b, keeping at most max bytes in b and counting
 * the rest in *dropped.  Returns 1 at end of file, 0 when it would block,
 * -1 on an error. */
int exec_proc_read(int fd, struct sbuf *b, size_t max, size_t *dropped);

#endif

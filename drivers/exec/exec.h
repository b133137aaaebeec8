/*
 * exec: the External application connection.  exec.c sends (one program
 * per message), recv.c runs the long-lived receiver program.  This header
 * is what the two share.
 */
#ifndef SMSPOOL_EXEC_EXEC_H
#define SMSPOOL_EXEC_EXEC_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "exec/argv.h"
#include "exec/proc.h"
#include "exec/result.h"

struct exec_conf {
	json_t *send_argv, *receive_argv, *env, *temporary_exit_codes;
	char *working_directory, *user, *path, *id_json_pointer;
	long long timeout_ms, kill_grace_ms, max_output, stop_grace_ms;
	long long receive_max_line, restart_min_ms, restart_max_ms, receive_dedup, batch_size, batch_wait_ms;
};

struct exec_job;
struct exec_recv;

enum exec_state { EXEC_OPEN, EXEC_STOPPING, EXEC_STOPPED };

struct exec {
	struct conn *c;
	const struct exec_conf *conf;
	enum exec_state state;
	struct exec_argv *send_argv, *receive_argv;
	struct exec_user user;
	struct exec_result_conf rconf;
	long long *temp_codes;
	char **recv_env;
	struct exec_job *jobs; /* running send programs, doubly linked */
	int njobs;
	struct event *grace_ev;
	bool batch;              /* batch_size > 1 */
	struct msg_list waiting; /* batch mode: submitted, program not started yet */
	struct event *batch_wait_ev;
	struct exec_recv *recv; /* NULL without receive_argv */
};

/* recv.c.  start: begins running the receiver (spawn now, restart on exit).
 * stop: closes its stdin, asks it to end (SIGTERM, then SIGKILL after
 * kill_grace_ms) and calls exec_stop_progress() once it is reaped.
 * done: true once it has ended for good.  acked: the core's answer to a
 * line.  free: after done. */
struct exec_recv *exec_recv_start(struct exec *x);
void exec_recv_stop(struct exec_recv *r);
bool exec_recv_done(const struct exec_recv *r);
void exec_recv_acked(struct exec_recv *r, uint64_t token, bool committed);
void exec_recv_free(struct exec_recv *r);

/* exec.c: called when a job or the receiver ended while stopping. */
void exec_stop_progress(struct exec *x);

/* A spawn with the connection's fixed parts (cwd, PATH, user). */
MUST_CHECK int exec_spawn_with(struct exec *x, char **argv, char **envp, struct exec_child *ch, struct errbuf *err);

#endif

/*
 * exec: sends by running a program per message, never through a shell, and
 * receives from a long-lived program (recv.c).
 *
 * Design:
 * - argv.c builds the argument vector (templates of the http connection,
 *   filter none: byte for byte), the SMSPOOL_* environment (nothing else
 *   but PATH and the env setting) and the JSON line on stdin; proc.c starts
 *   the program (fork + execve, own process group, optional user);
 *   result.c maps its end to an outcome.  This file is the transport: one
 *   job per running program, all on the loop.
 * - A job watches four descriptors: the pidfd (the end of the program: it
 *   is reaped by pid at once, no zombie, no SIGCHLD handler), stdout and
 *   stderr (read as they come, at most max_output bytes each kept, the rest
 *   read and dropped so that a flooding program never blocks on a full
 *   pipe), and stdin (the JSON written without blocking, then closed).
 *   When the program ends, what is left in its pipes is drained and the
 *   message completed; a grandchild that keeps the pipes open is not waited
 *   for.
 * - timeout_ms: SIGTERM to the process group, kill_grace_ms later SIGKILL;
 *   the message is temporary (its fate is unknown: at-least-once).
 * - The core bounds the programs running at once by the window (each
 *   submit holds a slot until its result is committed).
 * - stop(): programs running get stop_grace_ms to end, then are killed as at
 *   a timeout (and completed temporary); the receiver is stopped; once every
 *   child is reaped, core_stopped().
 *
 * Job states: JOB_RUNNING → JOB_TERM (SIGTERM sent) → JOB_KILL (SIGKILL
 * sent) → reaped (completed, freed).  The connection: EXEC_OPEN →
 * EXEC_STOPPING → EXEC_STOPPED.
 */
#include "exec/exec.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/jsonptr.h"
#include "log.h"
#include "msg_parts.h"

#define O(f) offsetof(struct exec_conf, f)
static const struct setting exec_settings[] = {
    {"send_argv", SETTING_ARRAY, O(send_argv), false, false, 0, 0, NULL,
     "program and arguments run per message, e.g. [\"conf/exec/send.sh\", \"{recipient}\", \"{text}\"]; "
     "placeholders as in http templates (filter none)"},
    {"receive_argv", SETTING_ARRAY, O(receive_argv), false, false, 0, 0, NULL,
     "long-lived program whose stdout carries inbound texts and reports, one JSON object per line"},
    {"working_directory", SETTING_STRING, O(working_directory), false, false, 0, 0, NULL,
     "directory the programs run in (default: the daemon's)"},
    {"user", SETTING_STRING, O(user), false, false, 0, 0, NULL,
     "user the programs run as (needs a daemon running as root)"},
    {"path", SETTING_STRING, O(path), false, false, 0, 0, "\"/usr/local/bin:/usr/bin:/bin\"",
     "PATH of the programs, also searched for a program named without a /"},
    {"env", SETTING_OBJECT, O(env), false, false, 0, 0, NULL, "extra environment variables: name -> value"},
    {"timeout_ms", SETTING_INT, O(timeout_ms), false, true, 100, 3600000, "30000",
     "a send program still running after this is killed (temporary)"},
    {"kill_grace_ms", SETTING_INT, O(kill_grace_ms), false, true, 0, 60000, "2000",
     "time between SIGTERM and SIGKILL to the process group"},
    {"temporary_exit_codes", SETTING_ARRAY, O(temporary_exit_codes), false, false, 0, 0, "[75]",
     "exit statuses that mean try again later (75 = EX_TEMPFAIL); other non-zero statuses reject"},
    {"id_json_pointer", SETTING_STRING, O(id_json_pointer), false, false, 0, 0, NULL,
     "the remote id is this JSON pointer into stdout (default: stdout's first line)"},
    {"max_output", SETTING_INT, O(max_output), false, true, 1024, 16777216, "65536",
     "bytes of stdout and of stderr kept per program; the rest is read and dropped"},
    {"stop_grace_ms", SETTING_INT, O(stop_grace_ms), false, true, 0, 600000, "5000",
     "at stop, time running programs get to end before they are killed"},
    {"receive_max_line", SETTING_INT, O(receive_max_line), false, true, 256, 16777216, "1048576",
     "longest line the receiver may write; a longer one is skipped"},
    {"restart_min_ms", SETTING_INT, O(restart_min_ms), false, true, 10, 3600000, "500",
     "first delay before the receiver is started again (doubles, jittered)"},
    {"restart_max_ms", SETTING_INT, O(restart_max_ms), false, true, 10, 3600000, "30000",
     "longest delay before the receiver is started again"},
    {"batch_size", SETTING_INT, O(batch_size), false, true, 1, 10000, "1",
     "1: a program per message; more: a program per batch of up to this many (JSON lines on stdin)"},
    {"batch_wait_ms", SETTING_INT, O(batch_wait_ms), false, true, 0, 60000, "50",
     "batch mode: how long the first message waits for others"},
    {"receive_dedup", SETTING_INT, O(receive_dedup), false, true, 0, 1000000, "10000",
     "ids of committed lines remembered, so that a line sent again is acknowledged, not stored twice"},
    SETTINGS_END,
};
#undef O

enum job_state { JOB_RUNNING, JOB_TERM, JOB_KILL };

struct exec_job {
	struct exec *x;
	struct msg **msgs; /* one, or a batch */
	int *parts;
	int n;
	enum job_state state;
	struct exec_child ch;
	struct event *exit_ev, *out_ev, *err_ev, *in_ev, *timer_ev;
	char *in_buf;
	size_t in_len, in_off;
	struct sbuf out, err;
	size_t out_drop, err_drop;
	bool timed_out;
	struct exec_job *next, *prev;
};

static int compile_all(const struct exec_conf *conf, struct exec_argv **send, struct exec_argv **recv,
                       struct errbuf *err)
{
	*send = *recv = NULL;
	if (!conf->send_argv && !conf->receive_argv)
		return errbuf_set(err, "settings: send_argv or receive_argv (or both) is required");
	/* In batch mode the argument vector is the same for every message of
	 * the batch: no placeholder. */
	if (conf->send_argv &&
	    exec_argv_compile(conf->send_argv, conf->batch_size <= 1, "settings.send_argv", send, err))
		return -1;
	if (conf->receive_argv && exec_argv_compile(conf->receive_argv, false, "settings.receive_argv", recv, err))
		return -1;
	if (exec_env_check(conf->env, err))
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(conf->temporary_exit_codes, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 255)
			return errbuf_set(err, "settings.temporary_exit_codes[%zu]: must be an exit status 1..255", i);
	}
	if (conf->id_json_pointer && !jsonptr_valid(conf->id_json_pointer))
		return errbuf_set(err, "settings.id_json_pointer: \"%.60s\" is not a JSON pointer (\"/id\")",
		                  conf->id_json_pointer);
	if (conf->working_directory && !*conf->working_directory)
		return errbuf_set(err, "settings.working_directory: must not be empty");
	if (conf->user && !*conf->user)
		return errbuf_set(err, "settings.user: must not be empty");
	if (conf->restart_min_ms > conf->restart_max_ms)
		return errbuf_set(err, "settings.restart_min_ms: must not exceed restart_max_ms");
	return 0;
}

static int exec_check(const void *p, struct errbuf *err)
{
	struct exec_argv *s, *r;
	int rc = compile_all(p, &s, &r, err);
	exec_argv_free(s);
	exec_argv_free(r);
	return rc;
}

int exec_spawn_with(struct exec *x, char **argv, char **envp, struct exec_child *ch, struct errbuf *err)
{
	struct exec_spawn sp = {argv, envp, x->conf->working_directory, x->conf->path, &x->user};
	return exec_proc_spawn(&sp, ch, err);
}

static void exec_close(struct conn *c);
static void batch_wait_cb(evutil_socket_t fd, short what, void *arg);

static int exec_open(struct conn *c)
{
	const struct exec_conf *conf = conn_conf(c);
	struct exec *x = xcalloc(1, sizeof *x);
	x->c = c;
	x->conf = conf;
	conn_set_driver_data(c, x);
	struct errbuf err;
	if (compile_all(conf, &x->send_argv, &x->receive_argv, &err))
		goto fail;
	if (conf->user) {
		/* getpwnam_r reads the local user database once, here, not per message. */
		if (exec_user_resolve(conf->user, &x->user, &err))
			goto fail;
		if (geteuid() != 0) {
			if (x->user.uid != geteuid()) {
				errbuf_set(&err, "settings.user: the daemon must run as root to run programs as %.60s",
				           conf->user);
				goto fail;
			}
			exec_user_clear(&x->user); /* already that user */
		}
	}
	size_t n = json_array_size(conf->temporary_exit_codes);
	x->temp_codes = xcalloc(n + 1, sizeof *x->temp_codes);
	for (size_t i = 0; i < n; i++)
		x->temp_codes[i] = json_integer_value(json_array_get(conf->temporary_exit_codes, i));
	x->rconf = (struct exec_result_conf){x->temp_codes, n, conf->id_json_pointer};
	x->grace_ev = evtimer_new(conn_event_base(c), NULL, NULL);
	x->batch = conf->batch_size > 1;
	if (x->batch)
		x->batch_wait_ev = evtimer_new(conn_event_base(c), batch_wait_cb, x);
	/* A program that exits without reading its stdin makes our write fail
	 * with EPIPE; the signal must not end the daemon (it ignores SIGPIPE
	 * already; this keeps the driver safe in any host). */
	signal(SIGPIPE, SIG_IGN);
	log_info("exec_open", "conn=%s send=%s receive=%s", conn_name(c), conf->send_argv ? "yes" : "no",
	         conf->receive_argv ? "yes" : "no");
	core_conn_state(c, CONN_UP, NULL);
	if (x->receive_argv)
		x->recv = exec_recv_start(x);
	return 0;
fail : {
	char q[300];
	log_error("exec_open_failed", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
	exec_close(c); /* the core closes only what opened */
	return -1;
}
}

/* ---- one send program ---- */

/* Sets m's outcome from v (the remote id given, or our own). */
static void apply_verdict(struct exec *x, struct msg *m, int parts, const struct exec_verdict *v)
{
	char q[400];
	if (v->outcome == MSG_SENT) {
		char own[64];
		snprintf(own, sizeof own, "X%" PRId64 ".%d", m->id, m->attempts);
		const char *id = v->remote_id ? v->remote_id : own;
		const char **ids = xcalloc((size_t)parts, sizeof *ids);
		for (int i = 0; i < parts; i++)
			ids[i] = id;
		msg_set_sent(m, parts, ids);
		free(ids);
		log_debug("exec_sent", "conn=%s id=%" PRId64 " remote_id=%s", conn_name(x->c), m->id,
		          log_quote(id, q, sizeof q));
	} else {
		msg_set_failed(m, v->outcome, v->code, v->text);
		log_info("exec_failed", "conn=%s id=%" PRId64 " outcome=%s code=%s text=%s", conn_name(x->c), m->id,
		         msg_outcome_name(v->outcome), v->code, log_quote(v->text ? v->text : "", q, sizeof q));
	}
}

static void job_complete(struct exec_job *j)
{
	struct exec *x = j->x;
	struct exec_end end = {0};
	int status = 0;
	if (exec_proc_reap(&j->ch, &status))
		abort(); /* called only once the pidfd said it ended */
	/* What it wrote before it ended is in the pipes: take it. */
	if (j->ch.out_fd >= 0)
		(void)exec_proc_read(j->ch.out_fd, &j->out, (size_t)x->conf->max_output, &j->out_drop);
	if (j->ch.err_fd >= 0)
		(void)exec_proc_read(j->ch.err_fd, &j->err, (size_t)x->conf->max_output, &j->err_drop);
	end.wait_status = status;
	end.timed_out = j->timed_out;
	end.out = j->out.buf;
	end.out_len = j->out.len;
	end.err = j->err.buf;
	end.err_len = j->err.len;
	struct exec_verdict v;
	exec_result_map(&x->rconf, &end, &v);
	if (j->timed_out && x->state != EXEC_OPEN) {
		snprintf(v.code, sizeof v.code, "stopped");
		free(v.text);
		v.text = xstrdup("the connection stopped before the program ended: its process group was killed");
	}
	if (j->out_drop)
		log_info("exec_output_cut", "conn=%s id=%" PRId64 " kept=%zu dropped=%zu", conn_name(x->c),
		         j->msgs[0]->id, j->out.len, j->out_drop);
	bool *done = xcalloc((size_t)j->n, sizeof *done);
	if (x->batch) {
		/* Stdout names outcomes per message; stdout's first line is no id here. */
		free(v.remote_id);
		v.remote_id = NULL;
		const char *p = j->out.buf ? j->out.buf : "", *e = p + j->out.len;
		while (p < e) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
			int64_t id;
			struct exec_verdict lv;
			if (exec_result_batch_line(p, len, &id, &lv) == 0) {
				for (int i = 0; i < j->n; i++)
					if (!done[i] && j->msgs[i]->id == id) {
						apply_verdict(x, j->msgs[i], j->parts[i], &lv);
						done[i] = true;
						break;
					}
				exec_verdict_clear(&lv);
			}
			p += len + 1;
		}
	}
	for (int i = 0; i < j->n; i++)
		if (!done[i])
			apply_verdict(x, j->msgs[i], j->parts[i], &v);
	free(done);
	exec_verdict_clear(&v);
	/* unlink and free */
	if (j->prev)
		j->prev->next = j->next;
	else
		x->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	x->njobs--;
	event_free(j->exit_ev);
	if (j->out_ev)
		event_free(j->out_ev);
	if (j->err_ev)
		event_free(j->err_ev);
	if (j->in_ev)
		event_free(j->in_ev);
	event_free(j->timer_ev);
	exec_proc_close_fd(&j->ch.in_fd);
	exec_proc_close_fd(&j->ch.out_fd);
	exec_proc_close_fd(&j->ch.err_fd);
	sbuf_free(&j->out);
	sbuf_free(&j->err);
	free(j->in_buf);
	struct msg **msgs = j->msgs;
	int n = j->n;
	free(j->parts);
	free(j);
	for (int i = 0; i < n; i++)
		core_complete(x->c, msgs[i]);
	free(msgs);
	if (x->state == EXEC_STOPPING)
		exec_stop_progress(x);
}

static void job_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job *j = arg;
	if (j->timed_out)
		exec_proc_kill(&j->ch, SIGKILL); /* whatever of its group outlived it */
	job_complete(j);
}

static void job_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job *j = arg;
	bool is_out = fd == j->ch.out_fd;
	int rc = exec_proc_read(fd, is_out ? &j->out : &j->err, (size_t)j->x->conf->max_output,
	                        is_out ? &j->out_drop : &j->err_drop);
	if (rc != 0) { /* end of file or error: nothing more to read */
		struct event **ev = is_out ? &j->out_ev : &j->err_ev;
		event_free(*ev);
		*ev = NULL;
		exec_proc_close_fd(is_out ? &j->ch.out_fd : &j->ch.err_fd);
	}
}

static void job_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job *j = arg;
	while (j->in_off < j->in_len) {
		ssize_t n = write(fd, j->in_buf + j->in_off, j->in_len - j->in_off);
		if (n > 0) {
			j->in_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break; /* EPIPE: it does not read its stdin, which is its right */
	}
	event_free(j->in_ev);
	j->in_ev = NULL;
	exec_proc_close_fd(&j->ch.in_fd);
}

static void job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job *j = arg;
	const struct exec_conf *conf = j->x->conf;
	struct timeval tv = {(time_t)(conf->kill_grace_ms / 1000), (suseconds_t)(conf->kill_grace_ms % 1000) * 1000};
	switch (j->state) {
	case JOB_RUNNING: /* at the timeout, or stop_grace_ms after stop() */
		log_info("exec_kill", "conn=%s id=%" PRId64 " pid=%d signal=TERM why=%s", conn_name(j->x->c),
		         j->msgs[0]->id, (int)j->ch.pid, j->x->state == EXEC_OPEN ? "timeout" : "stop");
		j->timed_out = true;
		j->state = JOB_TERM;
		exec_proc_kill(&j->ch, SIGTERM);
		evtimer_add(j->timer_ev, &tv);
		break;
	case JOB_TERM:
		log_info("exec_kill", "conn=%s id=%" PRId64 " pid=%d signal=KILL", conn_name(j->x->c), j->msgs[0]->id,
		         (int)j->ch.pid);
		j->state = JOB_KILL;
		exec_proc_kill(&j->ch, SIGKILL);
		break;
	case JOB_KILL:
		break;
	}
}

static void fail_now(struct exec *x, struct msg *m, enum msg_outcome o, const char *code, const char *text)
{
	char q[300];
	msg_set_failed(m, o, code, text);
	log_info("exec_failed", "conn=%s id=%" PRId64 " outcome=%s code=%s text=%s", conn_name(x->c), m->id,
	         msg_outcome_name(o), code, log_quote(text, q, sizeof q));
	core_complete(x->c, m);
}

/* Starts the program for n messages (msgs and parts taken over; n > 1
 * only in batch mode).  argv/envp/in_buf are taken over too. */
static void job_start(struct exec *x, struct msg **msgs, int *parts, int n, char **argv, char **envp, char *in_buf)
{
	struct conn *c = x->c;
	struct errbuf err;
	struct exec_job *j = xcalloc(1, sizeof *j);
	j->x = x;
	j->msgs = msgs;
	j->parts = parts;
	j->n = n;
	sbuf_init(&j->out);
	sbuf_init(&j->err);
	int rc = exec_spawn_with(x, argv, envp, &j->ch, &err);
	exec_strv_free(argv);
	exec_strv_free(envp);
	if (rc) {
		log_error("exec_spawn_failed", "conn=%s id=%" PRId64 " messages=%d error=\"%s\"", conn_name(c),
		          msgs[0]->id, n, err.msg);
		for (int i = 0; i < n; i++)
			fail_now(x, msgs[i], MSG_TEMPORARY, "spawn", err.msg);
		free(msgs);
		free(parts);
		free(in_buf);
		sbuf_free(&j->out);
		sbuf_free(&j->err);
		free(j);
		return;
	}
	j->in_buf = in_buf;
	j->in_len = strlen(in_buf);
	struct event_base *base = conn_event_base(c);
	j->exit_ev = event_new(base, j->ch.pidfd, EV_READ, job_exit_cb, j);
	j->out_ev = event_new(base, j->ch.out_fd, EV_READ | EV_PERSIST, job_read_cb, j);
	j->err_ev = event_new(base, j->ch.err_fd, EV_READ | EV_PERSIST, job_read_cb, j);
	j->in_ev = event_new(base, j->ch.in_fd, EV_WRITE | EV_PERSIST, job_write_cb, j);
	j->timer_ev = evtimer_new(base, job_timer_cb, j);
	event_add(j->exit_ev, NULL);
	event_add(j->out_ev, NULL);
	event_add(j->err_ev, NULL);
	event_add(j->in_ev, NULL);
	long long ms = x->conf->timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(j->timer_ev, &tv);
	j->next = x->jobs;
	if (x->jobs)
		x->jobs->prev = j;
	x->jobs = j;
	x->njobs++;
	log_debug("exec_spawned", "conn=%s id=%" PRId64 " messages=%d pid=%d running=%d", conn_name(c), msgs[0]->id, n,
	          (int)j->ch.pid, x->njobs);
}

/* Batch mode: runs the program once for the messages waiting (up to
 * batch_size). */
static void batch_flush(struct exec *x)
{
	if (x->batch_wait_ev)
		evtimer_del(x->batch_wait_ev);
	while (x->waiting.len) {
		int n = x->waiting.len < x->conf->batch_size ? x->waiting.len : (int)x->conf->batch_size;
		struct msg **msgs = xcalloc((size_t)n, sizeof *msgs);
		int *parts = xcalloc((size_t)n, sizeof *parts);
		struct sbuf in;
		sbuf_init(&in);
		int k = 0;
		for (int i = 0; i < n; i++) {
			struct msg *m = msg_list_pop(&x->waiting);
			struct errbuf err;
			const char *enc = NULL;
			int p = msg_parts(m, &enc, &err);
			if (p < 0) {
				fail_now(x, m, MSG_FAILED, "encoding", err.msg);
				continue;
			}
			char *line = exec_msg_json(m, conn_name(x->c), enc, p);
			sbuf_adds(&in, line);
			free(line);
			msgs[k] = m;
			parts[k++] = p;
		}
		if (!k) {
			free(msgs);
			free(parts);
			sbuf_free(&in);
			continue;
		}
		struct errbuf err;
		char **argv = exec_argv_expand(x->send_argv, NULL, &err); /* no placeholders in batch mode */
		char **envp = exec_env_build(x->conf->path, conn_name(x->c), NULL, x->conf->env);
		sbuf_add(&in, "", 0);
		job_start(x, msgs, parts, k, argv, envp, in.buf ? in.buf : xstrdup(""));
	}
}

static void batch_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	batch_flush(arg);
}

static void exec_submit(struct conn *c, struct msg *m)
{
	struct exec *x = conn_driver_data(c);
	if (!x->send_argv) {
		fail_now(x, m, MSG_FAILED, "config", "this exec connection has no send_argv");
		return;
	}
	if (x->batch) {
		msg_list_push(&x->waiting, m);
		if (x->waiting.len >= x->conf->batch_size) {
			batch_flush(x);
		} else if (!evtimer_pending(x->batch_wait_ev, NULL)) {
			long long ms = x->conf->batch_wait_ms;
			struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
			evtimer_add(x->batch_wait_ev, &tv);
		}
		return;
	}
	struct errbuf err;
	const char *enc = NULL;
	int parts = msg_parts(m, &enc, &err);
	if (parts < 0) {
		fail_now(x, m, MSG_FAILED, "encoding", err.msg);
		return;
	}
	struct http_tpl_vals vs;
	http_tpl_vals_fill(&vs, m, enc, parts, 1);
	char **argv = exec_argv_expand(x->send_argv, &vs, &err);
	if (!argv) {
		fail_now(x, m, MSG_FAILED, "template", err.msg);
		return;
	}
	char **envp = exec_env_build(x->conf->path, conn_name(c), &vs, x->conf->env);
	struct msg **msgs = xcalloc(1, sizeof *msgs);
	int *p = xcalloc(1, sizeof *p);
	msgs[0] = m;
	p[0] = parts;
	job_start(x, msgs, p, 1, argv, envp, exec_msg_json(m, conn_name(c), enc, parts));
}

/* ---- stop ---- */

void exec_stop_progress(struct exec *x)
{
	if (x->state != EXEC_STOPPING || x->njobs > 0 || (x->recv && !exec_recv_done(x->recv)))
		return;
	x->state = EXEC_STOPPED;
	log_info("exec_stopped", "conn=%s", conn_name(x->c));
	core_stopped(x->c);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec *x = arg;
	/* The programs still running are ended as at a timeout (their
	 * messages temporary): their next event is the SIGTERM. */
	for (struct exec_job *j = x->jobs; j; j = j->next)
		if (j->state == JOB_RUNNING) {
			evtimer_del(j->timer_ev);
			job_timer_cb(-1, 0, j);
		}
}

static void exec_stop(struct conn *c)
{
	struct exec *x = conn_driver_data(c);
	if (x->state != EXEC_OPEN)
		return;
	x->state = EXEC_STOPPING;
	log_info("exec_stopping", "conn=%s running=%d waiting=%d", conn_name(c), x->njobs, x->waiting.len);
	if (x->batch_wait_ev)
		evtimer_del(x->batch_wait_ev);
	for (struct msg *m; (m = msg_list_pop(&x->waiting));) {
		msg_set_failed(m, MSG_RELEASE, NULL, "the connection stopped before the batch ran");
		core_complete(c, m);
	}
	if (x->recv)
		exec_recv_stop(x->recv);
	if (x->njobs) {
		long long ms = x->conf->stop_grace_ms;
		struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
		evtimer_assign(x->grace_ev, conn_event_base(c), grace_cb, x);
		evtimer_add(x->grace_ev, &tv);
	}
	exec_stop_progress(x);
}

static void exec_close(struct conn *c)
{
	struct exec *x = conn_driver_data(c);
	if (!x)
		return;
	/* After core_stopped there is no job and the receiver has ended; after
	 * a failed open there was never any. */
	exec_recv_free(x->recv);
	if (x->grace_ev)
		event_free(x->grace_ev);
	if (x->batch_wait_ev)
		event_free(x->batch_wait_ev);
	exec_argv_free(x->send_argv);
	exec_argv_free(x->receive_argv);
	exec_user_clear(&x->user);
	free(x->temp_codes);
	free(x);
	conn_set_driver_data(c, NULL);
}

static void exec_acked(struct conn *c, uint64_t token, bool committed)
{
	struct exec *x = conn_driver_data(c);
	if (x && x->recv)
		exec_recv_acked(x->recv, token, committed);
}

const struct driver_ops exec_driver = {
    .name = "exec",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = exec_settings,
    .conf_size = sizeof(struct exec_conf),
    .check = exec_check,
    .open = exec_open,
    .submit = exec_submit,
    .stop = exec_stop,
    .close = exec_close,
    .acked = exec_acked,
};

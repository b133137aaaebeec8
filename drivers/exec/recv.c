/*
 * recv: the receiver program of an exec connection.  It runs for as long as
 * the connection does; each line of its stdout is a JSON object (line.c):
 * an inbound text or a delivery report.
 *
 * Acknowledgement protocol (one line of JSON on the program's stdin each):
 * - {"ack": ID} once what the line carried is committed, ID being the
 *   line's "id" when it has one, else its line number (1 = the first line
 *   this run of the program wrote);
 * - {"ack": ID, "error": "..."} for a line that was skipped (bad JSON, a
 *   missing field): the program should not send it again;
 * - {"nack": ID} when the database could not take it: send it again later.
 * Acks may come in another order than the lines.  A line sent again with an
 * id that is already committed (the program was restarted before it saw the
 * ack) is acknowledged at once and not stored twice; one still in flight is
 * acknowledged when it commits.  receive_dedup bounds how many committed ids
 * are remembered (and a daemon restart forgets them: at-least-once).
 *
 * The program is restarted when it ends, after a jittered delay that doubles
 * from restart_min_ms to restart_max_ms (back to the minimum once a run
 * lasted longer than restart_max_ms).  Its stderr goes to the log, rate-
 * limited, as do bad lines.  Acks waiting for a program that does not read
 * its stdin are bounded (1 MiB): beyond, they are dropped and logged.
 *
 * States: RECV_WAITING (timer to start) → RECV_RUNNING → (exit) RECV_WAITING
 * …; stop: RECV_STOPPING (stdin closed, SIGTERM, SIGKILL after kill_grace_ms)
 * → RECV_DONE.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/line.h"
#include "hash.h"
#include "log.h"
#include "net/tokens.h"

#define ACK_BACKLOG_MAX (1 << 20)

enum recv_state { RECV_WAITING, RECV_RUNNING, RECV_STOPPING, RECV_DONE };

/* A line handed to the core (in flight: in exec_recv.inflight by its
 * token) or committed and remembered for its id (done: in the list). */
struct entry {
	uint64_t gen, lineno;
	char *id; /* compact JSON, or NULL; with one, the entry is in exec_recv.by_id */
	bool done;
	struct entry *next, *prev; /* done: the committed ids, oldest first */
};

struct exec_recv {
	struct exec *x;
	enum recv_state state;
	struct exec_child ch;
	struct event *exit_ev, *out_ev, *err_ev, *in_ev, *timer_ev;
	struct sbuf line, errline, acks;
	bool line_too_long, ack_dropping;
	uint64_t gen, lineno;
	uint64_t started_ms;
	long long backoff_ms;
	bool degraded;             /* the connection's state detail says the receiver is down */
	struct tokens inflight;    /* entries handed to the core, by token (src/net/tokens.c) */
	struct hash *by_id;        /* entries with an id, in flight or done (src/hash.c) */
	struct entry *head, *tail; /* done entries, oldest first */
	size_t ndone;
	/* rate limits of the log */
	uint64_t log_window_ms;
	int logged_in_window, suppressed;
};

static const char *cname(const struct exec_recv *r)
{
	return conn_name(r->x->c);
}

static bool log_allowed(struct exec_recv *r)
{
	uint64_t now = now_mono_ms();
	if (now - r->log_window_ms >= 10000) {
		if (r->suppressed)
			log_warn("exec_receive_log_suppressed", "conn=%s lines=%d", cname(r), r->suppressed);
		r->log_window_ms = now;
		r->logged_in_window = 0;
		r->suppressed = 0;
	}
	if (r->logged_in_window >= 20) {
		r->suppressed++;
		return false;
	}
	r->logged_in_window++;
	return true;
}

/* ---- entries ---- */

/* Frees e, in flight (already taken from inflight) or done. */
static void entry_free(struct exec_recv *r, struct entry *e)
{
	if (e->id)
		(void)hash_remove(r->by_id, e->id);
	if (e->done) {
		if (e->prev)
			e->prev->next = e->next;
		else
			r->head = e->next;
		if (e->next)
			e->next->prev = e->prev;
		else
			r->tail = e->prev;
		r->ndone--;
	}
	free(e->id);
	free(e);
}

/* tokens_clear's free_value, once by_id is gone. */
static void entry_free_inflight(void *value)
{
	struct entry *e = value;
	free(e->id);
	free(e);
}

/* ---- writing to the program ---- */

static void flush_acks(struct exec_recv *r)
{
	while (r->acks.len && r->ch.in_fd >= 0) {
		ssize_t n = write(r->ch.in_fd, r->acks.buf, r->acks.len);
		if (n > 0) {
			memmove(r->acks.buf, r->acks.buf + n, r->acks.len - (size_t)n);
			r->acks.len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(r->in_ev, NULL);
			return;
		}
		/* EPIPE: it closed its stdin or ended; what is left is lost with it. */
		r->acks.len = 0;
		break;
	}
	if (r->in_ev)
		event_del(r->in_ev);
}

static void in_cb(evutil_socket_t fd, short what, void *arg)
{
	flush_acks(arg);
}

/* Queues one answer line for the current run of the program. */
static void answer(struct exec_recv *r, const char *key, const char *id, uint64_t lineno, const char *error)
{
	if (r->state != RECV_RUNNING || r->ch.in_fd < 0)
		return;
	if (r->acks.len > ACK_BACKLOG_MAX) {
		if (!r->ack_dropping)
			log_warn("exec_receive_acks_dropped",
			         "conn=%s problem=\"the receiver does not read its stdin; acknowledgements dropped\"",
			         cname(r));
		r->ack_dropping = true;
		return;
	}
	r->ack_dropping = false;
	if (id)
		sbuf_printf(&r->acks, "{\"%s\": %s", key, id);
	else
		sbuf_printf(&r->acks, "{\"%s\": %" PRIu64, key, lineno);
	if (error) {
		json_t *s = json_string(error);
		char *t = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
		sbuf_printf(&r->acks, ", \"error\": %s", t ? t : "\"?\"");
		free(t);
		json_decref(s);
	}
	sbuf_adds(&r->acks, "}\n");
	flush_acks(r);
}

/* ---- lines ---- */

static void on_line(struct exec_recv *r, const char *s, size_t n)
{
	r->lineno++;
	struct exec_line l;
	struct errbuf err;
	int rc = exec_line_parse(s, n, &l, &err);
	if (rc == 1)
		return;
	if (rc < 0) {
		char q[300];
		if (log_allowed(r))
			log_warn("exec_receive_bad_line", "conn=%s line=%" PRIu64 " error=%s", cname(r), r->lineno,
			         log_quote(err.msg, q, sizeof q));
		answer(r, "ack", NULL, r->lineno, err.msg);
		return;
	}
	if (l.id) {
		struct entry *old = hash_get(r->by_id, l.id);
		if (old) {
			if (old->done)
				answer(r, "ack", l.id, 0, NULL);
			/* in flight: its ack, by id, reaches whoever runs then */
			if (log_allowed(r))
				log_info("exec_receive_again", "conn=%s id=%s committed=%d", cname(r), l.id, old->done);
			exec_line_clear(&l);
			return;
		}
	}
	struct entry *e = xcalloc(1, sizeof *e);
	e->gen = r->gen;
	e->lineno = r->lineno;
	e->id = l.id;
	l.id = NULL;
	if (e->id)
		(void)hash_put(r->by_id, e->id, e);
	uint64_t token = tokens_add(&r->inflight, e);
	if (l.kind == EXEC_LINE_INBOUND) {
		struct inbound *in = l.in;
		l.in = NULL;
		core_received(r->x->c, in, token);
	} else {
		struct report *rep = l.rep;
		l.rep = NULL;
		core_report(r->x->c, rep, token);
	}
	exec_line_clear(&l);
}

/* Feeds n bytes of stdout: complete lines go to on_line; a line longer than
 * receive_max_line is dropped up to its newline, never kept whole. */
static void feed(struct exec_recv *r, const char *p, size_t n)
{
	size_t max = (size_t)r->x->conf->receive_max_line;
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		if (!r->line_too_long) {
			if (r->line.len + k > max) {
				r->line_too_long = true;
				r->line.len = 0;
			} else {
				sbuf_add(&r->line, p, k);
			}
		}
		if (!nl)
			return;
		if (r->line_too_long) {
			r->line_too_long = false;
			r->lineno++;
			if (log_allowed(r))
				log_warn("exec_receive_bad_line",
				         "conn=%s line=%" PRIu64 " error=\"longer than %zu bytes\"", cname(r),
				         r->lineno, max);
			answer(r, "ack", NULL, r->lineno, "line too long");
		} else {
			on_line(r, r->line.buf ? r->line.buf : "", r->line.len);
		}
		r->line.len = 0;
		p += k + 1;
		n -= k + 1;
	}
}

static void out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_recv *r = arg;
	char chunk[65536];
	int rc = 0;
	/* At most 4 MiB per wake-up: a flood must not hold the loop. */
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n > 0) {
			feed(r, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			rc = 1;
		break;
	}
	if (rc && r->out_ev) {
		event_free(r->out_ev);
		r->out_ev = NULL;
		exec_proc_close_fd(&r->ch.out_fd);
	}
}

static void err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_recv *r = arg;
	size_t dropped = 0;
	int rc = exec_proc_read(fd, &r->errline, 4096, &dropped);
	for (;;) {
		char *nl = r->errline.len ? memchr(r->errline.buf, '\n', r->errline.len) : NULL;
		if (!nl && r->errline.len < 4096 && rc == 0)
			break;
		size_t n = nl ? (size_t)(nl - r->errline.buf) : r->errline.len;
		if (n || nl) {
			char *t = exec_first_line(r->errline.buf, n, 300);
			char q[400];
			if (*t && log_allowed(r))
				log_warn("exec_receive_stderr", "conn=%s pid=%d line=%s", cname(r), (int)r->ch.pid,
				         log_quote(t, q, sizeof q));
			free(t);
		}
		size_t used = nl ? n + 1 : n;
		memmove(r->errline.buf, r->errline.buf + used, r->errline.len - used);
		r->errline.len -= used;
		if (!r->errline.len)
			break;
	}
	if (rc != 0 && r->err_ev) {
		event_free(r->err_ev);
		r->err_ev = NULL;
		exec_proc_close_fd(&r->ch.err_fd);
	}
}

/* ---- the program's life ---- */

static void free_events(struct exec_recv *r)
{
	struct event **evs[] = {&r->exit_ev, &r->out_ev, &r->err_ev, &r->in_ev};
	for (size_t i = 0; i < ARRAY_LEN(evs); i++)
		if (*evs[i]) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	exec_proc_close_fd(&r->ch.in_fd);
	exec_proc_close_fd(&r->ch.out_fd);
	exec_proc_close_fd(&r->ch.err_fd);
}

/* The connection stays up (it sends, and the receiver comes back); its
 * state detail tells `smspool status` that the receiver is not running. */
static void set_detail(struct exec_recv *r, const char *why)
{
	if (r->x->state != EXEC_OPEN)
		return;
	r->degraded = true;
	core_conn_state(r->x->c, CONN_UP, why);
}

static void schedule_start(struct exec_recv *r, long long delay_ms)
{
	r->state = RECV_WAITING;
	struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
	evtimer_add(r->timer_ev, &tv);
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_recv *r = arg;
	const struct exec_conf *conf = r->x->conf;
	/* Lines it wrote before it ended are still in the pipe: take them. */
	if (r->out_ev)
		out_cb(r->ch.out_fd, EV_READ, r);
	if (r->err_ev)
		err_cb(r->ch.err_fd, EV_READ, r);
	exec_proc_kill(&r->ch, SIGKILL); /* what it started dies with it */
	int status = 0;
	pid_t pid = r->ch.pid;
	if (exec_proc_reap(&r->ch, &status))
		abort();
	free_events(r);
	if (r->line.len || r->line_too_long)
		if (log_allowed(r))
			log_warn("exec_receive_bad_line",
			         "conn=%s line=%" PRIu64 " error=\"cut by the end of the program\"", cname(r),
			         r->lineno + 1);
	r->line.len = 0;
	r->line_too_long = false;
	r->acks.len = 0;
	r->errline.len = 0;
	uint64_t ran = now_mono_ms() - r->started_ms;
	if (r->state == RECV_STOPPING) {
		evtimer_del(r->timer_ev);
		log_info("exec_receiver_stopped", "conn=%s pid=%d status=%d", cname(r), (int)pid, status);
		r->state = RECV_DONE;
		exec_stop_progress(r->x);
		return;
	}
	if (ran > (uint64_t)conf->restart_max_ms)
		r->backoff_ms = conf->restart_min_ms;
	long long delay = r->backoff_ms / 2 + (long long)arc4random_uniform((uint32_t)(r->backoff_ms / 2 + 1));
	log_warn("exec_receiver_ended", "conn=%s pid=%d exit=%d signal=%d ran_ms=%" PRIu64 " restart_in_ms=%lld",
	         cname(r), (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	         WIFSIGNALED(status) ? WTERMSIG(status) : 0, ran, delay);
	r->backoff_ms = r->backoff_ms * 2 > conf->restart_max_ms ? conf->restart_max_ms : r->backoff_ms * 2;
	set_detail(r, "the receiver program ended; restarting");
	schedule_start(r, delay);
}

static void start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_recv *r = arg;
	struct exec *x = r->x;
	if (r->state == RECV_STOPPING) { /* SIGKILL timer while stopping */
		exec_proc_kill(&r->ch, SIGKILL);
		return;
	}
	if (r->state != RECV_WAITING)
		return;
	struct errbuf err;
	char **argv = exec_argv_expand(x->receive_argv, NULL, &err);
	char **envp = exec_env_build(x->conf->path, conn_name(x->c), NULL, x->conf->env);
	int rc = argv ? exec_spawn_with(x, argv, envp, &r->ch, &err) : -1;
	exec_strv_free(argv);
	exec_strv_free(envp);
	if (rc) {
		log_error("exec_receiver_spawn_failed", "conn=%s error=\"%s\" restart_in_ms=%lld", cname(r), err.msg,
		          r->backoff_ms);
		long long d = r->backoff_ms;
		r->backoff_ms = d * 2 > x->conf->restart_max_ms ? x->conf->restart_max_ms : d * 2;
		set_detail(r, err.msg);
		schedule_start(r, d);
		return;
	}
	struct event_base *base = conn_event_base(x->c);
	r->gen++;
	r->lineno = 0;
	r->started_ms = now_mono_ms();
	r->state = RECV_RUNNING;
	r->exit_ev = event_new(base, r->ch.pidfd, EV_READ, exit_cb, r);
	r->out_ev = event_new(base, r->ch.out_fd, EV_READ | EV_PERSIST, out_cb, r);
	r->err_ev = event_new(base, r->ch.err_fd, EV_READ | EV_PERSIST, err_cb, r);
	r->in_ev = event_new(base, r->ch.in_fd, EV_WRITE, in_cb, r);
	event_add(r->exit_ev, NULL);
	event_add(r->out_ev, NULL);
	event_add(r->err_ev, NULL);
	log_info("exec_receiver_started", "conn=%s pid=%d run=%" PRIu64, cname(r), (int)r->ch.pid, r->gen);
	if (r->degraded) {
		r->degraded = false;
		core_conn_state(x->c, CONN_UP, NULL);
	}
	/* Committed ids whose ack the previous run never saw are answered when
	 * the line comes again (on_line); nothing to send here. */
}

struct exec_recv *exec_recv_start(struct exec *x)
{
	struct exec_recv *r = xcalloc(1, sizeof *r);
	r->x = x;
	r->ch.pid = r->ch.pidfd = r->ch.in_fd = r->ch.out_fd = r->ch.err_fd = -1;
	r->backoff_ms = x->conf->restart_min_ms;
	r->timer_ev = evtimer_new(conn_event_base(x->c), start_cb, r);
	r->by_id = hash_new();
	sbuf_init(&r->line);
	sbuf_init(&r->errline);
	sbuf_init(&r->acks);
	r->state = RECV_WAITING;
	start_cb(-1, 0, r);
	return r;
}

void exec_recv_acked(struct exec_recv *r, uint64_t token, bool committed)
{
	struct entry *e = tokens_take(&r->inflight, token);
	if (!e)
		return;
	bool same_run = e->gen == r->gen;
	if (!committed) {
		if (e->id || same_run)
			answer(r, "nack", e->id, e->lineno, NULL);
		entry_free(r, e);
		return;
	}
	if (e->id || same_run)
		answer(r, "ack", e->id, e->lineno, NULL);
	if (!e->id || r->x->conf->receive_dedup == 0) {
		entry_free(r, e);
		return;
	}
	e->done = true;
	e->prev = r->tail;
	if (r->tail)
		r->tail->next = e;
	else
		r->head = e;
	r->tail = e;
	r->ndone++;
	/* Forget the oldest committed ids beyond receive_dedup. */
	while (r->ndone > (size_t)r->x->conf->receive_dedup)
		entry_free(r, r->head);
}

void exec_recv_stop(struct exec_recv *r)
{
	if (r->state == RECV_WAITING) {
		evtimer_del(r->timer_ev);
		r->state = RECV_DONE;
		return;
	}
	if (r->state != RECV_RUNNING)
		return;
	r->state = RECV_STOPPING;
	if (r->in_ev) {
		event_free(r->in_ev);
		r->in_ev = NULL;
	}
	exec_proc_close_fd(&r->ch.in_fd); /* end of input: the polite way to ask it to end */
	exec_proc_kill(&r->ch, SIGTERM);
	long long ms = r->x->conf->kill_grace_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(r->timer_ev, &tv);
}

bool exec_recv_done(const struct exec_recv *r)
{
	return r->state == RECV_DONE;
}

void exec_recv_free(struct exec_recv *r)
{
	if (!r)
		return;
	if (r->ch.pid > 0) { /* never after a clean stop; only if the loop ended first */
		int status;
		exec_proc_kill(&r->ch, SIGKILL);
		while (waitpid(r->ch.pid, &status, 0) < 0 && errno == EINTR)
			;
		exec_proc_close_fd(&r->ch.pidfd);
	}
	free_events(r);
	event_free(r->timer_ev);
	while (r->head)
		entry_free(r, r->head);
	hash_free(r->by_id, NULL); /* what is left is in flight: */
	tokens_clear(&r->inflight, entry_free_inflight);
	sbuf_free(&r->line);
	sbuf_free(&r->errline);
	sbuf_free(&r->acks);
	free(r);
}

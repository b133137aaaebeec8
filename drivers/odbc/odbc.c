/*
 * odbc: another database's tables as a gateway (type `odbc`).
 *
 * Taking (take.c): every poll_ms the worker thread reads up to `batch` new
 * rows (status NULL) of the foreign outgoing table; each becomes an outbox
 * row of the connection's account through core_submit (client_ref = the
 * row's key); once every answer is in, one write job marks the rows taken.
 * The account has unique_client_ref: a row taken again after a crash between
 * the two commits is refused with the id it already has, and marked with
 * that id — exactly once.
 * Writing (write.c): states (sent with accounts.report_sent, and the final
 * ones) reach the account as report events (deliver()); each is written into
 * the foreign row and acknowledged only after that commit.  Messages routed
 * to this connection and inbound texts routed to its account become rows of
 * the foreign incoming table; a message counts as sent once that row is
 * committed.
 *
 * This file: the driver's entry points and the connection's one state
 * machine (enum odbc_state, odbc_enter): DOWN (waiting to retry) →
 * CONNECTING (the first read out) → UP (taking, writing) → DOWN on any
 * error, with backoff; STOPPING ends it.  All ODBC calls are in worker.c, on
 * the connection's own thread; its results come back here (on_results).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "odbc/odbc.h"
#include "util.h"

static const char *const odbc_state_names[] = {"down", "connecting", "up", "stopping"};

static void odbc_enter(struct odbc *d, enum odbc_state s, const char *detail);

void odbc_fail(struct odbc *d, const char *err)
{
	if (d->state == ODBC_UP || d->state == ODBC_CONNECTING)
		odbc_enter(d, ODBC_DOWN, err);
}

void odbc_arm(struct odbc *d, long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	evtimer_add(d->timer, &tv);
}

void odbc_post(struct odbc *d, struct odbc_job *job)
{
	d->jobs_out++;
	odbc_worker_post(d->w, job);
}

void odbc_maybe_stopped(struct odbc *d)
{
	if (d->state != ODBC_STOPPING || !d->w || d->jobs_out > 0 || odbc_take_busy(d))
		return;
	odbc_take_end_all(d);
	odbc_worker_stop(d->w);
	d->w = NULL;
	core_stopped(d->c);
}

/* ---- results from the worker ---- */

static void on_results(evutil_socket_t fd, short what, void *arg)
{
	struct odbc *d = arg;
	for (struct chan_item *it = chan_take_all(&d->results), *nx; it; it = nx) {
		nx = it->next;
		struct odbc_job *job = it->ptr;
		free(it);
		d->jobs_out--;
		switch (job->kind) {
		case ODBC_JOB_TAKE:
			d->reading = false;
			if (job->rc) {
				odbc_fail(d, job->err);
				odbc_job_free(job);
			} else if (d->state == ODBC_STOPPING || d->state == ODBC_DOWN) {
				odbc_job_free(job);
			} else {
				if (d->state == ODBC_CONNECTING)
					odbc_enter(d, ODBC_UP, NULL);
				odbc_take_rows(d, job);
			}
			break;
		case ODBC_JOB_WRITE:
			if (job->nrows == -1) /* the marks of a take */
				odbc_take_marked(d, job);
			else
				odbc_write_done(d, job);
			odbc_job_free(job);
			break;
		}
	}
	odbc_maybe_stopped(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct odbc *d = arg;
	switch (d->state) {
	case ODBC_DOWN:
		odbc_enter(d, ODBC_CONNECTING, NULL);
		break;
	case ODBC_UP:
		d->throttled = false;
		odbc_take_start(d);
		break;
	case ODBC_CONNECTING:
	case ODBC_STOPPING:
		break;
	}
}

/* The state machine: every transition, with what entering a state does. */
static void odbc_enter(struct odbc *d, enum odbc_state s, const char *detail)
{
	enum odbc_state from = d->state;
	d->state = s;
	log_debug("odbc_state", "conn=%s from=%s to=%s", conn_name(d->c), odbc_state_names[from], odbc_state_names[s]);
	switch (s) {
	case ODBC_DOWN: {
		evtimer_del(d->timer);
		if (d->attached) {
			core_account_detach(d->c, d->conf->account);
			d->attached = false;
		}
		odbc_write_drop_pending(d);
		char buf[400];
		snprintf(buf, sizeof buf, "foreign database: %s (retry in %d ms)", detail && *detail ? detail : "error",
		         d->backoff_ms);
		log_warn("odbc_down", "conn=%s error=\"%s\" retry_ms=%d", conn_name(d->c), detail ? detail : "",
		         d->backoff_ms);
		core_conn_state(d->c, CONN_DOWN, buf);
		odbc_arm(d, d->backoff_ms);
		d->backoff_ms =
		    d->backoff_ms * 2 > d->conf->retry_max_ms ? (int)d->conf->retry_max_ms : d->backoff_ms * 2;
		break;
	}
	case ODBC_CONNECTING: {
		if (from == ODBC_STOPPING)
			break;
		/* Up only once a read of the outgoing table worked: a database
		 * that accepts logins but refuses the statement is not up. */
		core_conn_state(d->c, CONN_CONNECTING, NULL);
		odbc_take_start(d); /* unless a read of before the error is still out: its answer will do */
		break;
	}
	case ODBC_UP:
		d->backoff_ms = (int)d->conf->retry_min_ms;
		log_info("odbc_up", "conn=%s", conn_name(d->c));
		core_conn_state(d->c, CONN_UP, NULL);
		break;
	case ODBC_STOPPING:
		evtimer_del(d->timer);
		odbc_worker_cancel(d->w);
		if (d->attached) {
			core_account_detach(d->c, d->conf->account);
			d->attached = false;
		}
		odbc_write_drop_pending(d);
		core_conn_state(d->c, CONN_STOPPING, NULL);
		break;
	}
}

/* ---- life cycle ---- */

static int odbc_open(struct conn *c)
{
	const struct odbc_conf *conf = conn_conf(c);
	struct odbc *d = xcalloc(1, sizeof *d);
	d->c = c;
	d->conf = conf;
	struct errbuf err;
	if (odbc_conf_plan(conf, &d->plan, &err)) {
		log_error("odbc_config", "conn=%s error=\"%s\"", conn_name(c), err.msg);
		free(d);
		return -1;
	}
	d->plan.conn_name = conn_name(c);
	d->backoff_ms = (int)conf->retry_min_ms;
	d->unmarked = hash_new();
	chan_init(&d->results);
	d->chan_ev = event_new(conn_event_base(c), chan_fd(&d->results), EV_READ | EV_PERSIST, on_results, d);
	d->timer = evtimer_new(conn_event_base(c), on_timer, d);
	d->flush_ev = event_new(conn_event_base(c), -1, 0, odbc_write_flush_cb, d);
	event_add(d->chan_ev, NULL);
	d->w = odbc_worker_start(&d->plan, &d->results);
	conn_set_driver_data(c, d);
	d->state = ODBC_DOWN;
	odbc_enter(d, ODBC_CONNECTING, NULL);
	return 0;
}

static void odbc_stop(struct conn *c)
{
	struct odbc *d = conn_driver_data(c);
	if (d->state == ODBC_STOPPING)
		return;
	odbc_enter(d, ODBC_STOPPING, NULL);
	odbc_maybe_stopped(d);
}

static void odbc_close(struct conn *c)
{
	struct odbc *d = conn_driver_data(c);
	if (!d)
		return;
	if (d->w) /* closed without a stop: nothing may be out by the contract */
		odbc_worker_stop(d->w);
	event_free(d->chan_ev);
	event_free(d->timer);
	event_free(d->flush_ev);
	chan_destroy(&d->results);
	odbc_take_free_all(d);
	hash_free(d->unmarked, NULL);
	free(d->pend);
	odbc_conf_plan_free(&d->plan);
	free(d);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops odbc_driver = {
    .name = "odbc",
    .caps = CAP_SEND | CAP_RECEIVE,
    .settings = odbc_conf_settings,
    .conf_size = sizeof(struct odbc_conf),
    .check = odbc_conf_check,
    .open = odbc_open,
    .submit = odbc_write_submit,
    .stop = odbc_stop,
    .close = odbc_close,
    .submitted = odbc_take_submitted,
    .deliver = odbc_write_deliver,
};

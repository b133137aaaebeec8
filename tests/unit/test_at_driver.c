/*
 * test_at_driver: the `at` driver's promises that an end-to-end run cannot
 * pin down, with fake_core.h playing the core and this file a scripted
 * modem on the master side of a pty:
 * - a stored text is deleted (AT+CMGD) only after acked(committed=true);
 *   after acked(committed=false) it stays on the SIM and the next sweep
 *   hands it over again; a delete that fails is tried again, and the text
 *   is not handed over twice meanwhile;
 * - stop() while an AT+CMGS is answered late waits for the answer: the
 *   message completes as sent with the modem's TP-MR, then core_stopped();
 * - +CMS ERROR classes: 38 is retried (temporary), 1 rejects (invalid number);
 * - send_interval_ms spaces two AT+CMGS of one modem;
 * - a +CMT text is acknowledged (AT+CNMA) only after its commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_core.h"

extern const struct driver_ops at_driver;

/* What reaches the core from the SIM is the one stored text; the marker
 * each sweep sends (held parts are due) is no text and wants no ack. */
static bool at_received(struct conn *c, const struct inbound *in, uint64_t token)
{
	(void)c;
	if (in->key && !strcmp(in->key, "sms-parts-due")) {
		assert_int_equal(token, 0);
		return false;
	}
	assert_string_equal(in->body, "hellohello");
	return true;
}

static const struct fake_core_hooks at_hooks = {.received = at_received};

/* ---- the scripted modem ---- */

struct modem {
	int master;
	char line[1024];
	size_t len;
	bool in_pdu, stored, hold_cmgs;
	int fail_deletes, delete_tries;
	uint64_t cmgs_ms[8];
	int cnma;
	int deletes, cmgs_count, fail_codes[4], n_fail;
	char held_pdu[512];
};

static const char *stored_pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";

static void modem_say(struct modem *md, const char *s)
{
	assert_int_equal(write(md->master, s, strlen(s)), (ssize_t)strlen(s));
}

static void modem_line(struct modem *md, const char *l)
{
	char buf[512];
	if (!strcmp(l, "AT+CGSN"))
		modem_say(md, "\r\n490154203237518\r\n\r\nOK\r\n");
	else if (!strcmp(l, "AT+CIMI"))
		modem_say(md, "\r\n001010123456789\r\n\r\nOK\r\n");
	else if (!strcmp(l, "AT+CPIN?"))
		modem_say(md, "\r\n+CPIN: READY\r\n\r\nOK\r\n");
	else if (!strcmp(l, "AT+CMGL=4")) {
		if (md->stored) {
			snprintf(buf, sizeof buf, "\r\n+CMGL: 5,1,,28\r\n%s\r\n\r\nOK\r\n", stored_pdu);
			modem_say(md, buf);
		} else {
			modem_say(md, "\r\nOK\r\n");
		}
	} else if (!strcmp(l, "AT+CMGD=5")) {
		md->delete_tries++;
		if (md->fail_deletes > 0) {
			md->fail_deletes--;
			modem_say(md, "\r\n+CMS ERROR: 320\r\n"); /* memory failure */
			return;
		}
		md->stored = false;
		md->deletes++;
		modem_say(md, "\r\nOK\r\n");
	} else if (!strcmp(l, "AT+CNMA")) {
		md->cnma++;
		modem_say(md, "\r\nOK\r\n");
	} else if (!strncmp(l, "AT+CMGS=", 8)) {
		md->in_pdu = true;
		modem_say(md, "\r\n> ");
	} else {
		modem_say(md, "\r\nOK\r\n");
	}
}

/* Reads what the driver wrote and answers it. */
static void modem_poll(struct modem *md)
{
	char b[512];
	ssize_t n;
	while ((n = read(md->master, b, sizeof b)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char ch = b[i];
			if (md->in_pdu) {
				if (ch == 0x1A) {
					md->in_pdu = false;
					if (md->cmgs_count < 8)
						md->cmgs_ms[md->cmgs_count] = now_mono_ms();
					md->cmgs_count++;
					if (md->n_fail) {
						snprintf(md->held_pdu, sizeof md->held_pdu, "\r\n+CMS ERROR: %d\r\n",
						         md->fail_codes[--md->n_fail]);
						modem_say(md, md->held_pdu);
					} else if (md->hold_cmgs) {
						snprintf(md->held_pdu, sizeof md->held_pdu,
						         "\r\n+CMGS: 7\r\n\r\nOK\r\n");
					} else {
						modem_say(md, "\r\n+CMGS: 7\r\n\r\nOK\r\n");
					}
				}
				continue;
			}
			if (ch == '\r') {
				md->line[md->len] = '\0';
				md->len = 0;
				if (md->line[0] == 'A')
					modem_line(md, md->line);
			} else if (ch != '\n' && ch != 0x1B && md->len + 1 < sizeof md->line) {
				md->line[md->len++] = ch;
			}
		}
	}
}

struct rig {
	struct conn c;
	struct modem md;
	char link[64];
};

static void rig_run(struct rig *r, int ms, bool (*until)(struct rig *))
{
	uint64_t end = now_mono_ms() + (uint64_t)ms;
	while (now_mono_ms() < end && !(until && until(r))) {
		event_base_loop(r->c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		modem_poll(&r->md);
		usleep(1000);
	}
}

static bool is_up(struct rig *r)
{
	return r->c.state == CONN_UP;
}
static bool got_text(struct rig *r)
{
	return r->c.received > 0;
}
static bool completed(struct rig *r)
{
	return r->c.completed > 0;
}
static bool stopped(struct rig *r)
{
	return r->c.stopped;
}

static void rig_open_with(struct rig *r, const char *extra);

static void rig_open(struct rig *r)
{
	rig_open_with(r, "");
}

static void rig_open_with(struct rig *r, const char *extra)
{
	memset(r, 0, sizeof *r);
	r->c.hooks = &at_hooks;
	int slave;
	char name[128];
	assert_int_equal(openpty(&r->md.master, &slave, name, NULL, NULL), 0);
	fcntl(r->md.master, F_SETFL, O_NONBLOCK);
	snprintf(r->link, sizeof r->link, "/tmp/test_at_driver_%d", (int)getpid());
	unlink(r->link);
	assert_int_equal(symlink(name, r->link), 0);
	close(slave);
	r->c.base = event_base_new();
	r->c.conf = xcalloc(1, at_driver.conf_size);
	char json[256];
	snprintf(json, sizeof json, "{\"port\": \"%s\", \"sweep_s\": 1, \"command_timeout_ms\": 2000%s}", r->link,
	         extra);
	struct errbuf err;
	assert_int_equal(settings_parse(at_driver.settings, json, r->c.conf, &err), 0);
	assert_int_equal(at_driver.check(r->c.conf, &err), 0);
	assert_int_equal(at_driver.open(&r->c), 0);
	rig_run(r, 5000, is_up);
	assert_int_equal(r->c.state, CONN_UP);
}

static void rig_close(struct rig *r)
{
	if (!r->c.stopped) {
		at_driver.stop(&r->c);
		rig_run(r, 5000, stopped);
	}
	assert_int_equal(r->c.stopped, 1);
	at_driver.close(&r->c);
	assert_int_equal(r->c.after_stop, 0); /* no core call after core_stopped() */
	settings_free(at_driver.settings, r->c.conf);
	free(r->c.conf);
	event_base_free(r->c.base);
	close(r->md.master);
	unlink(r->link);
}

static struct msg *make_msg(int64_t id)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->id = id;
	m->recipient = xstrdup("+441632960123");
	m->body = xstrdup("hi");
	m->encoding = xstrdup("auto");
	m->msg_class = -1;
	m->want_report = true;
	return m;
}

static void test_delete_only_after_commit(void **state)
{
	(void)state;
	struct rig r;
	rig_open(&r);
	r.md.stored = true; /* found by the next sweep */
	rig_run(&r, 5000, got_text);
	assert_int_equal(r.c.received, 1);
	assert_true(r.c.last_token != 0);
	/* Not committed: nothing is deleted; the sweep hands it over again. */
	at_driver.acked(&r.c, r.c.last_token, false);
	rig_run(&r, 500, NULL);
	assert_int_equal(r.md.deletes, 0);
	r.c.received = 0;
	rig_run(&r, 5000, got_text);
	assert_int_equal(r.c.received, 1);
	assert_int_equal(r.md.deletes, 0);
	/* Committed: deleted. */
	at_driver.acked(&r.c, r.c.last_token, true);
	for (int i = 0; i < 200 && r.md.deletes == 0; i++)
		rig_run(&r, 10, NULL);
	assert_int_equal(r.md.deletes, 1);
	rig_close(&r);
}

/* A delete that fails keeps the text out of later sweeps (no second copy
 * in the inbox) and is tried again at the next sweep. */
static void test_failed_delete_not_redelivered(void **state)
{
	(void)state;
	struct rig r;
	rig_open(&r);
	r.md.stored = true;
	r.md.fail_deletes = 1;
	rig_run(&r, 5000, got_text);
	assert_int_equal(r.c.received, 1);
	at_driver.acked(&r.c, r.c.last_token, true);
	for (int i = 0; i < 500 && r.md.deletes == 0; i++)
		rig_run(&r, 10, NULL);
	assert_int_equal(r.md.deletes, 1);
	assert_int_equal(r.md.delete_tries, 2);
	assert_int_equal(r.c.received, 1); /* the sweeps in between did not hand it over again */
	rig_close(&r);
}

static void test_stop_waits_for_cmgs(void **state)
{
	(void)state;
	struct rig r;
	rig_open(&r);
	r.md.hold_cmgs = true;
	at_driver.submit(&r.c, make_msg(1));
	for (int i = 0; i < 500 && r.md.cmgs_count == 0; i++)
		rig_run(&r, 10, NULL);
	assert_int_equal(r.md.cmgs_count, 1);
	at_driver.stop(&r.c);
	rig_run(&r, 200, NULL);
	assert_false(r.c.stopped); /* the PDU is out: its answer is awaited */
	assert_int_equal(r.c.completed, 0);
	modem_say(&r.md, r.md.held_pdu);
	rig_run(&r, 5000, stopped);
	assert_true(r.c.stopped);
	assert_int_equal(r.c.completed, 1);
	assert_int_equal(r.c.last_outcome, MSG_SENT);
	assert_string_equal(r.c.last_ids, "7/32960123");
	rig_close(&r);
}

static void test_cms_classes(void **state)
{
	(void)state;
	struct rig r;
	rig_open(&r);
	r.md.fail_codes[0] = 1;
	r.md.fail_codes[1] = 38;
	r.md.n_fail = 2; /* 38 first, then 1 */
	at_driver.submit(&r.c, make_msg(2));
	rig_run(&r, 5000, completed);
	assert_int_equal(r.c.last_outcome, MSG_TEMPORARY);
	assert_string_equal(r.c.last_code, "38");
	r.c.completed = 0;
	at_driver.submit(&r.c, make_msg(3));
	rig_run(&r, 5000, completed);
	assert_int_equal(r.c.last_outcome, MSG_REJECTED);
	assert_string_equal(r.c.last_code, "1");
	rig_close(&r);
}

/* +CMT (a text routed to us, not stored): AT+CNMA only after the commit. */
static void test_cmt_acknowledged_after_commit(void **state)
{
	(void)state;
	struct rig r;
	rig_open_with(&r, ", \"cnma\": true, \"cnmi\": \"2,2,0,1,0\"");
	char urc[256];
	snprintf(urc, sizeof urc, "\r\n+CMT: ,28\r\n%s\r\n", stored_pdu);
	modem_say(&r.md, urc);
	rig_run(&r, 5000, got_text);
	assert_int_equal(r.c.received, 1);
	rig_run(&r, 300, NULL);
	assert_int_equal(r.md.cnma, 0); /* not before the commit */
	at_driver.acked(&r.c, r.c.last_token, true);
	for (int i = 0; i < 300 && r.md.cnma == 0; i++)
		rig_run(&r, 10, NULL);
	assert_int_equal(r.md.cnma, 1);
	rig_close(&r);
}

/* send_interval_ms paces one modem's AT+CMGS. */
static void test_send_interval(void **state)
{
	(void)state;
	struct rig r;
	rig_open_with(&r, ", \"send_interval_ms\": 400");
	at_driver.submit(&r.c, make_msg(4));
	at_driver.submit(&r.c, make_msg(5));
	for (int i = 0; i < 500 && r.c.completed < 2; i++)
		rig_run(&r, 10, NULL);
	assert_int_equal(r.c.completed, 2);
	assert_int_equal(r.md.cmgs_count, 2);
	assert_true(r.md.cmgs_ms[1] - r.md.cmgs_ms[0] >= 350); /* 400 ms, less the PDU's own transfer */
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delete_only_after_commit),
	    cmocka_unit_test(test_failed_delete_not_redelivered),
	    cmocka_unit_test(test_stop_waits_for_cmgs),
	    cmocka_unit_test(test_cms_classes),
	    cmocka_unit_test(test_send_interval),
	    cmocka_unit_test(test_cmt_acknowledged_after_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

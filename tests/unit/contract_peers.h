/*
 * In-process peers for the driver contract test (test_driver_contract.c),
 * each on the test's loop:
 * - a modem for `at`: the master side of a pty answering AT commands
 *   (OK to everything, "> " to AT+CMGS and +CMGS: <mr> after the PDU, a
 *   stored text to AT+CMGL=4 until AT+CMGD=5 deletes it), as
 *   tests/unit/test_at_driver.c's scripted modem does;
 * - a Nokia DCT3 phone for `fbus` on a pty, built from the project's own
 *   framer (drivers/fbus/frame.h): it acknowledges every frame and answers
 *   the model, service, IMEI, SIM status, read, delete and send requests
 *   with the octets tests/peers/fbus_phone.py sends;
 * - an SQLite database file for `odbc`, reached through unixODBC and
 *   libsqliteodbc, holding the default layout (`smspool odbc schema`).
 * Included once per test file, through contract_core.h; the entry points
 * are static inline, since not every test file starts every peer.
 */
#ifndef SMSPOOL_TEST_CONTRACT_PEERS_H
#define SMSPOOL_TEST_CONTRACT_PEERS_H

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "fbus/frame.h"
#include "fbus/nokia.h"
#include "odbc/schema.h"
#include "util.h"

/* ---- a pty whose master side this process plays ---- */

/* The text both peers hold when stored is set ("hellohello"). */
static const char stored_pdu_hex[] = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";

struct pty_peer {
	int master;
	char name[128];
	struct event *ev;
	bool fbus;
	/* at */
	char line[1024];
	size_t len;
	bool in_pdu;
	bool stored; /* a text on the SIM: at index 5 (AT+CMGL=4), location 1 (fbus) */
	int deletes; /* AT+CMGD=5, fbus delete of location 1 */
	/* fbus */
	struct fbus_reader rd;
	struct fbus_assembler as;
	uint8_t seq;
	int mr, sends;
};

static void pty_say(struct pty_peer *p, const void *s, size_t n)
{
	if (write(p->master, s, n) != (ssize_t)n)
		fail_msg("pty peer: write: %s", strerror(errno));
}

static void modem_line(struct pty_peer *p, const char *l)
{
	char buf[64];
	if (!strncmp(l, "AT+CMGS=", 8)) {
		p->in_pdu = true;
		pty_say(p, "\r\n> ", 4);
	} else if (!strcmp(l, "AT+CPIN?")) {
		pty_say(p, "\r\n+CPIN: READY\r\n\r\nOK\r\n", 23);
	} else if (!strcmp(l, "AT+CMGL=4") && p->stored) {
		char list[256];
		snprintf(list, sizeof list, "\r\n+CMGL: 5,1,,28\r\n%s\r\n\r\nOK\r\n", stored_pdu_hex);
		pty_say(p, list, strlen(list));
	} else if (!strcmp(l, "AT+CMGD=5")) {
		p->stored = false;
		p->deletes++;
		pty_say(p, "\r\nOK\r\n", 6);
	} else if (!strcmp(l, "AT+CGSN")) {
		snprintf(buf, sizeof buf, "\r\n490154203237518\r\n\r\nOK\r\n");
		pty_say(p, buf, strlen(buf));
	} else {
		pty_say(p, "\r\nOK\r\n", 6);
	}
}

static void modem_input(struct pty_peer *p, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = (char)b[i];
		if (p->in_pdu) {
			if (ch == 0x1A) {
				char buf[64];
				p->in_pdu = false;
				p->sends++;
				snprintf(buf, sizeof buf, "\r\n+CMGS: %d\r\n\r\nOK\r\n", ++p->mr % 256);
				pty_say(p, buf, strlen(buf));
			} else if (ch == 0x1B) {
				p->in_pdu = false;
			}
			continue;
		}
		if (ch == '\r') {
			p->line[p->len] = '\0';
			p->len = 0;
			if (p->line[0] == 'A')
				modem_line(p, p->line);
		} else if (ch != '\n' && p->len + 1 < sizeof p->line) {
			p->line[p->len++] = ch;
		}
	}
}

static void phone_send(struct pty_peer *p, uint8_t type, const uint8_t *m, size_t n)
{
	struct fbus_frame f;
	uint8_t out[FBUS_FRAME_MAX];
	if (fbus_frame_data(&f, FBUS_FRAME_ID, FBUS_DEV_PC, FBUS_DEV_PHONE, type, m, n, 1, (uint8_t)(0x40 | p->seq)))
		fail_msg("phone: frame");
	p->seq = (p->seq + 1) & 7;
	int len = fbus_frame_encode(&f, out, sizeof out);
	if (len < 0)
		fail_msg("phone: encode");
	pty_say(p, out, (size_t)len);
}

/* One whole request from the driver (m: the message, header included). */
static void phone_request(struct pty_peer *p, uint8_t type, const uint8_t *m, size_t n)
{
	static const char model[] = "\x00\x01\x00\x03V 05.24\n27-02-00\nNSE-3\n(c) NMP.\n";
	static const char imei[] = "\x00\x01\x66\x00"
	                           "490154203237518";
	uint8_t r[64] = {0x00, 0x01, 0x00};
	if (type == 0xD1 && n >= 4 && m[3] == 0x03) {
		phone_send(p, 0xD2, (const uint8_t *)model, sizeof model - 1);
	} else if (type == 0x40 && n >= 3 && m[2] == 0x64) { /* service commands on */
		uint8_t on[] = {0x00, 0x01, 0x64, n > 3 ? m[3] : 1};
		phone_send(p, 0x40, on, sizeof on);
	} else if (type == 0x40 && n >= 3 && m[2] == 0x66) { /* IMEI, NUL-terminated */
		phone_send(p, 0x40, (const uint8_t *)imei, sizeof imei);
	} else if (type == 0x14 && n >= 4 && m[3] == 0x36) { /* SIM status: 10 places, the stored text unread */
		r[3] = 0x37, r[7] = 10, r[10] = r[11] = p->stored;
		phone_send(p, 0x14, r, 12);
	} else if (type == 0x14 && n >= 6 && m[3] == 0x0A) { /* delete: done */
		if (m[5] == 1 && p->stored)
			p->stored = false, p->deletes++;
		r[3] = 0x0B;
		phone_send(p, 0x14, r, 4);
	} else if (type == 0x02 && n >= 6 && m[3] == 0x07 && m[5] == 1 && p->stored) { /* read: the stored text */
		uint8_t pdu[64], out[256];
		size_t plen = strlen(stored_pdu_hex) / 2, olen = 0;
		for (size_t i = 0; i < plen; i++)
			sscanf(stored_pdu_hex + 2 * i, "%2hhx", &pdu[i]);
		memcpy(out, r, 3);
		out[3] = 0x08, out[4] = 0x03, out[5] = 0x02, out[6] = 1,
		out[7] = 0x00; /* unread, location 1, deliver */
		struct errbuf err;
		if (nokia_pdu_to_layout(pdu, plen, out + 8, sizeof out - 8, &olen, &err))
			fail_msg("phone: layout: %s", err.msg);
		phone_send(p, 0x14, out, 8 + olen);
	} else if (type == 0x02 && n >= 4 && m[3] == 0x07) { /* read: empty location */
		r[3] = 0x09, r[4] = 0x07;
		phone_send(p, 0x14, r, 5);
	} else if (type == 0x02 && n >= 4 && m[3] == 0x01) { /* send: accepted with a TP-MR */
		p->sends++;
		r[3] = 0x02, r[4] = 0x00, r[5] = (uint8_t)(++p->mr % 256);
		phone_send(p, 0x02, r, 6);
	}
}

static void phone_input(struct pty_peer *p, const uint8_t *b, size_t n)
{
	while (n) {
		size_t took = fbus_reader_push(&p->rd, b, n);
		b += took, n -= took;
		struct fbus_frame f;
		while (fbus_reader_next(&p->rd, &f) == 1) {
			if (f.type == FBUS_TYPE_ACK)
				continue;
			struct fbus_frame ack;
			uint8_t out[16];
			fbus_frame_ack(&ack, FBUS_FRAME_ID, FBUS_DEV_PC, FBUS_DEV_PHONE, f.type, fbus_frame_seq(&f));
			int len = fbus_frame_encode(&ack, out, sizeof out);
			if (len < 0)
				fail_msg("phone: ack");
			pty_say(p, out, (size_t)len);
			if (fbus_assemble(&p->as, &f) == 1)
				phone_request(p, p->as.type, p->as.msg, p->as.len);
		}
		if (!took)
			break;
	}
}

static void pty_peer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct pty_peer *p = arg;
	uint8_t b[512];
	ssize_t n;
	while ((n = read(fd, b, sizeof b)) > 0) {
		if (p->fbus)
			phone_input(p, b, (size_t)n);
		else
			modem_input(p, b, (size_t)n);
	}
}

/* A modem (fbus false) or a phone on a new pty; p->name is the port. */
static inline struct pty_peer *pty_peer_start(struct event_base *base, bool fbus)
{
	struct pty_peer *p = xcalloc(1, sizeof *p);
	int slave;
	if (openpty(&p->master, &slave, p->name, NULL, NULL))
		fail_msg("openpty: %s", strerror(errno));
	close(slave);
	fcntl(p->master, F_SETFL, O_NONBLOCK);
	p->fbus = fbus;
	fbus_reader_init(&p->rd, FBUS_DEV_PHONE);
	p->ev = event_new(base, p->master, EV_READ | EV_PERSIST, pty_peer_cb, p);
	event_add(p->ev, NULL);
	return p;
}

static inline void pty_peer_free(struct pty_peer *p)
{
	if (!p)
		return;
	event_free(p->ev);
	close(p->master);
	free(p);
}

/* ---- an SQLite database through unixODBC ---- */

#define SQLITE_ODBC "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so"

struct odbc_peer {
	char dir[64], path[96], connstr[256];
	SQLHENV env;
	SQLHDBC dbc;
};

static void odbc_peer_exec(struct odbc_peer *o, const char *sql)
{
	SQLHSTMT st;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &st)))
		fail_msg("odbc peer: no statement handle");
	SQLRETURN rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
		fail_msg("odbc peer: %s failed", sql);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
}

/* Returns the first column of the first row as a number (-1: none). */
static inline long long odbc_peer_number(struct odbc_peer *o, const char *sql)
{
	SQLHSTMT st;
	long long v = -1;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &st)))
		fail_msg("odbc peer: no statement handle");
	if (SQL_SUCCEEDED(SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS)) && SQL_SUCCEEDED(SQLFetch(st))) {
		SQLBIGINT n = 0;
		SQLLEN ind = 0;
		if (SQL_SUCCEEDED(SQLGetData(st, 1, SQL_C_SBIGINT, &n, sizeof n, &ind)) && ind != SQL_NULL_DATA)
			v = n;
	}
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	return v;
}

/* A temporary database file with the default layout; NULL (and a skip
 * reason printed) if libsqliteodbc is missing. */
static inline struct odbc_peer *odbc_peer_start(void)
{
	if (access(SQLITE_ODBC, R_OK))
		fail_msg("%s missing (Debian libsqliteodbc: packaging/install-deps.sh)", SQLITE_ODBC);
	struct odbc_peer *o = xcalloc(1, sizeof *o);
	snprintf(o->dir, sizeof o->dir, "/tmp/smspool-contract-odbc.XXXXXX");
	if (!mkdtemp(o->dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(o->path, sizeof o->path, "%s/app.db", o->dir);
	snprintf(o->connstr, sizeof o->connstr, "Driver=%s;Database=%s;Timeout=2000", SQLITE_ODBC, o->path);
	SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &o->env);
	SQLSetEnvAttr(o->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
	SQLAllocHandle(SQL_HANDLE_DBC, o->env, &o->dbc);
	if (!SQL_SUCCEEDED(
	        SQLDriverConnect(o->dbc, NULL, (SQLCHAR *)o->connstr, SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT)))
		fail_msg("odbc peer: cannot open %s", o->path);
	char *ddl = odbc_schema_ddl("sqlite", "sms_outgoing", "sms_incoming");
	for (char *s = ddl, *end; s && *s; s = end) { /* one statement at a time */
		end = strstr(s, ";\n");
		if (end)
			*end = '\0', end += 2;
		for (char *c = strstr(s, "--"); c; c = strstr(c, "--")) /* comments to the end of the line */
			for (; *c && *c != '\n'; c++)
				*c = ' ';
		if (strspn(s, " \n") < strlen(s))
			odbc_peer_exec(o, s);
		if (!end)
			break;
	}
	free(ddl);
	return o;
}

static inline void odbc_peer_free(struct odbc_peer *o)
{
	if (!o)
		return;
	SQLDisconnect(o->dbc);
	SQLFreeHandle(SQL_HANDLE_DBC, o->dbc);
	SQLFreeHandle(SQL_HANDLE_ENV, o->env);
	char p[128];
	unlink(o->path);
	snprintf(p, sizeof p, "%s-journal", o->path);
	unlink(p);
	rmdir(o->dir);
	free(o);
}

#endif

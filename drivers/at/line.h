/*
 * at_line: the byte stream a GSM modem sends (V.250 / 27.007 / 27.005) cut
 * into events — information lines, final result codes, the `> ` prompt,
 * unsolicited result codes, and the echo of what we sent.  Pure: bytes in,
 * events out through a callback, no I/O, no clock.
 *
 * Contract:
 * - Lines end at CR or LF; empty lines are skipped, so "\r\nOK\r\n",
 *   "OK\r" and "OK\n" are the same OK.  A line longer than AT_LINE_MAX is
 *   cut into pieces (never an overflow); NUL and other control bytes are
 *   dropped.
 * - "> " at the start of a line is the prompt of AT+CMGS/AT+CMGW, reported
 *   as soon as it is seen (no line end follows it; noise after it in the
 *   same read does not hide it); a lone ">" left at the end of a read is
 *   the prompt of a modem that sends no space.
 * - Final result codes: OK, ERROR, +CME ERROR: <n|text>, +CMS ERROR: <n>,
 *   and the dial results NO CARRIER, BUSY, NO ANSWER, NO DIALTONE (as
 *   ERROR).  Numeric codes (V0: 0 OK, 4 ERROR) are accepted too.
 * - Unsolicited codes: +CMTI, +CDSI, RING, RDY and ^SYSSTART (a modem that
 *   restarted), +CREG with one or three
 *   parameters (the +CREG? answer has two or four) and anything given by
 *   at_line_is_urc(); +CMT and +CDS carry their PDU, which is the next line.
 *   The answer lines +CMGR and +CMGL carry theirs too.  A header whose next
 *   line is not hex keeps pdu empty and that line is reported on its own.
 * - Echo: a line equal (case-insensitively) to the command given to
 *   at_line_expect_echo is reported as AT_EV_ECHO, however often it comes.
 */
#ifndef SMSPOOL_AT_LINE_H
#define SMSPOOL_AT_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AT_LINE_MAX 600 /* a +CMGR PDU line is at most 2*176 hex digits */

enum at_ev_kind {
	AT_EV_INFO,      /* an answer line of the current command */
	AT_EV_OK,        /* final: OK */
	AT_EV_ERROR,     /* final: ERROR (and dial failures) */
	AT_EV_CME_ERROR, /* final: +CME ERROR: code in `code` (-1 for a text) */
	AT_EV_CMS_ERROR, /* final: +CMS ERROR: code in `code` */
	AT_EV_PROMPT,    /* "> ": send the PDU now */
	AT_EV_URC,       /* an unsolicited result code (with pdu for +CMT/+CDS) */
	AT_EV_ECHO,      /* our own command echoed */
};

struct at_ev {
	enum at_ev_kind kind;
	const char *line; /* the line, NUL-terminated (header line for PDU pairs) */
	const char *pdu;  /* the PDU line after +CMT/+CDS/+CMGR/+CMGL, or "" */
	int code;         /* CME/CMS error number, -1 when not numeric */
};

typedef void (*at_line_cb)(void *arg, const struct at_ev *ev);

struct at_line {
	char buf[AT_LINE_MAX + 1];
	size_t len;
	char hdr[AT_LINE_MAX + 1]; /* a header waiting for its PDU line */
	bool want_pdu;
	char echo[AT_LINE_MAX + 1];
	bool text_mode; /* +CMGF=1: see at_line_text_mode */
};

void at_line_init(struct at_line *p);
/* Lines equal to cmd (without CR) are echo from now on; NULL or "" = none. */
void at_line_expect_echo(struct at_line *p, const char *cmd);
/* Text mode (+CMGF=1): the line after +CMT/+CMGR/+CMGL is the text,
 * whatever it looks like (only a final result code is not), and +CDS is a
 * single line.  Off by default (PDU mode). */
void at_line_text_mode(struct at_line *p, bool on);
/* Feeds len octets; calls cb for every complete event, in order. */
void at_line_feed(struct at_line *p, const uint8_t *data, size_t len, at_line_cb cb, void *arg);
/* Forgets a partial line, a pending header and text mode (after a timeout
 * or reset). */
void at_line_reset(struct at_line *p);

/* True for lines that are always unsolicited. */
bool at_line_is_urc(const char *line);
/* True when s is a non-empty string of hex digits of even length. */
bool at_line_is_hex(const char *s);

#endif

/*
 * at_line: see line.h.
 *
 * One buffer collects the current line.  When a line ends it is classified
 * once (echo, final code, unsolicited, PDU header, information); a PDU
 * header is held back until the next line shows whether it is the PDU.
 * The prompt is the only event that needs no line end: it is checked after
 * every fed chunk, since the modem then waits for us and sends nothing more.
 */
#include "at/line.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void at_line_init(struct at_line *p)
{
	memset(p, 0, sizeof *p);
}

void at_line_reset(struct at_line *p)
{
	p->text_mode = false;
	p->len = 0;
	p->want_pdu = false;
	p->hdr[0] = '\0';
}

void at_line_text_mode(struct at_line *p, bool on)
{
	p->text_mode = on;
}

void at_line_expect_echo(struct at_line *p, const char *cmd)
{
	size_t n = cmd ? strlen(cmd) : 0;
	if (n > AT_LINE_MAX)
		n = AT_LINE_MAX;
	memcpy(p->echo, cmd ? cmd : "", n);
	p->echo[n] = '\0';
	/* Echo is compared without the trailing CR. */
	while (n > 0 && (p->echo[n - 1] == '\r' || p->echo[n - 1] == '\n'))
		p->echo[--n] = '\0';
}

bool at_line_is_hex(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n > 0 && n % 2 == 0;
}

static bool at_line_prefix(const char *line, const char *prefix)
{
	return strncasecmp(line, prefix, strlen(prefix)) == 0;
}

/* Parameters after "NAME:" (commas outside quotes + 1). */
static int at_line_params(const char *line)
{
	const char *c = strchr(line, ':');
	if (!c)
		return 0;
	int n = 1;
	bool q = false;
	for (c++; *c; c++) {
		if (*c == '"')
			q = !q;
		else if (*c == ',' && !q)
			n++;
	}
	return n;
}

bool at_line_is_urc(const char *line)
{
	static const char *const urcs[] = {"+CMTI:", "+CDSI:", "+CMT:",  "+CDS:",  "RING",
	                                   "+CBM:",  "+CLIP:", "+CUSD:", "+CIEV:", "^BOOT",
	                                   "^RSSI",  "^MODE",  "+PACSP", "RDY",    "^SYSSTART"};
	for (size_t i = 0; i < sizeof urcs / sizeof urcs[0]; i++)
		if (at_line_prefix(line, urcs[i]))
			return true;
	if (at_line_prefix(line, "+CREG:")) {
		int n = at_line_params(line);
		return n == 1 || n == 3;
	}
	return false;
}

static bool at_line_is_pdu_header(const struct at_line *p, const char *line)
{
	return at_line_prefix(line, "+CMT:") || (!p->text_mode && at_line_prefix(line, "+CDS:")) ||
	       at_line_prefix(line, "+CMGR:") || at_line_prefix(line, "+CMGL:");
}

static bool at_line_is_final(const char *line)
{
	return !strcmp(line, "OK") || !strcmp(line, "ERROR") || at_line_prefix(line, "+CMS ERROR:") ||
	       at_line_prefix(line, "+CME ERROR:");
}

static int at_line_code(const char *s)
{
	while (*s == ' ')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	long v = strtol(s, NULL, 10);
	return v > 65535 ? -1 : (int)v;
}

static void at_line_emit(const char *line, const char *pdu, at_line_cb cb, void *arg, const struct at_line *p)
{
	struct at_ev ev = {.kind = AT_EV_INFO, .line = line, .pdu = pdu ? pdu : "", .code = -1};
	if (p->echo[0] && strcasecmp(line, p->echo) == 0)
		ev.kind = AT_EV_ECHO;
	else if (!strcmp(line, "OK") || !strcmp(line, "0"))
		ev.kind = AT_EV_OK;
	else if (!strcmp(line, "ERROR") || !strcmp(line, "4") || !strcmp(line, "NO CARRIER") || !strcmp(line, "BUSY") ||
	         !strcmp(line, "NO ANSWER") || !strcmp(line, "NO DIALTONE") || !strcmp(line, "COMMAND NOT SUPPORT"))
		ev.kind = AT_EV_ERROR;
	else if (at_line_prefix(line, "+CME ERROR:")) {
		ev.kind = AT_EV_CME_ERROR;
		ev.code = at_line_code(line + 11);
	} else if (at_line_prefix(line, "+CMS ERROR:")) {
		ev.kind = AT_EV_CMS_ERROR;
		ev.code = at_line_code(line + 11);
	} else if (at_line_is_urc(line))
		ev.kind = AT_EV_URC;
	cb(arg, &ev);
}

/* A complete line (NUL-terminated in p->buf). */
static void at_line_done(struct at_line *p, at_line_cb cb, void *arg)
{
	char *line = p->buf;
	while (*line == ' ')
		line++;
	if (!*line)
		return;
	if (p->want_pdu) {
		p->want_pdu = false;
		if (p->text_mode ? !at_line_is_final(line) && !at_line_is_pdu_header(p, line) : at_line_is_hex(line)) {
			at_line_emit(p->hdr, line, cb, arg, p);
			return;
		}
		at_line_emit(p->hdr, "", cb, arg, p); /* no PDU after all (an empty slot) */
	}
	if (at_line_is_pdu_header(p, line) && !(p->echo[0] && strcasecmp(line, p->echo) == 0)) {
		strcpy(p->hdr, line);
		p->want_pdu = true;
		return;
	}
	at_line_emit(line, "", cb, arg, p);
}

static void at_line_prompt(struct at_line *p, at_line_cb cb, void *arg)
{
	p->len = 0;
	if (p->want_pdu) {
		p->want_pdu = false;
		at_line_emit(p->hdr, "", cb, arg, p);
	}
	struct at_ev ev = {.kind = AT_EV_PROMPT, .line = "> ", .pdu = "", .code = -1};
	cb(arg, &ev);
}

void at_line_feed(struct at_line *p, const uint8_t *data, size_t len, at_line_cb cb, void *arg)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (c == '\r' || c == '\n') {
			p->buf[p->len] = '\0';
			p->len = 0;
			at_line_done(p, cb, arg);
			continue;
		}
		if (c < 0x20 || c >= 0x7F)
			continue; /* NUL, Ctrl-Z echoed, line noise: never part of an answer */
		if (p->len == AT_LINE_MAX) {
			p->buf[p->len] = '\0';
			p->len = 0;
			at_line_done(p, cb, arg);
		}
		p->buf[p->len++] = (char)c;
		/* "> " at the start of a line is the prompt, even when noise
		 * follows it in the same read. */
		if (p->len == 2 && p->buf[0] == '>' && p->buf[1] == ' ')
			at_line_prompt(p, cb, arg);
	}
	/* A lone ">" (no space) left at the end of a read is the prompt too. */
	if (p->len == 1 && p->buf[0] == '>')
		at_line_prompt(p, cb, arg);
}

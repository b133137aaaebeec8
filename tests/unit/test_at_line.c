/*
 * test_at_line: the AT line parser and answer helpers against every
 * dialogue of tests/vectors/at-dialogues.txt.  Each dialogue's modem bytes
 * go through the parser (whole, and again one byte at a time, which must
 * give the same events); the facts of its `=` line are then derived from
 * the events and the bytes we sent, the way the driver derives them, and
 * compared key by key.  Hand-written cases cover the quirks the vectors do
 * not: a URC inside a command's answer, echo coming back, noise, an empty
 * +CMGR slot, an overlong line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at/line.h"
#include "at/resp.h"
#include "codec/tpdu.h"
#include "util.h"

#define MAX_EVS 64

struct evs {
	int n;
	enum at_ev_kind kind[MAX_EVS];
	char line[MAX_EVS][AT_LINE_MAX + 1];
	char pdu[MAX_EVS][AT_LINE_MAX + 1];
	int code[MAX_EVS];
};

static void collect(void *arg, const struct at_ev *ev)
{
	struct evs *e = arg;
	assert_true(e->n < MAX_EVS);
	e->kind[e->n] = ev->kind;
	snprintf(e->line[e->n], sizeof e->line[0], "%.*s", (int)sizeof e->line[0] - 1, ev->line);
	snprintf(e->pdu[e->n], sizeof e->pdu[0], "%.*s", (int)sizeof e->pdu[0] - 1, ev->pdu);
	e->code[e->n] = ev->code;
	e->n++;
}

/* C escapes of the vector file -> bytes. */
static size_t unescape(const char *s, char *out)
{
	size_t n = 0;
	for (; *s; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		s++;
		if (*s == 'r')
			out[n++] = '\r';
		else if (*s == 'n')
			out[n++] = '\n';
		else if (*s == '\\')
			out[n++] = '\\';
		else if (*s == 'x') {
			unsigned v;
			assert_int_equal(sscanf(s + 1, "%2x", &v), 1);
			out[n++] = (char)v;
			s += 2;
		}
	}
	out[n] = '\0';
	return n;
}

struct kv {
	int n;
	char k[64][32];
	char v[64][128];
};

static void kv_set(struct kv *m, const char *k, const char *v)
{
	assert_true(m->n < 64);
	snprintf(m->k[m->n], sizeof m->k[0], "%.*s", (int)sizeof m->k[0] - 1, k);
	snprintf(m->v[m->n], sizeof m->v[0], "%.*s", (int)sizeof m->v[0] - 1, v);
	m->n++;
}

static void kv_int(struct kv *m, const char *k, long v)
{
	char b[32];
	snprintf(b, sizeof b, "%ld", v);
	kv_set(m, k, b);
}

static const char *kv_get(const struct kv *m, const char *k)
{
	for (int i = m->n - 1; i >= 0; i--)
		if (!strcmp(m->k[i], k))
			return m->v[i];
	return NULL;
}

static const char *stat_name(long s)
{
	static const char *const n[] = {"REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL"};
	return s >= 0 && s <= 4 ? n[s] : "?";
}

static void derive_pdu(struct kv *m, const char *hex, long length, const char *addr_key)
{
	struct tpdu t;
	struct errbuf err;
	assert_int_equal(at_resp_pdu(hex, length, &t, &err), 0);
	kv_set(m, addr_key, t.addr.text);
	char text[512];
	if (tpdu_text(&t, text, sizeof text, NULL) == 0)
		kv_set(m, "text", text);
	if (t.type == TPDU_STATUS_REPORT) {
		kv_int(m, "mr", t.mr);
		char st[8];
		snprintf(st, sizeof st, "%02X", t.st);
		kv_set(m, "st", st);
	}
}

/* The facts a driver takes from the events. */
static void derive_events(struct kv *m, const struct evs *e)
{
	int entries = 0;
	for (int i = 0; i < e->n; i++) {
		struct at_resp r;
		const char *l = e->line[i];
		if (e->kind[i] == AT_EV_CMS_ERROR) {
			kv_int(m, "cms_error", e->code[i]);
			kv_set(m, "meaning", at_cms_name(e->code[i]));
			kv_set(m, "class", at_cms_range(e->code[i]));
			continue;
		}
		if (e->kind[i] != AT_EV_INFO && e->kind[i] != AT_EV_URC)
			continue;
		if (at_resp_parse(l, &r) < 0)
			continue;
		if (!strcmp(r.name, "+CMGF")) {
			if (r.v[0][0] == '(') {
				char b[64];
				snprintf(b, sizeof b, "%.*s", (int)sizeof b - 1, r.v[0] + 1);
				for (int k = 1; k < r.n; k++)
					snprintf(b + strlen(b), sizeof b - strlen(b), ",%s", r.v[k]);
				b[strcspn(b, ")")] = '\0';
				kv_set(m, "cmgf_supported", b);
			} else {
				kv_set(m, "mode", at_resp_int(&r, 0, -1) == 0 ? "pdu" : "text");
			}
		} else if (!strcmp(r.name, "+CMGS")) {
			kv_int(m, "mr", at_resp_int(&r, 0, -1));
		} else if (!strcmp(r.name, "+CMTI") || !strcmp(r.name, "+CDSI")) {
			assert_int_equal(e->kind[i], AT_EV_URC);
			const char *p = !strcmp(r.name, "+CMTI") ? "cmti" : "cdsi";
			char k[32];
			snprintf(k, sizeof k, "%s_mem", p);
			kv_set(m, k, r.v[0]);
			snprintf(k, sizeof k, "%s_index", p);
			kv_int(m, k, at_resp_int(&r, 1, -1));
		} else if (!strcmp(r.name, "+CMGR")) {
			kv_int(m, "cmgr_stat", at_resp_int(&r, 0, -1));
			kv_set(m, "cmgr_stat_name", stat_name(at_resp_int(&r, 0, -1)));
			kv_int(m, "cmgr_length", at_resp_int(&r, 2, -1));
			derive_pdu(m, e->pdu[i], at_resp_int(&r, 2, -1), "oa");
		} else if (!strcmp(r.name, "+CMT")) {
			assert_int_equal(e->kind[i], AT_EV_URC);
			kv_set(m, "cmt_alpha", r.v[0]);
			kv_int(m, "cmt_length", at_resp_int(&r, 1, -1));
			derive_pdu(m, e->pdu[i], at_resp_int(&r, 1, -1), "oa");
		} else if (!strcmp(r.name, "+CDS")) {
			assert_int_equal(e->kind[i], AT_EV_URC);
			kv_int(m, "cds_length", at_resp_int(&r, 0, -1));
			derive_pdu(m, e->pdu[i], at_resp_int(&r, 0, -1), "ra");
		} else if (!strcmp(r.name, "+CMGL")) {
			char k[32];
			entries++;
			snprintf(k, sizeof k, "e%d_index", entries);
			kv_int(m, k, at_resp_int(&r, 0, -1));
			snprintf(k, sizeof k, "e%d_stat", entries);
			kv_int(m, k, at_resp_int(&r, 1, -1));
			snprintf(k, sizeof k, "e%d_length", entries);
			kv_int(m, k, at_resp_int(&r, 3, -1));
			struct tpdu t;
			assert_int_equal(at_resp_pdu(e->pdu[i], at_resp_int(&r, 3, -1), &t, NULL), 0);
		} else if (!strcmp(r.name, "+CPMS")) {
			kv_set(m, "mem1", r.v[0]);
			kv_int(m, "used1", at_resp_int(&r, 1, -1));
			kv_int(m, "total1", at_resp_int(&r, 2, -1));
		} else if (!strcmp(r.name, "+CSCA")) {
			kv_set(m, "sca", r.v[0]);
			kv_int(m, "tosca", at_resp_int(&r, 1, -1));
		} else if (!strcmp(r.name, "+CMGW")) {
			kv_int(m, "cmgw_index", at_resp_int(&r, 0, -1));
		} else if (!strcmp(r.name, "+CMSS")) {
			kv_int(m, "cmss_mr", at_resp_int(&r, 0, -1));
		}
	}
	if (entries)
		kv_int(m, "entries", entries);
}

/* What we sent: the command's length, the PDU and its decoding. */
static void derive_sent(struct kv *m, const char *bytes)
{
	long n;
	if (sscanf(bytes, "AT+CMGS=%ld", &n) == 1)
		kv_int(m, "cmgs_length", n);
	if (sscanf(bytes, "AT+CMGW=%ld", &n) == 1)
		kv_int(m, "cmgw_length", n);
	size_t len = strlen(bytes);
	if (len < 3 || (bytes[len - 1] != 0x1A && bytes[len - 1] != 0x1B) || !strncmp(bytes, "AT", 2))
		return;
	char hex[AT_LINE_MAX + 1];
	snprintf(hex, sizeof hex, "%.*s", (int)(len - 1), bytes);
	if (bytes[len - 1] == 0x1B)
		kv_set(m, "sent", "0");
	kv_int(m, "pdu_total_octets", (long)strlen(hex) / 2);
	unsigned smsc;
	assert_int_equal(sscanf(hex, "%2x", &smsc), 1);
	kv_int(m, "smsc_octets", smsc + 1);
	struct tpdu t;
	struct errbuf err;
	uint8_t buf[TPDU_MAX_LEN];
	int bn = hex_decode(hex, buf, sizeof buf);
	assert_true(bn > 0);
	assert_int_equal(tpdu_decode(buf, (size_t)bn, TPDU_WITH_SMSC, &t, &err), 0);
	kv_set(m, "da", t.addr.text);
	kv_int(m, "udl", (long)t.udl);
	if (t.udh_len) {
		struct tpdu_fields_probe {
			char f[TPDU_FIELDS_MAX];
		} *fp = malloc(sizeof *fp);
		assert_true(tpdu_fields(&t, fp->f, sizeof fp->f) > 0);
		for (const char *k = "concat_ref"; k; k = !strcmp(k, "concat_ref")     ? "concat_total"
		                                          : !strcmp(k, "concat_total") ? "concat_seq"
		                                                                       : NULL) {
			const char *p = strstr(fp->f, k);
			assert_non_null(p);
			p += strlen(k) + 1;
			char v[16];
			snprintf(v, sizeof v, "%.*s", (int)strcspn(p, ";"), p);
			kv_set(m, k, v);
		}
		free(fp);
	}
}

static void run_dialogue(const char *id, char **lines, int nlines, const char *expect)
{
	struct at_line p, pb;
	at_line_init(&p);
	at_line_init(&pb);
	struct evs *e = calloc(1, sizeof *e), *eb = calloc(1, sizeof *eb);
	struct kv m = {0};
	char bytes[2048];
	for (int i = 0; i < nlines; i++) {
		size_t n = unescape(lines[i] + 2, bytes);
		if (lines[i][0] == '>') {
			derive_sent(&m, bytes);
			if (!strncmp(bytes, "AT", 2)) {
				at_line_expect_echo(&p, bytes);
				at_line_expect_echo(&pb, bytes);
			}
		} else {
			at_line_feed(&p, (const uint8_t *)bytes, n, collect, e);
			for (size_t k = 0; k < n; k++)
				at_line_feed(&pb, (const uint8_t *)bytes + k, 1, collect, eb);
		}
	}
	/* Byte by byte gives the very same events. */
	assert_int_equal(e->n, eb->n);
	for (int i = 0; i < e->n; i++) {
		assert_int_equal(e->kind[i], eb->kind[i]);
		assert_string_equal(e->line[i], eb->line[i]);
		assert_string_equal(e->pdu[i], eb->pdu[i]);
	}
	derive_events(&m, e);
	char want[1024];
	snprintf(want, sizeof want, "%.*s", (int)sizeof want - 1, expect);
	int checked = 0;
	for (char *tok = strtok(want, ";"); tok; tok = strtok(NULL, ";")) {
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = '\0';
		const char *got = kv_get(&m, tok);
		if (!got || strcmp(got, eq + 1) != 0)
			fail_msg("%s: %s = '%s', want '%s'", id, tok, got ? got : "(absent)", eq + 1);
		checked++;
	}
	assert_true(checked > 0);
	free(e);
	free(eb);
}

static void test_at_dialogues(void **state)
{
	(void)state;
	const char *dir = getenv("SMSPOOL_VECTORS");
	char path[512];
	snprintf(path, sizeof path, "%s/at-dialogues.txt", dir && *dir ? dir : "tests/vectors");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *lines[64];
	int nl = 0, ndialogues = 0;
	char id[32] = "";
	char buf[4096];
	while (fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (!strncmp(buf, "@ ", 2)) {
			snprintf(id, sizeof id, "%.*s", (int)sizeof id - 1, buf + 2);
			nl = 0;
		} else if ((buf[0] == '>' || buf[0] == '<') && buf[1] == ' ') {
			assert_true(nl < 64);
			lines[nl++] = xstrdup(buf);
		} else if (!strncmp(buf, "= ", 2)) {
			run_dialogue(id, lines, nl, buf + 2);
			for (int i = 0; i < nl; i++)
				free(lines[i]);
			nl = 0;
			ndialogues++;
		}
	}
	fclose(f);
	assert_int_equal(ndialogues, 14);
}

static void feed_str(struct at_line *p, const char *s, struct evs *e)
{
	at_line_feed(p, (const uint8_t *)s, strlen(s), collect, e);
}

/* A +CMTI and a +CDS arrive in the middle of AT+CSQ's answer; the echo
 * comes back although ATE0 was sent; noise bytes in between. */
static void test_at_interleaved(void **state)
{
	(void)state;
	struct at_line p;
	at_line_init(&p);
	struct evs *e = calloc(1, sizeof *e);
	at_line_expect_echo(&p, "AT+CSQ\r");
	static const char part1[] = "AT+CSQ\r\r\n+CMTI: \"SM\",7\r\n\r\n+CSQ: 17,99\r\n\x00\xff\r\n+CDS: 25\r\n";
	at_line_feed(&p, (const uint8_t *)part1, sizeof part1 - 1, collect, e);
	feed_str(&p, "0791447758100650062A0C91446123691032426010210000404260102100504000\r\n\r\nOK\r\n", e);
	assert_int_equal(e->n, 5);
	assert_int_equal(e->kind[0], AT_EV_ECHO);
	assert_int_equal(e->kind[1], AT_EV_URC);
	assert_string_equal(e->line[1], "+CMTI: \"SM\",7");
	assert_int_equal(e->kind[2], AT_EV_INFO);
	assert_string_equal(e->line[2], "+CSQ: 17,99");
	assert_int_equal(e->kind[3], AT_EV_URC);
	assert_string_equal(e->line[3], "+CDS: 25");
	assert_true(at_line_is_hex(e->pdu[3]));
	assert_int_equal(e->kind[4], AT_EV_OK);
	free(e);
}

static void test_at_quirks(void **state)
{
	(void)state;
	struct at_line p;
	at_line_init(&p);
	struct evs *e = calloc(1, sizeof *e);
	/* An empty slot: +CMGR with no PDU, then OK. */
	feed_str(&p, "\r\n+CMGR: 0,,0\r\n\r\nOK\r\n", e);
	assert_int_equal(e->n, 2);
	assert_string_equal(e->pdu[0], "");
	assert_int_equal(e->kind[1], AT_EV_OK);
	/* Error codes, numeric and textual; a final in V0 form. */
	e->n = 0;
	feed_str(&p, "+CME ERROR: 16\r\n+CME ERROR: incorrect password\r\n+CMS ERROR: 500\r\n0\r4\r", e);
	assert_int_equal(e->n, 5);
	assert_int_equal(e->kind[0], AT_EV_CME_ERROR);
	assert_int_equal(e->code[0], 16);
	assert_int_equal(e->code[1], -1);
	assert_int_equal(e->kind[2], AT_EV_CMS_ERROR);
	assert_int_equal(e->code[2], 500);
	assert_int_equal(e->kind[3], AT_EV_OK);
	assert_int_equal(e->kind[4], AT_EV_ERROR);
	/* +CREG: the answer (n,stat) is information, the URC (stat) is not. */
	e->n = 0;
	feed_str(&p, "+CREG: 0,1\r\n+CREG: 5\r\n", e);
	assert_int_equal(e->kind[0], AT_EV_INFO);
	assert_int_equal(e->kind[1], AT_EV_URC);
	/* An overlong line is cut, never overflows. */
	e->n = 0;
	char big[2 * AT_LINE_MAX + 10];
	memset(big, 'A', sizeof big - 3);
	strcpy(big + sizeof big - 3, "\r\n");
	feed_str(&p, big, e);
	assert_int_equal(e->n, 3);
	/* The prompt with noise right after it in the same read. */
	e->n = 0;
	static const char noisy[] = "\r\n> \x00\xff#@!garbage\r\n";
	at_line_feed(&p, (const uint8_t *)noisy, sizeof noisy - 1, collect, e);
	assert_int_equal(e->n, 2);
	assert_int_equal(e->kind[0], AT_EV_PROMPT);
	assert_string_equal(e->line[1], "#@!garbage");
	/* The prompt without a line end, split over two reads. */
	e->n = 0;
	feed_str(&p, "\r\n>", e);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->kind[0], AT_EV_PROMPT);
	free(e);
}

/* Text mode: the line after a header is its text (hex or not); a status
 * report entry has none; +CDS is one line. */
static void test_at_text_mode(void **state)
{
	(void)state;
	struct at_line p;
	at_line_init(&p);
	at_line_text_mode(&p, true);
	struct evs *e = calloc(1, sizeof *e);
	feed_str(
	    &p,
	    "\r\n+CMGL: 1,\"REC UNREAD\",\"+441632960201\",,\"26/12/03,08:00:00+00\"\r\nCAFE\r\n"
	    "+CMGL: 2,\"REC READ\",6,42,\"+447700900301\",145,\"26/12/03,08:00:00+00\",\"26/12/03,08:00:00+00\",0\r\n"
	    "+CMGL: 3,\"REC UNREAD\",\"+441632960202\",,\"26/12/03,08:00:00+00\"\r\nhello there\r\n\r\nOK\r\n"
	    "\r\n+CDS: 6,42,\"+447700900301\",145,\"26/12/03,08:00:00+00\",\"26/12/03,08:00:00+00\",0\r\n"
	    "\r\n+CMT: \"+441632960203\",,\"26/12/03,08:00:00+00\"\r\n1234\r\n",
	    e);
	assert_int_equal(e->n, 6);
	assert_string_equal(e->pdu[0], "CAFE");
	assert_string_equal(e->pdu[1], ""); /* the report entry takes no text */
	assert_string_equal(e->pdu[2], "hello there");
	assert_int_equal(e->kind[3], AT_EV_OK);
	assert_int_equal(e->kind[4], AT_EV_URC);
	assert_string_equal(e->pdu[4], "");
	assert_int_equal(e->kind[5], AT_EV_URC);
	assert_string_equal(e->pdu[5], "1234");
	free(e);
}

static void test_at_cms(void **state)
{
	(void)state;
	assert_string_equal(at_cms_name(38), "network out of order");
	assert_int_equal(at_cms_class(38), AT_CMS_TEMPORARY);
	assert_int_equal(at_cms_class(1), AT_CMS_INVALID_NUMBER);
	assert_int_equal(at_cms_class(195), AT_CMS_INVALID_NUMBER);
	assert_int_equal(at_cms_class(21), AT_CMS_PERMANENT);
	assert_int_equal(at_cms_class(304), AT_CMS_BAD_PDU);
	assert_int_equal(at_cms_class(500), AT_CMS_TEMPORARY);
	assert_int_equal(at_cms_class(4711), AT_CMS_TEMPORARY);
	assert_string_equal(at_cms_name(4711), "unknown");
	struct at_resp r;
	assert_int_equal(at_resp_parse("+COPS: 0,0,\"Op, Inc\",7", &r), 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.v[2], "Op, Inc");
	assert_int_equal(at_resp_int(&r, 3, -1), 7);
	assert_int_equal(at_resp_int(&r, 9, -1), -1);
	assert_int_equal(at_resp_parse("OK", &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_at_dialogues), cmocka_unit_test(test_at_interleaved),
	    cmocka_unit_test(test_at_quirks),    cmocka_unit_test(test_at_text_mode),
	    cmocka_unit_test(test_at_cms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

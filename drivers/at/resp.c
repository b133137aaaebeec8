/*
 * at_resp: see resp.h.  The +CMS ERROR table is data: one row per code with
 * its name as the specifications word it and the class that decides
 * between retrying and rejecting.
 */
#include "at/resp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int at_resp_parse(const char *line, struct at_resp *out)
{
	memset(out, 0, sizeof *out);
	const char *c = strchr(line, ':');
	if (!c)
		return -1;
	size_t nl = (size_t)(c - line);
	if (nl >= sizeof out->name)
		nl = sizeof out->name - 1;
	memcpy(out->name, line, nl);
	const char *p = c + 1;
	while (*p == ' ')
		p++;
	if (!*p)
		return 0;
	int i = 0;
	size_t k = 0;
	bool q = false;
	out->n = 1;
	for (; *p; p++) {
		if (*p == '"') {
			q = !q;
			out->quoted[i] = true;
			continue;
		}
		if (*p == ',' && !q) {
			if (out->n == AT_RESP_MAX_PARAMS)
				break;
			i = out->n++;
			k = 0;
			continue;
		}
		if (k + 1 < AT_RESP_PARAM_LEN) {
			out->v[i][k++] = *p;
			out->v[i][k] = '\0';
		}
	}
	/* Trailing blanks of unquoted values ("3 ") are noise. */
	for (int j = 0; j < out->n; j++)
		for (size_t n = strlen(out->v[j]); n > 0 && out->v[j][n - 1] == ' ' && !out->quoted[j];)
			out->v[j][--n] = '\0';
	return 0;
}

long at_resp_int(const struct at_resp *r, int i, long def)
{
	if (i < 0 || i >= r->n || !r->v[i][0])
		return def;
	char *end;
	const char *s = r->v[i];
	while (*s == ' ')
		s++;
	long v = strtol(s, &end, 10);
	return end == s || *end ? def : v;
}

bool at_resp_is(const char *line, const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

int at_resp_pdu(const char *hex, long length, struct tpdu *t, struct errbuf *err)
{
	uint8_t buf[TPDU_MAX_LEN + 16];
	size_t hl = strlen(hex);
	if (hl / 2 > sizeof buf)
		return errbuf_set(err, "PDU longer than %zu octets", sizeof buf), -EBADMSG;
	int n = hex_decode(hex, buf, sizeof buf);
	if (n < 0)
		return errbuf_set(err, "PDU is not hex"), -EBADMSG;
	unsigned flags = TPDU_LENIENT;
	if (length < 0 || n != length)
		flags |= TPDU_WITH_SMSC;
	return tpdu_decode(buf, (size_t)n, flags, t, err);
}

struct at_cms_row {
	int code;
	enum at_cms_class cls;
	const char *name;
};

static const struct at_cms_row at_cms_rows[] = {
    /* 24.011 Annex E-2: RP-cause values. */
    {1, AT_CMS_INVALID_NUMBER, "unassigned (unallocated) number"},
    {8, AT_CMS_PERMANENT, "operator determined barring"},
    {10, AT_CMS_PERMANENT, "call barred"},
    {17, AT_CMS_TEMPORARY, "network failure"},
    {21, AT_CMS_PERMANENT, "short message transfer rejected"},
    {22, AT_CMS_TEMPORARY, "memory capacity exceeded"},
    {27, AT_CMS_TEMPORARY, "destination out of service"},
    {28, AT_CMS_INVALID_NUMBER, "unidentified subscriber"},
    {29, AT_CMS_PERMANENT, "facility rejected"},
    {30, AT_CMS_INVALID_NUMBER, "unknown subscriber"},
    {38, AT_CMS_TEMPORARY, "network out of order"},
    {41, AT_CMS_TEMPORARY, "temporary failure"},
    {42, AT_CMS_TEMPORARY, "congestion"},
    {47, AT_CMS_TEMPORARY, "resources unavailable, unspecified"},
    {50, AT_CMS_PERMANENT, "requested facility not subscribed"},
    {69, AT_CMS_PERMANENT, "requested facility not implemented"},
    {81, AT_CMS_TEMPORARY, "invalid short message transfer reference value"},
    {95, AT_CMS_BAD_PDU, "invalid message, unspecified"},
    {96, AT_CMS_BAD_PDU, "invalid mandatory information"},
    {97, AT_CMS_BAD_PDU, "message type non-existent or not implemented"},
    {98, AT_CMS_TEMPORARY, "message not compatible with short message protocol state"},
    {99, AT_CMS_BAD_PDU, "information element non-existent or not implemented"},
    {111, AT_CMS_TEMPORARY, "protocol error, unspecified"},
    {127, AT_CMS_TEMPORARY, "interworking, unspecified"},
    /* 23.040 9.2.3.22: TP-Failure-Cause values. */
    {128, AT_CMS_PERMANENT, "telematic interworking not supported"},
    {129, AT_CMS_PERMANENT, "short message type 0 not supported"},
    {130, AT_CMS_PERMANENT, "cannot replace short message"},
    {143, AT_CMS_BAD_PDU, "unspecified TP-PID error"},
    {144, AT_CMS_BAD_PDU, "data coding scheme (alphabet) not supported"},
    {145, AT_CMS_BAD_PDU, "message class not supported"},
    {159, AT_CMS_BAD_PDU, "unspecified TP-DCS error"},
    {160, AT_CMS_BAD_PDU, "command cannot be actioned"},
    {161, AT_CMS_BAD_PDU, "command unsupported"},
    {175, AT_CMS_BAD_PDU, "unspecified TP-Command error"},
    {176, AT_CMS_BAD_PDU, "TPDU not supported"},
    {192, AT_CMS_TEMPORARY, "SC busy"},
    {193, AT_CMS_PERMANENT, "no SC subscription"},
    {194, AT_CMS_TEMPORARY, "SC system failure"},
    {195, AT_CMS_INVALID_NUMBER, "invalid SME address"},
    {196, AT_CMS_PERMANENT, "destination SME barred"},
    {197, AT_CMS_PERMANENT, "SM rejected-duplicate SM"},
    {198, AT_CMS_BAD_PDU, "TP-VPF not supported"},
    {199, AT_CMS_BAD_PDU, "TP-VP not supported"},
    {208, AT_CMS_TEMPORARY, "(U)SIM SMS storage full"},
    {209, AT_CMS_TEMPORARY, "no SMS storage capability in (U)SIM"},
    {210, AT_CMS_TEMPORARY, "error in MS"},
    {211, AT_CMS_TEMPORARY, "memory capacity exceeded"},
    {212, AT_CMS_TEMPORARY, "(U)SIM application toolkit busy"},
    {213, AT_CMS_TEMPORARY, "(U)SIM data download error"},
    {255, AT_CMS_TEMPORARY, "unspecified error cause"},
    /* 27.005 3.2.5: ME/TA errors. */
    {300, AT_CMS_TEMPORARY, "ME failure"},
    {301, AT_CMS_TEMPORARY, "SMS service of ME reserved"},
    {302, AT_CMS_TEMPORARY, "operation not allowed"},
    {303, AT_CMS_BAD_PDU, "operation not supported"},
    {304, AT_CMS_BAD_PDU, "invalid PDU mode parameter"},
    {305, AT_CMS_BAD_PDU, "invalid text mode parameter"},
    {310, AT_CMS_TEMPORARY, "(U)SIM not inserted"},
    {311, AT_CMS_TEMPORARY, "(U)SIM PIN required"},
    {312, AT_CMS_TEMPORARY, "PH-(U)SIM PIN required"},
    {313, AT_CMS_TEMPORARY, "(U)SIM failure"},
    {314, AT_CMS_TEMPORARY, "(U)SIM busy"},
    {315, AT_CMS_TEMPORARY, "(U)SIM wrong"},
    {316, AT_CMS_TEMPORARY, "(U)SIM PUK required"},
    {317, AT_CMS_TEMPORARY, "(U)SIM PIN2 required"},
    {318, AT_CMS_TEMPORARY, "(U)SIM PUK2 required"},
    {320, AT_CMS_TEMPORARY, "memory failure"},
    {321, AT_CMS_TEMPORARY, "invalid memory index"},
    {322, AT_CMS_TEMPORARY, "memory full"},
    {330, AT_CMS_TEMPORARY, "SMSC address unknown"},
    {331, AT_CMS_TEMPORARY, "no network service"},
    {332, AT_CMS_TEMPORARY, "network timeout"},
    {340, AT_CMS_TEMPORARY, "no +CNMA acknowledgement expected"},
    {500, AT_CMS_TEMPORARY, "unknown error"},
};

static const struct at_cms_row *at_cms_find(int code)
{
	for (size_t i = 0; i < sizeof at_cms_rows / sizeof at_cms_rows[0]; i++)
		if (at_cms_rows[i].code == code)
			return &at_cms_rows[i];
	return NULL;
}

const char *at_cms_name(int code)
{
	const struct at_cms_row *r = at_cms_find(code);
	return r ? r->name : "unknown";
}

enum at_cms_class at_cms_class(int code)
{
	const struct at_cms_row *r = at_cms_find(code);
	if (r)
		return r->cls;
	/* 24.011 E-2 says to treat unknown RP-causes as 41 (temporary failure),
	 * 111 or 127; everything else unknown is better retried than lost. */
	return AT_CMS_TEMPORARY;
}

const char *at_cms_class_name(enum at_cms_class c)
{
	switch (c) {
	case AT_CMS_TEMPORARY:
		return "temporary";
	case AT_CMS_INVALID_NUMBER:
		return "invalid-number";
	case AT_CMS_PERMANENT:
		return "permanent";
	case AT_CMS_BAD_PDU:
		return "bad-pdu";
	}
	return "temporary";
}

const char *at_cms_range(int code)
{
	if (code >= 0 && code <= 127)
		return "RP-cause (24.011 E-2)";
	if (code >= 128 && code <= 255)
		return "TP-FCS (23.040 9.2.3.22)";
	if (code >= 300 && code <= 511)
		return "ME/TA (27.005 3.2.5)";
	return "manufacturer";
}

/*
 * EMI/UCP short messages (see sm.h).  The text alphabets are those of the
 * SMPP driver's wire helpers (smpp_wire_text), so both protocols store the
 * same octets the same way.
 */
#include "ucp/sm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/gsm7.h"
#include "smpp/wire.h"
#include "ucp/data.h"

void ucp_sm_reset(struct ucp_sm *sm)
{
	memset(sm, 0, sizeof *sm);
}

static struct ucp_str S(const char *s) {
	return (struct ucp_str){s, strlen(s)};
}

void ucp_sm_frame(struct ucp_sm *sm, unsigned trn, unsigned ot, struct ucp_frame *f)
{
	memset(f, 0, sizeof *f);
	f->trn = trn;
	f->o_r = 'O';
	f->ot = ot;
	static const char empty[] = "";
	if (ot == 1) {
		f->nfields = UCP01_COUNT;
		f->f[UCP01_AdC] = S(sm->adc);
		f->f[UCP01_OAdC] = S(sm->oadc);
		f->f[UCP01_AC] = S(empty);
		f->f[UCP01_MT] = S(sm->mt);
		f->f[UCP01_Msg] = S(sm->msg);
		return;
	}
	if (ot == 30) {
		f->nfields = UCP30_COUNT;
		for (size_t i = 0; i < UCP30_COUNT; i++)
			f->f[i] = S(empty);
		f->f[UCP30_AdC] = S(sm->adc);
		f->f[UCP30_OAdC] = S(sm->oadc);
		f->f[UCP30_NRq] = S(sm->nrq);
		f->f[UCP30_NPID] = S(sm->npid);
		f->f[UCP30_VP] = S(sm->vp);
		f->f[UCP30_AMsg] = S(sm->msg);
		return;
	}
	f->nfields = UCP5X_COUNT;
	for (size_t i = 0; i < UCP5X_COUNT; i++)
		f->f[i] = S(empty);
	f->f[UCP5X_AdC] = S(sm->adc);
	f->f[UCP5X_OAdC] = S(sm->oadc);
	f->f[UCP5X_NRq] = S(sm->nrq);
	f->f[UCP5X_NT] = S(sm->nt);
	f->f[UCP5X_NPID] = S(sm->npid);
	f->f[UCP5X_VP] = S(sm->vp);
	f->f[UCP5X_SCTS] = S(sm->scts);
	f->f[UCP5X_Dst] = S(sm->dst);
	f->f[UCP5X_Rsn] = S(sm->rsn);
	f->f[UCP5X_DSCTS] = S(sm->dscts);
	f->f[UCP5X_MT] = S(sm->mt);
	f->f[UCP5X_NB] = S(sm->nb);
	f->f[UCP5X_Msg] = S(sm->msg);
	f->f[UCP5X_PR] = S(sm->pr);
	f->f[UCP5X_MCLs] = S(sm->mcls);
	f->f[UCP5X_OTOA] = S(sm->otoa);
	f->f[UCP5X_XSer] = S(sm->xser);
}

static bool digits_only(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

int ucp_sm_adc(const char *addr, char *out, size_t cap)
{
	const char *d = addr[0] == '+' ? addr + 1 : addr;
	size_t n = strlen(d) + (addr[0] == '+' ? 2 : 0);
	if (!digits_only(d) || n > 20 || n >= cap) /* AdC is 16 digits; some SMSCs take a few more */
		return -EINVAL;
	snprintf(out, cap, "%s%s", addr[0] == '+' ? "00" : "", d);
	return 0;
}

int ucp_sm_oadc(const char *sender, struct ucp_sm *sm)
{
	sm->oadc[0] = sm->otoa[0] = '\0';
	if (!sender || !*sender)
		return 0;
	if (sender[0] == '+' && digits_only(sender + 1) && strlen(sender + 1) <= 16) {
		snprintf(sm->oadc, sizeof sm->oadc, "%s", sender + 1);
		snprintf(sm->otoa, sizeof sm->otoa, "1139");
		return 0;
	}
	if (digits_only(sender) && strlen(sender) <= 16) {
		snprintf(sm->oadc, sizeof sm->oadc, "%s", sender);
		return 0;
	}
	if (ucp_data_oadc_alpha_encode(sender, sm->oadc, sizeof sm->oadc))
		return -EINVAL;
	snprintf(sm->otoa, sizeof sm->otoa, "5039");
	return 0;
}

const char *const ucp_sender_ton_names[4] = {"auto", "international", "alphanumeric", "unknown"};

int ucp_sm_oadc_ton(const char *sender, enum ucp_sender_ton ton, struct ucp_sm *sm)
{
	sm->oadc[0] = sm->otoa[0] = '\0';
	if (!sender || !*sender || ton == UCP_TON_AUTO)
		return ucp_sm_oadc(sender, sm);
	const char *digits = sender[0] == '+' ? sender + 1 : sender;
	bool numeric = *digits && digits_only(digits) && strlen(digits) <= 16;
	if (ton == UCP_TON_ALPHANUMERIC) {
		if (ucp_data_oadc_alpha_encode(sender, sm->oadc, sizeof sm->oadc))
			return -EINVAL;
		snprintf(sm->otoa, sizeof sm->otoa, "5039");
		return 0;
	}
	if (!numeric)
		return ucp_sm_oadc(sender, sm);
	if (ton == UCP_TON_INTERNATIONAL) {
		snprintf(sm->oadc, sizeof sm->oadc, "%s", digits);
		snprintf(sm->otoa, sizeof sm->otoa, "1139");
		return 0;
	}
	if (sender[0] == '+' && strlen(digits) > 14)
		return -EINVAL; /* "00" + digits must fit 16 */
	snprintf(sm->oadc, sizeof sm->oadc, "%s%s", sender[0] == '+' ? "00" : "", digits);
	return 0;
}

char *ucp_sm_addr_in(const struct ucp_str *addr, const struct ucp_str *otoa)
{
	if (otoa && otoa->len == 4 && memcmp(otoa->p, "5039", 4) == 0) {
		char alpha[512];
		if (ucp_data_oadc_alpha_decode(addr->p, addr->len, alpha, sizeof alpha) == 0)
			return xstrdup(alpha);
	}
	char *s = xstrndup(addr->p, addr->len);
	bool intl = otoa && otoa->len == 4 && memcmp(otoa->p, "1139", 4) == 0;
	if (addr->len > 2 && memcmp(addr->p, "00", 2) == 0 && digits_only(s + 2)) {
		s[0] = '+';
		memmove(s + 1, s + 2, strlen(s + 2) + 1);
	} else if (intl && digits_only(s)) {
		char *t = xmalloc(addr->len + 2);
		t[0] = '+';
		memcpy(t + 1, s, addr->len + 1);
		free(s);
		s = t;
	}
	return s;
}

int ucp_sm_set_part(struct ucp_sm *sm, const struct sms_split *sp, const struct sms_part *pt, int msg_class)
{
	return ucp_sm_set_part_cs(sm, sp, pt, msg_class, false);
}

int ucp_sm_set_part_cs(struct ucp_sm *sm, const struct sms_split *sp, const struct sms_part *pt, int msg_class,
                       bool latin1)
{
	int dcs = -1;
	if (msg_class >= 0)
		snprintf(sm->mcls, sizeof sm->mcls, "%d", msg_class & 3);
	if (sp->encoding == SMS_ENC_GSM7 && latin1) {
		uint8_t l1[SMS_SEPTETS_MAX];
		int n = gsm7_to_8bit(pt->payload, pt->payload_len, true, l1, sizeof l1);
		snprintf(sm->mt, sizeof sm->mt, "3");
		if (n < 0 || ucp_data_ira_encode(l1, (size_t)n, sm->msg, sizeof sm->msg))
			return -EINVAL;
	} else if (sp->encoding == SMS_ENC_GSM7) {
		snprintf(sm->mt, sizeof sm->mt, "3");
		if (ucp_data_ira_encode(pt->payload, pt->payload_len, sm->msg, sizeof sm->msg))
			return -EINVAL;
	} else {
		snprintf(sm->mt, sizeof sm->mt, "4");
		snprintf(sm->nb, sizeof sm->nb, "%zu", 8 * pt->payload_len);
		if (ucp_data_ira_encode(pt->payload, pt->payload_len, sm->msg, sizeof sm->msg))
			return -EINVAL;
		bool ucs2 = sp->encoding == SMS_ENC_UCS2;
		dcs = msg_class >= 0 ? (ucs2 ? 0x18 : 0xF4) | (msg_class & 3) : ucs2 ? 0x08 : 0x04;
	}
	return ucp_data_xser_build(pt->udh, pt->udh_len, dcs, sm->xser, sizeof sm->xser) ? -EINVAL : 0;
}

void ucp_sm_set_text(struct ucp_sm *sm, const char *utf8)
{
	uint8_t sept[160];
	size_t n = 0;
	if (gsm7_from_utf8(utf8, strlen(utf8), 0, 0, sept, sizeof sept, &n, NULL) != 0)
		n = 0;
	snprintf(sm->mt, sizeof sm->mt, "3");
	if (ucp_data_ira_encode(sept, n, sm->msg, sizeof sm->msg))
		sm->msg[0] = '\0';
}

unsigned ucp_sm_read(const struct ucp_frame *f, struct ucp_sm_in *in, struct errbuf *err)
{
	memset(in, 0, sizeof *in);
	in->dcs = -1;
	in->msg_class = -1;
	const struct ucp_str *mt = NULL, *msg, *xser = NULL, *mcls = NULL;
	if (f->ot == 1) {
		mt = &f->f[UCP01_MT];
		msg = &f->f[UCP01_Msg];
	} else if (f->ot == 30) {
		msg = &f->f[UCP30_AMsg];
	} else {
		mt = &f->f[UCP5X_MT];
		msg = &f->f[UCP5X_Msg];
		xser = &f->f[UCP5X_XSer];
		mcls = &f->f[UCP5X_MCLs];
	}
	char t = mt ? (mt->len == 1 ? mt->p[0] : '?') : '3';
	if (xser && xser->len) {
		struct ucp_xser x;
		if (ucp_data_xser_parse(xser->p, xser->len, &x))
			return errbuf_set(err, "XSer is malformed"), 2;
		memcpy(in->udh, x.udh, x.udh_len);
		in->udh_len = x.udh_len;
		if (x.has_dcs)
			in->dcs = x.dcs;
	}
	if (mcls && mcls->len == 1 && mcls->p[0] >= '0' && mcls->p[0] <= '3')
		in->msg_class = mcls->p[0] - '0';
	if (t == '2') {
		if (msg->len > sizeof in->data)
			return errbuf_set(err, "NMsg longer than %d digits", UCP_SM_DATA_MAX), 24;
		for (size_t i = 0; i < msg->len; i++)
			if (msg->p[i] < '0' || msg->p[i] > '9')
				return errbuf_set(err, "NMsg holds a non-digit"), 2;
		memcpy(in->data, msg->p, msg->len);
		in->len = msg->len;
		in->kind = UCP_TEXT_DIGITS;
		return 0;
	}
	if (t != '3' && t != '4')
		return errbuf_set(err, "MT %.*s not supported", (int)(mt ? mt->len : 0), mt ? mt->p : ""), 23;
	int n = ucp_data_ira_decode(msg->p, msg->len, in->data, sizeof in->data);
	if (n == -ENOSPC)
		return errbuf_set(err, "message longer than %d octets", UCP_SM_DATA_MAX), 24;
	if (n < 0)
		return errbuf_set(err, "message is not hex"), 2;
	in->len = (size_t)n;
	if (t == '3') {
		in->kind = UCP_TEXT_GSM;
	} else {
		enum smpp_alphabet a = in->dcs >= 0 ? smpp_wire_alphabet((uint8_t)in->dcs) : SMPP_ALPHA_BINARY;
		in->kind = a == SMPP_ALPHA_UCS2 ? UCP_TEXT_UCS2 : UCP_TEXT_BINARY;
		if (in->dcs >= 0 && in->msg_class < 0 && (((in->dcs & 0xF0) == 0xF0) || ((in->dcs & 0xD0) == 0x10)))
			in->msg_class = in->dcs & 3;
	}
	return 0;
}

int ucp_sm_deferred(const struct ucp_frame *f, int64_t *unix_s)
{
	const struct ucp_str *dd, *ddt;
	if (f->ot == 30) {
		dd = &f->f[UCP30_DD];
		ddt = &f->f[UCP30_DDT];
	} else if (f->ot >= 51 && f->ot <= 58) {
		dd = &f->f[UCP5X_DD];
		ddt = &f->f[UCP5X_DDT];
	} else {
		return 0;
	}
	if (dd->len == 0 || (dd->len == 1 && dd->p[0] == '0'))
		return 0;
	if (dd->len != 1 || dd->p[0] != '1' || ddt->len != 10)
		return -1;
	char t12[13];
	memcpy(t12, ddt->p, 10);
	memcpy(t12 + 10, "00", 3);
	return ucp_data_scts_parse(t12, 12, unix_s) ? -1 : 1;
}

void ucp_sm_text(const struct ucp_sm_in *in, char **body, char **payload, char **encoding)
{
	ucp_sm_text_of(in->kind, in->data, in->len, body, payload, encoding);
}

void ucp_sm_text_of(int kind, const uint8_t *d, size_t n, char **body, char **payload, char **encoding)
{
	switch (kind) {
	case UCP_TEXT_DIGITS:
		*body = xstrndup((const char *)d, n);
		*encoding = xstrdup("gsm7");
		return;
	case UCP_TEXT_GSM:
		smpp_wire_text(SMPP_ALPHA_GSM, d, n, body, payload, encoding);
		return;
	case UCP_TEXT_LATIN1:
		smpp_wire_text(SMPP_ALPHA_LATIN1, d, n, body, payload, encoding);
		return;
	case UCP_TEXT_UCS2:
		smpp_wire_text(SMPP_ALPHA_UCS2, d, n, body, payload, encoding);
		return;
	case UCP_TEXT_BINARY:
	default:
		smpp_wire_text(SMPP_ALPHA_BINARY, d, n, body, payload, encoding);
		return;
	}
}

/*
 * Nokia DCT3 messages (see nokia.h for the table of requests and replies).
 * The SMS travels in the DCT3 fixed layout; nokia_layout_to_pdu and
 * nokia_pdu_to_layout move the fields between that layout and a 27.005 PDU
 * octet for octet (addresses are copied as the same semi-octet fields), so
 * the shared TPDU codec does all the SMS work and this file only knows
 * offsets.
 */
#include "fbus/nokia.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Offsets of the DCT3 layout (Gammu PHONE_SMS* layouts). */
enum {
	LAY_FO = 12,
	SUB_MR = 13,
	SUB_PID = 14,
	SUB_DCS = 15,
	SUB_UDL = 16,
	SUB_DA = 17,
	SUB_VP = 29,
	SUB_UD = 36,
	DEL_PID = 13,
	DEL_DCS = 14,
	DEL_UDL = 15,
	DEL_OA = 16,
	DEL_SCTS = 28,
	DEL_UD = 35,
	REP_MR = 13,
	REP_ST = 14,
	REP_RA = 15,
	REP_SCTS = 27,
	REP_DT = 34,
	REP_END = 41,
};

void nokia_req_set(struct nokia_req *r, uint8_t type, const uint8_t *data, size_t len)
{
	r->type = type;
	memcpy(r->data, data, len);
	r->len = len;
}

void nokia_req_get_model(struct nokia_req *r)
{
	static const uint8_t d[] = {0x00, 0x01, 0x00, 0x03, 0x00};
	nokia_req_set(r, NOKIA_TYPE_ID_REQ, d, sizeof d);
}

void nokia_req_enable_security(struct nokia_req *r)
{
	static const uint8_t d[] = {0x00, 0x01, 0x64, 0x01};
	nokia_req_set(r, NOKIA_TYPE_SECURITY, d, sizeof d);
}

void nokia_req_get_imei(struct nokia_req *r)
{
	static const uint8_t d[] = {0x00, 0x01, 0x66, 0x00};
	nokia_req_set(r, NOKIA_TYPE_SECURITY, d, sizeof d);
}

void nokia_req_get_smsc(struct nokia_req *r, uint8_t location)
{
	const uint8_t d[] = {0x00, 0x01, 0x00, 0x33, 0x64, location};
	nokia_req_set(r, NOKIA_TYPE_SMS, d, sizeof d);
}

void nokia_req_sms_status(struct nokia_req *r)
{
	static const uint8_t d[] = {0x00, 0x01, 0x00, 0x36, 0x64};
	nokia_req_set(r, NOKIA_TYPE_SMS_MEMORY, d, sizeof d);
}

void nokia_req_read_sms(struct nokia_req *r, uint8_t location)
{
	const uint8_t d[] = {0x00, 0x01, 0x00, 0x07, 0x02, location, 0x01, 0x64};
	nokia_req_set(r, NOKIA_TYPE_SMS, d, sizeof d);
}

void nokia_req_delete_sms(struct nokia_req *r, uint8_t location)
{
	const uint8_t d[] = {0x00, 0x01, 0x00, 0x0A, 0x02, location};
	nokia_req_set(r, NOKIA_TYPE_SMS_MEMORY, d, sizeof d);
}

int nokia_submit_pdu(const struct tpdu *t, uint8_t *pdu, size_t cap, size_t *n, struct errbuf *err)
{
	struct tpdu copy = *t;
	copy.has_smsc = true;
	if (copy.type != TPDU_SUBMIT)
		return errbuf_set(err, "only an SMS-SUBMIT can be sent"), -EINVAL;
	if (tpdu_encode(&copy, pdu, cap, n, NULL, err))
		return -EINVAL;
	return 0;
}

int nokia_req_send_sms(struct nokia_req *r, const struct tpdu *t, struct errbuf *err)
{
	uint8_t pdu[TPDU_MAX_LEN];
	size_t n, lay_len;
	if (nokia_submit_pdu(t, pdu, sizeof pdu, &n, err))
		return -EINVAL;
	static const uint8_t head[] = {0x00, 0x01, 0x00, 0x01, 0x02, 0x00};
	memcpy(r->data, head, sizeof head);
	if (nokia_pdu_to_layout(pdu, n, r->data + sizeof head, sizeof r->data - sizeof head, &lay_len, err))
		return -EINVAL;
	r->type = NOKIA_TYPE_SMS;
	r->len = sizeof head + lay_len;
	return 0;
}

/* ---- layout <-> PDU ---- */

/* Octets of an address field whose first octet counts semi-octets. */
static size_t nokia_addr_octets(uint8_t digits)
{
	return 2 + ((size_t)digits + 1) / 2;
}

static size_t nokia_ud_octets(uint8_t dcs, uint8_t udl)
{
	enum tpdu_alphabet a;
	int cls;
	tpdu_dcs_info(dcs, &a, &cls);
	return a == TPDU_GSM7 ? ((size_t)udl * 7 + 7) / 8 : udl;
}

void nokia_out_put(struct nokia_out *o, const uint8_t *src, size_t len)
{
	if (o->n + len > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, src, len);
	o->n += len;
}

int nokia_layout_to_pdu(const uint8_t *lay, size_t len, uint8_t *out, size_t cap, size_t *n, struct errbuf *err)
{
	if (len <= LAY_FO)
		return errbuf_set(err, "layout shorter than its header"), -EBADMSG;
	struct nokia_out o = {out, cap, 0, false};
	size_t smsc = (size_t)lay[0] + 1;
	if (smsc > NOKIA_LAYOUT_SLOT)
		return errbuf_set(err, "SMSC field over its slot"), -EBADMSG;
	nokia_out_put(&o, lay, smsc);
	uint8_t fo = lay[LAY_FO];
	switch (fo & 3) {
	case TPDU_DELIVER: {
		if (len < DEL_UD)
			return errbuf_set(err, "SMS-DELIVER layout truncated"), -EBADMSG;
		size_t oa = nokia_addr_octets(lay[DEL_OA]);
		size_t ud = nokia_ud_octets(lay[DEL_DCS], lay[DEL_UDL]);
		if (oa > NOKIA_LAYOUT_SLOT || DEL_UD + ud > len)
			return errbuf_set(err, "SMS-DELIVER address or user data over the layout"), -EBADMSG;
		nokia_out_put(&o, &fo, 1);
		nokia_out_put(&o, lay + DEL_OA, oa);
		nokia_out_put(&o, lay + DEL_PID, 2); /* PID, DCS */
		nokia_out_put(&o, lay + DEL_SCTS, 7);
		nokia_out_put(&o, lay + DEL_UDL, 1);
		nokia_out_put(&o, lay + DEL_UD, ud);
		break;
	}
	case TPDU_SUBMIT: {
		if (len < SUB_UD)
			return errbuf_set(err, "SMS-SUBMIT layout truncated"), -EBADMSG;
		size_t da = nokia_addr_octets(lay[SUB_DA]);
		size_t ud = nokia_ud_octets(lay[SUB_DCS], lay[SUB_UDL]);
		unsigned vpf = (fo >> 3) & 3;
		size_t vp = vpf == TPDU_VP_NONE ? 0 : vpf == TPDU_VP_RELATIVE ? 1 : 7;
		if (da > NOKIA_LAYOUT_SLOT || SUB_UD + ud > len)
			return errbuf_set(err, "SMS-SUBMIT address or user data over the layout"), -EBADMSG;
		nokia_out_put(&o, &fo, 1);
		nokia_out_put(&o, lay + SUB_MR, 1);
		nokia_out_put(&o, lay + SUB_DA, da);
		nokia_out_put(&o, lay + SUB_PID, 2); /* PID, DCS */
		nokia_out_put(&o, lay + SUB_VP, vp);
		nokia_out_put(&o, lay + SUB_UDL, 1);
		nokia_out_put(&o, lay + SUB_UD, ud);
		break;
	}
	case TPDU_STATUS_REPORT: {
		if (len < REP_END)
			return errbuf_set(err, "SMS-STATUS-REPORT layout truncated"), -EBADMSG;
		size_t ra = nokia_addr_octets(lay[REP_RA]);
		if (ra > NOKIA_LAYOUT_SLOT)
			return errbuf_set(err, "SMS-STATUS-REPORT address over its slot"), -EBADMSG;
		nokia_out_put(&o, &fo, 1);
		nokia_out_put(&o, lay + REP_MR, 1);
		nokia_out_put(&o, lay + REP_RA, ra);
		nokia_out_put(&o, lay + REP_SCTS, 7);
		nokia_out_put(&o, lay + REP_DT, 7);
		nokia_out_put(&o, lay + REP_ST, 1);
		break;
	}
	default:
		return errbuf_set(err, "reserved TP-MTI 3"), -EBADMSG;
	}
	if (o.full)
		return errbuf_set(err, "PDU buffer too small"), -EBADMSG;
	*n = o.n;
	return 0;
}

/* Copies len octets to lay[at], failing when they leave the buffer. */
static bool nokia_lay_put(uint8_t *lay, size_t cap, size_t at, const uint8_t *src, size_t len)
{
	if (at + len > cap)
		return false;
	memcpy(lay + at, src, len);
	return true;
}

int nokia_pdu_to_layout(const uint8_t *pdu, size_t len, uint8_t *out, size_t cap, size_t *n, struct errbuf *err)
{
	struct tpdu t;
	if (tpdu_decode(pdu, len, TPDU_WITH_SMSC, &t, err))
		return -EBADMSG;
	size_t smsc = (size_t)pdu[0] + 1;
	const uint8_t *tp = pdu + smsc;
	if (smsc > NOKIA_LAYOUT_SLOT)
		return errbuf_set(err, "SMSC address too long for the layout"), -EINVAL;
	size_t end;
	if (cap < REP_END)
		return errbuf_set(err, "layout buffer too small"), -EINVAL;
	memset(out, 0, cap < SUB_UD + TPDU_UD_MAX ? cap : SUB_UD + TPDU_UD_MAX);
	memcpy(out, pdu, smsc);
	out[LAY_FO] = tp[0];
	/* tpdu_decode checked every length below. */
	switch (t.type) {
	case TPDU_SUBMIT: {
		size_t da = nokia_addr_octets(tp[2]);
		if (da > NOKIA_LAYOUT_SLOT)
			return errbuf_set(err, "recipient too long for the layout"), -EINVAL;
		size_t at = 2 + da;
		out[SUB_MR] = tp[1];
		memcpy(out + SUB_DA, tp + 2, da);
		out[SUB_PID] = tp[at];
		out[SUB_DCS] = tp[at + 1];
		at += 2;
		size_t vp = t.vpf == TPDU_VP_NONE ? 0 : t.vpf == TPDU_VP_RELATIVE ? 1 : 7;
		memcpy(out + SUB_VP, tp + at, vp);
		at += vp;
		out[SUB_UDL] = tp[at];
		if (!nokia_lay_put(out, cap, SUB_UD, t.ud, t.ud_len))
			return errbuf_set(err, "layout buffer too small"), -EINVAL;
		end = SUB_UD + t.ud_len;
		break;
	}
	case TPDU_DELIVER: {
		size_t oa = nokia_addr_octets(tp[1]);
		if (oa > NOKIA_LAYOUT_SLOT)
			return errbuf_set(err, "sender too long for the layout"), -EINVAL;
		size_t at = 1 + oa;
		memcpy(out + DEL_OA, tp + 1, oa);
		out[DEL_PID] = tp[at];
		out[DEL_DCS] = tp[at + 1];
		memcpy(out + DEL_SCTS, tp + at + 2, 7);
		out[DEL_UDL] = tp[at + 9];
		if (!nokia_lay_put(out, cap, DEL_UD, t.ud, t.ud_len))
			return errbuf_set(err, "layout buffer too small"), -EINVAL;
		end = DEL_UD + t.ud_len;
		break;
	}
	default: {
		size_t ra = nokia_addr_octets(tp[2]);
		if (ra > NOKIA_LAYOUT_SLOT)
			return errbuf_set(err, "recipient too long for the layout"), -EINVAL;
		size_t at = 2 + ra;
		out[REP_MR] = tp[1];
		memcpy(out + REP_RA, tp + 2, ra);
		memcpy(out + REP_SCTS, tp + at, 7);
		memcpy(out + REP_DT, tp + at + 7, 7);
		out[REP_ST] = tp[at + 14];
		end = REP_END;
		break;
	}
	}
	*n = end;
	return 0;
}

/* ---- replies ---- */

static int nokia_sms(const uint8_t *lay, size_t len, struct tpdu *t, struct errbuf *err)
{
	uint8_t pdu[TPDU_MAX_LEN];
	size_t n;
	if (nokia_layout_to_pdu(lay, len, pdu, sizeof pdu, &n, err))
		return -EBADMSG;
	if (tpdu_decode(pdu, n, TPDU_WITH_SMSC | TPDU_LENIENT, t, err))
		return -EBADMSG;
	return 0;
}

/* Copies the NUL- or newline-terminated text at s (at most n octets) into
 * out (cap octets); returns the octets consumed, terminator included. */
static size_t nokia_text(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < n && s[i] && s[i] != '\n') {
		if (o + 1 < cap && s[i] >= 0x20 && s[i] < 0x7F)
			out[o++] = (char)s[i];
		i++;
	}
	out[o] = '\0';
	return i < n ? i + 1 : i;
}

void nokia_smsc_number(const uint8_t *f, size_t avail, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	if (avail < 2 || f[0] < 1 || (size_t)f[0] + 1 > avail || f[0] > NOKIA_LAYOUT_SLOT - 1)
		return;
	if (f[1] == 0x91 && o + 1 < cap)
		out[o++] = '+';
	for (size_t i = 2; i < (size_t)f[0] + 1; i++)
		for (int half = 0; half < 2; half++) {
			unsigned d = half ? f[i] >> 4 : f[i] & 15;
			if (d > 9)
				break;
			if (o + 1 < cap)
				out[o++] = (char)('0' + d);
		}
	out[o] = '\0';
}

int nokia_decode(uint8_t type, const uint8_t *msg, size_t len, struct nokia_reply *out, struct errbuf *err)
{
	memset(out, 0, sizeof *out);
	/* Only the operation octet is checked: captures show phones that do
	 * not always repeat the 00 01 00 header in replies. */
	if (len < 4)
		return 0;
	uint8_t op = msg[3];
	switch (type) {
	case NOKIA_TYPE_ID_REPLY: {
		if (op != 0x03 || len < 6 || msg[4] != 'V' || msg[5] != ' ')
			return 0;
		size_t at = 6;
		at += nokia_text(msg + at, len - at, out->version, sizeof out->version);
		at += nokia_text(msg + at, len - at, out->date, sizeof out->date);
		nokia_text(msg + at, len - at, out->model, sizeof out->model);
		out->kind = NOKIA_MODEL;
		return 0;
	}
	case NOKIA_TYPE_SECURITY:
		if (msg[2] == 0x66 && len > 4) {
			nokia_text(msg + 4, len - 4, out->imei, sizeof out->imei);
			out->kind = NOKIA_IMEI;
		} else if (msg[2] == 0x64) {
			out->kind = NOKIA_SECURITY_ON;
		}
		return 0;
	case NOKIA_TYPE_SMS:
		switch (op) {
		case 0x02:
			if (len < 6)
				return errbuf_set(err, "short SMS sent reply"), -EBADMSG;
			out->kind = NOKIA_SENT;
			out->mr = msg[5];
			return 0;
		case 0x03:
			out->kind = NOKIA_SEND_ERROR;
			out->error = len > 6 ? msg[6] : 0;
			return 0;
		case 0x10:
			if (len < 7)
				return errbuf_set(err, "short incoming SMS"), -EBADMSG;
			out->kind = NOKIA_INCOMING;
			return nokia_sms(msg + 7, len - 7, &out->sms, err);
		case 0x34:
			out->kind = NOKIA_SMSC;
			if (len > 21)
				nokia_smsc_number(msg + 21, len - 21, out->smsc, sizeof out->smsc);
			return 0;
		case 0x35:
			out->kind = NOKIA_SMSC_ERROR;
			return 0;
		}
		return 0;
	case NOKIA_TYPE_SMS_MEMORY:
		switch (op) {
		case 0x37:
			if (len < 12)
				return errbuf_set(err, "short SMS status"), -EBADMSG;
			out->kind = NOKIA_SMS_STATUS;
			out->sim_size = msg[7];
			out->used = msg[10];
			out->unread = msg[11];
			return 0;
		case 0x38:
			out->kind = NOKIA_SMS_STATUS_ERROR;
			return 0;
		case 0x08:
			if (len < 8)
				return errbuf_set(err, "short SMS"), -EBADMSG;
			out->kind = NOKIA_SMS;
			out->state = msg[4];
			out->box = msg[7];
			return nokia_sms(msg + 8, len - 8, &out->sms, err);
		case 0x09:
			out->kind = NOKIA_SMS_READ_ERROR;
			out->error = len > 4 ? msg[4] : 0;
			return 0;
		case 0x0B:
			out->kind = NOKIA_DELETED;
			return 0;
		case 0x0C:
			out->kind = NOKIA_DELETE_ERROR;
			out->error = len > 4 ? msg[4] : 0;
			return 0;
		}
		return 0;
	}
	return 0;
}

/*
 * tpdu_fields: a decoded TPDU as the `key=value;...` line of
 * tests/vectors/sms-pdu.tsv (same keys, same order, same percent-encoding),
 * for `smspool decode sms-pdu`, the vector tests and logs.  Kept apart from
 * tpdu.c, which only converts bytes and structs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec/kv.h"
#include "codec/tpdu.h"
#include "codec/udh.h"

/* A key and a string value in the vectors' percent-encoding (codec/kv). */
static void tpdu_kv_str(struct kv *w, const char *key, const char *s, size_t n)
{
	kv_key(w, key);
	kv_pct(w, (const uint8_t *)s, n);
}

static void tpdu_kv_time(struct kv *w, const char *key, const struct tpdu_time *t)
{
	kv_fmt(w, key, "%02u/%02u/%02u,%02u:%02u:%02u%c%02u", t->year, t->month, t->day, t->hour, t->minute, t->second,
	       t->tz_negative ? '-' : '+', t->tz_quarters);
}

static void tpdu_kv_addr(struct kv *w, const char *key, const struct tpdu_addr *a)
{
	char k[16];
	tpdu_kv_str(w, key, a->text, strlen(a->text));
	snprintf(k, sizeof k, "%s_toa", key);
	kv_fmt(w, k, "%02X", a->toa);
}

static void tpdu_kv_flag(struct kv *w, const char *key, bool v)
{
	kv_fmt(w, key, "%d", v ? 1 : 0);
}

static void tpdu_fields_vp(struct kv *w, const struct tpdu *t)
{
	switch (t->vpf) {
	case TPDU_VP_NONE:
		break;
	case TPDU_VP_RELATIVE:
		kv_fmt(w, "vp_raw", "%02X", t->vp_rel);
		kv_fmt(w, "vp_minutes", "%u", tpdu_vp_minutes(t->vp_rel));
		break;
	case TPDU_VP_ABSOLUTE:
		tpdu_kv_time(w, "vp", &t->vp_abs);
		break;
	case TPDU_VP_ENHANCED:
		kv_hex(w, "vp_enhanced", t->vp_enh, 7);
		break;
	}
}

/* The UDH's keys, IE by IE in wire order, as udh.tsv names them. */
static void tpdu_fields_udh(struct kv *w, const struct tpdu *t)
{
	struct udh u;
	kv_hex(w, "udh_hex", t->udh, t->udh_len);
	if (udh_parse(t->udh, t->udh_len, &u, NULL) < 0)
		return;
	char list[3 * UDH_MAX_IES + 1] = "";
	size_t n = 0;
	for (size_t i = 0; i < u.n_ies; i++) {
		uint8_t iei = u.ies[i].iei;
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%02X", i ? "," : "", iei);
		if ((iei == UDH_IEI_CONCAT8 || iei == UDH_IEI_CONCAT16) && u.has_concat &&
		    u.concat_ref_bits == (iei == UDH_IEI_CONCAT8 ? 8u : 16u)) {
			kv_fmt(w, "concat_ref", "%u", u.concat_ref);
			kv_fmt(w, "concat_total", "%u", u.concat_total);
			kv_fmt(w, "concat_seq", "%u", u.concat_seq);
			kv_fmt(w, "concat_ref_bits", "%u", u.concat_ref_bits);
		} else if ((iei == UDH_IEI_PORTS8 || iei == UDH_IEI_PORTS16) && u.has_ports &&
		           u.port_bits == (iei == UDH_IEI_PORTS8 ? 8u : 16u)) {
			kv_fmt(w, "dst_port", "%u", u.dst_port);
			kv_fmt(w, "src_port", "%u", u.src_port);
			kv_fmt(w, "port_bits", "%u", u.port_bits);
		}
	}
	tpdu_kv_str(w, "iei_list", list, strlen(list));
}

static void tpdu_fields_ud(struct kv *w, const struct tpdu *t)
{
	static const char *const alphabets[] = {"gsm7", "8bit", "ucs2"};
	tpdu_kv_str(w, "alphabet", alphabets[t->alphabet], strlen(alphabets[t->alphabet]));
	if (t->msg_class >= 0)
		kv_fmt(w, "msg_class", "%d", t->msg_class);
	kv_fmt(w, "udl", "%zu", t->udl);
	if (t->alphabet == TPDU_GSM7 && t->udh_len)
		kv_fmt(w, "fill_bits", "%u", t->fill_bits);
	char text[3 * 160 + 1];
	size_t tl;
	if (t->alphabet != TPDU_8BIT && tpdu_text(t, text, sizeof text, &tl) == 0)
		tpdu_kv_str(w, "text", text, tl);
	if (t->alphabet == TPDU_GSM7)
		kv_fmt(w, "text_septets", "%zu", t->payload_len);
	else
		kv_hex(w, "payload_hex", t->payload, t->payload_len);
	if (t->udh_len)
		tpdu_fields_udh(w, t);
}

int tpdu_fields(const struct tpdu *t, char *out, size_t cap)
{
	static const char *const mti[] = {"SMS-DELIVER", "SMS-SUBMIT", "SMS-STATUS-REPORT"};
	static const char *const vpf[] = {"none", "enhanced", "relative", "absolute"};
	struct kv w = {.out = out, .cap = cap};
	if (cap)
		out[0] = '\0';
	if (t->has_smsc) {
		tpdu_kv_str(&w, "smsc", t->smsc.text, strlen(t->smsc.text));
		if (t->smsc.text[0])
			kv_fmt(&w, "smsc_toa", "%02X", t->smsc.toa);
	}
	kv_fmt(&w, "first_octet", "%02X", t->first_octet);
	if ((unsigned)t->type > TPDU_STATUS_REPORT)
		return -EINVAL;
	tpdu_kv_str(&w, "mti", mti[t->type], strlen(mti[t->type]));
	switch (t->type) {
	case TPDU_SUBMIT:
		tpdu_kv_flag(&w, "rd", t->rd);
		tpdu_kv_str(&w, "vpf", vpf[t->vpf], strlen(vpf[t->vpf]));
		tpdu_kv_flag(&w, "srr", t->srr);
		tpdu_kv_flag(&w, "udhi", t->udhi);
		tpdu_kv_flag(&w, "rp", t->rp);
		kv_fmt(&w, "mr", "%u", t->mr);
		tpdu_kv_addr(&w, "da", &t->addr);
		kv_fmt(&w, "pid", "%02X", t->pid);
		kv_fmt(&w, "dcs", "%02X", t->dcs);
		tpdu_fields_vp(&w, t);
		break;
	case TPDU_DELIVER:
		tpdu_kv_flag(&w, "mms", t->mms);
		tpdu_kv_flag(&w, "lp", t->lp);
		tpdu_kv_flag(&w, "sri", t->sri);
		tpdu_kv_flag(&w, "udhi", t->udhi);
		tpdu_kv_flag(&w, "rp", t->rp);
		tpdu_kv_addr(&w, "oa", &t->addr);
		kv_fmt(&w, "pid", "%02X", t->pid);
		kv_fmt(&w, "dcs", "%02X", t->dcs);
		tpdu_kv_time(&w, "scts", &t->scts);
		break;
	case TPDU_STATUS_REPORT:
		tpdu_kv_flag(&w, "mms", t->mms);
		tpdu_kv_flag(&w, "lp", t->lp);
		tpdu_kv_flag(&w, "srq", t->srq);
		tpdu_kv_flag(&w, "udhi", t->udhi);
		kv_fmt(&w, "mr", "%u", t->mr);
		tpdu_kv_addr(&w, "ra", &t->addr);
		tpdu_kv_time(&w, "scts", &t->scts);
		tpdu_kv_time(&w, "dt", &t->dt);
		kv_fmt(&w, "st", "%02X", t->st);
		if (t->has_pi) {
			kv_fmt(&w, "pi", "%02X", t->pi);
			if (t->pi & 0x01)
				kv_fmt(&w, "pid", "%02X", t->pid);
			if (t->pi & 0x02)
				kv_fmt(&w, "dcs", "%02X", t->dcs);
		}
		break;
	}
	if (t->type != TPDU_STATUS_REPORT || (t->has_pi && (t->pi & 0x04)))
		tpdu_fields_ud(&w, t);
	kv_fmt(&w, "tpdu_len", "%zu", t->tpdu_len);
	return w.overflow ? -ENOSPC : (int)w.len;
}

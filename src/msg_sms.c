/* msg_sms: see msg_sms.h. */
#include "msg_sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/sms.h"
#include "codec/ucs2.h"

char *msg_sms_part_id(int mr, const char *recipient)
{
	char digits[32], id[48];
	size_t n = 0;
	for (const char *p = recipient; *p && n + 1 < sizeof digits; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	digits[n] = '\0';
	snprintf(id, sizeof id, "%d/%s", mr, digits + (n > 8 ? n - 8 : 0));
	return xstrdup(id);
}

int msg_sms_split(const struct msg *m, uint32_t langs, unsigned concat_ref, struct sms_split *sp, struct errbuf *err)
{
	struct sms_split_opts opts = {0};
	uint8_t *bin = NULL, udh[UDH_MAX_LEN];
	const char *data;
	size_t len;
	int rc = -1;
	memset(sp, 0, sizeof *sp);
	if (sms_encoding_from_name(m->encoding ? m->encoding : "auto", &opts.encoding))
		return errbuf_set(err, "unknown encoding \"%s\"", m->encoding);
	if (opts.encoding == SMS_ENC_BINARY) {
		size_t plen = m->payload ? strlen(m->payload) / 2 : 0;
		bin = xmalloc(plen + 1);
		int np = m->payload ? hex_decode(m->payload, bin, plen) : 0;
		int nu = m->udh ? hex_decode(m->udh, udh, sizeof udh) : 0;
		if (np < 0 || nu < 0 || (nu > 0 && udh[0] != nu - 1)) {
			errbuf_set(err, "payload or udh is not valid hex");
			goto out;
		}
		if (nu > 0) {
			opts.extra_ies = udh + 1;
			opts.extra_ies_len = (size_t)nu - 1;
		}
		data = (const char *)bin;
		len = (size_t)np;
	} else {
		data = m->body ? m->body : "";
		len = strlen(data);
		opts.national_langs = langs;
	}
	opts.concat_ref = concat_ref & 0xFF;
	if (sms_count_parts(data, len, &opts, sp, err))
		goto out;
	sp->parts = xcalloc(sp->n_parts, sizeof *sp->parts);
	sp->parts_cap = sp->n_parts;
	if (sms_split(data, len, &opts, sp, err))
		goto out;
	rc = (int)sp->n_parts;
out:
	if (rc < 0) {
		free(sp->parts);
		sp->parts = NULL;
	}
	free(bin);
	return rc;
}

struct tpdu *msg_sms_submits(const struct msg *m, const char *smsc, int *n_parts, struct errbuf *err)
{
	struct sms_split sp = {0};
	struct tpdu *parts = NULL;
	if (msg_sms_split(m, SMS_LANGS_NONE, (unsigned)m->id, &sp, err) < 0)
		return NULL;
	int mclass = m->flash ? 0 : m->msg_class;
	uint8_t dcs = sp.dcs;
	if (mclass >= 0)
		dcs = sp.encoding == SMS_ENC_UCS2     ? (uint8_t)(0x18 | mclass)
		      : sp.encoding == SMS_ENC_BINARY ? (uint8_t)(0xF4 | mclass)
		                                      : (uint8_t)(0xF0 | mclass);
	parts = xcalloc(sp.n_parts, sizeof *parts);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		struct tpdu *t = &parts[i];
		t->has_smsc = true;
		t->type = TPDU_SUBMIT;
		t->srr = m->want_report;
		t->dcs = dcs;
		if (smsc && tpdu_addr_set(&t->smsc, smsc) < 0) {
			errbuf_set(err, "smsc \"%s\" is not a number", smsc);
			goto fail;
		}
		if (tpdu_addr_set(&t->addr, m->recipient) < 0 || t->addr.toa == 0xD0) {
			errbuf_set(err, "recipient \"%s\" is not a phone number", m->recipient);
			goto fail;
		}
		t->vpf = TPDU_VP_RELATIVE;
		t->vp_rel = 0xAA; /* 4 days */
		if (m->valid_until_s > 0) {
			int64_t left = m->valid_until_s - now_wall_ms() / 1000;
			t->vp_rel = tpdu_vp_from_minutes(left > 300 ? (unsigned)(left / 60) : 5);
		}
		t->udhi = sp.parts[i].udh_len > 0;
		t->udl = sp.parts[i].udl;
		memcpy(t->ud, sp.parts[i].ud, sp.parts[i].ud_len);
		t->ud_len = sp.parts[i].ud_len;
	}
	*n_parts = (int)sp.n_parts;
	free(sp.parts);
	return parts;
fail:
	free(sp.parts);
	free(parts);
	return NULL;
}

char *msg_sms_hex(const uint8_t *d, size_t n)
{
	char *h = xmalloc(2 * n + 1);
	hex_encode(d, n, h);
	return h;
}

void msg_sms_inbound_binary(struct inbound *in, const uint8_t *d, size_t n)
{
	in->encoding = xstrdup("binary");
	in->payload = msg_sms_hex(d, n);
}

void msg_sms_inbound_text(struct inbound *in, enum tpdu_alphabet al, const uint8_t *d, size_t n)
{
	if (al != TPDU_8BIT) {
		size_t cap = 3 * n + 1;
		char *t = xmalloc(cap);
		int rc = al == TPDU_GSM7 ? gsm7_to_utf8(d, n, 0, 0, t, cap, NULL) : ucs2_to_utf8(d, n, t, cap, NULL);
		if (rc == 0) {
			in->body = t;
			in->encoding = xstrdup(al == TPDU_GSM7 ? "gsm7" : "ucs2");
			return;
		}
		free(t);
	}
	msg_sms_inbound_binary(in, d, n);
}

void msg_sms_inbound_deliver(struct inbound *in, const struct tpdu *t, bool keep_udh)
{
	in->parts = 1;
	msg_sms_inbound_text(in, t->alphabet, t->payload, t->payload_len);
	if (keep_udh && t->udh_len)
		in->udh = msg_sms_hex(t->udh, t->udh_len);
	int64_t ts = tpdu_time_unix(&t->scts);
	in->smsc_ts_s = ts > 0 ? ts : 0;
}

struct report *msg_sms_report(const struct tpdu *t)
{
	struct report *r = xcalloc(1, sizeof *r);
	r->remote_id = msg_sms_part_id(t->mr, t->addr.text);
	int cls = tpdu_status_class(t->st);
	r->state = xstrdup(cls == 0 ? "delivered" : cls == 1 ? "enroute" : t->st == 0x46 ? "expired" : "undelivered");
	char code[8], text[32];
	snprintf(code, sizeof code, "%02X", t->st);
	snprintf(text, sizeof text, "TP-ST 0x%02X", t->st);
	r->error_code = xstrdup(code);
	r->text = xstrdup(text);
	return r;
}

/*
 * Outbound parts of the fbus driver: a lent message becomes SMS-SUBMIT
 * TPDUs through the shared codec (src/codec/sms.c splits and encodes, with
 * concatenation headers for long texts; src/codec/tpdu.h carries them), the
 * same choices the at driver makes: relative validity (4 days, or what is
 * left of the row's validity), TP-SRR when the row wants a report, flash
 * and message class in the DCS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/sms.h"
#include "fbus/fbus.h"

void fbus_out_free(struct fbus_out *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->n_parts; i++)
		free(o->ids[i]);
	free(o->ids);
	free(o->parts);
	free(o);
}

char *fbus_out_id(int mr, const char *recipient)
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

struct fbus_out *fbus_out_new(struct msg *m, const char *smsc, struct errbuf *err)
{
	struct sms_split_opts opts = {0};
	struct sms_split sp = {0};
	uint8_t *bin = NULL, udh[UDH_MAX_LEN];
	const char *data;
	size_t len;
	struct fbus_out *o = NULL;
	if (sms_encoding_from_name(m->encoding ? m->encoding : "auto", &opts.encoding)) {
		errbuf_set(err, "unknown encoding \"%s\"", m->encoding);
		return NULL;
	}
	if (opts.encoding == SMS_ENC_BINARY) {
		size_t plen = m->payload ? strlen(m->payload) / 2 : 0;
		bin = xmalloc(plen + 1);
		int np = m->payload ? hex_decode(m->payload, bin, plen) : 0;
		int nu = m->udh ? hex_decode(m->udh, udh, sizeof udh) : 0;
		if (np < 0 || nu < 0 || (nu > 0 && udh[0] != nu - 1)) {
			errbuf_set(err, "payload or udh is not valid hex");
			goto fail;
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
	}
	opts.concat_ref = (unsigned)(m->id & 0xFF);
	if (sms_count_parts(data, len, &opts, &sp, err))
		goto fail;
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	if (sms_split(data, len, &opts, &sp, err))
		goto fail;
	int mclass = m->flash ? 0 : m->msg_class;
	uint8_t dcs = sp.dcs;
	if (mclass >= 0)
		dcs = sp.encoding == SMS_ENC_UCS2     ? (uint8_t)(0x18 | mclass)
		      : sp.encoding == SMS_ENC_BINARY ? (uint8_t)(0xF4 | mclass)
		                                      : (uint8_t)(0xF0 | mclass);
	o = xcalloc(1, sizeof *o);
	o->m = m;
	o->n_parts = (int)sp.n_parts;
	o->parts = xcalloc(sp.n_parts, sizeof *o->parts);
	o->ids = xcalloc(sp.n_parts, sizeof *o->ids);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		struct tpdu *t = &o->parts[i];
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
	free(sp.parts);
	free(bin);
	return o;
fail:
	free(sp.parts);
	free(bin);
	fbus_out_free(o);
	return NULL;
}

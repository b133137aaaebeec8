/*
 * pdu_fields: the text form of an SMPP PDU, as the test vectors' `fields`
 * column writes it ("key=value;..."): the dump of a decoded PDU (with the
 * parsed dlr_* keys of a delivery receipt) and its reverse, one key at a
 * time, for tests and tools.  Both walk the command descriptions of
 * pdu_table.c, as the codec does.
 */
#include "smpp/pdu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/kv.h"
#include "smpp/pdu_table.h"
#include "smpp/receipt.h"

/* ---- key=value dump ---- */

static void dump_field(struct kv *w, const struct smpp_pdu_field_desc *d, const struct smpp_pdu *pdu)
{
	const uint8_t *member = (const uint8_t *)pdu + d->off;
	char key[64];
	switch (d->kind) {
	case FK_CSTR:
		kv_str(w, d->name, (const char *)member);
		break;
	case FK_U8:
		if (d->hex)
			kv_fmt(w, d->name, "0x%02X", *member);
		else
			kv_fmt(w, d->name, "%u", *member);
		break;
	case FK_SM:
		kv_fmt(w, "sm_length", "%u", pdu->sm_length);
		kv_hex(w, "short_message_hex", pdu->short_message, pdu->sm_length);
		break;
	case FK_DESTS:
		kv_fmt(w, "number_of_dests", "%u", pdu->number_of_dests);
		for (unsigned i = 0; i < pdu->number_of_dests; i++) {
			const struct smpp_pdu_dest *dd = &pdu->dest_address[i];
			snprintf(key, sizeof key, "dest_address.%u.dest_flag", i + 1);
			kv_fmt(w, key, "%u", dd->dest_flag);
			if (dd->dest_flag == 1) {
				snprintf(key, sizeof key, "dest_address.%u.dest_addr_ton", i + 1);
				kv_fmt(w, key, "%u", dd->dest_addr_ton);
				snprintf(key, sizeof key, "dest_address.%u.dest_addr_npi", i + 1);
				kv_fmt(w, key, "%u", dd->dest_addr_npi);
				snprintf(key, sizeof key, "dest_address.%u.destination_addr", i + 1);
				kv_str(w, key, dd->destination_addr);
			} else {
				snprintf(key, sizeof key, "dest_address.%u.dl_name", i + 1);
				kv_str(w, key, dd->dl_name);
			}
		}
		break;
	case FK_UNSUCCESS:
		kv_fmt(w, "no_unsuccess", "%u", pdu->no_unsuccess);
		for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
			const struct smpp_pdu_unsuccess *u = &pdu->unsuccess_sme[i];
			snprintf(key, sizeof key, "unsuccess_sme.%u.dest_addr_ton", i + 1);
			kv_fmt(w, key, "%u", u->dest_addr_ton);
			snprintf(key, sizeof key, "unsuccess_sme.%u.dest_addr_npi", i + 1);
			kv_fmt(w, key, "%u", u->dest_addr_npi);
			snprintf(key, sizeof key, "unsuccess_sme.%u.destination_addr", i + 1);
			kv_str(w, key, u->destination_addr);
			snprintf(key, sizeof key, "unsuccess_sme.%u.error_status_code", i + 1);
			kv_fmt(w, key, "0x%08X", u->error_status_code);
		}
		break;
	}
}

/* deliver_sm carrying an SMSC delivery receipt or an intermediate
 * notification (esm_class bits 5..2 = 0001 or 1000, v3.4 5.2.12). */
static void dump_receipt(struct kv *w, const struct smpp_pdu *pdu)
{
	if (pdu->command_id != SMPP_DELIVER_SM || pdu->body_absent)
		return;
	uint8_t type = pdu->esm_class & 0x3C;
	if (type != 0x04 && type != 0x20)
		return;
	const char *text = (const char *)pdu->short_message;
	size_t len = pdu->sm_length;
	if (!len && pdu->known.has_message_payload) {
		text = (const char *)pdu->known.message_payload;
		len = pdu->known.message_payload_len;
	}
	struct smpp_receipt r;
	if (smpp_receipt_parse(text, len, &r))
		return;
	if (r.has_id)
		kv_str(w, "dlr_id", r.id);
	if (r.has_sub)
		kv_str(w, "dlr_sub", r.sub);
	if (r.has_dlvrd)
		kv_str(w, "dlr_dlvrd", r.dlvrd);
	if (r.has_submit_date)
		kv_str(w, "dlr_submit_date", r.submit_date);
	if (r.has_done_date)
		kv_str(w, "dlr_done_date", r.done_date);
	if (r.has_stat)
		kv_str(w, "dlr_stat", r.stat);
	if (r.has_err)
		kv_str(w, "dlr_err", r.err);
	if (r.has_text)
		kv_str(w, "dlr_text", r.text);
}

int smpp_pdu_fields(const struct smpp_pdu *pdu, char *out, size_t cap)
{
	struct kv w = {.out = out, .cap = cap};
	if (cap)
		out[0] = '\0';
	const struct smpp_pdu_command_desc *cmd = smpp_pdu_table_command(pdu->command_id);
	kv_fmt(&w, "command_length", "%u", pdu->command_length);
	kv_fmt(&w, "command_id", "0x%08X", pdu->command_id);
	kv_fmt(&w, "command_status", "0x%08X", pdu->command_status);
	kv_fmt(&w, "sequence_number", "%u", pdu->sequence_number);
	kv_str(&w, "command", cmd ? cmd->name : "unknown");
	if (pdu->body_absent) {
		kv_str(&w, "body", "absent");
	} else if (cmd) {
		for (size_t i = 0; i < cmd->nfields; i++)
			dump_field(&w, &cmd->fields[i], pdu);
	}
	size_t n = pdu->tlv_count < SMPP_PDU_MAX_TLVS ? pdu->tlv_count : SMPP_PDU_MAX_TLVS;
	for (size_t i = 0; i < n; i++) {
		const struct smpp_tlv *t = &pdu->tlvs[i];
		const char *name = smpp_pdu_tlv_name(t->tag);
		char key[64];
		if (name)
			snprintf(key, sizeof key, "tlv.%s", name);
		else
			snprintf(key, sizeof key, "tlv.0x%04X", t->tag);
		kv_hex(&w, key, t->value, t->value ? t->len : 0);
	}
	if (n) {
		kv_key(&w, "tlv_tags");
		for (size_t i = 0; i < n; i++) {
			char tag[8];
			snprintf(tag, sizeof tag, "%s0x%04X", i ? "," : "", pdu->tlvs[i].tag);
			kv_raw(&w, tag, strlen(tag));
		}
	}
	dump_receipt(&w, pdu);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int smpp_pdu_fields_error(const struct smpp_pdu_error *e, char *out, size_t cap)
{
	struct kv w = {.out = out, .cap = cap};
	if (cap)
		out[0] = '\0';
	kv_fmt(&w, "error_status", "0x%08X", e->status);
	kv_str(&w, "reason", e->reason);
	return w.overflow ? -ENOSPC : (int)w.len;
}

/* ---- key=value parser ---- */

/* Parses "0x..." as hex, anything else as decimal; the whole string must be
 * a number no larger than max. */
static int pdu_parse_uint(const char *s, uint32_t max, uint32_t *v)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2, base = 16;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, base);
	if (errno || *end || n > max)
		return -EINVAL;
	*v = (uint32_t)n;
	return 0;
}

static int set_tlv(struct smpp_pdu *pdu, const char *name, const char *value, struct smpp_pdu_arena *arena,
                   struct errbuf *err)
{
	uint32_t tag = 0;
	if (strncmp(name, "0x", 2) == 0) {
		if (pdu_parse_uint(name, 0xFFFF, &tag))
			return errbuf_set(err, "bad TLV tag %s", name), -EINVAL;
	} else {
		const struct smpp_pdu_tlv_desc *td = smpp_pdu_table_tlv_named(name);
		if (!td)
			return errbuf_set(err, "unknown TLV name %s", name), -EINVAL;
		tag = td->tag;
	}
	size_t hexlen = strlen(value);
	if (hexlen / 2 > 0xFFFF || !arena || hexlen / 2 > arena->cap - arena->used)
		return errbuf_set(err, "no room for TLV %s", name), -EINVAL;
	uint8_t *dst = arena->data + arena->used;
	int n = hex_decode(value, dst, arena->cap - arena->used);
	if (n < 0)
		return errbuf_set(err, "TLV %s: bad hex", name), -EINVAL;
	arena->used += (size_t)n;
	if (smpp_pdu_add_tlv(pdu, (uint16_t)tag, dst, (uint16_t)n))
		return errbuf_set(err, "more than %d TLVs", SMPP_PDU_MAX_TLVS), -EINVAL;
	return 0;
}

int smpp_pdu_fields_set(struct smpp_pdu *pdu, const char *key, const char *value, struct smpp_pdu_arena *arena,
                        struct errbuf *err)
{
	uint32_t v;
	if (!strcmp(key, "command_length") || !strcmp(key, "tlv_tags") || !strcmp(key, "note") ||
	    !strncmp(key, "dlr_", 4))
		return 0;
	if (!strcmp(key, "command_id") || !strcmp(key, "command_status") || !strcmp(key, "sequence_number")) {
		if (pdu_parse_uint(value, UINT32_MAX, &v))
			return errbuf_set(err, "%s: bad number %s", key, value), -EINVAL;
		if (!strcmp(key, "command_id"))
			pdu->command_id = v;
		else if (!strcmp(key, "command_status"))
			pdu->command_status = v;
		else
			pdu->sequence_number = v;
		return 0;
	}
	if (!strcmp(key, "command")) {
		if (smpp_pdu_command_id(value, &v))
			return errbuf_set(err, "unknown command %s", value), -EINVAL;
		if (pdu->command_id && pdu->command_id != v)
			return errbuf_set(err, "command %s contradicts command_id 0x%08X", value, pdu->command_id),
			       -EINVAL;
		pdu->command_id = v;
		return 0;
	}
	if (!strcmp(key, "body")) {
		if (strcmp(value, "absent"))
			return errbuf_set(err, "body=%s: only absent is meaningful", value), -EINVAL;
		pdu->body_absent = true;
		return 0;
	}
	if (!strncmp(key, "tlv.", 4))
		return set_tlv(pdu, key + 4, value, arena, err);
	if (!strcmp(key, "short_message_hex")) {
		int n = hex_decode(value, pdu->short_message, sizeof pdu->short_message);
		if (n < 0)
			return errbuf_set(err, "short_message_hex: bad hex or longer than %u", SMPP_PDU_SM_MAX),
			       -EINVAL;
		pdu->sm_length = (uint8_t)n;
		return 0;
	}
	const struct smpp_pdu_command_desc *cmd = smpp_pdu_table_command(pdu->command_id);
	if (!cmd)
		return errbuf_set(err, "%s before a known command_id", key), -EINVAL;
	for (size_t i = 0; i < cmd->nfields; i++) {
		const struct smpp_pdu_field_desc *d = &cmd->fields[i];
		if (strcmp(d->name, key))
			continue;
		uint8_t *member = (uint8_t *)pdu + d->off;
		switch (d->kind) {
		case FK_CSTR:
			if (strlen(value) >= d->max)
				return errbuf_set(err, "%s longer than %u octets", key, d->max - 1), -EINVAL;
			strcpy((char *)member, value);
			return 0;
		case FK_U8:
		case FK_SM:
			if (pdu_parse_uint(value, 255, &v))
				return errbuf_set(err, "%s: bad octet %s", key, value), -EINVAL;
			*member = (uint8_t)v;
			return 0;
		default:
			return errbuf_set(err, "%s cannot be set from text yet", key), -EINVAL;
		}
	}
	return errbuf_set(err, "%s is not a field of %s", key, cmd->name), -EINVAL;
}

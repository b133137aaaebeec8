/*
 * SMPP PDU codec: bytes <-> struct smpp_pdu.  Each command's mandatory
 * fields come from one description (pdu_table.c) that decode and encode
 * both walk; the text form (key=value) is pdu_fields.c.  Every read goes
 * through struct pdu_reader, which checks the bounds first.
 */
#include "smpp/pdu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/pdu_table.h"
#include "smpp/status.h"

const char *smpp_pdu_command_name(uint32_t command_id)
{
	const struct smpp_pdu_command_desc *c = smpp_pdu_table_command(command_id);
	return c ? c->name : NULL;
}

int smpp_pdu_command_id(const char *name, uint32_t *command_id)
{
	const struct smpp_pdu_command_desc *c = smpp_pdu_table_command_named(name);
	if (!c)
		return -EINVAL;
	*command_id = c->id;
	return 0;
}

const char *smpp_pdu_tlv_name(uint16_t tag)
{
	const struct smpp_pdu_tlv_desc *t = smpp_pdu_table_tlv(tag);
	return t ? t->name : NULL;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- decoding ---- */

struct pdu_reader {
	const uint8_t *buf;
	size_t pos, end;
	struct smpp_pdu_error *err;
};

__attribute__((format(printf, 3, 4))) static int pdu_fail(struct smpp_pdu_error *err, uint32_t status, const char *fmt,
                                                          ...)
{
	err->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof err->reason, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int rd_u8(struct pdu_reader *r, const char *name, uint8_t *v)
{
	if (r->pos >= r->end)
		return pdu_fail(r->err, SMPP_ESME_RINVCMDLEN, "PDU ends before %s", name);
	*v = r->buf[r->pos++];
	return 0;
}

/* Reads a C-Octet string of at most max octets (NUL included) into dst. */
static int rd_cstr(struct pdu_reader *r, const char *name, size_t max, uint32_t status, char *dst, size_t dst_size)
{
	if (max > dst_size)
		abort(); /* a table row larger than its member: a bug, not input */
	size_t avail = r->end - r->pos;
	size_t lim = avail < max ? avail : max;
	const uint8_t *nul = memchr(r->buf + r->pos, 0, lim);
	if (!nul) {
		if (avail < max)
			return pdu_fail(r->err, SMPP_ESME_RINVCMDLEN, "PDU ends inside %s (no NUL)", name);
		return pdu_fail(r->err, status, "%s longer than %zu octets", name, max - 1);
	}
	size_t n = (size_t)(nul - (r->buf + r->pos));
	memcpy(dst, r->buf + r->pos, n + 1);
	r->pos += n + 1;
	return 0;
}

static int rd_dests(struct pdu_reader *r, struct smpp_pdu *pdu)
{
	int rc = rd_u8(r, "number_of_dests", &pdu->number_of_dests);
	if (rc)
		return rc;
	if (pdu->number_of_dests == 0)
		return pdu_fail(r->err, SMPP_ESME_RINVNUMDESTS, "number_of_dests 0");
	for (unsigned i = 0; i < pdu->number_of_dests; i++) {
		struct smpp_pdu_dest *d = &pdu->dest_address[i];
		if ((rc = rd_u8(r, "dest_flag", &d->dest_flag)))
			return rc;
		if (d->dest_flag == 1) {
			if ((rc = rd_u8(r, "dest_addr_ton", &d->dest_addr_ton)) ||
			    (rc = rd_u8(r, "dest_addr_npi", &d->dest_addr_npi)) ||
			    (rc = rd_cstr(r, "destination_addr", 21, SMPP_ESME_RINVDSTADR, d->destination_addr,
			                  sizeof d->destination_addr)))
				return rc;
		} else if (d->dest_flag == 2) {
			if ((rc = rd_cstr(r, "dl_name", 21, SMPP_ESME_RINVDLNAME, d->dl_name, sizeof d->dl_name)))
				return rc;
		} else {
			return pdu_fail(r->err, SMPP_ESME_RINVDESTFLAG, "dest_flag %u", d->dest_flag);
		}
	}
	return 0;
}

static int rd_unsuccess(struct pdu_reader *r, struct smpp_pdu *pdu)
{
	int rc = rd_u8(r, "no_unsuccess", &pdu->no_unsuccess);
	if (rc)
		return rc;
	for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
		struct smpp_pdu_unsuccess *u = &pdu->unsuccess_sme[i];
		if ((rc = rd_u8(r, "dest_addr_ton", &u->dest_addr_ton)) ||
		    (rc = rd_u8(r, "dest_addr_npi", &u->dest_addr_npi)) ||
		    (rc = rd_cstr(r, "destination_addr", 21, SMPP_ESME_RINVDSTADR, u->destination_addr,
		                  sizeof u->destination_addr)))
			return rc;
		if (r->end - r->pos < 4)
			return pdu_fail(r->err, SMPP_ESME_RINVCMDLEN, "PDU ends before error_status_code");
		u->error_status_code = get32(r->buf + r->pos);
		r->pos += 4;
	}
	return 0;
}

static int rd_field(struct pdu_reader *r, const struct smpp_pdu_field_desc *d, struct smpp_pdu *pdu)
{
	uint8_t *member = (uint8_t *)pdu + d->off;
	switch (d->kind) {
	case FK_CSTR:
		return rd_cstr(r, d->name, d->max, d->status, (char *)member, d->size);
	case FK_U8:
		return rd_u8(r, d->name, member);
	case FK_SM: {
		int rc = rd_u8(r, "sm_length", &pdu->sm_length);
		if (rc)
			return rc;
		if (pdu->sm_length > SMPP_PDU_SM_MAX)
			return pdu_fail(r->err, SMPP_ESME_RINVMSGLEN, "sm_length %u > %u", pdu->sm_length,
			                SMPP_PDU_SM_MAX);
		if (pdu->sm_length > r->end - r->pos)
			return pdu_fail(r->err, SMPP_ESME_RINVMSGLEN, "sm_length beyond PDU");
		memcpy(pdu->short_message, r->buf + r->pos, pdu->sm_length);
		r->pos += pdu->sm_length;
		return 0;
	}
	case FK_DESTS:
		return rd_dests(r, pdu);
	case FK_UNSUCCESS:
		return rd_unsuccess(r, pdu);
	}
	abort();
}

/* Fills pdu->known from one TLV whose length is already checked against
 * the table. */
static void pdu_known_tlv(struct smpp_pdu_known *k, const struct smpp_tlv *t)
{
	const uint8_t *v = t->value;
	switch (t->tag) {
	case SMPP_TLV_MESSAGE_PAYLOAD:
		if (!k->has_message_payload) {
			k->has_message_payload = true;
			k->message_payload = v;
			k->message_payload_len = t->len;
		}
		break;
#define KNOWN(tagv, field, expr)                                                                                       \
	case tagv:                                                                                                     \
		if (!k->has_##field) {                                                                                 \
			k->has_##field = true;                                                                         \
			k->field = (expr);                                                                             \
		}                                                                                                      \
		break;
		KNOWN(SMPP_TLV_SAR_MSG_REF_NUM, sar_msg_ref_num, get16(v))
		KNOWN(SMPP_TLV_SAR_TOTAL_SEGMENTS, sar_total_segments, v[0])
		KNOWN(SMPP_TLV_SAR_SEGMENT_SEQNUM, sar_segment_seqnum, v[0])
		KNOWN(SMPP_TLV_MESSAGE_STATE, message_state, v[0])
		KNOWN(SMPP_TLV_SC_INTERFACE_VERSION, sc_interface_version, v[0])
		KNOWN(SMPP_TLV_USER_MESSAGE_REFERENCE, user_message_reference, get16(v))
		KNOWN(SMPP_TLV_SOURCE_PORT, source_port, get16(v))
		KNOWN(SMPP_TLV_DESTINATION_PORT, destination_port, get16(v))
		KNOWN(SMPP_TLV_CONGESTION_STATE, congestion_state, v[0])
		KNOWN(SMPP_TLV_MS_AVAILABILITY_STATUS, ms_availability_status, v[0])
		KNOWN(SMPP_TLV_PAYLOAD_TYPE, payload_type, v[0])
		KNOWN(SMPP_TLV_MORE_MESSAGES_TO_SEND, more_messages_to_send, v[0])
		KNOWN(SMPP_TLV_DELIVERY_FAILURE_REASON, delivery_failure_reason, v[0])
#undef KNOWN
	case SMPP_TLV_NETWORK_ERROR_CODE:
		if (!k->has_network_error_code) {
			k->has_network_error_code = true;
			k->network_error_type = v[0];
			k->network_error_code = get16(v + 1);
		}
		break;
	case SMPP_TLV_RECEIPTED_MESSAGE_ID:
		if (!k->has_receipted_message_id) {
			/* The NUL is often left out on the wire; stop at the
			 * first one if there is one. */
			const uint8_t *nul = t->len ? memchr(v, 0, t->len) : NULL;
			size_t n = nul ? (size_t)(nul - v) : t->len;
			k->has_receipted_message_id = true;
			memcpy(k->receipted_message_id, v, n);
			k->receipted_message_id[n] = '\0';
		}
		break;
	default:
		break;
	}
}

static int rd_tlvs(struct pdu_reader *r, struct smpp_pdu *pdu)
{
	while (r->pos < r->end) {
		if (r->end - r->pos < 4)
			return pdu_fail(r->err, SMPP_ESME_RINVOPTPARSTREAM, "TLV header truncated (%zu octets left)",
			                r->end - r->pos);
		uint16_t tag = get16(r->buf + r->pos), len = get16(r->buf + r->pos + 2);
		r->pos += 4;
		if (len > r->end - r->pos)
			return pdu_fail(r->err, SMPP_ESME_RINVPARLEN, "TLV length beyond PDU");
		if (pdu->tlv_count == SMPP_PDU_MAX_TLVS)
			return pdu_fail(r->err, SMPP_ESME_RINVOPTPARSTREAM, "more than %d TLVs", SMPP_PDU_MAX_TLVS);
		const struct smpp_pdu_tlv_desc *td = smpp_pdu_table_tlv(tag);
		if (td && (len < td->min || len > td->max))
			return pdu_fail(r->err, SMPP_ESME_RINVPARLEN, "TLV %s length %u not in %u..%u", td->name, len,
			                td->min, td->max);
		struct smpp_tlv *t = &pdu->tlvs[pdu->tlv_count++];
		t->tag = tag;
		t->len = len;
		t->value = r->buf + r->pos;
		r->pos += len;
		if (td)
			pdu_known_tlv(&pdu->known, t);
	}
	return 0;
}

/* Header checks shared by framing and decoding.  len is what is buffered. */
static int pdu_check_length(uint32_t cl, struct smpp_pdu_error *err)
{
	if (cl < SMPP_PDU_HEADER_LEN)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "command_length %u < %u", cl, SMPP_PDU_HEADER_LEN);
	if (cl > SMPP_PDU_MAX_LEN)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "command_length %u > %u", cl, SMPP_PDU_MAX_LEN);
	return 0;
}

static void pdu_error_header(const uint8_t *buf, size_t len, struct smpp_pdu_error *err)
{
	memset(err, 0, sizeof *err);
	err->generic_nack = true; /* until the header is known to be sound */
	if (len >= SMPP_PDU_HEADER_LEN) {
		err->header_read = true;
		err->command_id = get32(buf + 4);
		err->sequence_number = get32(buf + 12);
	}
}

int smpp_pdu_frame(const uint8_t *buf, size_t len, size_t *pdu_len, struct smpp_pdu_error *err)
{
	pdu_error_header(buf, len, err);
	if (len < 4) {
		*pdu_len = SMPP_PDU_HEADER_LEN;
		return 0;
	}
	uint32_t cl = get32(buf);
	if (pdu_check_length(cl, err))
		return -EBADMSG;
	*pdu_len = cl;
	return len >= cl ? 1 : 0;
}

int smpp_pdu_decode(const uint8_t *buf, size_t len, struct smpp_pdu *pdu, struct smpp_pdu_error *err)
{
	memset(pdu, 0, sizeof *pdu);
	pdu_error_header(buf, len, err);
	if (len < 4)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "%zu octets, no command_length", len);
	uint32_t cl = get32(buf);
	/* The length is checked against what is there before its own bounds:
	 * a receiver learns first that the stream is out of step. */
	if (cl != len)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "command_length %u != %zu octets", cl, len);
	if (pdu_check_length(cl, err))
		return -EBADMSG;
	pdu->command_length = cl;
	pdu->command_id = get32(buf + 4);
	pdu->command_status = get32(buf + 8);
	pdu->sequence_number = get32(buf + 12);

	const struct smpp_pdu_command_desc *cmd = smpp_pdu_table_command(pdu->command_id);
	if (!cmd)
		return pdu_fail(err, SMPP_ESME_RINVCMDID, "unknown command_id");
	/* A broken request is answered by its own response; a broken response
	 * can only be answered by generic_nack. */
	err->generic_nack = (pdu->command_id & SMPP_RESP_BIT) != 0;

	struct pdu_reader r = {.buf = buf, .pos = SMPP_PDU_HEADER_LEN, .end = cl, .err = err};
	/* Responses in error usually come header-only (v3.4 4.1.2 and
	 * others); some peers do the same for deliver_sm_resp even on
	 * success.  Accept both and let the session judge. */
	if (cmd->nfields && (pdu->command_id & SMPP_RESP_BIT) && cl == SMPP_PDU_HEADER_LEN) {
		pdu->body_absent = true;
		return 0;
	}
	for (size_t i = 0; i < cmd->nfields; i++) {
		int rc = rd_field(&r, &cmd->fields[i], pdu);
		if (rc)
			return rc;
	}
	return rd_tlvs(&r, pdu);
}

/* ---- encoding ---- */

struct pdu_writer {
	uint8_t *out;
	size_t cap, len;
	bool overflow;
};

static void wr(struct pdu_writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->out + w->len, p, n);
	w->len += n;
}

static void wr_u8(struct pdu_writer *w, uint8_t v)
{
	wr(w, &v, 1);
}

static void wr_u16(struct pdu_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	wr(w, b, 2);
}

static void wr_u32(struct pdu_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	wr(w, b, 4);
}

static int wr_cstr(struct pdu_writer *w, const char *name, const char *s, size_t size, size_t max, struct errbuf *err)
{
	size_t n = strnlen(s, size);
	if (n >= max)
		return errbuf_set(err, "%s longer than %zu octets", name, max - 1), -EINVAL;
	wr(w, s, n + 1);
	return 0;
}

static int wr_field(struct pdu_writer *w, const struct smpp_pdu_field_desc *d, const struct smpp_pdu *pdu,
                    struct errbuf *err)
{
	const uint8_t *member = (const uint8_t *)pdu + d->off;
	int rc;
	switch (d->kind) {
	case FK_CSTR:
		return wr_cstr(w, d->name, (const char *)member, d->size, d->max, err);
	case FK_U8:
		wr_u8(w, *member);
		return 0;
	case FK_SM:
		if (pdu->sm_length > SMPP_PDU_SM_MAX)
			return errbuf_set(err, "sm_length %u > %u", pdu->sm_length, SMPP_PDU_SM_MAX), -EINVAL;
		wr_u8(w, pdu->sm_length);
		wr(w, pdu->short_message, pdu->sm_length);
		return 0;
	case FK_DESTS:
		if (pdu->number_of_dests == 0)
			return errbuf_set(err, "number_of_dests 0"), -EINVAL;
		wr_u8(w, pdu->number_of_dests);
		for (unsigned i = 0; i < pdu->number_of_dests; i++) {
			const struct smpp_pdu_dest *dd = &pdu->dest_address[i];
			wr_u8(w, dd->dest_flag);
			if (dd->dest_flag == 1) {
				wr_u8(w, dd->dest_addr_ton);
				wr_u8(w, dd->dest_addr_npi);
				rc = wr_cstr(w, "destination_addr", dd->destination_addr, sizeof dd->destination_addr,
				             21, err);
			} else if (dd->dest_flag == 2) {
				rc = wr_cstr(w, "dl_name", dd->dl_name, sizeof dd->dl_name, 21, err);
			} else {
				rc = (errbuf_set(err, "dest_flag %u", dd->dest_flag), -EINVAL);
			}
			if (rc)
				return rc;
		}
		return 0;
	case FK_UNSUCCESS:
		wr_u8(w, pdu->no_unsuccess);
		for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
			const struct smpp_pdu_unsuccess *u = &pdu->unsuccess_sme[i];
			wr_u8(w, u->dest_addr_ton);
			wr_u8(w, u->dest_addr_npi);
			if ((rc = wr_cstr(w, "destination_addr", u->destination_addr, sizeof u->destination_addr, 21,
			                  err)))
				return rc;
			wr_u32(w, u->error_status_code);
		}
		return 0;
	}
	abort();
}

int smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap, size_t *out_len, struct errbuf *err)
{
	const struct smpp_pdu_command_desc *cmd = smpp_pdu_table_command(pdu->command_id);
	if (!cmd)
		return errbuf_set(err, "unknown command_id 0x%08X", pdu->command_id), -EINVAL;
	if (pdu->tlv_count > SMPP_PDU_MAX_TLVS)
		return errbuf_set(err, "tlv_count %zu > %d", pdu->tlv_count, SMPP_PDU_MAX_TLVS), -EINVAL;
	struct pdu_writer w = {.out = out, .cap = cap};
	wr_u32(&w, 0); /* command_length, patched below */
	wr_u32(&w, pdu->command_id);
	wr_u32(&w, pdu->command_status);
	wr_u32(&w, pdu->sequence_number);
	if (pdu->body_absent) {
		if (!(pdu->command_id & SMPP_RESP_BIT) || pdu->tlv_count)
			return errbuf_set(err, "only a response without TLVs can omit its body"), -EINVAL;
	} else {
		for (size_t i = 0; i < cmd->nfields; i++) {
			int rc = wr_field(&w, &cmd->fields[i], pdu, err);
			if (rc)
				return rc;
		}
		for (size_t i = 0; i < pdu->tlv_count; i++) {
			const struct smpp_tlv *t = &pdu->tlvs[i];
			if (t->len && !t->value)
				return errbuf_set(err, "TLV 0x%04X has no value", t->tag), -EINVAL;
			wr_u16(&w, t->tag);
			wr_u16(&w, t->len);
			wr(&w, t->value, t->len);
		}
	}
	if (w.overflow)
		return errbuf_set(err, "PDU does not fit in %zu octets", cap), -ENOSPC;
	if (w.len > SMPP_PDU_MAX_LEN)
		return errbuf_set(err, "PDU of %zu octets > %u", w.len, SMPP_PDU_MAX_LEN), -EINVAL;
	out[0] = (uint8_t)(w.len >> 24);
	out[1] = (uint8_t)(w.len >> 16);
	out[2] = (uint8_t)(w.len >> 8);
	out[3] = (uint8_t)w.len;
	*out_len = w.len;
	return 0;
}

int smpp_pdu_add_tlv(struct smpp_pdu *pdu, uint16_t tag, const void *value, uint16_t len)
{
	if (pdu->tlv_count >= SMPP_PDU_MAX_TLVS)
		return -ENOSPC;
	pdu->tlvs[pdu->tlv_count++] = (struct smpp_tlv){.tag = tag, .len = len, .value = value};
	return 0;
}

const struct smpp_tlv *smpp_pdu_find_tlv(const struct smpp_pdu *pdu, uint16_t tag)
{
	for (size_t i = 0; i < pdu->tlv_count; i++)
		if (pdu->tlvs[i].tag == tag)
			return &pdu->tlvs[i];
	return NULL;
}

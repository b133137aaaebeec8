/*
 * Nokia DCT4 messages (see nokia4.h).  Sending encodes the SMS-SUBMIT with
 * the shared TPDU codec and moves its fields into the DCT4 block frame:
 * the frame holds the same semi-octet address fields and user data, only
 * in blocks instead of the DCT3 fixed layout.
 */
#include "fbus/nokia4.h"

#include <errno.h>
#include <string.h>

bool nokia4_is_dct4(const char *code)
{
	/* Model codes Gammu's 6510 module drives, the common FBUS ones. */
	static const char *const dct4[] = {"NPE-4", "NPL-1", "NPM-9", "NHM-2", "NPM-2", "NHL-4", "NPW-1", "NHM-7"};
	for (size_t i = 0; i < ARRAY_LEN(dct4); i++)
		if (!strcmp(code, dct4[i]))
			return true;
	return false;
}

void nokia4_req_get_imei(struct nokia_req *r)
{
	static const uint8_t d[] = {0x00, 0x01, 0x00, 0x00, 0x41};
	nokia_req_set(r, NOKIA4_TYPE_PHONE, d, sizeof d);
}

void nokia4_req_get_smsc(struct nokia_req *r, uint8_t location)
{
	const uint8_t d[] = {0x00, 0x01, 0x00, 0x14, location, 0x00};
	nokia_req_set(r, NOKIA_TYPE_SMS, d, sizeof d);
}

int nokia4_req_send_sms(struct nokia_req *r, const struct tpdu *t, struct errbuf *err)
{
	uint8_t pdu[TPDU_MAX_LEN];
	size_t n;
	if (t->type == TPDU_SUBMIT && t->vpf != TPDU_VP_RELATIVE && t->vpf != TPDU_VP_NONE)
		return errbuf_set(err, "a DCT4 phone takes a relative validity only"), -EINVAL;
	if (nokia_submit_pdu(t, pdu, sizeof pdu, &n, err))
		return -EINVAL;
	/* The PDU: SMSC field, FO, MR, DA (digits, TOA, BCD), PID, DCS, [VP], UDL, UD. */
	size_t sl = (size_t)pdu[0] + 1, at = sl;
	if (sl > 12 || at + 4 > n)
		return errbuf_set(err, "SMS centre too long for the DCT4 frame"), -EINVAL;
	uint8_t fo = pdu[at], mr = pdu[at + 1];
	size_t dal = 2 + ((size_t)pdu[at + 2] + 1) / 2;
	const uint8_t *da = pdu + at + 2;
	at += 2 + dal;
	if (dal > 12 || at + 3 > n)
		return errbuf_set(err, "recipient too long for the DCT4 frame"), -EINVAL;
	uint8_t pid = pdu[at], dcs = pdu[at + 1];
	at += 2;
	uint8_t vp = 0xFF;
	if (t->vpf == TPDU_VP_RELATIVE)
		vp = pdu[at++];
	if (at >= n)
		return errbuf_set(err, "no user data"), -EINVAL;
	uint8_t udl = pdu[at++];
	size_t udn = n - at;
	static const uint8_t head[] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x55, 0x55};
	size_t need = sizeof head + 9 + 16 + 16 + 4 + 4 + udn;
	if (need > sizeof r->data)
		return errbuf_set(err, "SMS too long for one request"), -EINVAL;
	uint8_t *p = r->data;
	memset(p, 0, need);
	memcpy(p, head, sizeof head);
	uint8_t *fr = p + sizeof head;
	size_t k = 0;
	fr[k++] = 0x01;
	fr[k++] = 0x02; /* a SUBMIT */
	size_t len_at = k++;
	fr[k++] = fo;
	fr[k++] = mr;
	fr[k++] = pid;
	fr[k++] = dcs;
	fr[k++] = 0x00;
	fr[k++] = 0x04; /* blocks */
	fr[k++] = 0x82; /* the recipient: (digits + 4) / 2 octets used of 12 */
	fr[k++] = 0x10;
	fr[k++] = 0x01;
	fr[k++] = (uint8_t)((da[0] + 4 + 1) / 2);
	memcpy(fr + k, da, dal);
	k += 12;
	fr[k++] = 0x82; /* the SMS centre: octets + 1 */
	fr[k++] = 0x10;
	fr[k++] = 0x02;
	fr[k++] = (uint8_t)(pdu[0] + 1);
	memcpy(fr + k, pdu, sl);
	k += 12;
	fr[k++] = 0x08; /* validity */
	fr[k++] = 0x04;
	fr[k++] = 0x01;
	fr[k++] = vp;
	fr[k++] = 0x80; /* user data */
	fr[k++] = (uint8_t)(udn + 6 > 0xFF ? 0xFF : udn + 6);
	fr[k++] = (uint8_t)udn;
	fr[k++] = udl;
	memcpy(fr + k, pdu + at, udn);
	k += udn;
	fr[len_at] = (uint8_t)(k - 1);
	r->type = NOKIA_TYPE_SMS;
	r->len = sizeof head + k;
	return 0;
}

void nokia4_req_folder_status(struct nokia_req *r, uint8_t mem, uint8_t folder)
{
	const uint8_t d[] = {0x00, 0x01, 0x01, 0x0C, mem, folder, 0x0F, 0x55, 0x55, 0x55};
	nokia_req_set(r, NOKIA_TYPE_SMS_MEMORY, d, sizeof d);
}

void nokia4_req_read_sms(struct nokia_req *r, uint8_t mem, uint8_t folder, uint16_t location)
{
	const uint8_t d[] = {0x00, 0x01, 0x00, 0x02, mem, folder, (uint8_t)(location >> 8), (uint8_t)location,
	                     0x01, 0x00};
	nokia_req_set(r, NOKIA_TYPE_SMS_MEMORY, d, sizeof d);
}

void nokia4_req_delete_sms(struct nokia_req *r, uint8_t mem, uint8_t folder, uint16_t location)
{
	const uint8_t d[] = {0x00, 0x01, 0x00, 0x04, mem, folder, (uint8_t)(location >> 8), (uint8_t)location,
	                     0x0F, 0x55};
	nokia_req_set(r, NOKIA_TYPE_SMS_MEMORY, d, sizeof d);
}

/* ---- a stored SMS: DCT4 frame -> PDU ---- */

int nokia4_frame_to_pdu(const uint8_t *f, size_t len, uint8_t *out, size_t cap, size_t *n, struct errbuf *err)
{
	/* Where the block count is, by the frame's kind (00 deliver, 01 report, 02 submit). */
	static const size_t nblocks_at[] = {15, 19, 7};
	if (len < 1 || f[0] > 2)
		return errbuf_set(err, "unknown SMS frame kind"), -EBADMSG;
	size_t at = nblocks_at[f[0]];
	if (len <= at)
		return errbuf_set(err, "SMS frame shorter than its header"), -EBADMSG;
	const uint8_t *number = NULL, *smsc = NULL, *ud = NULL;
	size_t ud_octets = 0;
	uint8_t udl = 0, vp = 0;
	bool has_vp = false;
	unsigned nb = f[at++];
	for (unsigned i = 0; i < nb; i++) {
		if (at + 4 > len)
			return errbuf_set(err, "SMS frame block %u truncated", i + 1), -EBADMSG;
		uint8_t id = f[at], size = f[at + 1];
		const uint8_t *b = f + at + 4;
		size_t avail = len - at - 4;
		if (id == 0x82 && f[at + 2] == 0x01) {
			if (avail < 2 || 2 + ((size_t)b[0] + 1) / 2 > (avail < 12 ? avail : 12))
				return errbuf_set(err, "number block over the frame"), -EBADMSG;
			number = b;
		} else if (id == 0x82 && f[at + 2] == 0x02) {
			if (avail < 1 || (size_t)b[0] + 1 > (avail < 12 ? avail : 12))
				return errbuf_set(err, "SMS centre block over the frame"), -EBADMSG;
			smsc = b;
		} else if (id == 0x80) {
			ud_octets = f[at + 2];
			udl = f[at + 3];
			if (ud_octets > avail)
				return errbuf_set(err, "user data over the frame"), -EBADMSG;
			ud = b;
		} else if (id == 0x08 && f[at + 2] >= 1) {
			vp = f[at + 3];
			has_vp = true;
		}
		if (size < 2)
			return errbuf_set(err, "SMS frame block of length %u", size), -EBADMSG;
		at += size;
	}
	if (!number)
		return errbuf_set(err, "SMS frame without a number block"), -EBADMSG;
	struct nokia_out o = {out, cap, 0, false};
	static const uint8_t no_smsc = 0x00;
	nokia_out_put(&o, smsc ? smsc : &no_smsc, smsc ? (size_t)smsc[0] + 1 : 1);
	size_t addr = 2 + ((size_t)number[0] + 1) / 2;
	uint8_t fo = f[2] & 0xFC; /* the TP-MTI from the frame's kind */
	switch (f[0]) {
	case 0x00:
		fo |= TPDU_DELIVER;
		nokia_out_put(&o, &fo, 1);
		nokia_out_put(&o, number, addr);
		nokia_out_put(&o, f + 3, 2); /* PID, DCS */
		nokia_out_put(&o, f + 5, 7); /* SCTS */
		break;
	case 0x01:
		fo |= TPDU_STATUS_REPORT;
		nokia_out_put(&o, &fo, 1);
		nokia_out_put(&o, f + 3, 1); /* MR */
		nokia_out_put(&o, number, addr);
		nokia_out_put(&o, f + 12, 7); /* SCTS */
		nokia_out_put(&o, f + 5, 7);  /* discharge time */
		nokia_out_put(&o, f + 4, 1);  /* ST */
		break;
	default:
		fo = (uint8_t)((fo & ~0x18) | TPDU_SUBMIT | (has_vp ? TPDU_VP_RELATIVE << 3 : 0));
		nokia_out_put(&o, &fo, 1);
		nokia_out_put(&o, f + 3, 1); /* MR */
		nokia_out_put(&o, number, addr);
		nokia_out_put(&o, f + 4, 2); /* PID, DCS */
		if (has_vp)
			nokia_out_put(&o, &vp, 1);
		break;
	}
	if (f[0] != 0x01) {
		if (!ud)
			return errbuf_set(err, "SMS frame without user data"), -EBADMSG;
		nokia_out_put(&o, &udl, 1);
		nokia_out_put(&o, ud, ud_octets);
	}
	if (o.full)
		return errbuf_set(err, "PDU buffer too small"), -EBADMSG;
	*n = o.n;
	return 0;
}

static int nokia4_sms(const uint8_t *f, size_t len, struct tpdu *t, struct errbuf *err)
{
	uint8_t pdu[TPDU_MAX_LEN + 16];
	size_t n;
	if (nokia4_frame_to_pdu(f, len, pdu, sizeof pdu, &n, err))
		return -EBADMSG;
	if (tpdu_decode(pdu, n, TPDU_WITH_SMSC | TPDU_LENIENT, t, err))
		return -EBADMSG;
	return 0;
}

/* The SMS centre of a 15 reply: blocks from 14, the 82 .. 02 one holds it. */
static void nokia4_smsc(const uint8_t *msg, size_t len, struct nokia_reply *out)
{
	size_t at = 14;
	for (unsigned i = 0; len > 13 && i < msg[13] && at + 4 <= len; i++) {
		uint8_t id = msg[at], size = msg[at + 1];
		if (id == 0x82 && msg[at + 2] == 0x02) {
			nokia_smsc_number(msg + at + 4, len - at - 4, out->smsc, sizeof out->smsc);
			return;
		}
		if (size < 2)
			return;
		at += size;
	}
}

int nokia4_decode(uint8_t type, const uint8_t *msg, size_t len, struct nokia_reply *out, struct errbuf *err)
{
	if (type == NOKIA_TYPE_ID_REPLY)
		return nokia_decode(type, msg, len, out, err);
	memset(out, 0, sizeof *out);
	if (len < 4)
		return 0;
	uint8_t op = msg[3];
	if (type == NOKIA4_TYPE_PHONE && op == 0x01) {
		if (len <= 10)
			return errbuf_set(err, "short IMEI reply"), -EBADMSG;
		size_t i = 0;
		for (size_t at = 10; at < len && msg[at] && i + 1 < sizeof out->imei; at++)
			if (msg[at] >= '0' && msg[at] <= '9')
				out->imei[i++] = (char)msg[at];
		out->imei[i] = '\0';
		out->kind = NOKIA_IMEI;
		return 0;
	}
	if (type == NOKIA_TYPE_SMS_MEMORY) {
		switch (op) {
		case 0x03: /* a stored SMS; a short answer: no SMS at that location */
			if (len < 15) {
				out->kind = NOKIA_SMS_READ_ERROR;
				out->error = len > 4 ? msg[4] : 0;
				return 0;
			}
			out->state = msg[5];
			out->kind = NOKIA_SMS;
			return nokia4_sms(msg + 14, len - 14, &out->sms, err);
		case 0x0D: {
			if (len < 8)
				return errbuf_set(err, "short folder status"), -EBADMSG;
			size_t count = (size_t)msg[6] << 8 | msg[7];
			if (8 + 2 * count > len)
				return errbuf_set(err, "folder status lists %zu locations in %zu octets", count, len),
				       -EBADMSG;
			for (size_t i = 0; i < count && i < NOKIA_FOLDER_MAX; i++)
				out->locs[i] = (uint16_t)(msg[8 + 2 * i] << 8 | msg[9 + 2 * i]);
			out->n_locs = (unsigned)(count < NOKIA_FOLDER_MAX ? count : NOKIA_FOLDER_MAX);
			out->kind = NOKIA_FOLDER;
			return 0;
		}
		case 0x05:
			out->kind = NOKIA_DELETED;
			return 0;
		case 0x06:
			out->kind = NOKIA_DELETE_ERROR;
			out->error = len > 4 ? msg[4] : 0;
			return 0;
		}
		return 0;
	}
	if (type != NOKIA_TYPE_SMS)
		return 0;
	switch (op) {
	case 0x03:
		if (len < 11)
			return errbuf_set(err, "short SMS sent reply"), -EBADMSG;
		out->kind = msg[8] == 0x00 ? NOKIA_SENT : NOKIA_SEND_ERROR;
		out->error = msg[8];
		out->mr = msg[10];
		return 0;
	case 0x04:
		out->kind = NOKIA_INCOMING; /* out->sms stays empty: not read */
		return 0;
	case 0x15:
		if (len < 5)
			return errbuf_set(err, "short SMS centre reply"), -EBADMSG;
		if (msg[4] != 0x00) {
			out->kind = NOKIA_SMSC_ERROR;
			return 0;
		}
		out->kind = NOKIA_SMSC;
		nokia4_smsc(msg, len, out);
		return 0;
	}
	return 0;
}

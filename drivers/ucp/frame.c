/*
 * EMI/UCP frame codec.  Each operation's data fields are described once, as
 * the list of their spec names in wire order (the layouts below); decode,
 * encode, the key=value dump and the key=value parser all walk those lists,
 * so the directions cannot disagree.  Every read is bounded by the frame's
 * length: the decoder walks the text between STX and ETX once, splitting
 * at '/', and keeps only (pointer, length) pairs into the caller's buffer.
 */
#include "ucp/frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec/kv.h"
#include "ucp/data.h"

struct ucp_layout {
	const char *const *names;
	size_t n;
	int msg_idx; /* the message field, named after MT; -1 none */
	int mt_idx;  /* MT; -1: the message is always AMsg (op 30) */
};

static const char *const n01[] = {"AdC", "OAdC", "AC", "MT", "Msg"};
static const char *const n30[] = {"AdC", "OAdC", "AC", "NRq", "NAd", "NPID", "DD", "DDT", "VP", "AMsg"};
static const char *const n31[] = {"AdC", "PID"};
static const char *const n5x[] = {"AdC",  "OAdC", "AC",    "NRq",  "NAdC", "NT",   "NPID", "LRq", "LRAd",
                                  "LPID", "DD",   "DDT",   "VP",   "RPID", "SCTS", "Dst",  "Rsn", "DSCTS",
                                  "MT",   "NB",   "Msg",   "MMS",  "PR",   "DCs",  "MCLs", "RPI", "CPg",
                                  "RPLy", "OTOA", "HPLMN", "XSer", "RES4", "RES5"};
static const char *const n60[] = {"OAdC", "OTON", "ONPI", "STYP", "PWD",  "NPWD",
                                  "VERS", "LAdC", "LTON", "LNPI", "OPID", "RES1"};
static const char *const n61[] = {"OAdC", "OTON", "ONPI", "STYP", "PWD",  "NPWD",
                                  "VERS", "LAdC", "LTON", "LNPI", "RES1", "RES2"};
static const char *const n_ack2[] = {"ACK", "SM"};
static const char *const n_ack3[] = {"ACK", "MVP", "SM"};
static const char *const n_nack[] = {"NACK", "EC", "SM"};

static const struct ucp_layout l01 = {n01, ARRAY_LEN(n01), UCP01_Msg, UCP01_MT};
static const struct ucp_layout l30 = {n30, ARRAY_LEN(n30), UCP30_AMsg, -1};
static const struct ucp_layout l31 = {n31, ARRAY_LEN(n31), -1, -1};
static const struct ucp_layout l5x = {n5x, ARRAY_LEN(n5x), UCP5X_Msg, UCP5X_MT};
static const struct ucp_layout l60 = {n60, ARRAY_LEN(n60), -1, -1};
static const struct ucp_layout l61 = {n61, ARRAY_LEN(n61), -1, -1};
static const struct ucp_layout l_ack2 = {n_ack2, ARRAY_LEN(n_ack2), -1, -1};
static const struct ucp_layout l_ack3 = {n_ack3, ARRAY_LEN(n_ack3), -1, -1};
static const struct ucp_layout l_nack = {n_nack, ARRAY_LEN(n_nack), -1, -1};

/* The layout of an operation or its result; NULL when not supported. */
static const struct ucp_layout *layout_of(char o_r, unsigned ot, bool ack)
{
	bool op = o_r == 'O';
	if (o_r != 'O' && o_r != 'R')
		return NULL;
	switch (ot) {
	case 1:
		return op ? &l01 : ack ? &l_ack2 : &l_nack;
	case 30:
		return op ? &l30 : ack ? &l_ack3 : &l_nack;
	case 31:
		return op ? &l31 : ack ? &l_ack2 : &l_nack;
	case 51:
	case 52:
	case 53:
	case 54:
	case 55:
	case 56:
	case 57:
	case 58:
		return op ? &l5x : ack ? &l_ack3 : &l_nack;
	case 60:
		return op ? &l60 : ack ? &l_ack2 : &l_nack;
	case 61:
		return op ? &l61 : ack ? &l_ack2 : &l_nack;
	default:
		return NULL;
	}
}

size_t ucp_frame_field_count(char o_r, unsigned ot, bool ack)
{
	const struct ucp_layout *l = layout_of(o_r, ot, ack);
	return l ? l->n : 0;
}

static const char *msg_name(char mt)
{
	switch (mt) {
	case '2':
		return "NMsg";
	case '3':
		return "AMsg";
	case '4':
		return "TMsg";
	default:
		return "Msg";
	}
}

static const char *layout_name(const struct ucp_layout *l, size_t i, char mt)
{
	if (!l || i >= l->n)
		return NULL;
	if ((int)i == l->msg_idx && l->mt_idx >= 0)
		return msg_name(mt);
	return l->names[i];
}

const char *ucp_frame_field_name(char o_r, unsigned ot, bool ack, size_t i, char mt)
{
	return layout_name(layout_of(o_r, ot, ack), i, mt);
}

/* MT of a decoded frame as one character ('\0' when none). */
static char frame_mt(const struct ucp_frame *f)
{
	const struct ucp_layout *l = f->layout;
	if (!l || l->mt_idx < 0 || (size_t)l->mt_idx >= f->nfields)
		return '\0';
	const struct ucp_str *s = &f->f[l->mt_idx];
	return s->len == 1 ? s->p[0] : '\0';
}

/* ---- framing ---- */

enum ucp_scan ucp_frame_scan(const uint8_t *buf, size_t len, size_t *skip, size_t *frame_len)
{
	size_t start = 0;
	*frame_len = 0;
	for (;;) {
		const uint8_t *stx = memchr(buf + start, UCP_STX, len - start);
		if (!stx) {
			*skip = len;
			return UCP_SCAN_MORE;
		}
		start = (size_t)(stx - buf);
		size_t i = start + 1;
		while (i < len && buf[i] != UCP_ETX && buf[i] != UCP_STX && i - start < UCP_FRAME_MAX)
			i++;
		if (i - start >= UCP_FRAME_MAX) {
			*skip = i;
			return UCP_SCAN_OVERSIZE;
		}
		if (i == len) {
			*skip = start;
			return UCP_SCAN_MORE;
		}
		if (buf[i] == UCP_STX) { /* an unfinished frame: resynchronise at the new STX */
			start = i;
			continue;
		}
		*skip = start;
		*frame_len = i - start + 1;
		return UCP_SCAN_FRAME;
	}
}

long ucp_frame_link(const uint8_t *buf, size_t len, struct errbuf *err)
{
	(void)err;
	if (len == 0)
		return 0;
	size_t i = 1;
	if (buf[0] != UCP_STX) {
		if (len == 1)
			return 0; /* asked with one octet: see how far the noise goes first */
		const uint8_t *stx = memchr(buf, UCP_STX, len);
		return stx ? (long)(stx - buf) : (long)len;
	}
	while (i < len && buf[i] != UCP_ETX && buf[i] != UCP_STX && i < UCP_FRAME_MAX)
		i++;
	if (i >= UCP_FRAME_MAX)
		return (long)UCP_FRAME_MAX + 1;
	if (i == len)
		return 0;
	return buf[i] == UCP_STX ? (long)i : (long)i + 1;
}

bool ucp_frame_is_frame(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == UCP_STX && buf[len - 1] == UCP_ETX;
}

bool ucp_frame_is_blank(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n' && buf[i] != ' ' && buf[i] != '\t')
			return false;
	return true;
}

/* ---- decoding ---- */

__attribute__((format(printf, 3, 4))) static int reject(struct ucp_error *err, unsigned ec, const char *fmt, ...)
{
	err->ec = ec;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof err->reason, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

int ucp_frame_decode(const uint8_t *buf, size_t len, struct ucp_frame *f, struct ucp_error *err)
{
	memset(f, 0, sizeof *f);
	memset(err, 0, sizeof *err);
	if (len < 2 || buf[0] != UCP_STX || buf[len - 1] != UCP_ETX)
		return reject(err, 2, "not framed by STX ... ETX");
	const char *t = (const char *)buf + 1;
	size_t n = len - 2;
	if (n > UCP_LEN_MAX)
		return reject(err, 2, "frame of %zu octets exceeds LEN's five digits", n);

	/* Header: TRN/LEN/O|R/OT/ is 14 characters. */
	if (n < 14 || t[2] != '/' || t[8] != '/' || t[10] != '/' || t[13] != '/')
		return reject(err, 2, "header is not TRN/LEN/O|R/OT/");
	long trn = ucp_data_digits(t, 2, 2), flen = ucp_data_digits(t + 3, 5, 5), ot = ucp_data_digits(t + 11, 2, 2);
	char o_r = t[9];
	if (trn < 0 || flen < 0 || ot < 0 || (o_r != 'O' && o_r != 'R'))
		return reject(err, 2, "header is not TRN/LEN/O|R/OT/");
	f->trn = err->trn = (unsigned)trn;
	f->len = (unsigned)flen;
	f->o_r = err->o_r = o_r;
	f->ot = err->ot = (unsigned)ot;
	err->header_read = true;
	f->len_ok = (size_t)flen == n;

	for (size_t i = 0; i < n; i++)
		if ((uint8_t)t[i] < 0x20 || (uint8_t)t[i] > 0x7E)
			return reject(err, 2, "octet 0x%02X at %zu is not printable IRA", (uint8_t)t[i], i + 1);

	/* The checksum follows the last '/'. */
	const char *last = memrchr(t, '/', n);
	size_t ck_at = (size_t)(last - t) + 1;
	if (n - ck_at != 2 || ucp_data_ira_decode(t + ck_at, 2, &f->checksum, 1) != 1)
		return reject(err, 2, "checksum is not two hex digits");
	unsigned sum = 0;
	for (size_t i = 0; i < ck_at; i++)
		sum += (uint8_t)t[i];
	f->checksum_ok = (sum & 0xFF) == f->checksum;

	/* Data fields: between the header's last '/' and the checksum. */
	size_t nf = 0;
	for (size_t p = 14; p < ck_at;) {
		const char *slash = memchr(t + p, '/', ck_at - p);
		size_t q = (size_t)(slash - t);
		if (nf < UCP_MAX_FIELDS)
			f->f[nf] = (struct ucp_str){t + p, q - p};
		nf++;
		p = q + 1;
	}
	if (o_r == 'R') {
		if (nf == 0 || f->f[0].len != 1 || (f->f[0].p[0] != 'A' && f->f[0].p[0] != 'N'))
			return reject(err, 2, "result is neither A nor N");
		f->ack = f->f[0].p[0] == 'A';
		f->nack = !f->ack;
	}
	const struct ucp_layout *l = layout_of(o_r, f->ot, f->ack);
	if (!l)
		return reject(err, 3, "operation %02u not supported", f->ot);
	if (nf != l->n)
		return reject(err, 2, "field count %zu != %zu", nf, l->n);
	if (f->nack && ucp_data_digits(f->f[UCPR_EC_OR_MVP].p, f->f[UCPR_EC_OR_MVP].len, 2) < 0)
		return reject(err, 2, "EC is not two digits");
	f->nfields = nf;
	f->layout = l;
	return 0;
}

/* ---- encoding ---- */

int ucp_frame_encode(const struct ucp_frame *f, uint8_t *out, size_t cap, size_t *out_len, struct errbuf *err)
{
	if (f->trn > 99 || f->ot > 99 || (f->o_r != 'O' && f->o_r != 'R'))
		return errbuf_set(err, "bad header TRN %u OR %c OT %u", f->trn, f->o_r ? f->o_r : '?', f->ot), -EINVAL;
	if (f->nfields > UCP_MAX_FIELDS)
		return errbuf_set(err, "%zu fields", f->nfields), -EINVAL;
	size_t body = 14 + 2; /* header + checksum */
	for (size_t i = 0; i < f->nfields; i++) {
		const struct ucp_str *s = &f->f[i];
		for (size_t j = 0; j < s->len; j++)
			if ((uint8_t)s->p[j] < 0x20 || (uint8_t)s->p[j] > 0x7E || s->p[j] == '/')
				return errbuf_set(err, "field %zu holds octet 0x%02X", i, (uint8_t)s->p[j]), -EINVAL;
		body += s->len + 1;
	}
	if (body > UCP_LEN_MAX)
		return errbuf_set(err, "frame of %zu octets exceeds LEN", body), -EINVAL;
	if (body + 2 > cap)
		return errbuf_set(err, "no room for %zu octets", body + 2), -ENOSPC;
	uint8_t *o = out;
	*o++ = UCP_STX;
	char hdr[16];
	snprintf(hdr, sizeof hdr, "%02u/%05zu/%c/%02u/", f->trn, body, f->o_r, f->ot);
	memcpy(o, hdr, 14);
	o += 14;
	for (size_t i = 0; i < f->nfields; i++) {
		if (f->f[i].len)
			memcpy(o, f->f[i].p, f->f[i].len);
		o += f->f[i].len;
		*o++ = '/';
	}
	unsigned sum = 0;
	for (const uint8_t *p = out + 1; p < o; p++)
		sum += *p;
	static const char hex[] = "0123456789ABCDEF";
	*o++ = (uint8_t)hex[(sum >> 4) & 15];
	*o++ = (uint8_t)hex[sum & 15];
	*o++ = UCP_ETX;
	*out_len = (size_t)(o - out);
	return 0;
}

/* ---- field access ---- */

int ucp_frame_get(const struct ucp_frame *f, size_t i, char *out, size_t cap)
{
	if (cap == 0)
		return -ENOSPC;
	size_t n = i < f->nfields ? f->f[i].len : 0;
	size_t k = n < cap ? n : cap - 1;
	if (k)
		memcpy(out, f->f[i].p, k);
	out[k] = '\0';
	return k < n ? -ENOSPC : (int)n;
}

bool ucp_frame_is(const struct ucp_frame *f, size_t i, const char *s)
{
	return i < f->nfields && f->f[i].len == strlen(s) && memcmp(f->f[i].p, s, f->f[i].len) == 0;
}

/* ---- key=value dump ---- */

/* A key and its value in the vectors' percent-encoding (codec/kv). */
static void kv_put(struct kv *w, const char *key, const void *v, size_t n)
{
	kv_key(w, key);
	kv_pct(w, v, n);
}

static int kv_done(struct kv *w)
{
	return w->overflow ? -ENOSPC : (int)w->len;
}

/* Appends name_decoded=<octets of the IRA hex field> when it is valid hex. */
static void kv_ira(struct kv *w, const char *name, const struct ucp_str *s, uint8_t *tmp, size_t cap)
{
	int n = ucp_data_ira_decode(s->p, s->len, tmp, cap);
	if (n >= 0)
		kv_put(w, name, tmp, (size_t)n);
}

int ucp_frame_fields(const struct ucp_frame *f, char *out, size_t cap)
{
	struct kv w = {out, cap, 0, cap == 0};
	if (cap)
		out[0] = '\0';
	char h[16];
	snprintf(h, sizeof h, "%02u", f->trn);
	kv_put(&w, "TRN", h, strlen(h));
	snprintf(h, sizeof h, "%05u", f->len);
	kv_put(&w, "LEN", h, strlen(h));
	kv_put(&w, "OR", &f->o_r, 1);
	snprintf(h, sizeof h, "%02u", f->ot);
	kv_put(&w, "OT", h, strlen(h));
	snprintf(h, sizeof h, "%02X", f->checksum);
	kv_put(&w, "checksum", h, strlen(h));
	kv_put(&w, "checksum_ok", f->checksum_ok ? "1" : "0", 1);
	kv_put(&w, "len_ok", f->len_ok ? "1" : "0", 1);
	char mt = frame_mt(f);
	for (size_t i = 0; i < f->nfields; i++)
		kv_put(&w, layout_name(f->layout, i, mt), f->f[i].p, f->f[i].len);

	/* Decoded helpers, for a frame that passed its checks only (as the
	 * vectors have them); the IRA text is at most half the frame. */
	if (!f->checksum_ok || !f->len_ok)
		return kv_done(&w);
	static uint8_t tmp[UCP_FRAME_MAX / 2 + 1];
	const struct ucp_layout *l = f->layout;
	if (f->o_r == 'O' && l && l->msg_idx >= 0 && (l->mt_idx < 0 || mt == '3'))
		kv_ira(&w, "AMsg_decoded", &f->f[l->msg_idx], tmp, sizeof tmp);
	if (f->o_r == 'O' && (l == &l60 || l == &l61) && f->f[UCP6X_PWD].len)
		kv_ira(&w, "PWD_decoded", &f->f[UCP6X_PWD], tmp, sizeof tmp);
	if (f->o_r == 'O' && l == &l5x && ucp_frame_is(f, UCP5X_OTOA, "5039")) {
		char alpha[512];
		if (ucp_data_oadc_alpha_decode(f->f[UCP5X_OAdC].p, f->f[UCP5X_OAdC].len, alpha, sizeof alpha) == 0)
			kv_put(&w, "OAdC_decoded", alpha, strlen(alpha));
	}
	return kv_done(&w);
}

int ucp_frame_error_fields(const struct ucp_error *e, char *out, size_t cap)
{
	struct kv w = {out, cap, 0, cap == 0};
	if (cap)
		out[0] = '\0';
	kv_put(&w, "parse_error", e->reason, strlen(e->reason));
	return kv_done(&w);
}

/* ---- key=value parser ---- */

static bool derived_key(const char *key)
{
	static const char *const keys[] = {"LEN", "checksum", "checksum_ok", "len_ok"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (!strcmp(key, keys[i]))
			return true;
	size_t n = strlen(key);
	return n > 8 && !strcmp(key + n - 8, "_decoded");
}

int ucp_frame_set_field(struct ucp_frame *f, const char *key, const char *value, struct errbuf *err)
{
	if (derived_key(key))
		return 0;
	size_t vlen = strlen(value);
	if (!strcmp(key, "TRN") || !strcmp(key, "OT")) {
		long v = ucp_data_digits(value, vlen, 2);
		if (v < 0)
			return errbuf_set(err, "%s=%s is not two digits", key, value), -EINVAL;
		*(key[0] == 'T' ? &f->trn : &f->ot) = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "OR")) {
		if (vlen != 1 || (value[0] != 'O' && value[0] != 'R'))
			return errbuf_set(err, "OR=%s", value), -EINVAL;
		f->o_r = value[0];
		return 0;
	}
	if (f->o_r == 'R' && f->nfields == 0) {
		if (!strcmp(key, "ACK") || !strcmp(key, "NACK")) {
			f->ack = key[0] == 'A';
			f->nack = !f->ack;
		}
	}
	const struct ucp_layout *l = layout_of(f->o_r, f->ot, f->ack);
	if (!l)
		return errbuf_set(err, "%s before a supported OR/OT", key), -EINVAL;
	if (f->nfields >= l->n)
		return errbuf_set(err, "%s: operation %02u has %zu fields", key, f->ot, l->n), -EINVAL;
	f->layout = l;
	const char *want = layout_name(l, f->nfields, frame_mt(f));
	bool ok = !strcmp(key, want) ||
	          ((int)f->nfields == l->msg_idx && l->mt_idx >= 0 &&
	           (!strcmp(key, "NMsg") || !strcmp(key, "AMsg") || !strcmp(key, "TMsg") || !strcmp(key, "Msg")));
	if (!ok)
		return errbuf_set(err, "field %zu of operation %02u is %s, not %s", f->nfields, f->ot, want, key),
		       -EINVAL;
	f->f[f->nfields++] = (struct ucp_str){value, vlen};
	return 0;
}

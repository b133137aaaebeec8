/*
 * tpdu: see tpdu.h.
 *
 * One reader (struct tpdu_rd: a cursor that fails once and stays failed)
 * and one writer walk the fields in the order 23.040 9.2.2 lays them out
 * for each MTI; the three layouts share every field codec (address, time,
 * VP, user data).  User data is checked against TP-UDL before anything is
 * unpacked, so a lying UDL is an error and never an over-read.
 */
#include "codec/tpdu.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "codec/gsm7.h"
#include "codec/ucs2.h"
#include "codec/udh.h"

struct tpdu_rd {
	const uint8_t *b;
	size_t len, pos;
	unsigned flags;
	struct errbuf *err;
	int failed; /* 0 or -EBADMSG */
};

static int tpdu_fail(struct tpdu_rd *r, const char *code, const char *detail)
{
	if (!r->failed) {
		errbuf_set(r->err, "%s: %s", code, detail);
		r->failed = -EBADMSG;
	}
	return -EBADMSG;
}

/* Takes n octets; NULL (and the reader failed) if fewer remain. */
static const uint8_t *tpdu_take(struct tpdu_rd *r, size_t n, const char *what)
{
	if (r->failed)
		return NULL;
	if (r->len - r->pos < n) {
		tpdu_fail(r, "truncated", what);
		return NULL;
	}
	const uint8_t *p = r->b + r->pos;
	r->pos += n;
	return p;
}

static uint8_t tpdu_octet(struct tpdu_rd *r, const char *what)
{
	const uint8_t *p = tpdu_take(r, 1, what);
	return p ? *p : 0;
}

static const char tpdu_bcd_digits[] = "0123456789*#abc";

/* Appends n semi-octet digits of p (low nibble first) to out.  A filler
 * (F) may end them only when last_filler allows it. */
static int tpdu_digits_decode(const uint8_t *p, size_t n, bool last_filler, char *out, size_t cap)
{
	size_t o = strlen(out);
	for (size_t i = 0; i < n; i++) {
		unsigned nib = (i & 1) ? p[i / 2] >> 4 : p[i / 2] & 15;
		if (nib == 15) {
			if (i + 1 == n && last_filler)
				break;
			return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = tpdu_bcd_digits[nib];
	}
	out[o] = '\0';
	return 0;
}

static bool tpdu_ton_international(uint8_t toa)
{
	return (toa & 0x70) == 0x10;
}

static bool tpdu_ton_alnum(uint8_t toa)
{
	return (toa & 0x70) == 0x50;
}

/* TP-DA/OA/RA: length in useful semi-octets, TOA, value (9.1.2.5). */
static void tpdu_addr_decode(struct tpdu_rd *r, struct tpdu_addr *a)
{
	unsigned n = tpdu_octet(r, "address length");
	a->toa = tpdu_octet(r, "type of address");
	if (n > 20) {
		tpdu_fail(r, "bad-address", "address longer than 20 semi-octets");
		return;
	}
	const uint8_t *p = tpdu_take(r, (n + 1) / 2, "address");
	if (!p)
		return;
	a->text[0] = '\0';
	if (tpdu_ton_alnum(a->toa)) {
		uint8_t sept[24];
		size_t ns = n * 4 / 7;
		size_t tl;
		if ((ns * 7 + 3) / 4 != n && !(r->flags & TPDU_LENIENT)) {
			tpdu_fail(r, "bad-address", "alphanumeric length is not a whole number of septets");
			return;
		}
		if (gsm7_unpack(p, (n + 1) / 2, ns, 0, sept, sizeof sept) < 0 ||
		    gsm7_to_utf8(sept, ns, 0, 0, a->text, sizeof a->text, &tl) < 0) {
			tpdu_fail(r, "bad-address", "alphanumeric address does not decode");
			return;
		}
		/* Strict: the text must give back the same septets (an unknown
		 * escape, or an ESC at the end, would not). */
		uint8_t back[24];
		size_t nb;
		if (!(r->flags & TPDU_LENIENT) &&
		    (gsm7_from_utf8(a->text, tl, 0, 0, back, sizeof back, &nb, NULL) < 0 || nb != ns ||
		     memcmp(back, sept, ns) != 0))
			tpdu_fail(r, "bad-address", "alphanumeric address with an escape that does not round-trip");
		return;
	}
	if (tpdu_ton_international(a->toa) && n > 0)
		strcpy(a->text, "+");
	/* A filler counted in the length is a sender's bug that a lenient
	 * reader forgives (it would not encode back to the same length). */
	if (tpdu_digits_decode(p, n, (r->flags & TPDU_LENIENT) != 0, a->text, sizeof a->text) < 0)
		tpdu_fail(r, "bad-address", "filler digit inside an address");
}

/* The 27.005 SMSC field: length in octets (TOA included), 0 = none. */
static void tpdu_smsc_decode(struct tpdu_rd *r, struct tpdu_addr *a)
{
	unsigned n = tpdu_octet(r, "SMSC length");
	a->text[0] = '\0';
	a->toa = 0;
	if (r->failed || n == 0)
		return;
	if (n > 11) {
		tpdu_fail(r, "bad-address", "SMSC field longer than 11 octets");
		return;
	}
	a->toa = tpdu_octet(r, "SMSC type of address");
	const uint8_t *p = tpdu_take(r, n - 1, "SMSC address");
	if (!p)
		return;
	if (tpdu_ton_international(a->toa) && n > 1)
		strcpy(a->text, "+");
	if (tpdu_digits_decode(p, 2 * (n - 1), true, a->text, sizeof a->text) < 0)
		tpdu_fail(r, "bad-address", "filler digit inside the SMSC address");
}

static uint8_t tpdu_swapped(struct tpdu_rd *r, uint8_t o)
{
	unsigned lo = o & 15, hi = o >> 4;
	if (lo > 9 || hi > 9) {
		if (!(r->flags & TPDU_LENIENT))
			tpdu_fail(r, "bad-time", "non-decimal digit in a time stamp");
		lo = lo > 9 ? 0 : lo;
		hi = hi > 9 ? 0 : hi;
	}
	return (uint8_t)(lo * 10 + hi);
}

/* A 7-octet time stamp (9.2.3.11): swapped BCD; the time zone's sign is
 * bit 3 of its octet. */
static void tpdu_time_decode(struct tpdu_rd *r, struct tpdu_time *t, const char *what)
{
	const uint8_t *p = tpdu_take(r, 7, what);
	if (!p)
		return;
	t->year = tpdu_swapped(r, p[0]);
	t->month = tpdu_swapped(r, p[1]);
	t->day = tpdu_swapped(r, p[2]);
	t->hour = tpdu_swapped(r, p[3]);
	t->minute = tpdu_swapped(r, p[4]);
	t->second = tpdu_swapped(r, p[5]);
	t->tz_negative = (p[6] & 0x08) != 0;
	t->tz_quarters = tpdu_swapped(r, p[6] & 0xF7);
}

void tpdu_dcs_info(uint8_t dcs, enum tpdu_alphabet *alphabet, int *msg_class)
{
	enum tpdu_alphabet a = TPDU_GSM7;
	int cls = -1;
	unsigned group = dcs >> 4;
	if (group <= 7) { /* general data coding (00xx) and automatic deletion (01xx) */
		if (dcs & 0x20)
			a = TPDU_8BIT; /* compressed: opaque octets to us */
		else if (((dcs >> 2) & 3) == 1)
			a = TPDU_8BIT;
		else if (((dcs >> 2) & 3) == 2)
			a = TPDU_UCS2;
		if (dcs & 0x10)
			cls = dcs & 3;
	} else if (group == 0xE) {
		a = TPDU_UCS2; /* message waiting, UCS-2 */
	} else if (group == 0xF) {
		a = (dcs & 0x04) ? TPDU_8BIT : TPDU_GSM7;
		cls = dcs & 3;
	}
	if (alphabet)
		*alphabet = a;
	if (msg_class)
		*msg_class = cls;
}

/* TP-UDL and TP-UD, then the UDH/payload split. */
static void tpdu_ud_decode(struct tpdu_rd *r, struct tpdu *t)
{
	t->udl = tpdu_octet(r, "user data length");
	if (r->failed)
		return;
	size_t octets;
	if (t->alphabet == TPDU_GSM7) {
		if (t->udl > 160) {
			tpdu_fail(r, "bad-udl", "more than 160 septets");
			return;
		}
		octets = (t->udl * 7 + 7) / 8;
	} else {
		if (t->udl > 140) {
			tpdu_fail(r, "bad-udl", "more than 140 octets");
			return;
		}
		octets = t->udl;
	}
	if (r->len - r->pos < octets) {
		tpdu_fail(r, "truncated-user-data", "fewer octets than TP-UDL needs");
		return;
	}
	memcpy(t->ud, r->b + r->pos, octets);
	t->ud_len = octets;
	r->pos += octets;

	size_t hdr = 0;
	if (t->udhi && octets > 0) {
		struct udh u;
		struct errbuf e;
		if (udh_parse(t->ud, octets, &u, &e) < 0) {
			tpdu_fail(r, "bad-udh", e.msg);
			return;
		}
		hdr = u.len;
		memcpy(t->udh, t->ud, hdr);
		t->udh_len = hdr;
	} else if (t->udhi) {
		tpdu_fail(r, "bad-udh", "UDHI set but no user data");
		return;
	}
	if (t->alphabet == TPDU_GSM7) {
		size_t hsept = hdr ? udh_header_septets(hdr) : 0;
		t->fill_bits = hdr ? udh_fill_bits(hdr) : 0;
		if (hsept > t->udl) {
			tpdu_fail(r, "bad-udl", "TP-UDL shorter than the header");
			return;
		}
		t->payload_len = t->udl - hsept;
		if (gsm7_unpack(t->ud + hdr, octets - hdr, t->payload_len, t->fill_bits, t->payload,
		                sizeof t->payload) < 0)
			tpdu_fail(r, "truncated-user-data", "septets past the user data");
	} else {
		t->payload_len = octets - hdr;
		memcpy(t->payload, t->ud + hdr, t->payload_len);
	}
}

static void tpdu_vp_decode(struct tpdu_rd *r, struct tpdu *t)
{
	switch (t->vpf) {
	case TPDU_VP_NONE:
		break;
	case TPDU_VP_RELATIVE:
		t->vp_rel = tpdu_octet(r, "validity period");
		break;
	case TPDU_VP_ABSOLUTE:
		tpdu_time_decode(r, &t->vp_abs, "validity period");
		break;
	case TPDU_VP_ENHANCED: {
		const uint8_t *p = tpdu_take(r, 7, "enhanced validity period");
		if (p)
			memcpy(t->vp_enh, p, 7);
		break;
	}
	}
}

int tpdu_decode(const uint8_t *buf, size_t len, unsigned flags, struct tpdu *out, struct errbuf *err)
{
	struct tpdu_rd r = {.b = buf, .len = len, .flags = flags, .err = err};
	memset(out, 0, sizeof *out);
	out->msg_class = -1;
	if (flags & TPDU_WITH_SMSC) {
		out->has_smsc = true;
		tpdu_smsc_decode(&r, &out->smsc);
	}
	size_t start = r.pos;
	uint8_t fo = tpdu_octet(&r, "first octet");
	if (r.failed)
		return r.failed;
	out->first_octet = fo;
	out->type = (enum tpdu_type)(fo & 3);
	out->udhi = (fo & 0x40) != 0;
	switch (out->type) {
	case TPDU_SUBMIT:
		out->rd = (fo & 0x04) != 0;
		out->vpf = (enum tpdu_vpf)((fo >> 3) & 3);
		out->srr = (fo & 0x20) != 0;
		out->rp = (fo & 0x80) != 0;
		out->mr = tpdu_octet(&r, "message reference");
		tpdu_addr_decode(&r, &out->addr);
		out->pid = tpdu_octet(&r, "protocol identifier");
		out->dcs = tpdu_octet(&r, "data coding scheme");
		tpdu_vp_decode(&r, out);
		break;
	case TPDU_DELIVER:
		out->mms = (fo & 0x04) != 0;
		out->lp = (fo & 0x08) != 0;
		out->sri = (fo & 0x20) != 0;
		out->rp = (fo & 0x80) != 0;
		tpdu_addr_decode(&r, &out->addr);
		out->pid = tpdu_octet(&r, "protocol identifier");
		out->dcs = tpdu_octet(&r, "data coding scheme");
		tpdu_time_decode(&r, &out->scts, "service centre time stamp");
		break;
	case TPDU_STATUS_REPORT:
		out->mms = (fo & 0x04) != 0;
		out->lp = (fo & 0x08) != 0;
		out->srq = (fo & 0x20) != 0;
		out->mr = tpdu_octet(&r, "message reference");
		tpdu_addr_decode(&r, &out->addr);
		tpdu_time_decode(&r, &out->scts, "service centre time stamp");
		tpdu_time_decode(&r, &out->dt, "discharge time");
		out->st = tpdu_octet(&r, "status");
		if (!r.failed && r.pos < r.len) {
			out->has_pi = true;
			out->pi = tpdu_octet(&r, "parameter indicator");
			if (out->pi & 0x01)
				out->pid = tpdu_octet(&r, "protocol identifier");
			if (out->pi & 0x02)
				out->dcs = tpdu_octet(&r, "data coding scheme");
		}
		break;
	default:
		return tpdu_fail(&r, "bad-mti", "reserved message type indicator 3");
	}
	if (r.failed)
		return r.failed;
	tpdu_dcs_info(out->dcs, &out->alphabet, &out->msg_class);
	bool has_ud = out->type != TPDU_STATUS_REPORT || (out->has_pi && (out->pi & 0x04));
	if (has_ud)
		tpdu_ud_decode(&r, out);
	if (r.failed)
		return r.failed;
	if (r.pos < len && !(flags & TPDU_LENIENT))
		return tpdu_fail(&r, "trailing-octets", "octets after the user data");
	out->tpdu_len = r.pos - start;
	return 0;
}

/* ---- encoding ---- */

struct tpdu_wr {
	uint8_t *b;
	size_t cap, len;
	int failed;
};

static void tpdu_put(struct tpdu_wr *w, const uint8_t *p, size_t n)
{
	if (w->failed)
		return;
	if (w->cap - w->len < n) {
		w->failed = -ENOSPC;
		return;
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void tpdu_put1(struct tpdu_wr *w, uint8_t o)
{
	tpdu_put(w, &o, 1);
}

static int tpdu_nibble(char c)
{
	const char *p = c ? strchr(tpdu_bcd_digits, c) : NULL;
	if (!p && c >= 'A' && c <= 'C')
		p = strchr(tpdu_bcd_digits, c - 'A' + 'a');
	return p ? (int)(p - tpdu_bcd_digits) : -1;
}

/* Packs digits as semi-octets with an F filler; returns the digit count or
 * -1 for a character that is not a digit. */
static int tpdu_digits_encode(const char *digits, uint8_t *out, size_t cap)
{
	size_t n = strlen(digits);
	if ((n + 1) / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = tpdu_nibble(digits[i]);
		if (v < 0)
			return -1;
		if (i & 1)
			out[i / 2] = (uint8_t)((out[i / 2] & 0x0F) | v << 4);
		else
			out[i / 2] = (uint8_t)(0xF0 | v);
	}
	return (int)n;
}

static const char *tpdu_addr_digits(const struct tpdu_addr *a)
{
	return a->text[0] == '+' ? a->text + 1 : a->text;
}

static int tpdu_addr_encode(struct tpdu_wr *w, const struct tpdu_addr *a, struct errbuf *err)
{
	uint8_t v[10];
	if (tpdu_ton_alnum(a->toa)) {
		uint8_t sept[12];
		size_t ns, packed;
		if (gsm7_from_utf8(a->text, strlen(a->text), 0, 0, sept, 11, &ns, NULL) < 0)
			return errbuf_set(err, "alphanumeric address '%s' is not 11 GSM characters", a->text), -EINVAL;
		if (gsm7_pack(sept, ns, 0, false, v, sizeof v, &packed) < 0)
			return errbuf_set(err, "alphanumeric address does not pack"), -EINVAL;
		tpdu_put1(w, (uint8_t)((ns * 7 + 3) / 4));
		tpdu_put1(w, a->toa);
		tpdu_put(w, v, packed);
		return 0;
	}
	int n = tpdu_digits_encode(tpdu_addr_digits(a), v, sizeof v);
	if (n < 0)
		return errbuf_set(err, "address '%s' is not up to 20 digits", a->text), -EINVAL;
	tpdu_put1(w, (uint8_t)n);
	tpdu_put1(w, a->toa);
	tpdu_put(w, v, ((size_t)n + 1) / 2);
	return 0;
}

static int tpdu_smsc_encode(struct tpdu_wr *w, const struct tpdu_addr *a, struct errbuf *err)
{
	if (!a->text[0]) {
		tpdu_put1(w, 0);
		return 0;
	}
	uint8_t v[10];
	int n = tpdu_digits_encode(tpdu_addr_digits(a), v, sizeof v);
	if (n < 0)
		return errbuf_set(err, "SMSC address '%s' is not up to 20 digits", a->text), -EINVAL;
	tpdu_put1(w, (uint8_t)(1 + (n + 1) / 2));
	tpdu_put1(w, a->toa);
	tpdu_put(w, v, ((size_t)n + 1) / 2);
	return 0;
}

static uint8_t tpdu_bcd(unsigned v)
{
	return (uint8_t)((v % 10) << 4 | (v / 10 % 10));
}

static void tpdu_time_encode(struct tpdu_wr *w, const struct tpdu_time *t)
{
	uint8_t o[7] = {tpdu_bcd(t->year),
	                tpdu_bcd(t->month),
	                tpdu_bcd(t->day),
	                tpdu_bcd(t->hour),
	                tpdu_bcd(t->minute),
	                tpdu_bcd(t->second),
	                (uint8_t)(tpdu_bcd(t->tz_quarters) | (t->tz_negative ? 0x08 : 0))};
	tpdu_put(w, o, 7);
}

int tpdu_encode(const struct tpdu *t, uint8_t *out, size_t cap, size_t *len, size_t *tpdu_len, struct errbuf *err)
{
	struct tpdu_wr w = {.b = out, .cap = cap};
	if (t->has_smsc && tpdu_smsc_encode(&w, &t->smsc, err) < 0)
		return -EINVAL;
	size_t start = w.len;
	if (t->ud_len > TPDU_UD_MAX)
		return errbuf_set(err, "user data longer than 140 octets"), -EINVAL;
	uint8_t fo = (uint8_t)t->type | (t->udhi ? 0x40 : 0);
	switch (t->type) {
	case TPDU_SUBMIT:
		fo |= (t->rd ? 0x04 : 0) | (uint8_t)(t->vpf << 3) | (t->srr ? 0x20 : 0) | (t->rp ? 0x80 : 0);
		tpdu_put1(&w, fo);
		tpdu_put1(&w, t->mr);
		if (tpdu_addr_encode(&w, &t->addr, err) < 0)
			return -EINVAL;
		tpdu_put1(&w, t->pid);
		tpdu_put1(&w, t->dcs);
		if (t->vpf == TPDU_VP_RELATIVE)
			tpdu_put1(&w, t->vp_rel);
		else if (t->vpf == TPDU_VP_ABSOLUTE)
			tpdu_time_encode(&w, &t->vp_abs);
		else if (t->vpf == TPDU_VP_ENHANCED)
			tpdu_put(&w, t->vp_enh, 7);
		break;
	case TPDU_DELIVER:
		fo |= (t->mms ? 0x04 : 0) | (t->lp ? 0x08 : 0) | (t->sri ? 0x20 : 0) | (t->rp ? 0x80 : 0) |
		      (t->first_octet & 0x10);
		tpdu_put1(&w, fo);
		if (tpdu_addr_encode(&w, &t->addr, err) < 0)
			return -EINVAL;
		tpdu_put1(&w, t->pid);
		tpdu_put1(&w, t->dcs);
		tpdu_time_encode(&w, &t->scts);
		break;
	case TPDU_STATUS_REPORT:
		fo |= (t->mms ? 0x04 : 0) | (t->lp ? 0x08 : 0) | (t->srq ? 0x20 : 0) | (t->first_octet & 0x90);
		tpdu_put1(&w, fo);
		tpdu_put1(&w, t->mr);
		if (tpdu_addr_encode(&w, &t->addr, err) < 0)
			return -EINVAL;
		tpdu_time_encode(&w, &t->scts);
		tpdu_time_encode(&w, &t->dt);
		tpdu_put1(&w, t->st);
		if (t->has_pi) {
			tpdu_put1(&w, t->pi);
			if (t->pi & 0x01)
				tpdu_put1(&w, t->pid);
			if (t->pi & 0x02)
				tpdu_put1(&w, t->dcs);
		}
		break;
	default:
		return errbuf_set(err, "unknown TPDU type %d", (int)t->type), -EINVAL;
	}
	if (t->type != TPDU_STATUS_REPORT || (t->has_pi && (t->pi & 0x04))) {
		tpdu_put1(&w, (uint8_t)t->udl);
		tpdu_put(&w, t->ud, t->ud_len);
	}
	if (w.failed)
		return errbuf_set(err, "output buffer too small"), w.failed;
	*len = w.len;
	if (tpdu_len)
		*tpdu_len = w.len - start;
	return 0;
}

int tpdu_addr_set(struct tpdu_addr *addr, const char *number)
{
	size_t n = strlen(number);
	bool plus = number[0] == '+';
	bool digits = n > (plus ? 1u : 0u) && n - (plus ? 1 : 0) <= 20;
	for (size_t i = plus ? 1 : 0; digits && i < n; i++)
		digits = number[i] >= '0' && number[i] <= '9';
	if (digits) {
		memcpy(addr->text, number, n + 1);
		addr->toa = plus ? 0x91 : 0x81;
		return 0;
	}
	size_t ns;
	if (n == 0 || n >= sizeof addr->text || gsm7_from_utf8(number, n, 0, 0, NULL, 0, &ns, NULL) < 0 || ns > 11)
		return -EINVAL;
	memcpy(addr->text, number, n + 1);
	addr->toa = 0xD0;
	return 0;
}

unsigned tpdu_vp_minutes(uint8_t vp)
{
	if (vp <= 143)
		return (vp + 1u) * 5;
	if (vp <= 167)
		return 720 + (vp - 143u) * 30;
	if (vp <= 196)
		return (vp - 166u) * 1440;
	return (vp - 192u) * 10080;
}

uint8_t tpdu_vp_from_minutes(unsigned minutes)
{
	for (unsigned v = 0; v < 255; v++)
		if (tpdu_vp_minutes((uint8_t)v) >= minutes)
			return (uint8_t)v;
	return 255;
}

int tpdu_text(const struct tpdu *t, char *out, size_t cap, size_t *out_len)
{
	if (t->alphabet == TPDU_UCS2)
		return ucs2_to_utf8(t->payload, t->payload_len, out, cap, out_len);
	if (t->alphabet != TPDU_GSM7)
		return -EINVAL;
	int lock = 0, shift = 0;
	if (t->udh_len) {
		struct udh u;
		if (udh_parse(t->udh, t->udh_len, &u, NULL) == 0) {
			lock = u.locking_shift >= 0 && gsm7_lang_has_lock(u.locking_shift) ? u.locking_shift : 0;
			shift = u.single_shift >= 0 ? u.single_shift : 0;
		}
	}
	return gsm7_to_utf8(t->payload, t->payload_len, lock, shift, out, cap, out_len);
}

int64_t tpdu_time_unix(const struct tpdu_time *tm)
{
	if (tm->month < 1 || tm->month > 12 || tm->day < 1 || tm->day > 31 || tm->hour > 23 || tm->minute > 59 ||
	    tm->second > 59 || tm->year > 99)
		return -1;
	struct tm t = {.tm_year = tm->year < 90 ? 100 + tm->year : tm->year,
	               .tm_mon = tm->month - 1,
	               .tm_mday = tm->day,
	               .tm_hour = tm->hour,
	               .tm_min = tm->minute,
	               .tm_sec = tm->second};
	int64_t s = (int64_t)timegm(&t);
	int64_t tz = (int64_t)tm->tz_quarters * 900;
	return tm->tz_negative ? s + tz : s - tz;
}

int tpdu_status_class(uint8_t st)
{
	if (st <= 0x1F)
		return 0;
	if (st <= 0x3F)
		return 1;
	if (st >= 0x60 && st <= 0x7F)
		return 3;
	return 2;
}

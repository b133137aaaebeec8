/*
 * sms: see sms.h.
 *
 * Everything works on "units", the indivisible pieces of a message: one
 * character's septets (1, or 2 for an escape sequence), one character's
 * UTF-16 code units (1, or 2 for a surrogate pair), or one octet.  A plan
 * pass walks the units once to count them and to count parts greedily; the
 * split pass walks them again with the same rule to fill the parts, so the
 * count and the split cannot disagree.  Nothing is allocated: the text is
 * decoded again on each pass instead of being buffered.
 */
#include "codec/sms.h"

#include <errno.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/ucs2.h"
#include "codec/utf8.h"

struct sms_plan {
	enum sms_encoding enc;
	int lock, shift;
	size_t units;
	size_t parts;
	size_t udh_single, udh_multi; /* UDH octets of a single / concatenated part */
	size_t cap_single, cap_multi; /* units per single / concatenated part */
	uint32_t bad_cp;              /* first unrepresentable character */
	size_t bad_at;
};

const char *sms_encoding_name(enum sms_encoding enc)
{
	switch (enc) {
	case SMS_ENC_AUTO:
		return "auto";
	case SMS_ENC_GSM7:
		return "gsm7";
	case SMS_ENC_UCS2:
		return "ucs2";
	case SMS_ENC_BINARY:
		return "binary";
	}
	return "?";
}

int sms_encoding_from_name(const char *name, enum sms_encoding *out)
{
	static const enum sms_encoding all[] = {SMS_ENC_AUTO, SMS_ENC_GSM7, SMS_ENC_UCS2, SMS_ENC_BINARY};

	for (size_t i = 0; i < ARRAY_LEN(all); i++) {
		if (strcmp(name, sms_encoding_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* Reads the next unit at data[*pos]: its bytes (septets or UTF-16BE octets)
 * go to buf, its size in units to *k and its size in bytes to *nb.
 * Returns 0, or -EINVAL when the character has no code in the plan's
 * tables.  The input was validated as UTF-8 before any pass. */
static int sms_next_unit(const struct sms_plan *p, const char *data, size_t len, size_t *pos, uint8_t buf[4], size_t *k,
                         size_t *nb)
{
	uint32_t cp;

	if (p->enc == SMS_ENC_BINARY) {
		buf[0] = (uint8_t)data[(*pos)++];
		*k = *nb = 1;
		return 0;
	}
	if (utf8_decode_next(data, len, pos, &cp) < 0)
		return -EILSEQ;
	if (p->enc == SMS_ENC_GSM7) {
		int n = gsm7_char_encode(cp, p->lock, p->shift, buf);
		if (n == 0)
			return -EINVAL;
		*k = *nb = (size_t)n;
		return 0;
	}
	if (cp >= 0x10000) {
		uint32_t v = cp - 0x10000;
		uint16_t hi = (uint16_t)(0xD800 | (v >> 10)), lo = (uint16_t)(0xDC00 | (v & 0x3FF));
		buf[0] = (uint8_t)(hi >> 8);
		buf[1] = (uint8_t)hi;
		buf[2] = (uint8_t)(lo >> 8);
		buf[3] = (uint8_t)lo;
		*k = 2;
		*nb = 4;
		return 0;
	}
	buf[0] = (uint8_t)(cp >> 8);
	buf[1] = (uint8_t)cp;
	*k = 1;
	*nb = 2;
	return 0;
}

static size_t sms_cap(enum sms_encoding enc, size_t udh_len)
{
	switch (enc) {
	case SMS_ENC_GSM7:
		return udh_max_septets(udh_len);
	case SMS_ENC_UCS2:
		return udh_max_ucs2_units(udh_len);
	default:
		return udh_max_octets(udh_len);
	}
}

/* Sets up sizes and walks the units once.  Returns 0, -EINVAL when a
 * character is not representable (p->bad_cp, p->bad_at) or the extra IEs
 * leave no room for text. */
static int sms_plan_run(struct sms_plan *p, const struct sms_split_opts *o, const char *data, size_t len)
{
	size_t ies = o->extra_ies_len + (p->lock ? 3 : 0) + (p->shift ? 3 : 0);

	p->udh_single = ies ? 1 + ies : 0;
	p->udh_multi = 1 + ies + (o->ref16 ? 6 : 5);
	p->cap_single = sms_cap(p->enc, p->udh_single);
	p->cap_multi = sms_cap(p->enc, p->udh_multi);
	if (p->cap_multi < 2)
		return -EINVAL;

	size_t pos = 0, cur = 0, units = 0, parts = 1;
	while (pos < len) {
		uint8_t buf[4];
		size_t k, nb, at = pos;
		if (sms_next_unit(p, data, len, &pos, buf, &k, &nb) < 0) {
			size_t q = at;
			p->bad_at = at;
			if (utf8_decode_next(data, len, &q, &p->bad_cp) < 0)
				p->bad_cp = 0xFFFD;
			return -EINVAL;
		}
		if (cur + k > p->cap_multi) {
			parts++;
			cur = 0;
		}
		cur += k;
		units += k;
	}
	p->units = units;
	p->parts = units <= p->cap_single ? 1 : parts;
	return 0;
}

/* True when a is a better GSM 7-bit plan than b: fewer parts, then fewer
 * shift IEs (more handsets understand fewer), then fewer septets. */
static bool sms_plan_better(const struct sms_plan *a, const struct sms_plan *b)
{
	if (a->parts != b->parts)
		return a->parts < b->parts;
	int ia = (a->lock != 0) + (a->shift != 0), ib = (b->lock != 0) + (b->shift != 0);
	if (ia != ib)
		return ia < ib;
	return a->units < b->units;
}

/* Best plan that uses national tables from the allowed set; returns 0 or
 * -EINVAL when none can represent the text. */
static int sms_plan_national(struct sms_plan *best, const struct sms_split_opts *o, const char *data, size_t len)
{
	bool found = false;

	for (int lock = 0; lock < GSM7_LANG_COUNT; lock++) {
		if (lock && (!(o->national_langs & SMS_LANG_BIT(lock)) || !gsm7_lang_has_lock(lock)))
			continue;
		for (int shift = 0; shift < GSM7_LANG_COUNT; shift++) {
			if (shift && !(o->national_langs & SMS_LANG_BIT(shift)))
				continue;
			if (!lock && !shift)
				continue;
			struct sms_plan p = {.enc = SMS_ENC_GSM7, .lock = lock, .shift = shift};
			if (sms_plan_run(&p, o, data, len) < 0)
				continue;
			if (!found || sms_plan_better(&p, best)) {
				*best = p;
				found = true;
			}
		}
	}
	return found ? 0 : -EINVAL;
}

/* Validates the caller's IEs.  A concatenation IE among them means the
 * caller already segmented the message (e.g. an SMPP client sending one
 * part of its own): allowed, as long as it stays one part (*own_concat). */
static int sms_check_extra_ies(const struct sms_split_opts *o, bool *own_concat, struct errbuf *err)
{
	size_t pos = 0;

	*own_concat = false;
	if (o->extra_ies_len && !o->extra_ies) {
		errbuf_set(err, "extra IEs length without data");
		return -EINVAL;
	}
	while (pos < o->extra_ies_len) {
		if (pos + 2 > o->extra_ies_len || pos + 2 + o->extra_ies[pos + 1] > o->extra_ies_len) {
			errbuf_set(err, "malformed extra IE at offset %zu", pos);
			return -EINVAL;
		}
		uint8_t iei = o->extra_ies[pos];
		if (iei == UDH_IEI_CONCAT8 || iei == UDH_IEI_CONCAT16)
			*own_concat = true;
		pos += 2 + (size_t)o->extra_ies[pos + 1];
	}
	return 0;
}

static int sms_choose_plan(const char *data, size_t len, const struct sms_split_opts *o, struct sms_plan *plan,
                           struct errbuf *err)
{
	if (o->encoding == SMS_ENC_BINARY) {
		*plan = (struct sms_plan){.enc = SMS_ENC_BINARY};
		if (sms_plan_run(plan, o, data, len) < 0) {
			errbuf_set(err, "extra IEs leave no room for data");
			return -EINVAL;
		}
		return 0;
	}
	if (o->encoding != SMS_ENC_AUTO && o->encoding != SMS_ENC_GSM7 && o->encoding != SMS_ENC_UCS2) {
		errbuf_set(err, "unknown encoding %d", (int)o->encoding);
		return -EINVAL;
	}
	size_t bad;
	if (utf8_validate(data, len, &bad) < 0) {
		errbuf_set(err, "invalid UTF-8 at byte %zu", bad);
		return -EILSEQ;
	}

	struct sms_plan ucs2 = {.enc = SMS_ENC_UCS2};
	if (sms_plan_run(&ucs2, o, data, len) < 0) {
		errbuf_set(err, "extra IEs leave no room for text");
		return -EINVAL;
	}
	if (o->encoding == SMS_ENC_UCS2) {
		*plan = ucs2;
		return 0;
	}

	struct sms_plan gsm = {.enc = SMS_ENC_GSM7};
	if (sms_plan_run(&gsm, o, data, len) == 0) {
		*plan = gsm;
		return 0;
	}
	struct sms_plan nat;
	bool have_nat = o->national_langs && sms_plan_national(&nat, o, data, len) == 0;
	if (o->encoding == SMS_ENC_GSM7) {
		if (!have_nat) {
			errbuf_set(err, "character U+%04X at byte %zu has no GSM 7-bit code", (unsigned)gsm.bad_cp,
			           gsm.bad_at);
			return -EINVAL;
		}
		*plan = nat;
		return 0;
	}
	/* A shift table is worth it only when it saves parts over UCS-2:
	 * fewer handsets render it, so equal cost goes to UCS-2. */
	*plan = have_nat && nat.parts < ucs2.parts ? nat : ucs2;
	return 0;
}

static int sms_choose(const char *data, size_t len, const struct sms_split_opts *o, struct sms_plan *plan,
                      struct errbuf *err)
{
	bool own_concat;
	int rc = sms_check_extra_ies(o, &own_concat, err);

	if (rc < 0)
		return rc;
	rc = sms_choose_plan(data, len, o, plan, err);
	if (rc == 0 && own_concat && plan->parts > 1) {
		errbuf_set(err, "caller UDH has a concatenation IE but the message needs %zu parts", plan->parts);
		return -EINVAL;
	}
	return rc;
}

static void sms_fill_result(const struct sms_plan *p, struct sms_split *out)
{
	out->encoding = p->enc;
	out->lock_lang = p->enc == SMS_ENC_GSM7 ? p->lock : 0;
	out->shift_lang = p->enc == SMS_ENC_GSM7 ? p->shift : 0;
	out->dcs = p->enc == SMS_ENC_GSM7 ? 0x00 : p->enc == SMS_ENC_UCS2 ? 0x08 : 0x04;
	out->n_parts = (unsigned)(p->parts > SMS_MAX_PARTS ? SMS_MAX_PARTS + 1 : p->parts);
	out->units = p->units;
}

static int sms_check_parts(const struct sms_plan *p, const struct sms_split_opts *o, struct errbuf *err)
{
	unsigned max = o->max_parts && o->max_parts < SMS_MAX_PARTS ? o->max_parts : SMS_MAX_PARTS;

	if (p->parts > max) {
		errbuf_set(err, "message needs %zu parts, limit is %u", p->parts, max);
		return -EMSGSIZE;
	}
	return 0;
}

int sms_count_parts(const char *data, size_t len, const struct sms_split_opts *opts, struct sms_split *out,
                    struct errbuf *err)
{
	struct sms_plan plan;
	int rc = sms_choose(data, len, opts, &plan, err);

	if (rc < 0)
		return rc;
	sms_fill_result(&plan, out);
	return sms_check_parts(&plan, opts, err);
}

/* Builds part->udh, ->ud and ->udl from part->payload. */
static int sms_finish_part(const struct sms_plan *p, const struct sms_split_opts *o, size_t seq, struct sms_part *part)
{
	size_t l = 0;
	bool multi = p->parts > 1;

	if (o->extra_ies_len || p->lock || p->shift || multi) {
		if (o->extra_ies_len)
			memcpy(part->udh + 1, o->extra_ies, o->extra_ies_len);
		l = 1 + o->extra_ies_len;
		part->udh[0] = (uint8_t)(l - 1);
	}
	if (multi && udh_add_concat(part->udh, sizeof part->udh, &l, o->ref16, o->concat_ref, (unsigned)p->parts,
	                            (unsigned)seq) < 0)
		return -EINVAL;
	if (p->lock && udh_add_shift(part->udh, sizeof part->udh, &l, true, p->lock) < 0)
		return -EINVAL;
	if (p->shift && udh_add_shift(part->udh, sizeof part->udh, &l, false, p->shift) < 0)
		return -EINVAL;
	part->udh_len = l;
	memcpy(part->ud, part->udh, l);
	if (p->enc == SMS_ENC_GSM7) {
		size_t packed;
		if (gsm7_pack(part->payload, part->payload_len, udh_fill_bits(l), false, part->ud + l,
		              sizeof part->ud - l, &packed) < 0)
			return -EINVAL;
		part->ud_len = l + packed;
		part->udl = udh_header_septets(l) + part->payload_len;
	} else {
		if (l + part->payload_len > sizeof part->ud)
			return -EINVAL;
		memcpy(part->ud + l, part->payload, part->payload_len);
		part->ud_len = l + part->payload_len;
		part->udl = part->ud_len;
	}
	return 0;
}

int sms_split(const char *data, size_t len, const struct sms_split_opts *opts, struct sms_split *out,
              struct errbuf *err)
{
	struct sms_plan plan;
	int rc = sms_choose(data, len, opts, &plan, err);

	if (rc < 0)
		return rc;
	sms_fill_result(&plan, out);
	rc = sms_check_parts(&plan, opts, err);
	if (rc < 0)
		return rc;
	if (out->parts_cap < plan.parts || !out->parts) {
		errbuf_set(err, "room for %zu parts, %zu needed", out->parts_cap, plan.parts);
		return -ENOSPC;
	}

	size_t cap = plan.parts == 1 ? plan.cap_single : plan.cap_multi;
	size_t pos = 0, seq = 1, cur = 0;
	struct sms_part *part = &out->parts[0];
	memset(part, 0, sizeof *part);
	while (pos < len) {
		uint8_t buf[4];
		size_t k, nb;
		if (sms_next_unit(&plan, data, len, &pos, buf, &k, &nb) < 0) {
			errbuf_set(err, "internal: text changed between passes");
			return -EINVAL;
		}
		if (cur + k > cap) {
			if (sms_finish_part(&plan, opts, seq, part) < 0 || seq >= plan.parts) {
				errbuf_set(err, "internal: part layout failed");
				return -EINVAL;
			}
			part = &out->parts[seq++];
			memset(part, 0, sizeof *part);
			cur = 0;
		}
		memcpy(part->payload + part->payload_len, buf, nb);
		part->payload_len += nb;
		cur += k;
	}
	if (sms_finish_part(&plan, opts, seq, part) < 0 || seq != plan.parts) {
		errbuf_set(err, "internal: part layout failed");
		return -EINVAL;
	}
	return 0;
}

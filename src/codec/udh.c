/* udh: see udh.h. */
#include "codec/udh.h"

#include <errno.h>
#include <string.h>

/* Interprets one IE we know, if its value is valid; leaves *u untouched
 * otherwise (23.040: a receiver ignores an IE it cannot use). */
static void udh_interpret(struct udh *u, const struct udh_ie *ie)
{
	const uint8_t *d = ie->data;

	switch (ie->iei) {
	case UDH_IEI_CONCAT8:
		if (ie->len == 3 && d[1] != 0 && d[2] != 0 && d[2] <= d[1]) {
			u->has_concat = true;
			u->concat_ref_bits = 8;
			u->concat_ref = d[0];
			u->concat_total = d[1];
			u->concat_seq = d[2];
		}
		break;
	case UDH_IEI_CONCAT16:
		if (ie->len == 4 && d[2] != 0 && d[3] != 0 && d[3] <= d[2]) {
			u->has_concat = true;
			u->concat_ref_bits = 16;
			u->concat_ref = (unsigned)d[0] << 8 | d[1];
			u->concat_total = d[2];
			u->concat_seq = d[3];
		}
		break;
	case UDH_IEI_PORTS8:
		if (ie->len == 2) {
			u->has_ports = true;
			u->port_bits = 8;
			u->dst_port = d[0];
			u->src_port = d[1];
		}
		break;
	case UDH_IEI_PORTS16:
		if (ie->len == 4) {
			u->has_ports = true;
			u->port_bits = 16;
			u->dst_port = (unsigned)d[0] << 8 | d[1];
			u->src_port = (unsigned)d[2] << 8 | d[3];
		}
		break;
	case UDH_IEI_SINGLE_SHIFT:
		if (ie->len == 1)
			u->single_shift = d[0];
		break;
	case UDH_IEI_LOCKING_SHIFT:
		if (ie->len == 1)
			u->locking_shift = d[0];
		break;
	default:
		break;
	}
}

int udh_parse(const uint8_t *ud, size_t ud_len, struct udh *out, struct errbuf *err)
{
	memset(out, 0, sizeof *out);
	out->single_shift = -1;
	out->locking_shift = -1;
	if (ud_len < 1) {
		errbuf_set(err, "UDH missing");
		return -EMSGSIZE;
	}
	size_t udhl = ud[0];
	if (udhl + 1 > ud_len) {
		errbuf_set(err, "UDHL %zu overruns %zu octets of user data", udhl, ud_len);
		return -EMSGSIZE;
	}
	out->len = udhl + 1;
	size_t pos = 1;
	while (pos < udhl + 1) {
		if (pos + 2 > udhl + 1) {
			errbuf_set(err, "IE header at offset %zu overruns UDHL %zu", pos, udhl);
			return -EMSGSIZE;
		}
		struct udh_ie ie = {.iei = ud[pos], .len = ud[pos + 1], .data = ud + pos + 2};
		if (pos + 2 + ie.len > udhl + 1) {
			errbuf_set(err, "IE 0x%02X length %u overruns UDHL %zu", ie.iei, ie.len, udhl);
			return -EMSGSIZE;
		}
		if (out->n_ies < UDH_MAX_IES)
			out->ies[out->n_ies++] = ie;
		udh_interpret(out, &ie);
		pos += 2 + ie.len;
	}
	return 0;
}

int udh_add_ie(uint8_t *buf, size_t cap, size_t *len, uint8_t iei, const uint8_t *data, uint8_t dlen)
{
	size_t l = *len ? *len : 1;

	if (l + 2 + dlen > cap || l + 2 + dlen > UDH_MAX_LEN)
		return -ENOSPC;
	buf[l] = iei;
	buf[l + 1] = dlen;
	if (dlen)
		memcpy(buf + l + 2, data, dlen);
	l += 2 + (size_t)dlen;
	buf[0] = (uint8_t)(l - 1);
	*len = l;
	return 0;
}

int udh_add_concat(uint8_t *buf, size_t cap, size_t *len, bool ref16, unsigned ref, unsigned total, unsigned seq)
{
	uint8_t d[4];

	if (total < 1 || total > 255 || seq < 1 || seq > total)
		return -EINVAL;
	if (ref16) {
		d[0] = (uint8_t)(ref >> 8);
		d[1] = (uint8_t)ref;
		d[2] = (uint8_t)total;
		d[3] = (uint8_t)seq;
		return udh_add_ie(buf, cap, len, UDH_IEI_CONCAT16, d, 4);
	}
	d[0] = (uint8_t)ref;
	d[1] = (uint8_t)total;
	d[2] = (uint8_t)seq;
	return udh_add_ie(buf, cap, len, UDH_IEI_CONCAT8, d, 3);
}

int udh_add_ports(uint8_t *buf, size_t cap, size_t *len, bool ports16, unsigned dst, unsigned src)
{
	uint8_t d[4];

	if (ports16) {
		d[0] = (uint8_t)(dst >> 8);
		d[1] = (uint8_t)dst;
		d[2] = (uint8_t)(src >> 8);
		d[3] = (uint8_t)src;
		return udh_add_ie(buf, cap, len, UDH_IEI_PORTS16, d, 4);
	}
	if (dst > 255 || src > 255)
		return -EINVAL;
	d[0] = (uint8_t)dst;
	d[1] = (uint8_t)src;
	return udh_add_ie(buf, cap, len, UDH_IEI_PORTS8, d, 2);
}

int udh_add_shift(uint8_t *buf, size_t cap, size_t *len, bool locking, int lang)
{
	uint8_t d = (uint8_t)lang;

	if (lang < 0 || lang > 255)
		return -EINVAL;
	return udh_add_ie(buf, cap, len, locking ? UDH_IEI_LOCKING_SHIFT : UDH_IEI_SINGLE_SHIFT, &d, 1);
}

unsigned udh_fill_bits(size_t udh_len)
{
	return (unsigned)((7 - (udh_len * 8) % 7) % 7);
}

size_t udh_header_septets(size_t udh_len)
{
	return (udh_len * 8 + udh_fill_bits(udh_len)) / 7;
}

size_t udh_max_septets(size_t udh_len)
{
	size_t h = udh_header_septets(udh_len);
	return h >= 160 ? 0 : 160 - h;
}

size_t udh_max_octets(size_t udh_len)
{
	return udh_len >= 140 ? 0 : 140 - udh_len;
}

size_t udh_max_ucs2_units(size_t udh_len)
{
	return udh_max_octets(udh_len) / 2;
}

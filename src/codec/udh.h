/*
 * udh: the User Data Header of 3GPP TS 23.040 9.2.3.24 — parse, build, and
 * the per-part capacities that follow from a header's size.
 *
 * Contract:
 * - A UDH here always starts with its length octet (UDHL) and is UDHL+1
 *   octets long.
 * - udh_parse MUST reject a header whose UDHL or any IE length overruns the
 *   buffer; it MUST keep unknown IEs (listed, skipped by their length).
 *   Known IEs with invalid values (concatenation with total 0, seq 0 or
 *   seq > total) are listed but not interpreted, as 23.040 says to ignore
 *   them.  When an IE repeats, the last occurrence wins.
 * - Parsed IEs borrow their data from the caller's buffer.
 * - No allocation.
 */
#ifndef SMSPOOL_CODEC_UDH_H
#define SMSPOOL_CODEC_UDH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

#define UDH_IEI_CONCAT8 0x00
#define UDH_IEI_SPECIAL_SMS 0x01
#define UDH_IEI_PORTS8 0x04
#define UDH_IEI_PORTS16 0x05
#define UDH_IEI_CONCAT16 0x08
#define UDH_IEI_SINGLE_SHIFT 0x24
#define UDH_IEI_LOCKING_SHIFT 0x25

/* TP-UD is at most 140 octets, so a UDH is too; each IE takes >= 2 octets. */
#define UDH_MAX_LEN 140
#define UDH_MAX_IES 70

struct udh_ie {
	uint8_t iei;
	uint8_t len;
	const uint8_t *data; /* borrowed from the buffer given to udh_parse */
};

struct udh {
	size_t len; /* octets including UDHL */
	size_t n_ies;
	struct udh_ie ies[UDH_MAX_IES];

	bool has_concat;
	unsigned concat_ref_bits; /* 8 or 16 */
	unsigned concat_ref, concat_total, concat_seq;

	bool has_ports;
	unsigned port_bits; /* 8 or 16 */
	unsigned dst_port, src_port;

	int single_shift; /* national language id, or -1 when absent */
	int locking_shift;
};

/* Parses the UDH at the start of ud (ud_len octets: the whole TP-UD or just
 * the header).  Returns 0, or -EMSGSIZE when a length overruns (err says
 * which). */
MUST_CHECK int udh_parse(const uint8_t *ud, size_t ud_len, struct udh *out, struct errbuf *err);

/* Appends one IE to the UDH being built in buf (capacity cap), keeping UDHL
 * in buf[0] up to date.  *len is the UDH length so far: start with 0 (an
 * empty buffer; the UDHL octet is added on the first call).  Returns 0 or
 * -ENOSPC. */
MUST_CHECK int udh_add_ie(uint8_t *buf, size_t cap, size_t *len, uint8_t iei, const uint8_t *data, uint8_t dlen);

/* Convenience builders on top of udh_add_ie. */
MUST_CHECK int udh_add_concat(uint8_t *buf, size_t cap, size_t *len, bool ref16, unsigned ref, unsigned total,
                              unsigned seq);
MUST_CHECK int udh_add_ports(uint8_t *buf, size_t cap, size_t *len, bool ports16, unsigned dst, unsigned src);
MUST_CHECK int udh_add_shift(uint8_t *buf, size_t cap, size_t *len, bool locking, int lang);

/* Capacities that follow from a UDH of udh_len octets (UDHL included; 0 for
 * no header).  For GSM 7-bit the text starts on a septet boundary, so fill
 * bits follow the header and the header costs header_septets of the 160. */
unsigned udh_fill_bits(size_t udh_len);
size_t udh_header_septets(size_t udh_len);
size_t udh_max_septets(size_t udh_len);
size_t udh_max_octets(size_t udh_len);
size_t udh_max_ucs2_units(size_t udh_len);

#endif

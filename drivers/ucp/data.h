/*
 * EMI/UCP field contents: IRA hex text, the 7-bit packed alphanumeric OAdC
 * (OTOA 5039), the XSer extra services (type 01 GSM UDH, type 02 GSM DCS)
 * and the DDMMYYhhmmss / DDMMYYhhmm time stamps.  Pure functions over
 * caller-owned buffers, no allocation; every input length is explicit, so
 * they can be given a decoded frame's borrowed fields directly.
 */
#ifndef SMSPOOL_UCP_DATA_H
#define SMSPOOL_UCP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Alphanumeric OAdC: at most 11 GSM characters (extension ones count 2). */
#define UCP_ALPHA_MAX_SEPTETS 11

/* Exactly n decimal digits (len must be n: TRN, LEN, OT, EC, time stamp
 * pairs) as a number; -1 when s is not that. */
long ucp_data_digits(const char *s, size_t len, size_t n);

/* IRA hex (two hex digits per octet, either case) -> octets in out
 * (capacity cap).  Returns the octet count, or -EINVAL for odd length or a
 * non-hex digit, -ENOSPC. */
MUST_CHECK int ucp_data_ira_decode(const char *hex, size_t len, uint8_t *out, size_t cap);
/* Octets -> uppercase IRA hex with a NUL (cap >= 2n+1).  Returns 0 or -ENOSPC. */
MUST_CHECK int ucp_data_ira_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* OTOA 5039 OAdC: hex of [semi-octet count][GSM 7-bit packed text].  The
 * text is count*4/7 septets (so that 14 semi-octets read as 8 septets, a
 * trailing '@' included, as the sender meant 7 or 8); decoded to UTF-8 in
 * out (cap >= 3*septets+1; 512 always suffices).  Returns 0 or -EINVAL. */
MUST_CHECK int ucp_data_oadc_alpha_decode(const char *hex, size_t len, char *out, size_t cap);
/* UTF-8 sender -> OTOA 5039 OAdC hex, count = ceil(7*septets/4) semi-octets
 * (what Kannel writes).  Returns 0, -EINVAL when the text has no GSM form or
 * more than UCP_ALPHA_MAX_SEPTETS septets, -ENOSPC (cap >= 32 suffices). */
MUST_CHECK int ucp_data_oadc_alpha_encode(const char *utf8, char *out, size_t cap);

/* XSer: a list of TT LL DD... in hex.  Known types are kept; others are
 * skipped by their length. */
struct ucp_xser {
	uint8_t udh[256]; /* type 01: the GSM UDH, UDHL included */
	size_t udh_len;   /* 0 = none */
	bool has_dcs;     /* type 02 */
	uint8_t dcs;
};
/* Returns 0, or -EINVAL when a length overruns or a digit is not hex. */
MUST_CHECK int ucp_data_xser_parse(const char *hex, size_t len, struct ucp_xser *x);
/* Builds the XSer hex for a UDH (udh_len 0 = none, UDHL included, at most
 * 255 octets) and a DCS (dcs < 0 = none).  Returns 0 or -ENOSPC / -EINVAL. */
MUST_CHECK int ucp_data_xser_build(const uint8_t *udh, size_t udh_len, int dcs, char *out, size_t cap);

/* DDMMYYhhmmss (SCTS, DSCTS) <-> Unix seconds, taken as UTC, years
 * 2000-2099.  parse returns 0 or -EINVAL (not 12 digits, or not a date). */
MUST_CHECK int ucp_data_scts_parse(const char *s, size_t len, int64_t *unix_s);
void ucp_data_scts_format(int64_t unix_s, char out[13]);
/*
 * The SCTS the ucp-server gives a submit (its ACK's SM = AdC:SCTS; its op
 * 53 notifications carry the same SCTS, so that clients match them by
 * recipient + SCTS).  Derived from the outbox id, nothing stored; a valid
 * date (clients may parse it), seconds since 2000-01-01 UTC:
 * - part 0, a message submitted whole: id mod 2^31 (years 2000-2068);
 * - part k (1..255) of a joined message: 2^31 + (255 * id + k - 1) mod 10^9
 *   (years 2068-2099), so that every part has its own SCTS.
 * Collisions (same SCTS for the same recipient while the client still
 * waits for a notification) need, for whole messages, outbox ids 2^31
 * apart, and for parts, ids about 3.9 million (10^9 / 255) apart; parts
 * and whole messages never collide.
 */
#define UCP_DATA_SCTS_EPOCH 946684800LL /* 2000-01-01 00:00:00 UTC */
void ucp_data_scts_id(int64_t message_id, unsigned part, char out[13]);
/* DDMMYYhhmm (DDT, VP), UTC. */
void ucp_data_time10_format(int64_t unix_s, char out[11]);

#endif

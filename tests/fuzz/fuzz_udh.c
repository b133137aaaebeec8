/*
 * fuzz_udh: arbitrary TP-UD with a UDH.  Byte 0 is the DCS class (GSM
 * 7-bit or UCS-2), byte 1 the TP-UDL; the rest is the user data.  Parses the
 * header, rebuilds it from the parsed IEs (must be identical), then decodes
 * the text the way a receiver would.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/ucs2.h"
#include "codec/udh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int ucs2 = data[0] & 1;
	size_t udl = data[1];
	const uint8_t *ud = data + 2;
	size_t len = size - 2;

	struct udh u;
	if (udh_parse(ud, len, &u, NULL) < 0)
		return 0;
	assert(u.len >= 1 && u.len <= len);

	uint8_t built[300];
	size_t bl = 0;
	int ok = 1;
	for (size_t i = 0; i < u.n_ies && ok; i++)
		ok = udh_add_ie(built, sizeof built, &bl, u.ies[i].iei, u.ies[i].data, u.ies[i].len) == 0;
	if (ok && u.n_ies < UDH_MAX_IES && u.len <= UDH_MAX_LEN && u.n_ies > 0) {
		assert(bl == u.len);
		assert(memcmp(built, ud, bl) == 0);
	}
	if (u.has_concat)
		assert(u.concat_seq >= 1 && u.concat_seq <= u.concat_total);

	static char text[2048];
	if (ucs2) {
		(void)ucs2_to_utf8(ud + u.len, (len - u.len) & ~(size_t)1, text, sizeof text, NULL);
		return 0;
	}
	size_t hs = udh_header_septets(u.len);
	if (udl < hs)
		return 0;
	uint8_t sept[256];
	size_t n = udl - hs;
	if (gsm7_unpack(ud + u.len, len - u.len, n, udh_fill_bits(u.len), sept, sizeof sept) < 0)
		return 0;
	int lock = gsm7_lang_has_lock(u.locking_shift) ? u.locking_shift : 0;
	int shift = u.single_shift >= 0 && u.single_shift < GSM7_LANG_COUNT ? u.single_shift : 0;
	assert(gsm7_to_utf8(sept, n, lock, shift, text, sizeof text, NULL) == 0);
	return 0;
}

/*
 * fuzz_gsm7: the text codecs on arbitrary bytes.  Byte 0 picks the tables
 * and fill bits, byte 1 the septet count; the rest is fed to the septet
 * unpacker and GSM -> UTF-8 decoder, to UCS-2 -> UTF-8, and as "UTF-8" to
 * the encoders and the splitter.  Round trips that must hold are asserted.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/sms.h"
#include "codec/ucs2.h"

static struct sms_part fuzz_gsm7_parts[SMS_MAX_PARTS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned fill = data[0] % 7;
	int lang = (data[0] >> 3) % GSM7_LANG_COUNT;
	size_t n = data[1];
	const uint8_t *p = data + 2;
	size_t len = size - 2;

	uint8_t sept[256], packed[256];
	static char text[4096];
	if (gsm7_unpack(p, len, n, fill, sept, sizeof sept) == 0) {
		int lock = gsm7_lang_has_lock(lang) ? lang : 0;
		size_t tl;
		if (gsm7_to_utf8(sept, n, lock, lang, text, sizeof text, &tl) == 0) {
			assert(tl == strlen(text)); /* no table maps a septet to NUL */
			/* Re-packing the unpacked septets gives back the bits we read. */
			size_t pl;
			assert(gsm7_pack(sept, n, fill, false, packed, sizeof packed, &pl) == 0);
			assert(pl == gsm7_packed_len(n, fill));
			uint8_t again[256];
			assert(gsm7_unpack(packed, pl, n, fill, again, sizeof again) == 0);
			assert(memcmp(again, sept, n) == 0);
		}
	}

	size_t ol;
	(void)ucs2_to_utf8(p, len & ~(size_t)1, text, sizeof text, &ol);

	/* Arbitrary bytes as UTF-8: encoders must fail cleanly or round-trip. */
	static uint8_t big[8192];
	size_t ns;
	int lock = gsm7_lang_has_lock(lang) ? lang : 0;
	if (gsm7_from_utf8((const char *)p, len, lock, lang, big, sizeof big, &ns, NULL) == 0 && ns <= 1024) {
		static char back[4096];
		assert(gsm7_to_utf8(big, ns, lock, lang, back, sizeof back, NULL) == 0);
	}
	if (ucs2_from_utf8((const char *)p, len, big, sizeof big, &ns, NULL) == 0 && ns <= 2048) {
		static char back[8192];
		size_t bl;
		assert(ucs2_to_utf8(big, ns, back, sizeof back, &bl) == 0);
		assert(bl == len && memcmp(back, p, len) == 0);
	}

	struct sms_split_opts o = {.encoding = (enum sms_encoding)(data[1] % 4),
	                           .national_langs = (data[0] & 0x80) ? SMS_LANGS_AUTO : 0,
	                           .ref16 = data[1] & 0x40};
	struct sms_split s = {.parts = fuzz_gsm7_parts, .parts_cap = SMS_MAX_PARTS};
	struct sms_split c;
	int rs = sms_split((const char *)p, len, &o, &s, NULL);
	int rc = sms_count_parts((const char *)p, len, &o, &c, NULL);
	assert(rs == rc || (rs == -ENOSPC && rc == 0));
	if (rs == 0) {
		assert(c.n_parts == s.n_parts && c.encoding == s.encoding);
		for (unsigned i = 0; i < s.n_parts; i++)
			assert(s.parts[i].ud_len <= SMS_UD_MAX);
	}
	return 0;
}

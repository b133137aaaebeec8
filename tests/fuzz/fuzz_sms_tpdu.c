/*
 * libFuzzer target for the SMS TPDU codec.  The first input octet chooses
 * the decode flags (SMSC field or not, lenient or strict); the rest is the
 * unit.  Whatever decodes must print its fields, encode, and decode again;
 * in strict mode to the very same fields (lenient mode forgives things that
 * do not survive a round trip, e.g. a filler counted in an address length).
 * Whatever fails must say why with one of the documented short codes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/tpdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tpdu t1, t2;
static char f1[TPDU_FIELDS_MAX], f2[TPDU_FIELDS_MAX];

/* Says which rule broke, with the input and both field lists, before the
 * abort: a CI log keeps only its tail and not the artifact. */
static void fuzz_fail(const char *rule, const uint8_t *data, size_t size, const char *err)
{
	fprintf(stderr, "fuzz-check: %s (%s)\nfuzz-input:", rule, err ? err : "");
	for (size_t i = 0; i < size; i++)
		fprintf(stderr, "%02X", data[i]);
	fprintf(stderr, "\nfuzz-fields1: %s\nfuzz-fields2: %s\n", f1, f2);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	f1[0] = f2[0] = '\0';
	unsigned flags = data[0] & (TPDU_WITH_SMSC | TPDU_LENIENT);
	struct errbuf err = {{0}};
	if (tpdu_decode(data + 1, size - 1, flags, &t1, &err) != 0) {
		static const char *const codes[] = {"truncated", "bad-address", "bad-udh",        "bad-mti",
		                                    "bad-udl",   "bad-time",    "trailing-octets"};
		for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
			if (!strncmp(err.msg, codes[i], strlen(codes[i])))
				return 0;
		fuzz_fail("decode error without a documented code", data, size, err.msg);
	}
	if (tpdu_fields(&t1, f1, sizeof f1) < 0)
		fuzz_fail("fields of the decoded unit", data, size, NULL);
	char text[481];
	(void)tpdu_text(&t1, text, sizeof text, NULL);
	uint8_t enc[TPDU_MAX_LEN];
	size_t len, tlen;
	if (tpdu_encode(&t1, enc, sizeof enc, &len, &tlen, &err) != 0)
		fuzz_fail("the decoded unit does not encode", data, size, err.msg);
	if (tpdu_decode(enc, len, flags, &t2, &err) != 0)
		fuzz_fail("the encoded unit does not decode", data, size, err.msg);
	if (tpdu_fields(&t2, f2, sizeof f2) < 0)
		fuzz_fail("fields of the re-decoded unit", data, size, NULL);
	if (!(flags & TPDU_LENIENT) && strcmp(f1, f2) != 0)
		fuzz_fail("strict: the round trip changed a field", data, size, NULL);
	return 0;
}

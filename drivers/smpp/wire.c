/* SMPP helpers shared by client and server sessions: see wire.h. */
#include "smpp/wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/ucs2.h"
#include "codec/udh.h"
#include "codec/utf8.h"
#include "msg_sms.h"
#include "util.h"

enum smpp_alphabet smpp_wire_alphabet(uint8_t dc)
{
	switch (dc) {
	case 0x00:
		return SMPP_ALPHA_GSM;
	case 0x01:
		return SMPP_ALPHA_ASCII;
	case 0x03:
		return SMPP_ALPHA_LATIN1;
	case 0x08:
		return SMPP_ALPHA_UCS2;
	}
	if (dc <= 0x0F)
		return SMPP_ALPHA_BINARY; /* 8-bit, JIS, Cyrillic, Hebrew ...: kept as octets */
	if ((dc & 0xC0) == 0x00) {        /* 23.038 general data coding */
		if (dc & 0x20)
			return SMPP_ALPHA_BINARY; /* compressed */
		unsigned a = (dc >> 2) & 3;
		return a == 0 ? SMPP_ALPHA_GSM : a == 2 ? SMPP_ALPHA_UCS2 : SMPP_ALPHA_BINARY;
	}
	if ((dc & 0xF0) == 0xF0)
		return dc & 0x04 ? SMPP_ALPHA_BINARY : SMPP_ALPHA_GSM;
	if ((dc & 0xF0) == 0xC0 || (dc & 0xF0) == 0xD0)
		return SMPP_ALPHA_GSM;
	if ((dc & 0xF0) == 0xE0)
		return SMPP_ALPHA_UCS2;
	return SMPP_ALPHA_BINARY;
}

enum smpp_alphabet smpp_wire_alphabet_dc0(uint8_t dc, const char *dc0)
{
	if (dc == 0 && dc0 && strcmp(dc0, "latin1") == 0)
		return SMPP_ALPHA_LATIN1;
	if (dc == 0 && dc0 && strcmp(dc0, "ascii") == 0)
		return SMPP_ALPHA_ASCII;
	return smpp_wire_alphabet(dc);
}

void smpp_wire_langs(const uint8_t *udh, size_t len, int *lock, int *shift)
{
	struct udh u;
	struct errbuf err;
	*lock = *shift = 0;
	if (!udh || len == 0 || udh_parse(udh, len, &u, &err))
		return;
	if (u.locking_shift > 0 && u.locking_shift < GSM7_LANG_COUNT && gsm7_lang_has_lock(u.locking_shift))
		*lock = u.locking_shift;
	if (u.single_shift > 0 && u.single_shift < GSM7_LANG_COUNT)
		*shift = u.single_shift;
}

void smpp_wire_text(enum smpp_alphabet a, const uint8_t *d, size_t n, char **body, char **payload, char **encoding)
{
	smpp_wire_text_lang(a, 0, 0, d, n, body, payload, encoding);
}

void smpp_wire_text_lang(enum smpp_alphabet a, int lock, int shift, const uint8_t *d, size_t n, char **body,
                         char **payload, char **encoding)
{
	if (a == SMPP_ALPHA_GSM) {
		bool septets = true;
		for (size_t i = 0; i < n; i++)
			septets &= d[i] < 0x80;
		char *u = xmalloc(3 * n + 1);
		if (septets && gsm7_to_utf8(d, n, lock, shift, u, 3 * n + 1, NULL) == 0) {
			*body = u;
			*encoding = xstrdup("gsm7");
			return;
		}
		free(u);
		a = SMPP_ALPHA_LATIN1; /* octets above 0x7F: not septets, most likely Latin-1 */
	}
	if (a == SMPP_ALPHA_UCS2 && n % 2 == 0) {
		char *u = xmalloc(3 * (n / 2) + 1);
		if (ucs2_to_utf8(d, n, u, 3 * (n / 2) + 1, NULL) == 0) {
			*body = u;
			*encoding = xstrdup("ucs2");
			return;
		}
		free(u);
	}
	if (a == SMPP_ALPHA_ASCII || a == SMPP_ALPHA_LATIN1) {
		char *u = xmalloc(2 * n + 1);
		size_t o = 0;
		for (size_t i = 0; i < n; i++)
			o += utf8_encode(d[i], u + o);
		u[o] = 0;
		*body = u;
		*encoding = xstrdup(a == SMPP_ALPHA_ASCII ? "ascii" : "latin1");
		return;
	}
	*payload = msg_sms_hex(d, n);
	*encoding = xstrdup("binary");
}

char *smpp_wire_address_in(uint8_t ton, const char *addr)
{
	bool digits = *addr != 0;
	for (const char *p = addr; *p; p++)
		digits &= *p >= '0' && *p <= '9';
	if (ton == 1 && digits) {
		char *a = xmalloc(strlen(addr) + 2);
		a[0] = '+';
		strcpy(a + 1, addr);
		return a;
	}
	return xstrdup(addr);
}

void smpp_wire_pdu_reset(struct smpp_pdu *p, uint32_t command_id, uint32_t seq)
{
	memset(p, 0, offsetof(struct smpp_pdu, number_of_dests));
	p->number_of_dests = 0;
	p->no_unsuccess = 0;
	p->tlv_count = 0;
	p->command_id = command_id;
	p->sequence_number = seq;
}

long smpp_wire_frame(const uint8_t *buf, size_t len, struct errbuf *err)
{
	size_t need;
	struct smpp_pdu_error e;
	if (len < 4)
		return 0;
	if (smpp_pdu_frame(buf, 4, &need, &e) < 0) {
		errbuf_set(err, "%s", e.reason);
		return -1;
	}
	return (long)need;
}

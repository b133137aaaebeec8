/*
 * `smspool decode ucp`: one frame given as octets (STX and ETX optional)
 * -> the vectors' key=value fields.  A frame that a receiver must refuse
 * (undecodable, wrong checksum, wrong LEN) also gets `error=<reason>` and
 * `answer_EC=<EC a receiver answers>`, and a non-zero status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ucp/frame.h"

/* Appends ";key=value", the value percent-encoded as in the vectors. */
static void append(char *out, size_t cap, const char *key, const char *value)
{
	size_t n = strlen(out);
	n += (size_t)snprintf(out + n, cap - n, "%s%s=", n ? ";" : "", key);
	for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < cap; p++) {
		if (*p < 0x20 || *p >= 0x7F || *p == '%' || *p == ';' || *p == '=')
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
		else
			out[n++] = (char)*p;
	}
	out[n] = '\0';
}

int ucp_frame_print(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	uint8_t *framed = NULL;
	if (len == 0 || buf[0] != UCP_STX) {
		framed = xmalloc(len + 2);
		framed[0] = UCP_STX;
		memcpy(framed + 1, buf, len);
		framed[len + 1] = UCP_ETX;
		buf = framed;
		len += 2;
	}
	struct ucp_frame *f = xmalloc(sizeof *f);
	struct ucp_error err;
	int status = 0;
	char why[200] = "", ec[8] = "";
	if (ucp_frame_decode(buf, len, f, &err) < 0) {
		if (ucp_frame_error_fields(&err, out, cap) < 0)
			abort(); /* the reason is bounded */
		snprintf(why, sizeof why, "%s", err.reason);
		snprintf(ec, sizeof ec, "%02u", err.ec);
	} else {
		if (ucp_frame_fields(f, out, cap) < 0)
			abort(); /* UCP_FIELDS_MAX is sized for any decodable frame */
		if (!f->checksum_ok) {
			snprintf(why, sizeof why, "checksum %02X is wrong", f->checksum);
			snprintf(ec, sizeof ec, "01");
		} else if (!f->len_ok) {
			snprintf(why, sizeof why, "LEN %05u but %zu octets between STX and ETX", f->len, len - 2);
			snprintf(ec, sizeof ec, "02");
		}
	}
	if (why[0]) {
		append(out, cap, "error", why);
		append(out, cap, "answer_EC", ec);
		status = 1;
	}
	free(f);
	free(framed);
	return status;
}

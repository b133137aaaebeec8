/* msg_parts: see msg_parts.h. */
#include "msg_parts.h"

#include <stdlib.h>
#include <string.h>

#include "codec/sms.h"

int msg_parts(const struct msg *m, const char **encoding, struct errbuf *err)
{
	struct sms_split_opts opts = {0};
	struct sms_split out = {0};
	if (sms_encoding_from_name(m->encoding ? m->encoding : "auto", &opts.encoding))
		return errbuf_set(err, "unknown encoding \"%s\"", m->encoding);
	if (opts.encoding != SMS_ENC_BINARY) {
		const char *body = m->body ? m->body : "";
		if (sms_count_parts(body, strlen(body), &opts, &out, err))
			return -1;
		if (encoding)
			*encoding = sms_encoding_name(out.encoding);
		return (int)out.n_parts;
	}
	size_t plen = m->payload ? strlen(m->payload) / 2 : 0, ulen = m->udh ? strlen(m->udh) / 2 : 0;
	uint8_t *payload = xmalloc(plen + 1), *udh = xmalloc(ulen + 1);
	int rc = -1;
	int np = m->payload ? hex_decode(m->payload, payload, plen) : 0;
	int nu = m->udh ? hex_decode(m->udh, udh, ulen) : 0;
	if (np < 0 || nu < 0) {
		errbuf_set(err, "payload or udh is not valid hex");
		goto out;
	}
	if (nu > 0) {
		/* The column holds a whole UDH; the codec wants its IEs. */
		if (udh[0] != nu - 1) {
			errbuf_set(err, "udh: its length octet does not match its size");
			goto out;
		}
		opts.extra_ies = udh + 1;
		opts.extra_ies_len = (size_t)nu - 1;
	}
	if (sms_count_parts((const char *)payload, (size_t)np, &opts, &out, err) == 0) {
		rc = (int)out.n_parts;
		if (encoding)
			*encoding = "binary";
	}
out:
	free(payload);
	free(udh);
	return rc;
}

/*
 * decode_sms: `smspool decode sms-pdu [--no-smsc] HEX` — a 23.040 TPDU,
 * with the 27.005 SMSC field in front unless --no-smsc, printed as the
 * key=value lines of tests/vectors/sms-pdu.tsv.  A malformed unit prints
 * `error=<code>` and `reason=<text>` and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "codec/tpdu.h"
#include "util.h"

int cli_decode_sms_pdu(const uint8_t *buf, size_t len, bool with_smsc)
{
	struct tpdu *t = xmalloc(sizeof *t);
	struct errbuf err;
	int status = 0;
	if (tpdu_decode(buf, len, with_smsc ? TPDU_WITH_SMSC : 0, t, &err) < 0) {
		const char *colon = strchr(err.msg, ':');
		size_t n = colon ? (size_t)(colon - err.msg) : strlen(err.msg);
		printf("error=%.*s\n", (int)n, err.msg);
		if (colon)
			printf("reason=%s\n", colon[1] == ' ' ? colon + 2 : colon + 1);
		status = 1;
	} else {
		char *out = xmalloc(TPDU_FIELDS_MAX);
		if (tpdu_fields(t, out, TPDU_FIELDS_MAX) < 0) {
			printf("error=internal\n");
			status = 1;
		} else {
			for (char *p = out; *p;) {
				size_t n = strcspn(p, ";");
				printf("%.*s\n", (int)n, p);
				p += n + (p[n] == ';');
			}
		}
		free(out);
	}
	free(t);
	return status;
}

/*
 * `smspool decode fbus HEX`: one FBUS v2 frame printed as key=value lines in
 * the names of tests/vectors/fbus.tsv.  A frame with bad checksums is still
 * shown (checksum_ok=0) followed by error=checksum; one that cannot be cut
 * out at all prints parse_error= and error=.  Exit status 1 for either.
 */
#include "fbus/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbus/frame.h"

static void fbus_decode_lines(const char *fields)
{
	for (const char *p = fields; *p;) {
		size_t n = strcspn(p, ";");
		printf("%.*s\n", (int)n, p);
		p += n;
		if (*p == ';')
			p++;
	}
}

int fbus_decode_print(const uint8_t *buf, size_t len)
{
	struct fbus_frame *f = xmalloc(sizeof *f);
	struct fbus_error err = {0};
	char *out = xmalloc(FBUS_FIELDS_MAX);
	int status = 0;
	int rc = fbus_frame_decode(buf, len, f, &err);
	if (rc == 0 || !strcmp(err.what, "checksum")) {
		if (fbus_frame_fields(f, out, FBUS_FIELDS_MAX) < 0)
			abort(); /* FBUS_FIELDS_MAX holds any frame */
	} else if (fbus_error_fields(&err, out, FBUS_FIELDS_MAX) < 0) {
		abort();
	}
	fbus_decode_lines(out);
	if (rc) {
		printf("error=%s\n", err.what);
		status = 1;
	}
	free(out);
	free(f);
	return status;
}

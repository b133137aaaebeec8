/*
 * `smspool decode fbus HEX`: one FBUS v2 frame as "key=value;..." in the
 * names of tests/vectors/fbus.tsv (src/cli/decode.c prints them one a
 * line).  A frame with bad checksums is still shown (checksum_ok=0)
 * followed by error=checksum; one that cannot be cut out at all gives
 * parse_error= and error=.
 */
#include "fbus/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbus/frame.h"

int fbus_decode_fields(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	struct fbus_frame *f = xmalloc(sizeof *f);
	struct fbus_error err = {0};
	int rc = fbus_frame_decode(buf, len, f, &err);
	int n = rc == 0 || !strcmp(err.what, "checksum") ? fbus_frame_fields(f, out, cap)
	                                                 : fbus_error_fields(&err, out, cap);
	free(f);
	if (n < 0 || (size_t)n + 32 > cap)
		abort(); /* callers give FBUS_FIELDS_MAX, which holds any frame */
	if (rc == 0)
		return 0;
	snprintf(out + n, cap - (size_t)n, ";error=%s", err.what);
	return 1;
}

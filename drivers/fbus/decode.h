/* decode: the fields `smspool decode fbus` prints (see decode.c). */
#ifndef SMSPOOL_FBUS_DECODE_H
#define SMSPOOL_FBUS_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "fbus/frame.h"

/* Writes the fields of the frame buf (len octets, borrowed) into out (cap
 * >= FBUS_FIELDS_MAX).  Returns the exit status: 0 decoded, 1 invalid. */
int fbus_decode_fields(const uint8_t *buf, size_t len, char *out, size_t cap);

#endif

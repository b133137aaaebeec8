/* decode: the `smspool decode fbus` printer (see decode.c). */
#ifndef SMSPOOL_FBUS_DECODE_H
#define SMSPOOL_FBUS_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Prints the frame buf (len octets, borrowed); returns the exit status. */
int fbus_decode_print(const uint8_t *buf, size_t len);

#endif

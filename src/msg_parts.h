/* msg_parts: how many parts an outbound message takes with default options
 * (the shared codec's choice), for drivers that do not split themselves. */
#ifndef SMSPOOL_MSG_PARTS_H
#define SMSPOOL_MSG_PARTS_H

#include "errbuf.h"
#include "msg.h"
#include "util.h"

/* Returns the number of parts (>= 1), or -1 with err set when the message
 * cannot be encoded (bad hex, unrepresentable text, too long).  encoding
 * (may be NULL) receives the chosen encoding's name: gsm7, ucs2, binary. */
MUST_CHECK int msg_parts(const struct msg *m, const char **encoding, struct errbuf *err);

#endif

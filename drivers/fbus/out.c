/*
 * Outbound parts of the fbus driver: a lent message and its SMS-SUBMIT
 * TPDUs, built by the shared src/msg_sms.c (split, encoded, TP-SRR when the
 * row wants a report), sent one part at a time.
 */
#include <stdlib.h>

#include "fbus/fbus.h"
#include "msg_sms.h"

void fbus_out_free(struct fbus_out *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->n_parts; i++)
		free(o->ids[i]);
	free(o->ids);
	free(o->parts);
	free(o);
}

struct fbus_out *fbus_out_new(struct msg *m, const char *smsc, struct errbuf *err)
{
	int n = 0;
	struct tpdu *parts = msg_sms_submits(m, smsc, &n, err);
	if (!parts)
		return NULL;
	struct fbus_out *o = xcalloc(1, sizeof *o);
	o->m = m;
	o->n_parts = n;
	o->parts = parts;
	o->ids = xcalloc((size_t)n, sizeof *o->ids);
	return o;
}

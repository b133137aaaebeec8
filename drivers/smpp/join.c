/*
 * smpp join: see join.h (the holder is net/join.c).
 */
#include "smpp/join.h"

#include <string.h>

#include "codec/udh.h"
#include "errbuf.h"

int smpp_join_info(const struct smpp_pdu *p, const uint8_t *d, size_t n, struct smpp_join_info *out)
{
	memset(out, 0, sizeof *out);
	if ((p->esm_class & 0x40) && n > 0) {
		struct udh u;
		struct errbuf err;
		if (udh_parse(d, n, &u, &err))
			return -1;
		out->udh_len = u.len;
		if (u.has_concat) {
			out->ref = u.concat_ref;
			out->total = u.concat_total;
			out->seq = u.concat_seq;
			out->multi = out->total >= 2;
			return 0;
		}
	}
	const struct smpp_pdu_known *k = &p->known;
	if (k->has_sar_msg_ref_num && k->has_sar_total_segments && k->has_sar_segment_seqnum) {
		if (k->sar_total_segments == 0 || k->sar_segment_seqnum == 0 ||
		    k->sar_segment_seqnum > k->sar_total_segments)
			return -1;
		out->ref = k->sar_msg_ref_num;
		out->total = k->sar_total_segments;
		out->seq = k->sar_segment_seqnum;
		out->multi = out->total >= 2;
	}
	return 0;
}

/* link frame printing for `smspool decode link`: one key=value line per
 * field, values percent-encoded as in tests/vectors (%, ;, =, control
 * characters, DEL and every non-ASCII byte), binary fields as hex. */
#include <inttypes.h>

#include "link/frame.h"

static void put_str(FILE *out, const char *key, const char *v)
{
	fprintf(out, "%s=", key);
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
		if (*p == '%' || *p == ';' || *p == '=' || *p < 0x20 || *p >= 0x7F)
			fprintf(out, "%%%02X", *p);
		else
			fputc(*p, out);
	}
	fputc('\n', out);
}

static void put_hex(FILE *out, const char *key, ProtobufCBinaryData b)
{
	fprintf(out, "%s=", key);
	for (size_t i = 0; i < b.len; i++)
		fprintf(out, "%02X", b.data[i]);
	fputc('\n', out);
}

static void put_message(FILE *out, size_t i, const Smspool__Link__Message *m)
{
	char k[64];
#define S(field)                                                                                                       \
	snprintf(k, sizeof k, "message.%zu." #field, i);                                                               \
	put_str(out, k, m->field)
	S(key);
	S(recipient);
	S(sender);
	S(body);
	S(encoding);
	S(client_ref);
#undef S
	snprintf(k, sizeof k, "message.%zu.payload", i);
	put_hex(out, k, m->payload);
	snprintf(k, sizeof k, "message.%zu.udh", i);
	put_hex(out, k, m->udh);
	fprintf(out,
	        "message.%zu.priority=%" PRIu32 "\nmessage.%zu.send_after_ms=%" PRId64
	        "\nmessage.%zu.valid_until_ms=%" PRId64
	        "\nmessage.%zu.want_report=%d\nmessage.%zu.flash=%d\nmessage.%zu.msg_class=%" PRId32 "\n",
	        i, m->priority, i, m->send_after_ms, i, m->valid_until_ms, i, m->want_report, i, m->flash, i,
	        m->msg_class);
}

static void put_state(FILE *out, size_t i, const Smspool__Link__State *s)
{
	char k[64];
#define S(field)                                                                                                       \
	snprintf(k, sizeof k, "state.%zu." #field, i);                                                                 \
	put_str(out, k, s->field)
	S(key);
	S(status);
	S(error_class);
	S(error_code);
	S(error_text);
#undef S
	for (size_t p = 0; p < s->n_part_status; p++) {
		snprintf(k, sizeof k, "state.%zu.part.%zu", i, p + 1);
		put_str(out, k, s->part_status[p]);
	}
	fprintf(out, "state.%zu.at_ms=%" PRId64 "\n", i, s->at_ms);
	fprintf(out, "state.%zu.id=%" PRId64 "\n", i, s->id);
	if (s->client_id)
		fprintf(out, "state.%zu.client_id=%" PRId64 "\n", i, s->client_id);
}

static void put_inbound(FILE *out, size_t i, const Smspool__Link__Inbound *m)
{
	char k[64];
#define S(field)                                                                                                       \
	snprintf(k, sizeof k, "inbound.%zu." #field, i);                                                               \
	put_str(out, k, m->field)
	S(key);
	S(sender);
	S(recipient);
	S(body);
	S(encoding);
#undef S
	snprintf(k, sizeof k, "inbound.%zu.payload", i);
	put_hex(out, k, m->payload);
	snprintf(k, sizeof k, "inbound.%zu.udh", i);
	put_hex(out, k, m->udh);
	fprintf(out, "inbound.%zu.parts=%" PRIu32 "\ninbound.%zu.smsc_ts_ms=%" PRId64 "\n", i, m->parts, i,
	        m->smsc_ts_ms);
}

void link_frame_print(const link_frame_t *f, FILE *out)
{
	fprintf(out, "type=%s\n", link_frame_type(f));
	switch (f->body_case) {
	case SMSPOOL__LINK__FRAME__BODY_HELLO:
		fprintf(out, "version=%" PRIu32 "\n", f->hello->version);
		put_str(out, "instance", f->hello->instance);
		put_str(out, "account", f->hello->account);
		fprintf(out, "password=%s\n", f->hello->password && *f->hello->password ? "(set)" : "");
		fprintf(out, "max_frame=%" PRIu32 "\n", f->hello->max_frame);
		fprintf(out, "part_states=%s\n", f->hello->part_states ? "true" : "false");
		fprintf(out, "client_ids=%s\n", f->hello->client_ids ? "true" : "false");
		break;
	case SMSPOOL__LINK__FRAME__BODY_HELLO_ACK:
		fprintf(out, "version=%" PRIu32 "\n", f->hello_ack->version);
		put_str(out, "instance", f->hello_ack->instance);
		fprintf(out, "max_frame=%" PRIu32 "\n", f->hello_ack->max_frame);
		fprintf(out, "part_states=%s\n", f->hello_ack->part_states ? "true" : "false");
		fprintf(out, "client_ids=%s\n", f->hello_ack->client_ids ? "true" : "false");
		break;
	case SMSPOOL__LINK__FRAME__BODY_BATCH:
		fprintf(out, "seq=%" PRIu64 "\nmessages=%zu\n", f->batch->seq, f->batch->n_messages);
		for (size_t i = 0; i < f->batch->n_messages; i++)
			put_message(out, i, f->batch->messages[i]);
		break;
	case SMSPOOL__LINK__FRAME__BODY_BATCH_ACK:
		fprintf(out, "seq=%" PRIu64 "\nresults=%zu\n", f->batch_ack->seq, f->batch_ack->n_results);
		for (size_t i = 0; i < f->batch_ack->n_results; i++) {
			const Smspool__Link__Result *r = f->batch_ack->results[i];
			char k[48];
			snprintf(k, sizeof k, "result.%zu.key", i);
			put_str(out, k, r->key);
			fprintf(out, "result.%zu.id=%" PRId64 "\n", i, r->id);
			snprintf(k, sizeof k, "result.%zu.error_class", i);
			put_str(out, k, r->error_class);
			snprintf(k, sizeof k, "result.%zu.error", i);
			put_str(out, k, r->error);
			if (r->error_field && *r->error_field) {
				snprintf(k, sizeof k, "result.%zu.error_field", i);
				put_str(out, k, r->error_field);
			}
		}
		break;
	case SMSPOOL__LINK__FRAME__BODY_STATES:
		fprintf(out, "seq=%" PRIu64 "\nstates=%zu\n", f->states->seq, f->states->n_states);
		for (size_t i = 0; i < f->states->n_states; i++)
			put_state(out, i, f->states->states[i]);
		break;
	case SMSPOOL__LINK__FRAME__BODY_INBOUNDS:
		fprintf(out, "seq=%" PRIu64 "\ninbounds=%zu\n", f->inbounds->seq, f->inbounds->n_messages);
		for (size_t i = 0; i < f->inbounds->n_messages; i++)
			put_inbound(out, i, f->inbounds->messages[i]);
		break;
	case SMSPOOL__LINK__FRAME__BODY_ACK:
		fprintf(out, "seq=%" PRIu64 "\n", f->ack->seq);
		break;
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT:
		fprintf(out, "seq=%" PRIu64 "\n", f->heartbeat->seq);
		break;
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK:
		fprintf(out, "seq=%" PRIu64 "\n", f->heartbeat_ack->seq);
		break;
	case SMSPOOL__LINK__FRAME__BODY_ERROR:
		put_str(out, "code", f->error->code);
		put_str(out, "text", f->error->text);
		break;
	default:
		break;
	}
}

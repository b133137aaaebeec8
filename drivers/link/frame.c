/* link frame: see frame.h. */
#include "link/frame.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codec/utf8.h"

long link_frame_length(const uint8_t *buf, size_t len, size_t max_frame)
{
	if (len < LINK_HEADER)
		return 0;
	uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (n > max_frame)
		return -1;
	return (long)n + LINK_HEADER;
}

static int check_str(const char *s, const char *what, size_t max, struct errbuf *err)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (n > max)
		return errbuf_set(err, "%s: longer than %zu bytes", what, max);
	size_t bad;
	if (utf8_validate(s, n, &bad))
		return errbuf_set(err, "%s: not UTF-8 (byte %zu)", what, bad);
	return 0;
}

static int check_message(const Smspool__Link__Message *m, size_t i, struct errbuf *err)
{
	char what[48];
	snprintf(what, sizeof what, "message %zu", i);
	if (!m->key || !*m->key)
		return errbuf_set(err, "%s: no key", what);
	if (check_str(m->key, "key", 200, err) || check_str(m->recipient, "recipient", 32, err) ||
	    check_str(m->sender, "sender", 64, err) || check_str(m->body, "body", 160000, err) ||
	    check_str(m->encoding, "encoding", 16, err) || check_str(m->client_ref, "client_ref", 1024, err))
		return -1;
	if (m->priority > 9)
		return errbuf_set(err, "%s: priority %" PRIu32 " is not 0..9", what, m->priority);
	if (m->msg_class < -1 || m->msg_class > 3)
		return errbuf_set(err, "%s: msg_class %" PRId32 " is not -1..3", what, m->msg_class);
	return 0;
}

static int check_state(const Smspool__Link__State *s, struct errbuf *err)
{
	if (!s->key || !*s->key)
		return errbuf_set(err, "state: no key");
	if (check_str(s->key, "key", 200, err) || check_str(s->status, "status", 32, err) ||
	    check_str(s->error_class, "error_class", 32, err) || check_str(s->error_code, "error_code", 64, err) ||
	    check_str(s->error_text, "error_text", 1024, err))
		return -1;
	if (s->n_part_status > 255)
		return errbuf_set(err, "state: %zu parts", s->n_part_status);
	if (s->client_id < 0)
		return errbuf_set(err, "state: client_id %" PRId64, s->client_id);
	for (size_t i = 0; i < s->n_part_status; i++)
		if (check_str(s->part_status[i], "part_status", 32, err))
			return -1;
	return 0;
}

static int check_inbound(const Smspool__Link__Inbound *m, struct errbuf *err)
{
	if (!m->key || !*m->key)
		return errbuf_set(err, "inbound: no key");
	return check_str(m->key, "key", 200, err) || check_str(m->sender, "sender", 64, err) ||
	               check_str(m->recipient, "recipient", 64, err) || check_str(m->body, "body", 160000, err) ||
	               check_str(m->encoding, "encoding", 16, err)
	           ? -1
	           : 0;
}

/* The protocol's rules beyond the schema. */
static int check_frame(const link_frame_t *f, struct errbuf *err)
{
	switch (f->body_case) {
	case SMSPOOL__LINK__FRAME__BODY_HELLO:
		if (f->hello->version == 0)
			return errbuf_set(err, "hello: no version");
		return check_str(f->hello->instance, "instance", 128, err) ||
		               check_str(f->hello->account, "account", 128, err) ||
		               check_str(f->hello->password, "password", 128, err)
		           ? -1
		           : 0;
	case SMSPOOL__LINK__FRAME__BODY_HELLO_ACK:
		if (f->hello_ack->version == 0)
			return errbuf_set(err, "hello_ack: no version");
		return check_str(f->hello_ack->instance, "instance", 128, err);
	case SMSPOOL__LINK__FRAME__BODY_BATCH:
		if (f->batch->n_messages > LINK_MAX_ITEMS)
			return errbuf_set(err, "batch: %zu messages (at most %d)", f->batch->n_messages,
			                  LINK_MAX_ITEMS);
		for (size_t i = 0; i < f->batch->n_messages; i++)
			if (check_message(f->batch->messages[i], i, err))
				return -1;
		return 0;
	case SMSPOOL__LINK__FRAME__BODY_BATCH_ACK:
		if (f->batch_ack->n_results > LINK_MAX_ITEMS)
			return errbuf_set(err, "batch_ack: %zu results", f->batch_ack->n_results);
		for (size_t i = 0; i < f->batch_ack->n_results; i++) {
			const Smspool__Link__Result *r = f->batch_ack->results[i];
			if (check_str(r->key, "key", 200, err) || check_str(r->error_class, "error_class", 32, err) ||
			    check_str(r->error, "error", 1024, err) ||
			    check_str(r->error_field, "error_field", 32, err))
				return -1;
			if (r->id < 0)
				return errbuf_set(err, "batch_ack: result %zu has id %" PRId64, i, r->id);
		}
		return 0;
	case SMSPOOL__LINK__FRAME__BODY_STATES:
		if (f->states->n_states > LINK_MAX_ITEMS)
			return errbuf_set(err, "states: %zu states", f->states->n_states);
		for (size_t i = 0; i < f->states->n_states; i++)
			if (check_state(f->states->states[i], err))
				return -1;
		return 0;
	case SMSPOOL__LINK__FRAME__BODY_INBOUNDS:
		if (f->inbounds->n_messages > LINK_MAX_ITEMS)
			return errbuf_set(err, "inbounds: %zu messages", f->inbounds->n_messages);
		for (size_t i = 0; i < f->inbounds->n_messages; i++)
			if (check_inbound(f->inbounds->messages[i], err))
				return -1;
		return 0;
	case SMSPOOL__LINK__FRAME__BODY_ERROR:
		return check_str(f->error->code, "code", 32, err) || check_str(f->error->text, "text", 1024, err) ? -1
		                                                                                                  : 0;
	case SMSPOOL__LINK__FRAME__BODY_ACK:
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT:
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK:
		return 0;
	case SMSPOOL__LINK__FRAME__BODY__NOT_SET:
	default:
		return errbuf_set(err, "a frame without a body (or of a type this version does not know)");
	}
}

/* Fields a newer peer added are ignored, as the format's rules say: they
 * are dropped here, at every depth, so that nothing this side does not
 * understand (protobuf-c also keeps field number 0, which is not valid) is
 * ever sent on. */
static void drop_unknown(ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		free(m->unknown_fields[i].data);
	free(m->unknown_fields);
	m->unknown_fields = NULL;
	m->n_unknown_fields = 0;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		char *base = (char *)m;
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(uint32_t *)(base + fd->quantifier_offset) != fd->id)
			continue; /* another member of the oneof is set */
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(base + fd->quantifier_offset);
			ProtobufCMessage **items = *(ProtobufCMessage ***)(base + fd->offset);
			for (size_t k = 0; k < n; k++)
				if (items[k])
					drop_unknown(items[k]);
		} else {
			ProtobufCMessage *sub = *(ProtobufCMessage **)(base + fd->offset);
			if (sub)
				drop_unknown(sub);
		}
	}
}

link_frame_t *link_frame_decode(const uint8_t *buf, size_t len, size_t max_frame, struct errbuf *err)
{
	long want = link_frame_length(buf, len, max_frame);
	if (want < 0) {
		errbuf_set(err, "frame of %zu bytes is over the limit of %zu",
		           len >= 4 ? (size_t)((uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 |
		                               buf[3])
		                    : 0,
		           max_frame);
		return NULL;
	}
	if (want == 0 || (size_t)want != len) {
		errbuf_set(err, "length prefix says %ld bytes, %zu given", want ? want - LINK_HEADER : -1L, len);
		return NULL;
	}
	link_frame_t *f = smspool__link__frame__unpack(NULL, len - LINK_HEADER, buf + LINK_HEADER);
	if (!f) {
		errbuf_set(err, "not a valid link frame (protobuf)");
		return NULL;
	}
	drop_unknown(&f->base);
	if (check_frame(f, err)) {
		smspool__link__frame__free_unpacked(f, NULL);
		return NULL;
	}
	return f;
}

uint8_t *link_frame_encode(const link_frame_t *f, size_t *len)
{
	size_t n = smspool__link__frame__get_packed_size(f);
	uint8_t *out = xmalloc(n + LINK_HEADER);
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	if (smspool__link__frame__pack(f, out + LINK_HEADER) != n)
		abort(); /* protobuf-c packs exactly what it measured */
	*len = n + LINK_HEADER;
	return out;
}

void link_frame_free(link_frame_t *f)
{
	if (f)
		smspool__link__frame__free_unpacked(f, NULL);
}

static const char *const type_names[] = {
    [SMSPOOL__LINK__FRAME__BODY_HELLO] = "hello",
    [SMSPOOL__LINK__FRAME__BODY_HELLO_ACK] = "hello_ack",
    [SMSPOOL__LINK__FRAME__BODY_BATCH] = "batch",
    [SMSPOOL__LINK__FRAME__BODY_BATCH_ACK] = "batch_ack",
    [SMSPOOL__LINK__FRAME__BODY_STATES] = "states",
    [SMSPOOL__LINK__FRAME__BODY_INBOUNDS] = "inbounds",
    [SMSPOOL__LINK__FRAME__BODY_ACK] = "ack",
    [SMSPOOL__LINK__FRAME__BODY_HEARTBEAT] = "heartbeat",
    [SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK] = "heartbeat_ack",
    [SMSPOOL__LINK__FRAME__BODY_ERROR] = "error",
};

const char *link_frame_type(const link_frame_t *f)
{
	unsigned c = (unsigned)f->body_case;
	return c < ARRAY_LEN(type_names) && type_names[c] ? type_names[c] : "unknown";
}

/*
 * SMPP delivery receipt text: a tolerant parser and a formatter.  The parser
 * is a scan for known "key:" words rather than a fixed layout, because
 * SMSCs reorder, drop and re-case fields; only "text:" is special, since its
 * value may contain spaces and colons and so runs to the end.
 */
#include "smpp/receipt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum receipt_key { K_ID, K_SUB, K_DLVRD, K_SUBMIT_DATE, K_DONE_DATE, K_STAT, K_ERR, K_TEXT };

static const struct {
	const char *word; /* as written before the colon, compared ignoring case */
	enum receipt_key key;
} receipt_keys[] = {
    {"id", K_ID},
    {"sub", K_SUB},
    {"dlvrd", K_DLVRD},
    {"submit date", K_SUBMIT_DATE},
    {"submit_date", K_SUBMIT_DATE},
    {"done date", K_DONE_DATE},
    {"done_date", K_DONE_DATE},
    {"stat", K_STAT},
    {"err", K_ERR},
    {"text", K_TEXT},
};

static void receipt_slot(struct smpp_receipt *r, enum receipt_key k, char **buf, size_t *cap, bool **has)
{
	switch (k) {
	case K_ID:
		*buf = r->id, *cap = sizeof r->id, *has = &r->has_id;
		break;
	case K_SUB:
		*buf = r->sub, *cap = sizeof r->sub, *has = &r->has_sub;
		break;
	case K_DLVRD:
		*buf = r->dlvrd, *cap = sizeof r->dlvrd, *has = &r->has_dlvrd;
		break;
	case K_SUBMIT_DATE:
		*buf = r->submit_date, *cap = sizeof r->submit_date, *has = &r->has_submit_date;
		break;
	case K_DONE_DATE:
		*buf = r->done_date, *cap = sizeof r->done_date, *has = &r->has_done_date;
		break;
	case K_STAT:
		*buf = r->stat, *cap = sizeof r->stat, *has = &r->has_stat;
		break;
	case K_ERR:
		*buf = r->err, *cap = sizeof r->err, *has = &r->has_err;
		break;
	case K_TEXT:
		*buf = r->text, *cap = sizeof r->text, *has = &r->has_text;
		break;
	}
}

/* Matches a known key followed by ':' at s (n octets left).  Returns the
 * number of octets consumed including the colon, or 0. */
static size_t receipt_match_key(const char *s, size_t n, enum receipt_key *key)
{
	for (size_t i = 0; i < ARRAY_LEN(receipt_keys); i++) {
		size_t wl = strlen(receipt_keys[i].word);
		if (n > wl && s[wl] == ':' && strncasecmp(s, receipt_keys[i].word, wl) == 0) {
			*key = receipt_keys[i].key;
			return wl + 1;
		}
	}
	return 0;
}

int smpp_receipt_parse(const char *text, size_t len, struct smpp_receipt *r)
{
	memset(r, 0, sizeof *r);
	size_t i = 0;
	while (i < len) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n' || text[i] == '\0') {
			i++;
			continue;
		}
		enum receipt_key key;
		size_t kl = receipt_match_key(text + i, len - i, &key);
		if (!kl) {
			/* An unknown word (vendor key or noise): skip it. */
			while (i < len && text[i] != ' ')
				i++;
			continue;
		}
		i += kl;
		size_t start = i, end;
		if (key == K_TEXT) {
			end = len;
			/* A NUL-terminated short_message must not carry the NUL
			 * into the text. */
			const char *nul = memchr(text + start, '\0', len - start);
			if (nul)
				end = (size_t)(nul - text);
		} else {
			while (i < len && text[i] != ' ' && text[i] != '\0')
				i++;
			end = i;
		}
		char *buf = NULL;
		size_t cap = 0; /* stays 0, and so rejects, if a key had no slot */
		bool *has = NULL;
		receipt_slot(r, key, &buf, &cap, &has);
		if (end - start >= cap || !buf || !has)
			return -EINVAL;
		memcpy(buf, text + start, end - start);
		buf[end - start] = '\0';
		*has = true;
		if (key == K_TEXT)
			break;
	}
	if (!r->has_id)
		return -EINVAL;
	r->state = r->has_stat ? smpp_receipt_state_from_stat(r->stat) : SMPP_RECEIPT_UNKNOWN;
	return 0;
}

int smpp_receipt_format(const struct smpp_receipt *r, char *out, size_t cap)
{
	const char *dlvrd = r->has_dlvrd ? r->dlvrd : (r->state == SMPP_RECEIPT_DELIVERED ? "001" : "000");
	int n = snprintf(out, cap, "id:%s sub:%s dlvrd:%s submit date:%s done date:%s stat:%s err:%s text:%.20s",
	                 r->has_id ? r->id : "", r->has_sub ? r->sub : "001", dlvrd,
	                 r->has_submit_date ? r->submit_date : "", r->has_done_date ? r->done_date : "",
	                 r->has_stat ? r->stat : "UNKNOWN", r->has_err ? r->err : "000", r->has_text ? r->text : "");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static const struct {
	const char *word;
	enum smpp_receipt_state state;
} receipt_stats[] = {
    {"DELIVRD", SMPP_RECEIPT_DELIVERED},    {"DELIVERED", SMPP_RECEIPT_DELIVERED},
    {"UNDELIV", SMPP_RECEIPT_UNDELIVERED},  {"UNDELIVERABLE", SMPP_RECEIPT_UNDELIVERED},
    {"EXPIRED", SMPP_RECEIPT_EXPIRED},      {"REJECTD", SMPP_RECEIPT_REJECTED},
    {"REJECTED", SMPP_RECEIPT_REJECTED},    {"DELETED", SMPP_RECEIPT_DELETED},
    {"ACCEPTD", SMPP_RECEIPT_INTERMEDIATE}, {"ACCEPTED", SMPP_RECEIPT_INTERMEDIATE},
    {"ENROUTE", SMPP_RECEIPT_INTERMEDIATE}, {"UNKNOWN", SMPP_RECEIPT_UNKNOWN},
};

enum smpp_receipt_state smpp_receipt_state_from_stat(const char *stat)
{
	for (size_t i = 0; i < ARRAY_LEN(receipt_stats); i++)
		if (strcasecmp(stat, receipt_stats[i].word) == 0)
			return receipt_stats[i].state;
	return SMPP_RECEIPT_UNKNOWN;
}

enum smpp_receipt_state smpp_receipt_state_from_message_state(uint8_t message_state)
{
	/* v3.4 5.2.28; 9 (SKIPPED) is v5.0 and means the SMSC gave up. */
	switch (message_state) {
	case 1:
		return SMPP_RECEIPT_INTERMEDIATE;
	case 2:
		return SMPP_RECEIPT_DELIVERED;
	case 3:
		return SMPP_RECEIPT_EXPIRED;
	case 4:
		return SMPP_RECEIPT_DELETED;
	case 5:
		return SMPP_RECEIPT_UNDELIVERED;
	case 6:
		return SMPP_RECEIPT_INTERMEDIATE;
	case 8:
		return SMPP_RECEIPT_REJECTED;
	case 9:
		return SMPP_RECEIPT_UNDELIVERED;
	default:
		return SMPP_RECEIPT_UNKNOWN;
	}
}

const char *smpp_receipt_state_name(enum smpp_receipt_state state)
{
	switch (state) {
	case SMPP_RECEIPT_DELIVERED:
		return "delivered";
	case SMPP_RECEIPT_UNDELIVERED:
		return "undelivered";
	case SMPP_RECEIPT_EXPIRED:
		return "expired";
	case SMPP_RECEIPT_REJECTED:
		return "rejected";
	case SMPP_RECEIPT_DELETED:
		return "deleted";
	case SMPP_RECEIPT_INTERMEDIATE:
		return "intermediate";
	case SMPP_RECEIPT_UNKNOWN:
		break;
	}
	return "unknown";
}

bool smpp_receipt_state_is_final(enum smpp_receipt_state state)
{
	/* UNKNOWN counts as final: v3.4 lists it among the final states, and an
	 * SMSC that says it no longer knows will not report again. */
	return state != SMPP_RECEIPT_INTERMEDIATE;
}

/* Parses s entirely in the given base (10 or 16) into *v; false on an empty
 * string, a foreign digit or overflow. */
static bool receipt_parse_num(const char *s, unsigned base, uint64_t *v)
{
	uint64_t acc = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return false;
		if (acc > (UINT64_MAX - d) / base)
			return false;
		acc = acc * base + d;
	}
	*v = acc;
	return true;
}

bool smpp_receipt_id_equal(const char *a, const char *b)
{
	if (strcasecmp(a, b) == 0)
		return true;
	uint64_t x, y;
	if (receipt_parse_num(a, 10, &x) && receipt_parse_num(b, 16, &y) && x == y)
		return true;
	if (receipt_parse_num(a, 16, &x) && receipt_parse_num(b, 10, &y) && x == y)
		return true;
	return false;
}

/*
 * sms_held: received texts that a device keeps in its storage until the
 * database has them, for the drivers that read a modem's or a phone's
 * memory (at, fbus).  A storage location (a SIM index, a phone's folder
 * location; negative: a text the device pushed and did not store) is held
 * from its read until the driver deletes it after the commit:
 * - parts of a long text wait in a set (originator key, reference, total)
 *   while src/codec/reasm.c joins them; the set's locations go with the
 *   joined text;
 * - what went to the core waits under its token until acked.
 * A held location is not handed over again by the next sweep.  Nothing
 * here talks to a device; the driver deletes what a committed token
 * returns.
 */
#ifndef SMSPOOL_SMS_HELD_H
#define SMSPOOL_SMS_HELD_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/reasm.h"
#include "codec/tpdu.h"
#include "codec/udh.h"
#include "driver.h"
#include "msg.h"

/* Locations handed to the core under one token. */
struct sms_held_token {
	uint64_t token;
	int n;
	int64_t locs[REASM_MAX_PARTS];
	struct sms_held_token *next;
};

struct sms_held_set {
	char *key; /* "<alphabet>\x1f<sender>", the reassembler's originator */
	unsigned ref, total;
	int n;
	int64_t locs[REASM_MAX_PARTS];
	struct sms_held_set *next;
};

struct sms_held {
	struct reasm *reasm;
	struct conn *c;
	const char *event; /* log event of a partial text, e.g. "at_partial_text" */
	struct sms_held_set *sets;
	struct sms_held_token *pending; /* handed to the core, not yet acked */
	uint64_t next_token;
	/* The inbound of a joined text from sender (the driver fills sender,
	 * recipient and, if it wants, its key from rm). */
	struct inbound *(*inbound)(void *arg, const char *sender, const struct reasm_msg *rm);
	void *arg;
};

/* Sets h up for connection c: a reassembler of at most max_sets sets
 * waiting timeout_ms.  c, event, inbound and arg are borrowed. */
void sms_held_init(struct sms_held *h, struct conn *c, unsigned max_sets, uint64_t timeout_ms, const char *event,
                   struct inbound *(*inbound)(void *arg, const char *sender, const struct reasm_msg *rm), void *arg);
/* Frees the sets, tokens and the reassembler (what waits in it is
 * dropped: it is still in the device). */
void sms_held_free(struct sms_held *h);

/* A new token for the n locations at locs, pending until sms_held_take. */
uint64_t sms_held_token(struct sms_held *h, const int64_t *locs, int n);
/* The pending entry of token, unlinked (the caller frees it), or NULL. */
struct sms_held_token *sms_held_take(struct sms_held *h, uint64_t token);
/* True when loc waits in a set or under a token. */
bool sms_held_has(const struct sms_held *h, int64_t loc);

/* The concatenation header of t, when t is a part of a long text (a
 * well-formed IE with 1 <= seq <= total, total > 1). */
bool sms_held_is_part(const struct tpdu *t, struct udh *u);
/* Part u of t, read from loc, to the reassembler; the texts it completes
 * go to the core (sms_held_drain).  False when the reassembler refused it
 * (the caller hands it over alone). */
bool sms_held_part(struct sms_held *h, const struct tpdu *t, const struct udh *u, int64_t loc);
/* Hands every joined (or overdue) long text to the core, with a token for
 * its set's locations. */
void sms_held_drain(struct sms_held *h);

#endif

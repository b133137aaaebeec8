/*
 * langs: the national language shift tables a connection may use, as an
 * operator writes them in a setting: "none", "auto" (every table of 3GPP TS
 * 23.038 Annex A), or a comma-separated list of names ("turkish,spanish").
 */
#ifndef SMSPOOL_CODEC_LANGS_H
#define SMSPOOL_CODEC_LANGS_H

#include <stdint.h>

#include "errbuf.h"
#include "util.h"

/* Parses spec (NULL = "none") into an SMS_LANG_BIT() mask for
 * sms_split_opts.national_langs.  Returns 0, or -1 with err naming the
 * unknown language. */
MUST_CHECK int sms_langs_parse(const char *spec, uint32_t *mask, struct errbuf *err);

#endif

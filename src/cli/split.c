/*
 * split: `smspool split [options] TEXT` shows how a message would be sent —
 * the encoding chosen and every part as on the air, one key=value per line —
 * so that operators can answer "why did this cost three SMS?" without the
 * daemon.  A thin shell over sms_split (src/codec/sms.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "codec/gsm7.h"
#include "codec/sms.h"
#include "errbuf.h"
#include "util.h"

static void split_usage(FILE *f)
{
	fputs("usage: smspool split [--encoding auto|gsm7|ucs2|binary] [--languages none|auto|NAME[,NAME...]]\n"
	      "                     [--ref N] [--ref16] [--max-parts N] TEXT\n"
	      "\n"
	      "Shows how TEXT (UTF-8; hex octets with --encoding binary) is split into SMS parts.\n"
	      "--languages lists the 3GPP TS 23.038 national language tables that may be used\n"
	      "(turkish, spanish, portuguese, bengali, gujarati, hindi, kannada, malayalam, oriya,\n"
	      "punjabi, tamil, telugu, urdu); default none.\n"
	      "\n"
	      "Output, one key=value per line: encoding, language/locking_shift/single_shift when\n"
	      "a national table is used, dcs, units, parts, then for each part N (from 1)\n"
	      "part.N.udh (hex, empty when none), part.N.data (hex: GSM 7-bit packed with the fill\n"
	      "bits after the UDH, as on the air; UCS-2 as UTF-16BE octets) and part.N.udl.\n",
	      f);
}

static int split_fail(const char *msg)
{
	fprintf(stderr, "error=%s\n", msg);
	return 1;
}

/* Parses "none", "auto" or a comma-separated list of language names. */
static int split_parse_langs(const char *arg, uint32_t *mask)
{
	char buf[256];

	if (strcmp(arg, "none") == 0) {
		*mask = SMS_LANGS_NONE;
		return 0;
	}
	if (strcmp(arg, "auto") == 0) {
		*mask = SMS_LANGS_AUTO;
		return 0;
	}
	if (strlen(arg) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, arg);
	*mask = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int lang = gsm7_lang_from_name(tok);
		if (lang <= 0)
			return -EINVAL;
		*mask |= SMS_LANG_BIT(lang);
	}
	return 0;
}

static int split_parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static void split_print_hex(const char *key, unsigned n, const uint8_t *b, size_t len)
{
	char hex[2 * SMS_UD_MAX + 1];

	hex_encode(b, len, hex);
	printf("part.%u.%s=%s\n", n, key, hex);
}

int cli_split(int argc, char **argv)
{
	struct sms_split_opts opts = {.encoding = SMS_ENC_AUTO, .national_langs = SMS_LANGS_NONE};
	const char *text = NULL;
	bool opts_done = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (!opts_done && strncmp(a, "--", 2) == 0) {
			if (strcmp(a, "--") == 0) {
				opts_done = true;
				continue;
			}
			if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
				split_usage(stdout);
				return 0;
			}
			if (strcmp(a, "--ref16") == 0) {
				opts.ref16 = true;
				continue;
			}
			const char *eq = strchr(a, '=');
			char name[32];
			size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
			if (nlen >= sizeof name)
				return split_fail("unknown option");
			memcpy(name, a, nlen);
			name[nlen] = '\0';
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return split_fail("option needs a value");
			if (strcmp(name, "--encoding") == 0) {
				if (sms_encoding_from_name(val, &opts.encoding) < 0)
					return split_fail("bad --encoding (auto, gsm7, ucs2 or binary)");
			} else if (strcmp(name, "--languages") == 0 || strcmp(name, "--language") == 0) {
				if (split_parse_langs(val, &opts.national_langs) < 0)
					return split_fail("bad --languages");
			} else if (strcmp(name, "--ref") == 0) {
				if (split_parse_uint(val, 0xFFFF, &opts.concat_ref) < 0)
					return split_fail("bad --ref");
			} else if (strcmp(name, "--max-parts") == 0) {
				if (split_parse_uint(val, SMS_MAX_PARTS, &opts.max_parts) < 0)
					return split_fail("bad --max-parts");
			} else {
				return split_fail("unknown option");
			}
			continue;
		}
		if (text)
			return split_fail("more than one TEXT");
		text = a;
	}
	if (!text) {
		split_usage(stderr);
		return split_fail("TEXT missing");
	}
	if (!opts.ref16 && opts.concat_ref > 0xFF)
		return split_fail("--ref above 255 needs --ref16");

	const char *data = text;
	size_t len = strlen(text);
	uint8_t *bin = NULL;
	if (opts.encoding == SMS_ENC_BINARY) {
		bin = xmalloc(len / 2 + 1);
		int n = hex_decode(text, bin, len / 2 + 1);
		if (n < 0) {
			free(bin);
			return split_fail("binary TEXT must be hex");
		}
		data = (const char *)bin;
		len = (size_t)n;
	}

	struct sms_split out = {.parts = xcalloc(SMS_MAX_PARTS, sizeof(struct sms_part)), .parts_cap = SMS_MAX_PARTS};
	struct errbuf err = {{0}};
	int rc = sms_split(data, len, &opts, &out, &err);
	free(bin);
	if (rc < 0) {
		free(out.parts);
		return split_fail(err.msg);
	}
	printf("encoding=%s\n", sms_encoding_name(out.encoding));
	if (out.lock_lang || out.shift_lang) {
		printf("language=%s\n", gsm7_lang_name(out.lock_lang ? out.lock_lang : out.shift_lang));
		if (out.lock_lang)
			printf("locking_shift=%s\n", gsm7_lang_name(out.lock_lang));
		if (out.shift_lang)
			printf("single_shift=%s\n", gsm7_lang_name(out.shift_lang));
	}
	printf("dcs=0x%02X\n", out.dcs);
	printf("units=%zu\n", out.units);
	printf("parts=%u\n", out.n_parts);
	for (unsigned i = 0; i < out.n_parts; i++) {
		const struct sms_part *p = &out.parts[i];
		split_print_hex("udh", i + 1, p->udh, p->udh_len);
		split_print_hex("data", i + 1, p->ud + p->udh_len, p->ud_len - p->udh_len);
		printf("part.%u.udl=%zu\n", i + 1, p->udl);
	}
	free(out.parts);
	return fflush(stdout) == 0 ? 0 : 1;
}

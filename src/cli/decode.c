/*
 * `smspool decode PROTOCOL HEX`: decodes one protocol unit given in hex and
 * prints its fields as key=value lines, in exactly the keys and value
 * conventions of tests/vectors, so that a capture can be compared with a
 * vector by eye or by diff.  Protocols are rows of decode_protocols[]; a new
 * one (ucp, fbus...) is one function and one row.
 *
 * Exit status: 0 decoded, 1 the input is not a valid unit (error_status and
 * reason are printed), 2 usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fbus/decode.h"
#include "link/frame.h"
#include "smpp/pdu.h"
#include "ucp/frame.h"
#include "util.h"

struct decode_protocol {
	const char *name;
	const char *what;
	/* Decodes len octets (borrowed) and prints; returns the exit status. */
	int (*decode)(const uint8_t *buf, size_t len);
};

/* Prints "k=v;k=v" as one "k=v" line each; values never contain ';' since
 * the vectors' percent-encoding escapes it. */
static void decode_print_fields(const char *fields)
{
	for (const char *p = fields; *p;) {
		size_t n = strcspn(p, ";");
		printf("%.*s\n", (int)n, p);
		p += n;
		if (*p == ';')
			p++;
	}
}

static int decode_smpp(const uint8_t *buf, size_t len)
{
	struct smpp_pdu *pdu = xmalloc(sizeof *pdu);
	struct smpp_pdu_error err;
	char *out = xmalloc(SMPP_PDU_FIELDS_MAX);
	int status = 0;
	if (smpp_pdu_decode(buf, len, pdu, &err) < 0) {
		if (smpp_pdu_fields_error(&err, out, SMPP_PDU_FIELDS_MAX) < 0)
			abort(); /* cannot happen: the error text is bounded */
		status = 1;
	} else if (smpp_pdu_fields(pdu, out, SMPP_PDU_FIELDS_MAX) < 0) {
		abort(); /* SMPP_PDU_FIELDS_MAX is sized for any decodable PDU */
	}
	decode_print_fields(out);
	free(out);
	free(pdu);
	return status;
}

static int decode_link(const uint8_t *buf, size_t len)
{
	struct errbuf err;
	link_frame_t *f = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	if (!f) {
		printf("error=%s\n", err.msg);
		return 1;
	}
	link_frame_print(f, stdout);
	link_frame_free(f);
	return 0;
}

/* Set by --no-smsc, before HEX. */
static bool decode_no_smsc;

static int decode_sms_pdu(const uint8_t *buf, size_t len)
{
	return cli_decode_sms_pdu(buf, len, !decode_no_smsc);
}

static int decode_fbus(const uint8_t *buf, size_t len)
{
	char *out = xmalloc(FBUS_FIELDS_MAX);
	int status = fbus_decode_fields(buf, len, out, FBUS_FIELDS_MAX);
	decode_print_fields(out);
	free(out);
	return status;
}

static int decode_ucp(const uint8_t *buf, size_t len)
{
	char *out = xmalloc(UCP_FIELDS_MAX);
	int status = ucp_frame_print(buf, len, out, UCP_FIELDS_MAX);
	decode_print_fields(out);
	free(out);
	return status;
}

static const struct decode_protocol decode_protocols[] = {
    {"smpp", "SMPP PDU, v3.3/3.4/5.0, header included", decode_smpp},
    {"link", "native link frame (length prefix and protobuf body)", decode_link},
    {"sms-pdu", "SMS TPDU (23.040) after the 27.005 SMSC field; --no-smsc: without it", decode_sms_pdu},
    {"fbus", "Nokia FBUS v2 frame, 1E..checksums", decode_fbus},
    {"ucp", "EMI/UCP frame, with or without STX/ETX", decode_ucp},
};

static void decode_usage(FILE *f)
{
	fprintf(f, "usage: smspool decode PROTOCOL [--no-smsc] HEX\n"
	           "       smspool decode PROTOCOL -      (hex read from standard input)\n"
	           "Prints the fields as key=value lines (values percent-encoded as in\n"
	           "tests/vectors/README.md). Exit status 1 if the input is invalid.\n"
	           "Protocols:\n");
	for (size_t i = 0; i < ARRAY_LEN(decode_protocols); i++)
		fprintf(f, "  %-8s %s\n", decode_protocols[i].name, decode_protocols[i].what);
}

/* Returns the hex digits of arg (or of stdin for "-") with white space
 * removed, as a new string the caller frees; NULL if stdin fails. */
static char *decode_read_hex(const char *arg)
{
	char *raw;
	if (strcmp(arg, "-") == 0) {
		size_t cap = 4096, len = 0;
		raw = xmalloc(cap);
		size_t n;
		while ((n = fread(raw + len, 1, cap - len - 1, stdin)) > 0) {
			len += n;
			if (cap - len < 2)
				raw = xrealloc(raw, cap *= 2);
		}
		if (ferror(stdin)) {
			free(raw);
			return NULL;
		}
		raw[len] = '\0';
	} else {
		raw = xstrdup(arg);
	}
	size_t j = 0;
	for (size_t i = 0; raw[i]; i++)
		if (!isspace((unsigned char)raw[i]))
			raw[j++] = raw[i];
	raw[j] = '\0';
	return raw;
}

int cli_decode(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
		decode_usage(stdout);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[2], "--no-smsc")) {
		decode_no_smsc = true;
		argv[2] = argv[3];
		argc = 3;
	}
	if (argc != 3) {
		decode_usage(stderr);
		return 2;
	}
	const struct decode_protocol *proto = NULL;
	for (size_t i = 0; i < ARRAY_LEN(decode_protocols); i++)
		if (!strcmp(decode_protocols[i].name, argv[1]))
			proto = &decode_protocols[i];
	if (!proto) {
		fprintf(stderr, "smspool decode: unknown protocol '%s'\n", argv[1]);
		decode_usage(stderr);
		return 2;
	}
	if (decode_no_smsc && proto->decode != decode_sms_pdu) {
		fprintf(stderr, "smspool decode: --no-smsc is for sms-pdu only\n");
		return 2;
	}
	char *hex = decode_read_hex(argv[2]);
	if (!hex) {
		fprintf(stderr, "smspool decode: reading standard input: %s\n", strerror(errno));
		return 2;
	}
	size_t cap = strlen(hex) / 2;
	uint8_t *buf = xmalloc(cap);
	int n = hex_decode(hex, buf, cap);
	free(hex);
	if (n < 0) {
		fprintf(stderr, "smspool decode: HEX must be an even number of hex digits\n");
		free(buf);
		return 2;
	}
	int status = proto->decode(buf, (size_t)n);
	free(buf);
	return status;
}

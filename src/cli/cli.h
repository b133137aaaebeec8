/*
 * cli: one entry point per `smspool` subcommand.  Each takes the arguments
 * after the subcommand name (argv[0] is the subcommand itself), prints to
 * stdout/stderr and returns the process exit status.
 */
#ifndef SMSPOOL_CLI_H
#define SMSPOOL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cli_run(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_split(int argc, char **argv);        /* src/cli/split.c */
int cli_decode(int argc, char **argv);       /* src/cli/decode.c */
int cli_check_config(int argc, char **argv); /* src/cli/check_config.c */
int cli_odbc(int argc, char **argv);         /* src/cli/odbc.c */
int cli_serial(int argc, char **argv);       /* src/cli/serial.c */
/* src/cli/decode_sms.c: prints one TPDU; returns the exit status. */
int cli_decode_sms_pdu(const uint8_t *buf, size_t len, bool with_smsc);

#endif

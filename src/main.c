/* smspool: the command line.  One subcommand per file under src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
    {"run", cli_run, "run the daemon in the foreground"},
    {"db", cli_db, "init | migrate | status | url: manage the database"},
    {"send", cli_send, "--to N --text T [--from S] [--connection C]: queue one message"},
    {"status", cli_status, "connections, their state and queue depth"},
    {"split", cli_split, "[--encoding auto|gsm7|ucs2] TEXT: show how a text is split into parts"},
    {"decode", cli_decode, "smpp HEX: print a protocol data unit's fields"},
    {"check-config", cli_check_config, "check the configuration, database, schema and connections"},
    {"odbc", cli_odbc, "schema --dialect D: DDL of an odbc connection's default tables"},
    {"serial", cli_serial, "list: the serial ports found (for the at and fbus connections)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: smspool COMMAND [ARGS]   (smspool COMMAND --help for more)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "smspool: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}

/*
 * `smspool serial list`: the serial ports libserialport finds, one per line:
 * the device path, its USB id as the `usb` setting takes it (VID:PID:serial)
 * or "-", and its description.  Pseudo-terminals are not listed (they are
 * not ports libserialport knows); a `port` setting can still name one.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "serial.h"

int cli_serial(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "list") != 0) {
		fprintf(stderr, "usage: smspool serial list\n");
		return 2;
	}
	int n = serial_list(stdout);
	if (n < 0) {
		fprintf(stderr, "smspool serial: cannot enumerate serial ports\n");
		return 1;
	}
	if (n == 0)
		fprintf(stderr, "smspool serial: no serial ports found\n");
	return 0;
}

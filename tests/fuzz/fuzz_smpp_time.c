/*
 * fuzz_smpp_time: the SMPP absolute / relative time parser
 * (smpp_time_parse, drivers/smpp/server_conf.c) on any string.  The first 4
 * octets are "now" (unix seconds), the rest the time text.  Never crashes;
 * what it accepts is "" or 16 characters; an accepted relative time is not
 * before now; an accepted absolute time lies within its century (UTC offset
 * at most 12 h either way), and with offset 00 formats back to its own
 * YYMMDDhhmmss.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smpp/server_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4 || size > 64)
		return 0;
	int64_t now = (int64_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3]);
	char s[64];
	memcpy(s, data + 4, size - 4);
	s[size - 4] = 0;
	int64_t t = -1;
	if (smpp_time_parse(s, now, &t))
		return 0;
	size_t n = strlen(s);
	if (n == 0) {
		if (t != 0)
			abort();
		return 0;
	}
	if (n != 16)
		abort();
	if (s[15] == 'R') {
		if (t < now)
			abort();
		return 0;
	}
	/* 2000-01-01 minus 12 h .. 2100-01-01 plus 12 h */
	if (t < 946684800 - 12 * 3600 || t > 4102444800LL + 12 * 3600)
		abort();
	if (s[13] == '0' && s[14] == '0') {
		time_t tt = (time_t)t;
		struct tm tm;
		char back[16];
		if (!gmtime_r(&tt, &tm))
			abort();
		snprintf(back, sizeof back, "%02d%02d%02d%02d%02d%02d", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
		         tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (memcmp(back, s, 12) != 0)
			abort();
	}
	return 0;
}

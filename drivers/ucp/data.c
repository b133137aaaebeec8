/*
 * EMI/UCP field contents (see data.h).  The GSM alphabet and septet
 * packing come from src/codec/gsm7.c; this file only adds UCP's wrappings:
 * hex text, the semi-octet count in front of an alphanumeric OAdC, XSer's
 * type-length-value list and the two time stamp formats.
 */
#include "ucp/data.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "codec/gsm7.h"

long ucp_data_digits(const char *s, size_t len, size_t n)
{
	if (len != n)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ucp_data_ira_decode(const char *hex, size_t len, uint8_t *out, size_t cap)
{
	if (len % 2)
		return -EINVAL;
	if (len / 2 > cap || len / 2 > (size_t)INT32_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

int ucp_data_ira_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	if (cap < 2 * n + 1)
		return -ENOSPC;
	hex_encode(in, n, out);
	return 0;
}

int ucp_data_oadc_alpha_decode(const char *hex, size_t len, char *out, size_t cap)
{
	uint8_t oct[128];
	if (len < 2 || len / 2 > sizeof oct)
		return -EINVAL;
	int n = ucp_data_ira_decode(hex, len, oct, sizeof oct);
	if (n < 1)
		return -EINVAL;
	size_t septets = (size_t)oct[0] * 4 / 7;
	size_t avail = ((size_t)n - 1) * 8 / 7;
	if (septets > avail)
		septets = avail;
	uint8_t sept[160];
	if (gsm7_unpack(oct + 1, (size_t)n - 1, septets, 0, sept, sizeof sept) != 0)
		return -EINVAL;
	return gsm7_to_utf8(sept, septets, 0, 0, out, cap, NULL) == 0 ? 0 : -EINVAL;
}

int ucp_data_oadc_alpha_encode(const char *utf8, char *out, size_t cap)
{
	uint8_t sept[UCP_ALPHA_MAX_SEPTETS], packed[1 + UCP_ALPHA_MAX_SEPTETS];
	size_t n, plen;
	if (gsm7_from_utf8(utf8, strlen(utf8), 0, 0, sept, sizeof sept, &n, NULL) != 0 || n == 0)
		return -EINVAL;
	if (gsm7_pack(sept, n, 0, false, packed + 1, sizeof packed - 1, &plen) != 0)
		return -EINVAL;
	packed[0] = (uint8_t)((n * 7 + 3) / 4);
	return ucp_data_ira_encode(packed, plen + 1, out, cap);
}

int ucp_data_xser_parse(const char *hex, size_t len, struct ucp_xser *x)
{
	memset(x, 0, sizeof *x);
	size_t p = 0;
	while (p < len) {
		uint8_t tl[2];
		if (len - p < 4 || ucp_data_ira_decode(hex + p, 4, tl, sizeof tl) != 2)
			return -EINVAL;
		p += 4;
		size_t dlen = 2u * tl[1];
		if (len - p < dlen)
			return -EINVAL;
		uint8_t data[255];
		if (ucp_data_ira_decode(hex + p, dlen, data, sizeof data) != (int)tl[1])
			return -EINVAL;
		p += dlen;
		if (tl[0] == 0x01) {
			memcpy(x->udh, data, tl[1]);
			x->udh_len = tl[1];
		} else if (tl[0] == 0x02 && tl[1] == 1) {
			x->has_dcs = true;
			x->dcs = data[0];
		}
	}
	return 0;
}

int ucp_data_xser_build(const uint8_t *udh, size_t udh_len, int dcs, char *out, size_t cap)
{
	if (udh_len > 255 || dcs > 255)
		return -EINVAL;
	size_t need = (udh_len ? 4 + 2 * udh_len : 0) + (dcs >= 0 ? 6 : 0) + 1;
	if (cap < need)
		return -ENOSPC;
	char *o = out;
	if (udh_len) {
		uint8_t tl[2] = {0x01, (uint8_t)udh_len};
		hex_encode(tl, 2, o);
		hex_encode(udh, udh_len, o + 4);
		o += 4 + 2 * udh_len;
	}
	if (dcs >= 0) {
		uint8_t t[3] = {0x02, 0x01, (uint8_t)dcs};
		hex_encode(t, 3, o);
		o += 6;
	}
	*o = '\0';
	return 0;
}

int ucp_data_scts_parse(const char *s, size_t len, int64_t *unix_s)
{
	if (len != 12)
		return -EINVAL;
	int v[6];
	for (int i = 0; i < 6; i++)
		if ((v[i] = (int)ucp_data_digits(s + 2 * i, 2, 2)) < 0)
			return -EINVAL;
	if (v[0] < 1 || v[0] > 31 || v[1] < 1 || v[1] > 12 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -EINVAL;
	struct tm tm = {.tm_mday = v[0],
	                .tm_mon = v[1] - 1,
	                .tm_year = 100 + v[2],
	                .tm_hour = v[3],
	                .tm_min = v[4],
	                .tm_sec = v[5]};
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != v[0]) /* 31 April and the like roll over */
		return -EINVAL;
	*unix_s = (int64_t)t;
	return 0;
}

static void put2(char *o, int v)
{
	unsigned u = (unsigned)v % 100u;
	o[0] = (char)('0' + u / 10);
	o[1] = (char)('0' + u % 10);
}

/* DDMMYYhhmm[ss] in UTC into out (11 or 13 octets with the NUL). */
static void fmt_time(int64_t unix_s, char *out, bool seconds)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	int v[6] = {tm.tm_mday, tm.tm_mon + 1, tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec};
	int n = seconds ? 6 : 5;
	for (int i = 0; i < n; i++)
		put2(out + 2 * i, v[i]);
	out[2 * n] = '\0';
}

void ucp_data_scts_format(int64_t unix_s, char out[13])
{
	fmt_time(unix_s, out, true);
}

void ucp_data_scts_id(int64_t message_id, unsigned part, char out[13])
{
	const int64_t whole = (int64_t)1 << 31, parts = 1000000000;
	uint64_t id = (uint64_t)message_id; /* ids are positive; modular anyway */
	int64_t s = part == 0 ? (int64_t)(id % (uint64_t)whole)
	                      : whole + (int64_t)((id % (uint64_t)parts) * 255u + (part - 1) % 255u) % parts;
	ucp_data_scts_format(UCP_DATA_SCTS_EPOCH + s, out);
}

void ucp_data_time10_format(int64_t unix_s, char out[11])
{
	fmt_time(unix_s, out, false);
}

/* National language settings: names, auto, none, and errors that name the
 * language; and that a chosen table changes the split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/gsm7.h"
#include "codec/langs.h"
#include "codec/sms.h"

static void parses_names(void **state)
{
	(void)state;
	uint32_t m = 123;
	assert_int_equal(sms_langs_parse(NULL, &m, NULL), 0);
	assert_int_equal(m, SMS_LANGS_NONE);
	assert_int_equal(sms_langs_parse("none", &m, NULL), 0);
	assert_int_equal(m, SMS_LANGS_NONE);
	assert_int_equal(sms_langs_parse("auto", &m, NULL), 0);
	assert_int_equal(m, SMS_LANGS_AUTO);
	assert_int_equal(sms_langs_parse("turkish,spanish", &m, NULL), 0);
	assert_int_equal(m, SMS_LANG_BIT(GSM7_LANG_TURKISH) | SMS_LANG_BIT(GSM7_LANG_SPANISH));
	assert_int_equal(sms_langs_parse("Portuguese", &m, NULL), 0);
	assert_int_equal(m, SMS_LANG_BIT(GSM7_LANG_PORTUGUESE));
}

static void refuses_unknown(void **state)
{
	(void)state;
	uint32_t m;
	struct errbuf err = {""};
	assert_int_equal(sms_langs_parse("turkish,klingon", &m, &err), -1);
	assert_non_null(strstr(err.msg, "\"klingon\""));
	assert_int_equal(sms_langs_parse("turkish,,spanish", &m, &err), -1);
	assert_int_equal(sms_langs_parse("default", &m, &err), -1);
}

/* Turkish text with ş/ğ/ı: UCS-2 without tables, GSM 7-bit with Turkish. */
static void turkish_table_saves_parts(void **state)
{
	(void)state;
	const char *text = "Ba\xC5\x9F"
	                   "\xC4\xB1"
	                   "n\xC4\xB1"
	                   " sa\xC4\x9F"
	                   "l\xC4\xB1"
	                   "kla kald\xC4\xB1"
	                   "r, \xC3\xA7"
	                   "ok g\xC3\xBC"
	                   "zel bir g\xC3\xBC"
	                   "n, te\xC5\x9F"
	                   "ekk\xC3\xBC"
	                   "rler ve iyi ak\xC5\x9F"
	                   "amlar diliyorum sevgili arkada\xC5\x9F"
	                   "lar\xC4\xB1"
	                   "m";
	struct sms_split_opts opts = {.encoding = SMS_ENC_AUTO};
	struct sms_split without = {0}, with = {0};
	assert_int_equal(sms_count_parts(text, strlen(text), &opts, &without, NULL), 0);
	assert_int_equal(without.encoding, SMS_ENC_UCS2);
	assert_int_equal(sms_langs_parse("turkish", &opts.national_langs, NULL), 0);
	assert_int_equal(sms_count_parts(text, strlen(text), &opts, &with, NULL), 0);
	assert_int_equal(with.encoding, SMS_ENC_GSM7);
	assert_true(with.n_parts < without.n_parts);
	assert_true(with.lock_lang == GSM7_LANG_TURKISH || with.shift_lang == GSM7_LANG_TURKISH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_names),
	    cmocka_unit_test(refuses_unknown),
	    cmocka_unit_test(turkish_table_saves_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

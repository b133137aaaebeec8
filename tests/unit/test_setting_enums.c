/*
 * test_setting_enums: the settings that take one of a list of values (issue
 * 17) against the code that reads them.  For every driver in the registry
 * and every setting with a list (.choices, drivers/driver.h's settings
 * table):
 *  - every listed value is taken by settings_parse and by the driver's
 *    check() (the parser the daemon runs before open);
 *  - a misspelt value is refused by settings_parse with an error that names
 *    the key and the list, worded as the connections trigger words it;
 *  - the same misspelt value, let through a copy of the table without the
 *    list, is refused by check(): the list is what the driver reads, not a
 *    guess beside it.
 * And the settings audited as taking a list must have one, so that dropping
 * a list fails here (tests/sql/23_setting_enums_all.sql holds the same list
 * for the database side).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "settings.h"
#include "util.h"

/* Settings each driver is valid with, to which the value under test is added. */
static const struct {
	const char *driver, *json;
} bases[] = {
    {"loopback", "{}"},
    {"emulator", "{}"},
    {"http", "{\"url\": \"http://x/\"}"},
    {"smpp", "{\"host\": \"h\", \"system_id\": \"s\"}"},
    {"smpp-server", "{}"},
    {"http-api", "{}"},
    {"odbc", "{\"account\": \"a\", \"dsn\": \"d\"}"},
    {"email", "{\"smtp_url\": \"smtp://h:587\", \"from\": \"a@example.com\", \"mailbox_url\": \"imap://h/INBOX\"}"},
    {"exec", "{\"send_argv\": [\"/bin/true\"]}"},
    {"at", "{\"port\": \"/dev/null\"}"},
    {"fbus", "{\"port\": \"/dev/null\"}"},
    {"ucp", "{\"host\": \"h\", \"port\": 3000}"},
    {"ucp-server", "{}"},
    {"link", "{\"host\": \"h\", \"port\": 7788, \"account\": \"a\"}"},
    {"link-server", "{}"},
};

#define OAUTH "\"oauth_token_url\": \"https://x/token\", \"oauth_client_id\": \"i\", \"oauth_client_secret\": \"s\""

/* What a value needs beside it to be valid, or to be read by check() at all
 * (value NULL: every value of the key). */
static const struct {
	const char *driver, *key, *value, *json;
} companions[] = {
    {"smpp", "interface_version", "3.3", "{\"bind_mode\": \"transmitter+receiver\"}"},
    {"http", "auth", "basic", "{\"username\": \"u\", \"password\": \"p\"}"},
    {"http", "auth", "bearer", "{\"token\": \"t\"}"},
    {"http", "auth", "header", "{\"token\": \"t\"}"},
    {"http", "auth", "query", "{\"token\": \"t\"}"},
    {"http", "auth", "oauth2", "{" OAUTH "}"},
    {"http", "oauth_client_auth", NULL, "{\"auth\": \"oauth2\", " OAUTH "}"},
    {"http", "callback_auth", NULL, "{\"callback_secret\": \"s\", \"callback_username\": \"u\"}"},
    {"http", "callback_sig_method", NULL, "{\"callback_auth\": \"vonage_sig\", \"callback_secret\": \"s\"}"},
};

/* The settings audited as taking one of a list of values (issue 17). */
static const struct {
	const char *driver, *key;
} known[] = {
    {"smpp", "interface_version"},
    {"smpp", "bind_mode"},
    {"smpp", "default_data_coding"},
    {"smpp", "data_coding_0"},
    {"smpp", "receipt_ids"},
    {"smpp", "long_mode"},
    {"smpp-server", "interface_version"},
    {"smpp-server", "data_coding_0"},
    {"http", "method"},
    {"http", "auth"},
    {"http", "oauth_client_auth"},
    {"http", "multipart"},
    {"http", "callback_auth"},
    {"http", "callback_sig_method"},
    {"odbc", "status_updates"},
    {"email", "starttls"},
    {"email", "delete_after"},
    {"email", "sender_from"},
    {"email", "recipient_from"},
    {"at", "mode"},
    {"at", "parity"},
    {"at", "flow_control"},
    {"fbus", "family"},
    {"fbus", "parity"},
    {"fbus", "flow_control"},
    {"ucp", "version"},
    {"ucp", "sender_ton"},
    {"ucp", "amsg_charset"},
};

static const struct setting *setting_of(const struct driver_ops *d, const char *key)
{
	for (const struct setting *s = d->settings; s && s->key; s++)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

/* The '|'-separated words of choices as a new NULL-terminated array. */
static char **words_of(const char *choices)
{
	size_t n = 1;
	for (const char *p = choices; *p; p++)
		n += *p == '|';
	char **w = xcalloc(n + 1, sizeof *w);
	size_t i = 0;
	for (const char *p = choices; p;) {
		const char *bar = strchr(p, '|');
		w[i++] = xstrndup(p, bar ? (size_t)(bar - p) : strlen(p));
		p = bar ? bar + 1 : NULL;
	}
	return w;
}

static void words_free(char **w)
{
	for (char **p = w; *p; p++)
		free(*p);
	free(w);
}

static bool listed(char **w, const char *word)
{
	for (; *w; w++)
		if (strcmp(*w, word) == 0)
			return true;
	return false;
}

/* The list as the trigger prints it: ["a", "b"] or [0, 1, 3]. */
static void list_text(const struct setting *s, char **w, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "[");
	for (size_t i = 0; w[i]; i++)
		n += (size_t)snprintf(out + n, cap - n, s->type == SETTING_INT ? "%s%s" : "%s\"%s\"", i ? ", " : "",
		                      w[i]);
	snprintf(out + n, cap - n, "]");
}

/* The settings text: the driver's base, the companions of key=value, and
 * key set to value (a JSON text; an array's single item). */
static char *settings_with(const struct driver_ops *d, const struct setting *s, const char *value_json,
                           const char *value_word)
{
	json_t *o = NULL;
	for (size_t i = 0; i < ARRAY_LEN(bases); i++)
		if (strcmp(bases[i].driver, d->name) == 0)
			o = json_loads(bases[i].json, 0, NULL);
	if (!o)
		fail_msg("%s: no base settings in bases[] (add the driver there)", d->name);
	for (size_t i = 0; i < ARRAY_LEN(companions); i++)
		if (strcmp(companions[i].driver, d->name) == 0 && strcmp(companions[i].key, s->key) == 0 &&
		    (!companions[i].value || strcmp(companions[i].value, value_word) == 0)) {
			json_t *c = json_loads(companions[i].json, 0, NULL);
			assert_non_null(c);
			json_object_update(o, c);
			json_decref(c);
		}
	json_t *v = json_loads(value_json, JSON_DECODE_ANY, NULL);
	assert_non_null(v);
	if (s->type == SETTING_ARRAY) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	json_object_set_new(o, s->key, v);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Parses text with table and runs d's check: 0, or -1 with err set. */
static int parse_check(const struct driver_ops *d, const struct setting *table, const char *text, struct errbuf *err)
{
	void *conf = xcalloc(1, d->conf_size ? d->conf_size : 1);
	int rc = settings_parse(table, text, conf, err);
	if (rc == 0 && d->check)
		rc = d->check(conf, err);
	settings_free(table, conf);
	free(conf);
	return rc;
}

/* A value outside the list as JSON text: an integer in range not listed,
 * or a listed word misspelt (upper case, or a letter more). */
static void misspelt(const struct setting *s, char **w, char *out, size_t cap)
{
	if (s->type == SETTING_INT) {
		for (long long n = s->has_range ? (long long)s->min : 0; n <= (s->has_range ? (long long)s->max : 1000);
		     n++) {
			snprintf(out, cap, "%lld", n);
			if (!listed(w, out))
				return;
		}
		fail_msg("%s: no integer outside the list", s->key);
	}
	char word[64];
	snprintf(word, sizeof word, "%s", w[0]);
	for (char *p = word; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if (listed(w, word) || strcmp(word, w[0]) == 0)
		snprintf(word, sizeof word, "%sx", w[0]);
	snprintf(out, cap, "\"%s\"", word);
}

static void one_setting(const struct driver_ops *d, const struct setting *s)
{
	char **w = words_of(s->choices);
	struct errbuf err = {""};
	char value[96], *text;
	for (char **p = w; *p; p++) {
		snprintf(value, sizeof value, s->type == SETTING_INT ? "%s" : "\"%s\"", *p);
		text = settings_with(d, s, value, *p);
		if (parse_check(d, d->settings, text, &err))
			fail_msg("%s %s: listed value %s refused: %s (settings %s)", d->name, s->key, value, err.msg,
			         text);
		free(text);
	}

	/* A misspelling: refused by the list, named as the trigger names it. */
	misspelt(s, w, value, sizeof value);
	text = settings_with(d, s, value, "");
	char list[512], want[700];
	list_text(s, w, list, sizeof list);
	snprintf(want, sizeof want, "settings: key \"%s\"%s must be one of %s (got %s)", s->key,
	         s->type == SETTING_ARRAY ? " items" : "", list, value);
	void *conf = xcalloc(1, d->conf_size ? d->conf_size : 1);
	if (settings_parse(d->settings, text, conf, &err) == 0)
		fail_msg("%s %s: %s taken by settings_parse", d->name, s->key, value);
	settings_free(d->settings, conf);
	free(conf);
	if (strcmp(err.msg, want) != 0)
		fail_msg("%s %s: error \"%s\", want \"%s\"", d->name, s->key, err.msg, want);

	/* ... and by the driver's own reading of the value, without the list. */
	size_t n = 0;
	while (d->settings[n].key)
		n++;
	struct setting *bare = xcalloc(n + 1, sizeof *bare);
	memcpy(bare, d->settings, n * sizeof *bare);
	for (size_t i = 0; i < n; i++)
		if (strcmp(bare[i].key, s->key) == 0)
			bare[i].choices = NULL;
	err.msg[0] = 0;
	if (parse_check(d, bare, text, &err) == 0)
		fail_msg("%s %s: the driver takes %s, which the list does not have (settings %s)", d->name, s->key,
		         value, text);
	if (!strstr(err.msg, s->key))
		fail_msg("%s %s: the driver's refusal of %s does not name the key: %s", d->name, s->key, value,
		         err.msg);
	free(bare);
	free(text);
	words_free(w);
}

static void every_list_matches_its_driver(void **state)
{
	(void)state;
	int seen = 0;
	for (const struct driver_ops *const *d = driver_registry; *d; d++)
		for (const struct setting *s = (*d)->settings; s && s->key; s++)
			if (s->choices) {
				assert_true(s->type == SETTING_STRING || s->type == SETTING_INT ||
				            s->type == SETTING_ARRAY);
				one_setting(*d, s);
				seen++;
			}
	assert_true(seen >= 20);
}

static void known_lists_are_declared(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(known); i++) {
		const struct driver_ops *d = driver_find(known[i].driver);
		if (!d) /* built without it (WITH_ODBC=0) */
			continue;
		const struct setting *s = setting_of(d, known[i].key);
		if (!s)
			fail_msg("%s has no setting %s", known[i].driver, known[i].key);
		if (!s->choices)
			fail_msg("%s %s takes one of a list of values but declares no .choices", known[i].driver,
			         known[i].key);
	}
}

/* The drivers' bases are valid as they stand: a refusal above is the value's. */
static void bases_are_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bases); i++) {
		const struct driver_ops *d = driver_find(bases[i].driver);
		if (!d)
			continue;
		struct errbuf err = {""};
		if (parse_check(d, d->settings, bases[i].json, &err))
			fail_msg("%s: base %s refused: %s", d->name, bases[i].json, err.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bases_are_valid),
	    cmocka_unit_test(known_lists_are_declared),
	    cmocka_unit_test(every_list_matches_its_driver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

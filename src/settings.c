/* settings: see settings.h. */
#include "settings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [SETTING_STRING] = "string", [SETTING_INT] = "integer",   [SETTING_NUMBER] = "number",
    [SETTING_BOOL] = "boolean",  [SETTING_OBJECT] = "object", [SETTING_ARRAY] = "array",
};

static const struct setting *find(const struct setting *t, const char *key)
{
	for (; t->key; t++)
		if (strcmp(t->key, key) == 0)
			return t;
	return NULL;
}

/* Whether word is one of the '|'-separated choices. */
static bool in_choices(const char *choices, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = choices; p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* A new JSON array of the choices: numbers for a SETTING_INT, else strings. */
static json_t *choices_json(const struct setting *s)
{
	json_t *e = json_array();
	for (const char *p = s->choices; p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		char *word = xstrndup(p, len);
		json_array_append_new(e, s->type == SETTING_INT ? json_integer(strtoll(word, NULL, 10))
		                                                : json_string(word));
		free(word);
		p = bar ? bar + 1 : NULL;
	}
	return e;
}

/* JSON text of v as PostgreSQL prints a jsonb ("a", 2, ["a", "b"]): new. */
static char *json_text(const json_t *v)
{
	char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_INDENT(0));
	if (!t)
		abort();
	return t;
}

/* The error of a value (or, item true, an array item) outside s->choices,
 * worded as the connections trigger words it (sql/001_core.sql). */
static int choice_error(const struct setting *s, const json_t *got, bool item, struct errbuf *err)
{
	json_t *list = choices_json(s);
	char *l = json_text(list), *g = json_text(got);
	errbuf_set(err, "settings: key \"%s\"%s must be one of %s (got %s)", s->key, item ? " items" : "", l, g);
	free(l);
	free(g);
	json_decref(list);
	return -1;
}

/* Whether every item of array v is a string among s->choices; 0 or -1. */
static int items_in_choices(const struct setting *s, const json_t *v, struct errbuf *err)
{
	size_t i;
	const json_t *item;
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item) || !in_choices(s->choices, json_string_value(item)))
			return choice_error(s, item, true, err);
	}
	return 0;
}

static int store(const struct setting *s, json_t *v, void *conf, struct errbuf *err)
{
	char *field = (char *)conf + s->offset;
	double num;
	switch (s->type) {
	case SETTING_STRING:
		if (!json_is_string(v))
			return errbuf_set(err, "settings.%s: must be a string", s->key);
		if (s->choices && !in_choices(s->choices, json_string_value(v)))
			return choice_error(s, v, false, err);
		free(*(char **)field);
		*(char **)field = xstrdup(json_string_value(v));
		return 0;
	case SETTING_INT:
		if (!json_is_integer(v))
			return errbuf_set(err, "settings.%s: must be an integer", s->key);
		num = (double)json_integer_value(v);
		if (s->has_range && (num < s->min || num > s->max))
			return errbuf_set(err, "settings.%s: must be between %g and %g", s->key, s->min, s->max);
		if (s->choices) {
			char word[32];
			snprintf(word, sizeof word, "%lld", (long long)json_integer_value(v));
			if (!in_choices(s->choices, word))
				return choice_error(s, v, false, err);
		}
		*(long long *)field = json_integer_value(v);
		return 0;
	case SETTING_NUMBER:
		if (!json_is_number(v))
			return errbuf_set(err, "settings.%s: must be a number", s->key);
		num = json_number_value(v);
		if (!isfinite(num) || (s->has_range && (num < s->min || num > s->max)))
			return errbuf_set(err, "settings.%s: must be between %g and %g", s->key, s->min, s->max);
		*(double *)field = num;
		return 0;
	case SETTING_BOOL:
		if (!json_is_boolean(v))
			return errbuf_set(err, "settings.%s: must be true or false", s->key);
		*(bool *)field = json_is_true(v);
		return 0;
	case SETTING_OBJECT:
	case SETTING_ARRAY:
		if (s->type == SETTING_OBJECT ? !json_is_object(v) : !json_is_array(v))
			return errbuf_set(err, "settings.%s: must be an %s", s->key, type_names[s->type]);
		if (s->type == SETTING_ARRAY && s->choices && items_in_choices(s, v, err))
			return -1;
		json_decref(*(json_t **)field);
		*(json_t **)field = json_incref(v);
		return 0;
	}
	return errbuf_set(err, "settings.%s: unsupported type", s->key);
}

int settings_parse(const struct setting *table, const char *json_text, void *conf, struct errbuf *err)
{
	json_error_t jerr;
	json_t *root = json_loads(json_text ? json_text : "{}", JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return errbuf_set(err, "settings: invalid JSON: %s", jerr.text);
	int rc = 0;
	if (!json_is_object(root)) {
		rc = errbuf_set(err, "settings: must be a JSON object");
		goto out;
	}
	for (const struct setting *s = table; s->key; s++) {
		if (!s->def || json_object_get(root, s->key))
			continue;
		json_t *d = json_loads(s->def, JSON_DECODE_ANY, &jerr);
		if (!d) {
			rc = errbuf_set(err, "settings.%s: bad built-in default", s->key);
			goto out;
		}
		rc = store(s, d, conf, err);
		json_decref(d);
		if (rc)
			goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		const struct setting *s = find(table, key);
		if (!s) {
			rc = errbuf_set(err, "settings: unknown key \"%s\"", key);
			goto out;
		}
		if ((rc = store(s, v, conf, err)))
			goto out;
	}
	for (const struct setting *s = table; s->key; s++)
		if (s->required && !json_object_get(root, s->key)) {
			rc = errbuf_set(err, "settings.%s: required", s->key);
			goto out;
		}
out:
	json_decref(root);
	return rc;
}

void settings_free(const struct setting *table, void *conf)
{
	for (const struct setting *s = table; s->key; s++) {
		char *field = (char *)conf + s->offset;
		if (s->type == SETTING_STRING) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (s->type == SETTING_OBJECT || s->type == SETTING_ARRAY) {
			json_decref(*(json_t **)field);
			*(json_t **)field = NULL;
		}
	}
}

char *settings_schema_json(const struct setting *table)
{
	json_t *root = json_object();
	for (const struct setting *s = table; s->key; s++) {
		json_t *k = json_object();
		json_object_set_new(k, "type", json_string(type_names[s->type]));
		json_object_set_new(k, "required", json_boolean(s->required));
		if (s->has_range) {
			/* Integral bounds as JSON integers, so that messages read "<= 1", not "<= 1.0". */
			json_object_set_new(k, "min",
			                    s->min == (double)(long long)s->min ? json_integer((long long)s->min)
			                                                        : json_real(s->min));
			json_object_set_new(k, "max",
			                    s->max == (double)(long long)s->max ? json_integer((long long)s->max)
			                                                        : json_real(s->max));
		}
		if (s->choices && s->type == SETTING_ARRAY) {
			json_t *items = json_object();
			json_object_set_new(items, "type", json_string("string"));
			json_object_set_new(items, "enum", choices_json(s));
			json_object_set_new(k, "items", items);
		} else if (s->choices) {
			json_object_set_new(k, "enum", choices_json(s));
		}
		if (s->description)
			json_object_set_new(k, "description", json_string(s->description));
		json_object_set_new(root, s->key, k);
	}
	char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (!text)
		abort();
	return text;
}

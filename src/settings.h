/*
 * settings: a driver's configuration keys as a typed table beside the code
 * that uses them.  The same table parses `connections.settings` (jsonb) into
 * the driver's own struct, rejects unknown keys, and is published to the
 * database as `connection_types.settings_schema` so that a bad row is refused
 * at INSERT time by the very rules the daemon applies.
 */
#ifndef SMSPOOL_SETTINGS_H
#define SMSPOOL_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "util.h"

enum setting_type {
	SETTING_STRING, /* char *, owned by the struct, NULL when absent */
	SETTING_INT,    /* long long */
	SETTING_NUMBER, /* double */
	SETTING_BOOL,   /* bool */
	SETTING_OBJECT, /* json_t *, a new reference, NULL when absent */
	SETTING_ARRAY,  /* json_t *, a new reference, NULL when absent */
};

struct setting {
	const char *key;
	enum setting_type type;
	size_t offset; /* of the field in the driver's conf struct */
	bool required;
	bool has_range;
	double min, max;
	const char *def; /* default as JSON text (e.g. "10", "\"x\"", "true"); NULL = none */
	const char *description;
	/* The values a SETTING_STRING or SETTING_INT may take, separated by
	 * '|' ("udh|sar|payload"); NULL = any.  Published as the schema's
	 * "enum", so that the INSERT trigger refuses any other value.  On a
	 * SETTING_ARRAY, the strings each item may take, published as
	 * "items": {"type": "string", "enum": [...]}.  Set it with a
	 * designated initializer after the positional fields.  A value
	 * outside the list is an error worded as the trigger words it:
	 * `settings: key "k" must be one of ["a", "b"] (got "c")`. */
	const char *choices;
};

/* Tables list the first fields positionally and add .choices only where a
 * setting has them: the other entries leave it out on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Ends a setting table. */
#define SETTINGS_END                                                                                                   \
	{                                                                                                              \
		0                                                                                                      \
	}

/* Fills conf (a zeroed struct of the driver's type) from a JSON object text.
 * Unknown keys, wrong types, values out of range and missing required keys
 * are errors naming the key.  On error conf may be partly filled: free it
 * with settings_free. */
MUST_CHECK int settings_parse(const struct setting *table, const char *json_text, void *conf, struct errbuf *err);
/* Frees what settings_parse allocated inside conf (not conf itself). */
void settings_free(const struct setting *table, void *conf);
/* Returns new JSON text {"key": {"type":…, "required":…, "min":…, …}, …}. */
char *settings_schema_json(const struct setting *table);

#endif

/*
 * pg_values: reading values out of libpq's text results.
 */
#ifndef SMSPOOL_DB_PG_VALUES_H
#define SMSPOOL_DB_PG_VALUES_H

#include <libpq-fe.h>
#include <stdint.h>

/* A copy of the value, NULL when it is NULL or col < 0 (no such column). */
char *pg_field_dup(PGresult *r, int row, int col);
/* Parses a text[] / int[] literal of simple elements (connection names and
 * numbers never need quoting) into *out; returns the count. */
int pg_array_parse(const char *lit, char ***out);
void pg_strv_free(char **v, int n);
/* A timestamptz in PostgreSQL's ISO output as unix seconds; 0 if unreadable. */
int64_t pg_epoch_parse(const char *s);

#endif

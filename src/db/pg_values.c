/* pg_values: see pg_values.h. */
#include "pg_values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbuf.h"
#include "util.h"

char *pg_field_dup(PGresult *r, int row, int col)
{
	if (col < 0 || PQgetisnull(r, row, col))
		return NULL;
	return xstrdup(PQgetvalue(r, row, col));
}

int pg_array_parse(const char *lit, char ***out)
{
	int n = 0, cap = 4;
	char **v = xmalloc((size_t)cap * sizeof *v);
	const char *p = lit;
	if (*p == '{')
		p++;
	while (*p && *p != '}') {
		const char *start = p;
		char *item;
		if (*p == '"') {
			struct sbuf b;
			sbuf_init(&b);
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				sbuf_add(&b, p, 1);
			}
			if (*p == '"')
				p++;
			item = b.buf;
		} else {
			while (*p && *p != ',' && *p != '}')
				p++;
			item = xstrndup(start, (size_t)(p - start));
		}
		if (n == cap)
			v = xrealloc(v, (size_t)(cap *= 2) * sizeof *v);
		v[n++] = item;
		if (*p == ',')
			p++;
	}
	*out = v;
	return n;
}

void pg_strv_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int64_t pg_epoch_parse(const char *s)
{
	struct tm tm = {0};
	int off_h = 0, off_m = 0;
	char sign = '+';
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) !=
	    6)
		return 0;
	const char *tz = s + strlen(s);
	while (tz > s && tz[-1] != '+' && tz[-1] != '-' && tz[-1] != ' ')
		tz--;
	if (tz > s && (tz[-1] == '+' || tz[-1] == '-')) {
		sign = tz[-1];
		sscanf(tz, "%d:%d", &off_h, &off_m);
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t t = (int64_t)timegm(&tm);
	int64_t off = off_h * 3600 + off_m * 60;
	return sign == '+' ? t - off : t + off;
}

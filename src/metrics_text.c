/* metrics_text: the Prometheus text exposition format (version 0.0.4), pure
 * string building so that a unit test can hold it to the format: label
 * values escaped, histogram buckets cumulative and ending in +Inf, numbers
 * written so that Go's ParseFloat reads them back (NaN, +Inf, -Inf). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

void metrics_text_label(struct sbuf *out, const char *value)
{
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			sbuf_adds(out, "\\\\");
		else if (*p == '"')
			sbuf_adds(out, "\\\"");
		else if (*p == '\n')
			sbuf_adds(out, "\\n");
		else
			sbuf_add(out, p, 1);
	}
}

void metrics_text_head(struct sbuf *out, const char *name, const char *type, const char *help)
{
	/* HELP text escapes only backslash and newline. */
	sbuf_printf(out, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			sbuf_adds(out, "\\\\");
		else if (*p == '\n')
			sbuf_adds(out, "\\n");
		else
			sbuf_add(out, p, 1);
	}
	sbuf_printf(out, "\n# TYPE %s %s\n", name, type);
}

static void number(struct sbuf *out, double v)
{
	if (isnan(v))
		sbuf_adds(out, "NaN");
	else if (isinf(v))
		sbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		sbuf_printf(out, "%lld", (long long)v);
	else
		sbuf_printf(out, "%.9g", v);
}

void metrics_text_sample(struct sbuf *out, const char *name, const char *labels, double value)
{
	sbuf_adds(out, name);
	if (labels && *labels)
		sbuf_printf(out, "{%s}", labels);
	sbuf_adds(out, " ");
	number(out, value);
	sbuf_adds(out, "\n");
}

void metrics_text_histogram(struct sbuf *out, const char *name, const char *labels, const double *bounds, int n,
                            const uint64_t *counts, double sum)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cum = 0;
	for (int i = 0; i <= n; i++) {
		cum += counts[i];
		sbuf_printf(out, "%s_bucket{%s%sle=\"", name, labels ? labels : "", sep);
		if (i < n)
			number(out, bounds[i]);
		else
			sbuf_adds(out, "+Inf");
		sbuf_printf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	sbuf_adds(out, name);
	sbuf_adds(out, "_sum");
	if (labels && *labels)
		sbuf_printf(out, "{%s}", labels);
	sbuf_adds(out, " ");
	number(out, sum);
	sbuf_printf(out, "\n%s_count", name);
	if (labels && *labels)
		sbuf_printf(out, "{%s}", labels);
	sbuf_printf(out, " %llu\n", (unsigned long long)cum);
}

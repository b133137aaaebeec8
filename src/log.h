/*
 * log: one line per event on stderr, `ts=… level=… event=… key=value …`.
 * Callers pass the key=value tail themselves; values that may contain spaces
 * are quoted with log_quote().  Never pass a secret.
 */
#ifndef SMSPOOL_LOG_H
#define SMSPOOL_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
int log_enabled(enum log_level level);

__attribute__((format(printf, 3, 4))) void log_event(enum log_level level, const char *event, const char *fmt, ...);

/* Quotes s for a log value into buf (always NUL-terminated); returns buf. */
const char *log_quote(const char *s, char *buf, size_t cap);

#define log_debug(ev, ...)                                                                                             \
	do {                                                                                                           \
		if (log_enabled(LOG_DEBUG))                                                                            \
			log_event(LOG_DEBUG, ev, __VA_ARGS__);                                                         \
	} while (0)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

#endif

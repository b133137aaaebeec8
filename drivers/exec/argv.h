/*
 * argv: what a program of the exec connection gets for one message, built
 * without a shell: an argument vector expanded from templates (the http
 * connection's template engine, drivers/http/template.h, default filter
 * none, so a value reaches the program byte for byte), SMSPOOL_* environment
 * variables and a JSON object for its stdin.  Pure: no I/O, no globals.
 */
#ifndef SMSPOOL_EXEC_ARGV_H
#define SMSPOOL_EXEC_ARGV_H

#include <jansson.h>

#include "errbuf.h"
#include "http/template.h"
#include "msg.h"
#include "util.h"

struct exec_argv;

/* Compiles arr (borrowed: a JSON array of strings, the first the program).
 * what names the setting in errors ("settings.send_argv").  Placeholders
 * that make no sense for a program (username, password, token,
 * callback_url) are refused; with per_message false every placeholder is
 * (the receiver's argv).  Returns 0 and a new *out, or -1 with err. */
MUST_CHECK int exec_argv_compile(const json_t *arr, bool per_message, const char *what, struct exec_argv **out,
                                 struct errbuf *err);
void exec_argv_free(struct exec_argv *a);
/* The program (the first element) when it has no placeholder, else NULL. */
const char *exec_argv_program(const struct exec_argv *a);

/* The expansion for one message's values (http_tpl_vals_fill; NULL: no
 * message, the receiver).  Returns a new NULL-terminated vector of new strings (free with
 * exec_strv_free), or NULL with err when a value cannot be filtered or an
 * element would be empty as the program's name. */
char **exec_argv_expand(const struct exec_argv *a, const struct http_tpl_vals *vs, struct errbuf *err);

/* The environment: PATH=path, SMSPOOL_CONNECTION=conn, SMSPOOL_<VAR> for
 * each message variable vs has (vs may be NULL: the receiver), and extra
 * (borrowed JSON object name -> string, may be NULL).  A new vector. */
char **exec_env_build(const char *path, const char *conn, const struct http_tpl_vals *vs, const json_t *extra);
/* Checks the extra environment setting: names [A-Za-z_][A-Za-z0-9_]*, not
 * PATH or SMSPOOL_*, string values. */
MUST_CHECK int exec_env_check(const json_t *extra, struct errbuf *err);

/* The message as one line of JSON (with a final newline) for the program's
 * stdin.  Returns a new string. */
char *exec_msg_json(const struct msg *m, const char *conn, const char *encoding, int parts);

void exec_strv_free(char **v);

#endif

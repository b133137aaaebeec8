/*
 * http: the settings of the `http` connection type, shared by the driver
 * (http.c: outbound requests through libcurl) and its callback server
 * (callback.c: delivery reports and inbound texts through libmicrohttpd).
 */
#ifndef SMSPOOL_HTTP_HTTP_H
#define SMSPOOL_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>

#include "http/rule.h"
#include "http/template.h"
#include "settings.h"

#define HTTP_CB_MAX_BODY (64 * 1024)
/* Reports in one callback request (report_list), at most. */
#define HTTP_CB_MAX_REPORTS 1000

struct http_conf {
	json_t *description;
	char *method, *url, *body, *content_type, *callback_url;
	json_t *headers;
	char *auth, *username, *password, *token, *auth_header, *auth_param;
	char *oauth_token_url, *oauth_client_id, *oauth_client_secret, *oauth_scope, *oauth_client_auth;
	json_t *success_status, *temporary_status;
	char *success_regex, *success_json_pointer, *success_value;
	char *id_regex, *id_json_pointer, *error_text_regex, *error_json_pointer;
	char *multipart;
	long long timeout_ms, connect_timeout_ms, max_connections, stop_grace_ms;
	bool tls_verify;
	char *ca_file, *proxy;
	/* callbacks */
	char *listen, *report_path, *inbound_path;
	json_t *report_fields, *report_state_map, *inbound_fields;
	char *callback_auth, *callback_secret, *callback_username, *callback_header, *callback_param;
	char *callback_sig_method, *callback_public_url, *report_list;
	char *callback_tls_cert_file, *callback_tls_key_file;
	long long callback_max_age_s;
	bool allow_insecure_callbacks;
};

/* The settings table (conf.c). */
extern const struct setting http_settings[];

enum http_auth_kind {
	HTTP_AUTH_NONE,
	HTTP_AUTH_BASIC,
	HTTP_AUTH_BEARER,
	HTTP_AUTH_HEADER,
	HTTP_AUTH_QUERY,
	HTTP_AUTH_OAUTH2
};

/* Everything compiled from the settings (conf.c). */
struct http_conf_compiled {
	enum http_auth_kind auth;
	bool parts_mode, has_body;
	struct http_tpl *url, *body, *callback_url;
	struct http_tpl_headers headers;
	struct http_rule rule;
};

/* Compiles conf (borrowed) into cc.  Returns 0, or -1 with err naming the
 * setting; free cc with http_conf_compiled_free either way. */
MUST_CHECK int http_conf_compile(const struct http_conf *conf, struct http_conf_compiled *cc, struct errbuf *err);
void http_conf_compiled_free(struct http_conf_compiled *cc);
/* The driver's check(): no CHANGE_ME credential, the compilation, and the
 * callback settings (callback.c). */
int http_conf_check(const void *conf, struct errbuf *err);

#endif

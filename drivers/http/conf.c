/* conf: the settings of the `http` connection type (struct http_conf,
 * http.h): the table of every key, its type, default and description, as
 * the daemon parses it and the database publishes it; and their
 * compilation (templates, response rules, auth), which check() and open()
 * share, so that what open() would refuse is refused at configuration time. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http/callback.h"
#include "http/http.h"
#include "http/oauth.h"
#include "settings.h"

#define O(f) offsetof(struct http_conf, f)
const struct setting http_settings[] = {
    {"description", SETTING_ARRAY, O(description), false, false, 0, 0, NULL,
     "lines of documentation (presets); ignored"},
    {"method", SETTING_STRING, O(method), false, false, 0, 0, "\"POST\"", "GET, POST or PUT",
     .choices = "GET|POST|PUT"},
    {"url", SETTING_STRING, O(url), true, false, 0, 0, NULL, "request URL template (default filter url)"},
    {"headers", SETTING_OBJECT, O(headers), false, false, 0, 0, NULL,
     "extra request headers: name -> template (default filter none)"},
    {"body", SETTING_STRING, O(body), false, false, 0, 0, NULL,
     "request body template (default filter by content_type); absent for GET"},
    {"content_type", SETTING_STRING, O(content_type), false, false, 0, 0, "\"application/x-www-form-urlencoded\"",
     "Content-Type of the body"},
    {"callback_url", SETTING_STRING, O(callback_url), false, false, 0, 0, NULL,
     "template (filter none) whose expansion is the placeholder {callback_url}"},
    {"auth", SETTING_STRING, O(auth), false, false, 0, 0, "\"none\"",
     "none, basic, bearer, header, query or oauth2 (client credentials)",
     .choices = "none|basic|bearer|header|query|oauth2"},
    {"oauth_token_url", SETTING_STRING, O(oauth_token_url), false, false, 0, 0, NULL,
     "oauth2: the token endpoint (grant_type=client_credentials)"},
    {"oauth_client_id", SETTING_STRING, O(oauth_client_id), false, false, 0, 0, NULL, "oauth2: client id"},
    {"oauth_client_secret", SETTING_STRING, O(oauth_client_secret), false, false, 0, 0, NULL, "oauth2: client secret"},
    {"oauth_scope", SETTING_STRING, O(oauth_scope), false, false, 0, 0, NULL, "oauth2: scope to ask for"},
    {"oauth_client_auth", SETTING_STRING, O(oauth_client_auth), false, false, 0, 0, "\"basic\"",
     "oauth2: client credentials in HTTP basic auth (basic) or in the form body (body)", .choices = "basic|body"},
    {"username", SETTING_STRING, O(username), false, false, 0, 0, NULL, "basic auth user; {username}"},
    {"password", SETTING_STRING, O(password), false, false, 0, 0, NULL, "basic auth password; {password}"},
    {"token", SETTING_STRING, O(token), false, false, 0, 0, NULL, "bearer/header/query credential; {token}"},
    {"auth_header", SETTING_STRING, O(auth_header), false, false, 0, 0, "\"X-API-Key\"",
     "header carrying the token (auth header)"},
    {"auth_param", SETTING_STRING, O(auth_param), false, false, 0, 0, "\"api_key\"",
     "query parameter carrying the token (auth query)"},
    {"success_status", SETTING_ARRAY, O(success_status), false, false, 0, 0, "[200, 201, 202]",
     "HTTP statuses that may mean success"},
    {"temporary_status", SETTING_ARRAY, O(temporary_status), false, false, 0, 0, "[408, 429, \"5xx\"]",
     "statuses retried later (429 counts as throttling); others are permanent"},
    {"success_regex", SETTING_STRING, O(success_regex), false, false, 0, 0, NULL,
     "POSIX extended regex the body must match to succeed"},
    {"success_json_pointer", SETTING_STRING, O(success_json_pointer), false, false, 0, 0, NULL,
     "JSON pointer whose value must equal success_value"},
    {"success_value", SETTING_STRING, O(success_value), false, false, 0, 0, NULL,
     "value expected at success_json_pointer"},
    {"id_regex", SETTING_STRING, O(id_regex), false, false, 0, 0, NULL, "regex; its first group is the message id"},
    {"id_json_pointer", SETTING_STRING, O(id_json_pointer), false, false, 0, 0, NULL, "JSON pointer to the message id"},
    {"error_text_regex", SETTING_STRING, O(error_text_regex), false, false, 0, 0, NULL,
     "regex; its first group is the provider's error text"},
    {"error_json_pointer", SETTING_STRING, O(error_json_pointer), false, false, 0, 0, NULL,
     "JSON pointer to the provider's error text"},
    {"multipart", SETTING_STRING, O(multipart), false, false, 0, 0, "\"whole\"",
     "whole (one request, the provider splits) or parts (one request per part)", .choices = "whole|parts"},
    {"timeout_ms", SETTING_INT, O(timeout_ms), false, true, 100, 600000, "10000", "whole request timeout"},
    {"connect_timeout_ms", SETTING_INT, O(connect_timeout_ms), false, true, 100, 600000, "5000",
     "connection set-up timeout"},
    {"tls_verify", SETTING_BOOL, O(tls_verify), false, false, 0, 0, "true", "verify the server certificate"},
    {"ca_file", SETTING_STRING, O(ca_file), false, false, 0, 0, NULL, "CA bundle (PEM) instead of the system's"},
    {"proxy", SETTING_STRING, O(proxy), false, false, 0, 0, NULL, "proxy URL"},
    {"max_connections", SETTING_INT, O(max_connections), false, true, 0, 10000, "0",
     "connections to the provider at most (0 = as many as the window needs)"},
    {"stop_grace_ms", SETTING_INT, O(stop_grace_ms), false, true, 0, 60000, "3000",
     "time requests in flight get to finish at stop"},
    {"listen", SETTING_STRING, O(listen), false, false, 0, 0, NULL,
     "address of the callback server, e.g. \"127.0.0.1:8080\"; absent = none"},
    {"report_path", SETTING_STRING, O(report_path), false, false, 0, 0, "\"/report\"",
     "path of delivery report callbacks"},
    {"inbound_path", SETTING_STRING, O(inbound_path), false, false, 0, 0, "\"/inbound\"",
     "path of inbound text callbacks"},
    {"report_fields", SETTING_OBJECT, O(report_fields), false, false, 0, 0, NULL,
     "remote_id/state/error_code/text -> field name or JSON pointer"},
    {"report_state_map", SETTING_OBJECT, O(report_state_map), false, false, 0, 0, NULL,
     "provider state value -> delivered, undelivered, expired, rejected, ..."},
    {"inbound_fields", SETTING_OBJECT, O(inbound_fields), false, false, 0, 0, NULL,
     "sender/recipient/text -> field name or JSON pointer"},
    {"report_list", SETTING_STRING, O(report_list), false, false, 0, 0, NULL,
     "JSON pointer to an array of reports in one callback (\"\" = the body is the array); each is mapped "
     "by report_fields"},
    {"callback_auth", SETTING_STRING, O(callback_auth), false, false, 0, 0, "\"none\"",
     "none, token_header, token_query, basic, hmac, twilio, vonage_jwt or vonage_sig",
     .choices = "none|token_header|token_query|basic|hmac|twilio|vonage_jwt|vonage_sig"},
    {"callback_secret", SETTING_STRING, O(callback_secret), false, false, 0, 0, NULL,
     "token, basic password, HMAC key, Twilio auth token or Vonage signature secret of callbacks"},
    {"callback_sig_method", SETTING_STRING, O(callback_sig_method), false, false, 0, 0, "\"md5hash\"",
     "vonage_sig: md5hash, md5, sha1, sha256 or sha512 (the dashboard's signature method)",
     .choices = "md5hash|md5|sha1|sha256|sha512"},
    {"callback_public_url", SETTING_STRING, O(callback_public_url), false, false, 0, 0, NULL,
     "twilio: scheme://host[:port] the provider calls (behind a proxy); default from the Host header"},
    {"callback_max_age_s", SETTING_INT, O(callback_max_age_s), false, true, 10, 86400, "300",
     "vonage_jwt: oldest token (iat) accepted"},
    {"callback_tls_cert_file", SETTING_STRING, O(callback_tls_cert_file), false, false, 0, 0, NULL,
     "the callback listener speaks HTTPS with this certificate chain (PEM)"},
    {"callback_tls_key_file", SETTING_STRING, O(callback_tls_key_file), false, false, 0, 0, NULL,
     "private key (PEM) of callback_tls_cert_file"},
    {"allow_insecure_callbacks", SETTING_BOOL, O(allow_insecure_callbacks), false, false, 0, 0, "false",
     "accept callback_auth none or a CHANGE_ME callback_secret on a listener"},
    {"callback_username", SETTING_STRING, O(callback_username), false, false, 0, 0, NULL, "basic user of callbacks"},
    {"callback_header", SETTING_STRING, O(callback_header), false, false, 0, 0, NULL,
     "header with the token (X-Callback-Token) or the HMAC hex (X-Signature)"},
    {"callback_param", SETTING_STRING, O(callback_param), false, false, 0, 0, NULL,
     "query parameter with the token (token)"},
    SETTINGS_END,
};
#undef O

/* ---- compilation ---- */

static const char *const auth_names[] = {"none", "basic", "bearer", "header", "query", "oauth2"};

void http_conf_compiled_free(struct http_conf_compiled *cc)
{
	http_tpl_free(cc->url);
	http_tpl_free(cc->body);
	http_tpl_free(cc->callback_url);
	http_tpl_headers_free(&cc->headers);
	http_rule_free(&cc->rule);
	memset(cc, 0, sizeof *cc);
}

static enum http_filter body_filter(const char *ct)
{
	if (!ct)
		return HF_NONE;
	if (strcasestr(ct, "json"))
		return HF_JSON;
	if (strcasestr(ct, "xml"))
		return HF_XML;
	if (strcasestr(ct, "x-www-form-urlencoded"))
		return HF_URL;
	return HF_NONE;
}

static bool uses(const struct http_conf_compiled *cc, enum http_var v)
{
	if (http_tpl_uses(cc->url, v) || http_tpl_uses(cc->body, v) || http_tpl_uses(cc->callback_url, v))
		return true;
	for (size_t i = 0; i < cc->headers.n; i++)
		if (http_tpl_uses(cc->headers.v[i].tpl, v))
			return true;
	return false;
}

int http_conf_compile(const struct http_conf *conf, struct http_conf_compiled *cc, struct errbuf *err)
{
	memset(cc, 0, sizeof *cc);
	int a = -1;
	for (size_t i = 0; i < ARRAY_LEN(auth_names); i++)
		if (strcmp(conf->auth, auth_names[i]) == 0)
			a = (int)i;
	if (a < 0)
		return errbuf_set(err, "settings.auth: \"%s\" is not one of none, basic, bearer, header, query, oauth2",
		                  conf->auth);
	cc->auth = (enum http_auth_kind)a;
	if (cc->auth == HTTP_AUTH_BASIC && (!conf->username || !conf->password))
		return errbuf_set(err, "settings: auth \"basic\" needs username and password");
	if ((cc->auth == HTTP_AUTH_BEARER || cc->auth == HTTP_AUTH_HEADER || cc->auth == HTTP_AUTH_QUERY) &&
	    !conf->token)
		return errbuf_set(err, "settings.token: required with auth \"%s\"", conf->auth);
	if (cc->auth == HTTP_AUTH_OAUTH2 && http_oauth_check(conf, err))
		return -1;
	if (strcmp(conf->method, "GET") && strcmp(conf->method, "POST") && strcmp(conf->method, "PUT"))
		return errbuf_set(err, "settings.method: \"%s\" is not one of GET, POST, PUT", conf->method);
	if (!strcmp(conf->method, "GET") && conf->body)
		return errbuf_set(err, "settings.body: a GET request has no body");
	if (strcmp(conf->multipart, "whole") && strcmp(conf->multipart, "parts"))
		return errbuf_set(err, "settings.multipart: \"%s\" is not one of whole, parts", conf->multipart);
	cc->parts_mode = strcmp(conf->multipart, "parts") == 0;
	if (strncasecmp(conf->url, "http://", 7) && strncasecmp(conf->url, "https://", 8))
		return errbuf_set(err, "settings.url: must start with http:// or https://");
	if (http_tpl_compile(conf->url, HF_URL, "settings.url", &cc->url, err))
		return -1;
	if (conf->body) {
		cc->has_body = true;
		if (http_tpl_compile(conf->body, body_filter(conf->content_type), "settings.body", &cc->body, err))
			return -1;
	}
	if (conf->callback_url) {
		if (http_tpl_compile(conf->callback_url, HF_NONE, "settings.callback_url", &cc->callback_url, err))
			return -1;
		if (http_tpl_uses(cc->callback_url, HV_CALLBACK_URL))
			return errbuf_set(err, "settings.callback_url: must not use {callback_url} itself");
	}
	if (http_tpl_headers_compile(conf->headers, HF_NONE, "settings.headers", &cc->headers, err))
		return -1;
	if (uses(cc, HV_CALLBACK_URL) && !conf->callback_url)
		return errbuf_set(err, "settings: {callback_url} is used but settings.callback_url is not set");
	struct http_rule_conf rc = {
	    conf->success_status,       conf->temporary_status, conf->success_regex,
	    conf->success_json_pointer, conf->success_value,    conf->id_regex,
	    conf->id_json_pointer,      conf->error_text_regex, conf->error_json_pointer,
	};
	return http_rule_compile(&cc->rule, &rc, err);
}

int http_conf_check(const void *p, struct errbuf *err)
{
	const struct http_conf *conf = p;
	/* The presets' placeholders are not credentials. */
	const struct {
		const char *key, *value;
	} secrets[] = {{"token", conf->token}, {"password", conf->password}, {"username", conf->username}};
	for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
		if (secrets[i].value && strstr(secrets[i].value, "CHANGE_ME"))
			return errbuf_set(err, "settings.%s: still the placeholder CHANGE_ME", secrets[i].key);
	struct http_conf_compiled cc;
	int rc = http_conf_compile(conf, &cc, err);
	http_conf_compiled_free(&cc);
	if (rc)
		return rc;
	return http_cb_check(conf, err);
}

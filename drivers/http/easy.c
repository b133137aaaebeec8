/* easy: see easy.h. */
#include "http/easy.h"

#include <stdlib.h>

#include "net/curl_loop.h"

CURL *http_easy_new(const struct http_conf *conf, const char *url, struct curl_slist *hdrs, void *priv, char *errbuf,
                    curl_write_callback write, void *wdata)
{
	CURL *e = curl_easy_init();
	if (!e)
		abort();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PRIVATE, priv);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, wdata);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "smspool");
	curl_loop_easy_common(e, (long)conf->timeout_ms, (long)conf->connect_timeout_ms, conf->tls_verify,
	                      conf->ca_file);
	if (conf->proxy)
		curl_easy_setopt(e, CURLOPT_PROXY, conf->proxy);
	return e;
}

void http_easy_basic(CURL *e, const char *user, const char *password)
{
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, user);
	curl_easy_setopt(e, CURLOPT_PASSWORD, password);
}

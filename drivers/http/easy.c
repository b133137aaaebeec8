/* easy: see easy.h. */
#include "http/easy.h"

#include <stdlib.h>

CURL *http_easy_new(const struct http_conf *conf, const char *url, struct curl_slist *hdrs, void *priv, char *errbuf,
                    curl_write_callback write, void *wdata)
{
	CURL *e = curl_easy_init();
	if (!e)
		abort();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, priv);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, wdata);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "smspool");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)conf->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, conf->tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, conf->tls_verify ? 2L : 0L);
	if (conf->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, conf->ca_file);
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

/*
 * bench kload: the HTTP load client of the Kannel comparison.  Sends TOTAL
 * messages through Kannel's smsbox sendsms interface with CONC requests in
 * flight (libcurl multi), each asking for a delivery report (dlr-mask 1) on a
 * dlr-url served here (libmicrohttpd), and counts the reports that come back.
 *
 *   kload -u 'http://127.0.0.1:PORT/cgi-bin/sendsms?username=U&password=P'
 *         [-n TOTAL] [-c CONC] [-t TIMEOUT_S]
 *
 * Prints one line of key=value pairs: accepted, http_errors, dlrs,
 * accept_s (first request to last answer), accept_per_s, dlr_s (first
 * request to last report), dlr_per_s.  Exit status 0 when every message got
 * its report, else 1.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "netbuf.h"

static atomic_ulong n_dlr;
static _Atomic uint64_t t_last_dlr;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **state)
{
	const char *type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
	if (type && strcmp(type, "1") == 0) {
		atomic_fetch_add(&n_dlr, 1);
		atomic_store(&t_last_dlr, mono_us());
	}
	static char ok[] = "ok";
	struct MHD_Response *r = MHD_create_response_from_buffer(2, ok, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
	return sz * n;
}

int main(int argc, char **argv)
{
	const char *base = NULL;
	unsigned long total = 1000, conc = 50, timeout_s = 900;
	int opt;
	while ((opt = getopt(argc, argv, "u:n:c:t:")) != -1) {
		switch (opt) {
		case 'u':
			base = optarg;
			break;
		case 'n':
			total = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			conc = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: kload -u SENDSMS_URL [-n TOTAL] [-c CONC] [-t S]\n");
			return 2;
		}
	}
	if (!base)
		return 2;
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, NULL,
	                     MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "kload: cannot start the dlr listener\n");
		return 1;
	}
	unsigned dport = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
	char dlr_url[256], url[2048];
	snprintf(dlr_url, sizeof dlr_url, "http%%3A%%2F%%2F127.0.0.1%%3A%u%%2Fdlr%%3Ftype%%3D%%25d", dport);
	CURL **hs = calloc(conc, sizeof *hs);
	char **urls = calloc(conc, sizeof *urls);
	unsigned long started = 0, accepted = 0, errors = 0;
	uint64_t t0 = mono_us(), t_last_accept = 0, deadline = t0 + timeout_s * 1000000ull;
	int running = 0;
	for (unsigned long i = 0; i < conc; i++) {
		hs[i] = curl_easy_init();
		urls[i] = malloc(sizeof url);
		curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(hs[i], CURLOPT_PRIVATE, (void *)(uintptr_t)i);
		curl_easy_setopt(hs[i], CURLOPT_TCP_NODELAY, 1L);
	}
	unsigned long next_handle = 0;
	CURL **idle = calloc(conc, sizeof *idle);
	unsigned long n_idle = 0;
	for (unsigned long i = 0; i < conc; i++)
		idle[n_idle++] = hs[i];
	(void)next_handle;
	for (;;) {
		while (n_idle && started < total) {
			CURL *h = idle[--n_idle];
			uintptr_t k;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&k);
			snprintf(urls[k], sizeof url,
			         "%s&to=1555%07lu&from=bench&text=bench+kannel+%lu&dlr-mask=1&dlr-url=%s", base,
			         started % 10000000, started, dlr_url);
			curl_easy_setopt(h, CURLOPT_URL, urls[k]);
			curl_multi_add_handle(m, h);
			started++;
		}
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			long code = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result == CURLE_OK && (code == 202 || code == 200)) {
				accepted++;
			} else if (errors++ < 5) {
				fprintf(stderr, "kload: sendsms failed: curl %d http %ld\n", msg->data.result, code);
			}
			t_last_accept = mono_us();
			curl_multi_remove_handle(m, msg->easy_handle);
			idle[n_idle++] = msg->easy_handle;
		}
		if (started >= total && running == 0 && atomic_load(&n_dlr) >= accepted)
			break;
		if (mono_us() > deadline) {
			fprintf(stderr, "kload: timeout (%lu reports of %lu)\n", (unsigned long)atomic_load(&n_dlr),
			        accepted);
			break;
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 50, NULL);
		else
			usleep(20000);
	}
	double acc_s = t_last_accept > t0 ? (double)(t_last_accept - t0) / 1e6 : 0;
	uint64_t tl = atomic_load(&t_last_dlr);
	double dlr_s = tl > t0 ? (double)(tl - t0) / 1e6 : 0;
	unsigned long dl = atomic_load(&n_dlr);
	printf("accepted=%lu http_errors=%lu dlrs=%lu accept_s=%.3f accept_per_s=%.0f dlr_s=%.3f dlr_per_s=%.0f\n",
	       accepted, errors, dl, acc_s, acc_s > 0 ? accepted / acc_s : 0, dlr_s, dlr_s > 0 ? dl / dlr_s : 0);
	MHD_stop_daemon(d);
	return dl == total ? 0 : 1;
}

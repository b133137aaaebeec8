/* curl_loop: see curl_loop.h.  Each socket curl watches gets one libevent
 * event, kept in a list so that curl_loop_free can free what curl did not
 * remove. */
#include "net/curl_loop.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

struct sockev {
	struct event *ev;
	struct sockev *next, *prev;
};

struct curl_loop {
	struct event_base *base;
	CURLM *multi;
	struct event *timer_ev;
	struct sockev *socks;
	curl_loop_done_fn done;
	curl_loop_after_fn after;
	void *arg;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort();
}

void curl_loop_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

static void check_done(struct curl_loop *l)
{
	CURLMsg *cm;
	int left;
	while ((cm = curl_multi_info_read(l->multi, &left)))
		if (cm->msg == CURLMSG_DONE)
			l->done(l->arg, cm->easy_handle, cm->data.result);
	if (l->after)
		l->after(l->arg);
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *l = arg;
	int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;
	curl_multi_socket_action(l->multi, fd, action, &running);
	check_done(l);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curl_loop *l = userp;
	struct sockev *se = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (se) {
			event_free(se->ev);
			if (se->prev)
				se->prev->next = se->next;
			else
				l->socks = se->next;
			if (se->next)
				se->next->prev = se->prev;
			free(se);
		}
		return 0;
	}
	short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
	if (!se) {
		se = xcalloc(1, sizeof *se);
		se->next = l->socks;
		if (l->socks)
			l->socks->prev = se;
		l->socks = se;
		se->ev = event_new(l->base, s, kind, sock_event_cb, l);
		curl_multi_assign(l->multi, s, se);
	} else {
		event_del(se->ev);
		event_assign(se->ev, l->base, s, kind, sock_event_cb, l);
	}
	event_add(se->ev, NULL);
	return 0;
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *l = arg;
	int running;
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(l);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop *l = userp;
	if (timeout_ms < 0) {
		evtimer_del(l->timer_ev);
	} else {
		struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
		evtimer_add(l->timer_ev, &tv);
	}
	return 0;
}

struct curl_loop *curl_loop_new(struct event_base *base, curl_loop_done_fn done, curl_loop_after_fn after, void *arg)
{
	curl_loop_global_init();
	struct curl_loop *l = xcalloc(1, sizeof *l);
	l->base = base;
	l->done = done;
	l->after = after;
	l->arg = arg;
	l->timer_ev = evtimer_new(base, timer_event_cb, l);
	l->multi = curl_multi_init();
	if (!l->multi || !l->timer_ev)
		abort();
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	return l;
}

CURLM *curl_loop_multi(struct curl_loop *l)
{
	return l->multi;
}

int curl_loop_add(struct curl_loop *l, CURL *e, char *err, size_t cap)
{
	CURLMcode mc = curl_multi_add_handle(l->multi, e);
	if (mc != CURLM_OK) {
		snprintf(err, cap, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
		return -1;
	}
	return 0;
}

void curl_loop_free(struct curl_loop *l)
{
	if (!l)
		return;
	curl_multi_cleanup(l->multi);
	while (l->socks) {
		struct sockev *se = l->socks;
		l->socks = se->next;
		event_free(se->ev);
		free(se);
	}
	event_free(l->timer_ev);
	free(l);
}

void curl_loop_easy_common(CURL *e, long timeout_ms, long connect_timeout_ms, bool tls_verify, const char *ca_file)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tls_verify ? 2L : 0L);
	if (ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
}

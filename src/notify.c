/* notify: see notify.h. */
#include "notify.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "log.h"

static atomic_bool ready;
static struct event *watchdog_ev;

void notify_ready(void)
{
	if (atomic_exchange(&ready, true))
		return;
	sd_notify(0, "READY=1\nSTATUS=running");
	log_info("daemon_ready", "notify=%s", getenv("NOTIFY_SOCKET") ? "systemd" : "none");
}

bool notify_is_ready(void)
{
	return atomic_load(&ready);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void notify_reloading(void)
{
	/* The reload is asynchronous (a NOTIFY to the store); the connections
	 * follow within a second.  systemd wants READY=1 again after it. */
	sd_notify(0, "RELOADING=1");
	sd_notify(0, "READY=1");
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

void notify_start(struct event_base *base)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	struct timeval tv = {(time_t)(usec / 2 / 1000000), (suseconds_t)(usec / 2 % 1000000)};
	event_add(watchdog_ev, &tv);
	log_info("watchdog", "interval_us=%" PRIu64, usec / 2);
	sd_notify(0, "WATCHDOG=1");
}

void notify_stop(void)
{
	if (watchdog_ev) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
}

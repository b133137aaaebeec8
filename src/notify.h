/*
 * notify: the service manager's protocol (sd_notify from libsystemd), for a
 * unit with Type=notify.  READY=1 once the daemon has its first database
 * connection and has started its connections, STOPPING=1 when it begins to
 * stop, RELOADING=1 on SIGHUP, and WATCHDOG=1 pings from the loop thread
 * itself (so that a stuck loop stops the pings) every half of WATCHDOG_USEC
 * when the unit sets WatchdogSec=.  Outside systemd (no NOTIFY_SOCKET) every
 * call does nothing.
 */
#ifndef SMSPOOL_NOTIFY_H
#define SMSPOOL_NOTIFY_H

#include <event2/event.h>
#include <stdbool.h>

/* Sends READY=1 the first time only; also marks the daemon ready for /health. */
void notify_ready(void);
bool notify_is_ready(void);
void notify_stopping(void);
void notify_reloading(void);
/* Arms the watchdog timer on base when the service manager asks for one;
 * notify_stop() disarms it. */
void notify_start(struct event_base *base);
void notify_stop(void);

#endif

/* A fake core for unit tests of a server driver (ucp-server, smpp-server)
 * on in-memory sessions: it defines the core_* and conn_* functions (as the
 * driver contract test does), records the tokens of the logins and submits
 * it owes answers for, and answers only when the test says so (a forced
 * stop is a stop the core never answered).  Included once by a test file.
 *
 * allocs_live(): the allocations not freed yet, counted by this file's
 * malloc, calloc, realloc and free (glibc's, wrapped), for a test that
 * runs a scenario twice and wants the second run to leave nothing behind
 * (the first warms up what libraries allocate once).  Under ASan or TSan,
 * whose allocators must stay in place, it is always 0 and LeakSanitizer
 * does the check at exit instead. */
#ifndef SMSPOOL_TEST_FAKE_SERVER_CORE_H
#define SMSPOOL_TEST_FAKE_SERVER_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"
#include "util.h"

enum { FAKE_MAXQ = 32 };

struct conn {
	void *conf, *drv;
	struct event_base *base;
	int stopped; /* core_stopped() calls */
	uint64_t auths[FAKE_MAXQ], submits[FAKE_MAXQ];
	int nauths, nsubmits;
	int client_parts; /* of the last submission */
	char body[200];   /* of the last submission */
};

const char *conn_name(const struct conn *c)
{
	(void)c;
	return "t";
}
const void *conn_conf(const struct conn *c)
{
	return c->conf;
}
void *conn_driver_data(const struct conn *c)
{
	return c->drv;
}
void conn_set_driver_data(struct conn *c, void *d)
{
	c->drv = d;
}
struct event_base *conn_event_base(const struct conn *c)
{
	return c->base;
}
const char *conn_instance(const struct conn *c)
{
	(void)c;
	return "t";
}
void core_conn_state(struct conn *c, enum conn_state state, const char *detail)
{
	(void)c, (void)state, (void)detail;
}
void core_stopped(struct conn *c)
{
	c->stopped++;
}
void core_complete(struct conn *c, struct msg *m)
{
	(void)c;
	msg_free(m);
}
void core_received(struct conn *c, struct inbound *in, uint64_t token)
{
	(void)c, (void)token;
	inbound_free(in);
}
void core_report(struct conn *c, struct report *r, uint64_t token)
{
	(void)c, (void)token;
	report_free(r);
}
void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	(void)account, (void)password, (void)peer_addr;
	if (c->nauths < FAKE_MAXQ)
		c->auths[c->nauths++] = token;
}
void core_submit(struct conn *c, struct submission *s, uint64_t token)
{
	c->client_parts = s->client_parts;
	snprintf(c->body, sizeof c->body, "%s", s->body ? s->body : "");
	submission_free(s);
	if (c->nsubmits < FAKE_MAXQ)
		c->submits[c->nsubmits++] = token;
}
void core_account_attach(struct conn *c, const char *account)
{
	(void)c, (void)account;
}
void core_account_detach(struct conn *c, const char *account)
{
	(void)c, (void)account;
}
void core_event_done(struct conn *c, const struct account_event *ev, bool delivered)
{
	(void)c, (void)ev, (void)delivered;
}
void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token)
{
	(void)c, (void)account, (void)message_id, (void)token;
}

#include "fake_account_policy.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAKE_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAKE_SANITIZED 1
#endif

#ifndef FAKE_SANITIZED
static long fake_live;
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);
	fake_live += p != NULL;
	return p;
}
void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	fake_live += p != NULL;
	return p;
}
void *realloc(void *old, size_t n)
{
	void *p = __libc_realloc(old, n);
	if (!old && p)
		fake_live++;
	else if (old && !p && n == 0)
		fake_live--; /* glibc frees old */
	return p;
}
void free(void *p)
{
	fake_live -= p != NULL;
	__libc_free(p);
}
static long allocs_live(void)
{
	return fake_live;
}
#else
static long allocs_live(void)
{
	return 0;
}
#endif

#endif

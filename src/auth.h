/*
 * auth: the core's front of every login of a server-side connection,
 * between core_authenticate() and the store (see policy.h for the rules).
 * Logins the policy refuses never reach the database; every refusal is
 * answered after the policy's per-address delay, from a timer on the loop,
 * never from within the driver's own call.  Refused logins are logged here,
 * at most one line a second, with the client's names quoted.
 *
 * Ownership: strings are borrowed (a login's password is copied while it
 * waits for its turn or for the database, and wiped then); answer() is called exactly once for each login
 * that is not asked, and for each that auth_end() did not hand back.
 */
#ifndef SMSPOOL_AUTH_H
#define SMSPOOL_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "msg.h"
#include "policy.h"

enum { AUTH_QUEUE_MAX = 2000 };

/* Answers a refused login (reason: auth_refusal_text of the refusal). */
typedef void (*auth_answer_fn)(void *arg, uint64_t conn_id, uint64_t token, const char *reason);
/* Asks the database (auth_end follows). */
typedef void (*auth_ask_fn)(void *arg, uint64_t conn_id, uint64_t token, const char *account, const char *password,
                            const char *peer);

struct auth;

struct auth *auth_new(struct event_base *base, auth_ask_fn ask, auth_answer_fn answer, void *arg);
/* Frees it; refusals not answered yet are dropped (the daemon stops). */
void auth_free(struct auth *a);
struct policy *auth_policy(struct auth *a);

/* A login: ask() now or, when the address has POLICY_LOGINS_AT_ONCE
 * logins at the database already, once one of them ends (at most
 * AUTH_QUEUE_MAX wait so); or answer() a refusal. */
void auth_begin(struct auth *a, const char *conn_name, uint64_t conn_id, uint64_t token, const char *account,
                const char *password, const char *peer);
/* An account's access changed ("" = every account): a login of it that
 * waits for the database (a login by address names no account: any) may
 * be answered under the old rules; a yes to it is not handed over but
 * asked again (auth_end), so that no login of the old rules survives the
 * change. */
void auth_revoke(struct auth *a, const char *account);
/* The database answered (info NULL = refused with reason).  Returns true
 * when the caller hands the answer to the driver now, false when it is a
 * refusal that answer() gives later, or a login asked again. */
bool auth_end(struct auth *a, uint64_t conn_id, uint64_t token, const struct account_info *info, const char *reason);

#endif

/*
 * policy: account policy for every server-side connection type (SMPP
 * server, HTTP send API, UCP and the native link to come), kept in the core
 * once.  Pure: the caller passes the clock; spool.c wires it to
 * core_authenticate() and the store's answers.
 *
 * Logins (contract):
 * - The database is asked only through policy_login_begin() == AUTH_OK, and
 *   every such call MUST be matched by one policy_login_end().
 * - Failed logins cost the database nothing after the first few: the same
 *   refused credentials from the same address are answered from a negative
 *   cache; an address with FAILS_FREE recent failures is refused in the
 *   daemon (AUTH_BLOCKED) for a time that doubles with each further failure
 *   (at most BLOCK_MAX_MS); an address with LOGINS_AT_ONCE logins waiting for
 *   the database gets AUTH_BUSY for more.  Every refusal's answer is held
 *   back policy_refusal_delay_ms() (a per-address delay after failures).
 * - policy_forget_logins() (an account changed in the database) empties the
 *   negative cache and the address states.
 * - Tables are bounded (MAX_ENTRIES each); when full, expired entries go
 *   first, and a new address beyond that is treated as clean.
 *
 * Accounts across the daemon: max_binds counts sessions of every connection
 * of this daemon; throughput is one token bucket per account, taken per PDU
 * (n tokens for an n-part message).
 *
 * Refusal reasons are typed (enum auth_refusal): the database's reason text
 * is read in one place (policy_refusal_from_db), and drivers map the reason
 * text they get in authenticated() with auth_refusal_of().
 */
#ifndef SMSPOOL_POLICY_H
#define SMSPOOL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

enum auth_refusal {
	AUTH_OK,
	AUTH_UNKNOWN_ACCOUNT,
	AUTH_WRONG_PASSWORD,
	AUTH_DISABLED,
	AUTH_ADDRESS,     /* the peer's address is not in allowed_addresses */
	AUTH_MAX_BINDS,   /* the account has max_binds sessions already */
	AUTH_BLOCKED,     /* too many failed logins from this address: try later */
	AUTH_BUSY,        /* too many logins from this address at once: try later */
	AUTH_UNAVAILABLE, /* the database cannot answer now */
};

enum {
	POLICY_FAILS_FREE = 5,          /* failures per address before it is blocked */
	POLICY_FAIL_MEMORY_MS = 300000, /* a failure counts this long */
	POLICY_BLOCK_MIN_MS = 1000,
	POLICY_BLOCK_MAX_MS = 60000,
	POLICY_NEG_TTL_MS = 60000, /* a refused login is remembered this long */
	POLICY_LOGINS_AT_ONCE = 4, /* per address, waiting for the database */
	POLICY_DELAY_STEP_MS = 200,
	POLICY_DELAY_MAX_MS = 2000,
	POLICY_MAX_ENTRIES = 10000,
};

/* The text of a refusal (static): what the log and authenticated() get. */
const char *auth_refusal_text(enum auth_refusal r);
/* A reason text back to its refusal (NULL or unknown: AUTH_UNAVAILABLE
 * when the text says so, else AUTH_WRONG_PASSWORD-like failures are
 * recognised; anything else AUTH_UNAVAILABLE). */
enum auth_refusal auth_refusal_of(const char *reason);
/* The database's reason (smspool.account_auth) as a refusal. */
enum auth_refusal policy_refusal_from_db(const char *reason);
/* Whether a refusal counts as a failed login of the address. */
bool auth_refusal_is_failure(enum auth_refusal r);

struct policy;

struct policy *policy_new(void);
void policy_free(struct policy *p);

/* The key of a login: SHA-256 over account, password and peer (each NULL
 * as ""), so that no password is kept and another password misses. */
void policy_login_key(const char *account, const char *password, const char *peer, uint8_t key[32]);

/* A login (strings borrowed; peer may be NULL).  Returns AUTH_OK when the
 * database must be asked (key is then filled for policy_login_end), or the
 * refusal to answer at once. */
enum auth_refusal policy_login_begin(struct policy *p, const char *account, const char *password, const char *peer,
                                     uint64_t now_ms, uint8_t key[32]);
/* The database answered the login of key from peer with r. */
void policy_login_end(struct policy *p, const uint8_t key[32], const char *peer, enum auth_refusal r, uint64_t now_ms);
/* How long to hold back a refusal's answer to peer. */
uint64_t policy_refusal_delay_ms(struct policy *p, const char *peer, uint64_t now_ms);
/* Whether a refused-login line may be logged now (one per second, with
 * the count of lines left out since); *suppressed gets that count. */
bool policy_log_refusal(struct policy *p, uint64_t now_ms, unsigned *suppressed);
void policy_forget_logins(struct policy *p);

/* A session of account a is bound.  Returns false (counting nothing) when
 * the account has max_binds sessions in this daemon already. */
bool policy_bind(struct policy *p, const struct account_info *a);
void policy_unbind(struct policy *p, const char *account);
int policy_binds(const struct policy *p, const char *account);
/* Takes n throughput tokens of account at rate per second (<= 0:
 * unlimited).  Returns 0, or the seconds to wait. */
int policy_take(struct policy *p, const char *account, double rate, int n, uint64_t now_ms);

#endif

#!/usr/bin/env bash
# Fault suite 10 (issue 9): the database becomes read-only under load (as a
# standby does after a failover, before the daemon reaches the new primary).
# The database is switched with ALTER DATABASE ... default_transaction_read_only
# and the daemon's sessions are ended, so that it reconnects into read-only
# sessions: its claims and its writes are refused with SQLSTATE 25006.  The
# daemon must reconnect (with backoff, not in a tight loop), keep every result
# it could not write, and carry on when the database is writable again:
# reconciliation against the SMSC's log, no duplicate (no lease ran out).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

WINDOW=50
B=${FAULT_N:-2000}
plan $((RECON_TESTS + 5))

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'
e2e_db smspool_e2e_fault_ro
DB=smspool_e2e_fault_ro
add_connection smsc smpp "$(smpp_settings)" $WINDOW
add_route smsc
start_daemon ro
pid=${DAEMON_PID[ro]}
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smsc'" || bail "no bind"
submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }

fault_insert a "$B"
end=$(($(now_ms) + 30000))
while [ "$(submits)" -lt $((B / 3)) ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
admin() { "$E2E_PSQL" -X -A -t -q -d "$(sh "$PGCLUSTER" url | sed 's/dbname=[^ ]*/dbname=postgres/')" -c "$1"; }
admin "ALTER DATABASE $DB SET default_transaction_read_only = on" || bail "alter database"
admin "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$DB' AND application_name LIKE 'smspool%'" >/dev/null
# The daemon's new sessions are read-only: wait until it saw one refused.
end=$(($(now_ms) + 20000))
until grep -q 'read-only transaction' "${DAEMON_LOG[ro]}" || [ "$(now_ms)" -gt "$end" ]; do sleep 0.1; done
if grep -q 'read-only transaction' "${DAEMON_LOG[ro]}"; then
	pass "the daemon met the read-only database"
else
	fail "the daemon met the read-only database" "$(tail -5 "${DAEMON_LOG[ro]}")"
fi
sleep 3 # the read-only period: the daemon must neither spin nor lose anything
reconnects=$(grep -c 'store_reconnected\|store_write_reconnect\|store_claim_connection_lost' "${DAEMON_LOG[ro]}")
ok "$reconnects < 60" "it reconnected with backoff, not in a tight loop ($reconnects reconnect lines in ~3 s)"
admin "ALTER DATABASE $DB RESET default_transaction_read_only" || bail "reset"
RECON_STATES=delivered reconcile "after a read-only period" "$SMSC_LOG" "$B" 0 90
ok "$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)" "the same daemon process ran throughout (pid $pid)"
is "$(grep -c 'store_write_dropped\|store_result_refused' "${DAEMON_LOG[ro]}")" 0 "no result was dropped or degraded"
stop_daemon ro
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

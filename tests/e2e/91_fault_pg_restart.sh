#!/usr/bin/env bash
# Fault suite 2: PostgreSQL restarted under load (`pgcluster.sh restart fast`,
# then `immediate`) while messages flow over SMPP to tests/peers/smsc.js with
# receipts.  The daemon stays up (same pid) and reconnects; then the
# reconciliation: every row delivered once in the database, duplicates at most
# window x restarts.  (The cluster is shared by every test: `make check` runs
# tests one at a time.)
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

WINDOW=50
if fault_small; then B=${FAULT_N:-1500}; else B=${FAULT_N:-5000}; fi
plan $((RECON_TESTS + 5))

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'
e2e_db smspool_e2e_fault_pg
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '20' WHERE key = 'max_attempts'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" $WINDOW
add_route smsc
start_daemon fp
pid=${DAEMON_PID[fp]}
submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }
wait_submits() { # wait_submits N: until the SMSC saw N submits (30 s at most)
	local end=$(($(now_ms) + 30000))
	while [ "$(submits)" -lt "$1" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
}

fault_insert a "$B"
fault_insert b "$B"
wait_submits $((B / 2))
diag "restart fast after $(submits) submits: $(state_counts)"
out=$(sh "$PGCLUSTER" restart fast 2>&1) || bail "pgcluster.sh restart fast: $out"
fault_insert c "$B"
# Alive means working again: a message inserted after the restart is
# claimed (wait_for returns at once when the daemon dies).
if wait_for 30 "SELECT count(*) > 0 FROM smspool.outbox WHERE client_ref LIKE 'c%' AND status <> 'queued'" &&
	kill -0 "$pid" 2>/dev/null; then
	pass "daemon alive and sending after a fast restart (pid $pid)"
else
	fail "daemon alive and sending after a fast restart (pid $pid)" "$(state_counts)"
fi

wait_submits $((B * 2))
diag "restart immediate after $(submits) submits: $(state_counts)"
out=$(sh "$PGCLUSTER" restart immediate 2>&1) || bail "pgcluster.sh restart immediate: $out"
fault_insert d "$B"
# Alive means working again: a message inserted after the restart is
# claimed (wait_for returns at once when the daemon dies).
if wait_for 30 "SELECT count(*) > 0 FROM smspool.outbox WHERE client_ref LIKE 'd%' AND status <> 'queued'" &&
	kill -0 "$pid" 2>/dev/null; then
	pass "daemon alive and sending after an immediate restart (pid $pid)"
else
	fail "daemon alive and sending after an immediate restart (pid $pid)" "$(state_counts)"
fi

reconcile "after 2 PostgreSQL restarts" "$SMSC_LOG" $((4 * B)) $((2 * WINDOW)) 75
ok "$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)" "the same daemon process ran throughout (pid $pid)"
is "$(sql "SELECT (SELECT count(*) FROM smspool.queue) || '/' || (SELECT count(*) FROM smspool.report_wait)")" "0/0" \
	"nothing left in the queue or awaiting a report"
stop_daemon fp
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

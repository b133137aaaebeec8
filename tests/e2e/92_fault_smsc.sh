#!/usr/bin/env bash
# Fault suite 3: a misbehaving SMSC (tests/peers/smsc.js driven through its
# control file) while messages flow over one SMPP connection (window 50):
#   a. it drops the connection in the middle of a window (unanswered submits);
#   b. it stalls: stops reading for 3 s (less than response_timeout_s 5), then
#      resumes and answers everything;
#   c. it answers every submit_sm with ESME_RTHROTTLED for 3 s;
#   d. it answers every submit_sm with a malformed submit_sm_resp for 2 s.
# Each phase is followed by a reconciliation (every row delivered once in
# the database, duplicates at most one window), and the daemon never crashes
# (same pid throughout).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

WINDOW=50
if fault_small; then B=${FAULT_N:-1000}; else B=${FAULT_N:-3000}; fi
plan $((4 * RECON_TESTS + 9))

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'
e2e_db smspool_e2e_fault_smsc
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '30' WHERE key = 'max_attempts'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" $WINDOW
add_route smsc
start_daemon fs
pid=${DAEMON_PID[fs]}
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smsc'" || bail "no bind"
submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }
wait_submits() { # wait_submits N: until the SMSC saw N submits (30 s at most)
	local end=$(($(now_ms) + 30000))
	while [ "$(submits)" -lt "$1" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.02; done
}
alive() { ok "$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)" "$1: the daemon still runs (pid $pid)"; }
status_count() { smsc_q "L.filter((e) => e.ev === 'submit' && e.status === '$1' && e.text.startsWith('fault $2')).length"; }

# --- a. drop --------------------------------------------------------------
s0=$(submits)
fault_insert a "$B"
wait_submits $((s0 + B / 3))
smsc_mode drop
RECON_SCOPE='a%' reconcile "a: connection dropped mid-window" "$SMSC_LOG" "$B" $WINDOW 60
is "$(smsc_q 'L.filter((e) => e.ev === "drop").length')" 1 "a: the SMSC dropped the connection once"
alive a

# --- b. stall -------------------------------------------------------------
s0=$(submits)
fault_insert b "$B"
wait_submits $((s0 + B / 3))
smsc_mode stall
sleep 3 # the fault under test is a period: the SMSC stalls 3 s (checked below: messages waited)
stalled=$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'b%' AND status = 'sending'")
smsc_mode normal
RECON_SCOPE='b%' reconcile "b: SMSC stalled 3 s" "$SMSC_LOG" "$B" $WINDOW 60
ok "$stalled > 0" "b: messages waited in sending during the stall ($stalled)"
alive b

# --- c. throttle ------------------------------------------------------------
s0=$(submits)
fault_insert c "$B"
wait_submits $((s0 + B / 3))
smsc_mode throttle
sleep 3 # the fault is a period: 3 s of throttling (checked below: throttled submits, retried)
smsc_mode normal
RECON_SCOPE='c%' reconcile "c: SMSC throttling 3 s" "$SMSC_LOG" "$B" $WINDOW 60
thr=$(status_count ESME_RTHROTTLED c)
ok "$thr > 0" "c: the SMSC throttled $thr submits, all retried"
alive c

# --- d. garbage -------------------------------------------------------------
s0=$(submits)
fault_insert d "$B"
wait_submits $((s0 + B / 3))
smsc_mode garbage
sleep 2 # the fault is a period: 2 s of garbage answers (checked below)
smsc_mode normal
RECON_SCOPE='d%' reconcile "d: SMSC answering garbage 2 s" "$SMSC_LOG" "$B" $WINDOW 60
garb=$(status_count garbage d)
ok "$garb > 0" "d: $garb submits answered with a malformed submit_sm_resp, all sent again"
alive d

stop_daemon fs
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

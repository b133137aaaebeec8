#!/usr/bin/env bash
# Fault suite 4: several daemons on one database, each with an SMPP
# connection (same system_id) to the same SMSC (tests/peers/smsc.js allows
# any number of binds; a receipt goes to any bound session, so reports are
# often stored by another daemon than the one that sent).
#   1. two daemons; one is killed with SIGKILL mid-run and stays dead: the
#      others send everything, its claims come back after the lease (5 s);
#   2. three daemons (the killed one restarted under its name, plus a third);
#      another one killed mid-run.
# Each phase ends with a reconciliation: every row delivered once in the
# database, and sent twice only if it was in flight at the kill (<= window).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

WINDOW=50
if fault_small; then N=${FAULT_N:-3000}; else N=${FAULT_N:-15000}; fi
SEED=${FAULT_SEED:-$(($(date +%s%N) % 32768))}
RANDOM=$SEED
# A report stored by one daemon while another commits the result it answers
# is matched by the daemons' periodic smspool.rematch_reports().
plan $((2 * RECON_TESTS + 7))
diag "seed $SEED (replay: FAULT_SEED=$SEED bash $0), $N messages per phase, window $WINDOW"

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'

e2e_db smspool_e2e_fault_daemons
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '20' WHERE key = 'max_attempts'" || bail "config"
sql "UPDATE smspool.config SET value = '5' WHERE key = 'lease_s'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" $WINDOW
add_route smsc

submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }
# senders PREFIX: how many distinct SMPP sessions (ESME ports) submitted keys PREFIX*
senders() { smsc_q "new Set(L.filter((e) => e.ev === 'submit' && e.text && e.text.startsWith('fault $1')).map((e) => e.peer)).size"; }
# kill_mid INSTANCE: SIGKILL when a random share (20..70 %) of this phase's messages went out
kill_mid() {
	local target=$(($(submits) + N * (20 + RANDOM % 50) / 100)) end=$(($(now_ms) + 60000))
	while [ "$(submits)" -lt "$target" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
	kill_daemon "$1"
	recon_mark_inflight
	diag "killed $1 after $(submits) submits: $(state_counts)"
}
up_count() { sql "SELECT count(*) FROM smspool.connection_state WHERE state = 'up'"; }

# --- 1. two daemons -------------------------------------------------------
start_daemon d1
start_daemon d2
wait_for 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE state = 'up'" || bail "two binds: $(sql 'SELECT * FROM smspool.connection_state')"
is "$(smsc_q 'L.filter((e) => e.ev === "bind" && e.ok).length')" 2 "1: two daemons bound to the same SMSC"
fault_insert p1- "$N"
kill_mid d1
RECON_SCOPE='p1-%' RECON_INFLIGHT=1 reconcile "1: two daemons, one killed" "$SMSC_LOG" "$N" $WINDOW 45
ok "$(senders p1-) >= 2" "1: both daemons submitted ($(senders p1-) sessions)"
ok "$(daemon_alive d2 && echo 1 || echo 0)" "1: the surviving daemon still runs"

# --- 2. three daemons -----------------------------------------------------
start_daemon d1
start_daemon d3
wait_for 20 "SELECT count(*) = 3 FROM smspool.connection_state WHERE state = 'up' AND instance IN ('d1', 'd2', 'd3')" ||
	diag "binds: $(sql "SELECT name, instance, state FROM smspool.connection_state")"
is "$(sql "SELECT string_agg(instance, ',' ORDER BY instance) FROM smspool.connection_state WHERE state = 'up'")" "d1,d2,d3" "2: three daemons bound"
fault_insert p2- "$N"
kill_mid d2
RECON_SCOPE='p2-%' RECON_INFLIGHT=1 reconcile "2: three daemons, one killed" "$SMSC_LOG" "$N" $WINDOW 45
ok "$(senders p2-) >= 3" "2: all three daemons submitted ($(senders p2-) sessions)"
is "$(sql "SELECT count(*) FROM smspool.queue")" 0 "nothing left in the queue"

stop_daemon d1
s1=$DAEMON_STATUS
stop_daemon d3
is "$s1/$DAEMON_STATUS" "0/0" "the two remaining daemons exit 0 on SIGTERM"
finish

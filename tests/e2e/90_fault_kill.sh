#!/usr/bin/env bash
# Fault suite 1: the daemon is killed with SIGKILL at random moments, 10 times
# during a 50,000-message run over SMPP (window 50) to tests/peers/smsc.js
# with receipts (receipted_message_id TLV in each: receipts with the id only
# in the text are 94's), and restarted each time under the same instance name.  Then
# the reconciliation of tests/lib/reconcile.sh: no row lost, every row
# delivered once in the database, remote ids given by the SMSC to that row,
# and messages the SMSC accepted twice only among the rows in flight at a
# kill, at most window x kills.
#
# Random with a printed seed: FAULT_SEED=1234 bash tests/e2e/90_fault_kill.sh
# replays the same kill points.  FAULT_N / FAULT_KILLS change the size (the
# sanitizer build runs 10,000 messages).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

KILLS=${FAULT_KILLS:-10}
WINDOW=50
if fault_small; then N=${FAULT_N:-10000}; else N=${FAULT_N:-50000}; fi
SEED=${FAULT_SEED:-$(($(date +%s%N) % 32768))}
RANDOM=$SEED
plan $((RECON_TESTS + 4))
diag "seed $SEED (replay: FAULT_SEED=$SEED bash $0), $N messages, $KILLS kills, window $WINDOW"

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all", "text_id": "decimal"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'

e2e_db smspool_e2e_fault_kill
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '20' WHERE key = 'max_attempts'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" $WINDOW
add_route smsc
fault_insert k "$N"

submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }

T0=$(now_ms)
start_daemon fk
killed=0 restarted=0
for ((k = 1; k <= KILLS; k++)); do
	# A random moment while messages flow: after 1..N/(KILLS+1) more
	# submits than at the last kill, then 0..299 ms (which lets a few
	# thousand more through), so that every kill hits a running flow.
	base=$(submits)
	target=$((base + 1 + (RANDOM * 32768 + RANDOM) % (N / (KILLS + 1))))
	end=$(($(now_ms) + 5000)) # at most 5 s: a run that has drained waits for nothing
	while [ "$(submits)" -lt "$target" ] && [ "$(now_ms)" -lt "$end" ]; do
		daemon_alive fk || break
		sleep 0.05
	done
	sleep "0.$(printf '%03d' $((RANDOM % 300)))"
	if ! daemon_alive fk; then
		diag "kill $k: the daemon had died on its own"
		break
	fi
	kill_daemon fk
	killed=$((killed + 1))
	recon_mark_inflight
	diag "kill $k at $(($(now_ms) - T0)) ms, $(submits) submits so far: $(state_counts)"
	start_daemon fk
	restarted=$((restarted + 1))
done
is "$killed/$restarted" "$KILLS/$KILLS" "$KILLS SIGKILLs at random moments, each followed by a restart under the same name"

RECON_INFLIGHT=1 reconcile "after $KILLS kills" "$SMSC_LOG" "$N" $((WINDOW * KILLS)) 90
ok "$RECON_DUP_MAX <= $WINDOW" "no kill duplicated more than the window ($WINDOW; most for one kill: $RECON_DUP_MAX)"
diag "run: $(($(now_ms) - T0)) ms for $N messages"
diag "rows attempted more than once: $(count_where "attempts > 1"); rows in flight at some kill: $(sql "SELECT count(*) FROM public.fault_inflight")"
is "$(sql "SELECT (SELECT count(*) FROM smspool.queue) || '/' || (SELECT count(*) FROM smspool.report_wait)")" "0/0" \
	"nothing left in the queue or awaiting a report"
stop_daemon fk
is "$DAEMON_STATUS" 0 "the last daemon exits 0 on SIGTERM"
finish

#!/usr/bin/env bash
# Fault suite 7: the daemon under valgrind (memcheck) for a short end-to-end
# run -- a few hundred messages through loopback, the emulator and SMPP (to
# tests/peers/smsc.js, receipts and MO texts included, and one dropped
# connection), then SIGTERM: exit 0, no definitely lost block, no memory
# error.  valgrind comes from the set-up (make test-deps): without it the
# test bails out.  Skipped for the sanitizer builds (ASan or TSan and
# valgrind exclude each other; ASan's own leak checker covers that run).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

plan 6
skip_all() {
	local i
	for ((i = 0; i < 6; i++)); do skip "valgrind run" "$1"; done
	finish
}
fault_small && skip_all "sanitizer build (valgrind cannot run ASan or TSan binaries)"
command -v valgrind >/dev/null 2>&1 ||
	bail "valgrind is not installed: run make test-deps (packaging/install-deps.sh --test)"

N=${FAULT_N:-200}
smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "alternate", "text_id": "decimal"},
 "mo_gen": {"count": 10, "prefix": "mo ", "system_id": "smspool"}, "drop_on_dest": "1888",
 "log_skip": ["rx", "enquire_link"]'
e2e_db smspool_e2e_valgrind
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" 20
add_connection emu emulator '{"seed": 7, "accept_rate": 1.0, "outcomes": {"delivered": 90, "undelivered": 10},
  "report_delay_ms": 10, "latency_ms": 2}' 20
add_connection lo loopback '{}'

VG_LOG=$E2E_TMP/valgrind.log
log=$E2E_TMP/daemon-vg.log
env SMSPOOL_INSTANCE=vg valgrind --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=no --num-callers=30 --log-file="$VG_LOG" \
	"$SMSPOOL_BIN" run >>"$log" 2>&1 &
DAEMON_PID[vg]=$!
DAEMON_LOG[vg]=$log
DAEMON_EXPECT[vg]=1
diag "daemon under valgrind: pid $!, log $log, valgrind log $VG_LOG"
wait_for 60 "SELECT count(*) = 3 FROM smspool.connection_state WHERE state = 'up'" ||
	diag "connections: $(sql 'SELECT name, state, detail FROM smspool.connection_state')"

sql "INSERT INTO smspool.outbox (recipient, body, connection)
     SELECT '+1555' || lpad(g::text, 7, '0'), 'valgrind ' || g, (ARRAY['smsc', 'emu', 'lo'])[1 + g % 3]
     FROM generate_series(1, $N) g;
     INSERT INTO smspool.outbox (recipient, body, connection)
     SELECT '+1888' || lpad(g::text, 7, '0'), 'dropped ' || g, 'smsc' FROM generate_series(1, 10) g;
     INSERT INTO smspool.outbox (recipient, body, connection)
     VALUES ('+15550000001', repeat('long text ', 20), 'smsc'), ('+15550000002', 'Grüße 😀', 'lo')" || bail "INSERT"
M=$((N + 12))
if wait_for 120 "SELECT count(*) = $M FROM smspool.outbox WHERE status IN ($FINAL_STATES)"; then
	pass "all $M messages final under valgrind"
else
	fail "all $M messages final under valgrind" "states: $(state_counts)"
fi
if wait_for 30 "SELECT count(*) >= 10 FROM smspool.inbox WHERE connection = 'smsc'"; then
	pass "MO texts received over SMPP"
else
	fail "MO texts received over SMPP" "got: $(sql "SELECT count(*) FROM smspool.inbox WHERE connection = 'smsc'")"
fi

stop_daemon vg
is "$DAEMON_STATUS" 0 "exit status 0 after SIGTERM (99 would be a valgrind error or a definite leak)"
summary=$(grep -E 'definitely lost:|ERROR SUMMARY:' "$VG_LOG" | sed 's/^==[0-9]*== *//')
diag "$summary"
like "$(grep -E 'definitely lost:' "$VG_LOG" | head -n 1)" 'definitely lost: 0 bytes|^$' "no definitely lost block"
[ -z "$(grep -E 'definitely lost:' "$VG_LOG")" ] && diag "(no leak summary: nothing was definitely lost)"
like "$(grep -E 'ERROR SUMMARY:' "$VG_LOG" | tail -n 1)" 'ERROR SUMMARY: 0 errors' "no memory error"
if [ "$_tap_failed" != 0 ]; then diag "--- valgrind:" "$(grep -v '^==[0-9]*== *$' "$VG_LOG" | tail -n 60)"; fi
ok "$(grep -c 'HEAP SUMMARY' "$VG_LOG") >= 1" "valgrind ran to the end (heap summary printed)"
finish

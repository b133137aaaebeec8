#!/usr/bin/env bash
# Our EMI/UCP client's keepalive_s and its connection's throughput, seen
# from the scripted SMSC (tests/peers/ucp_smsc.py, which logs every op 31
# and op 51 it receives with a CLOCK_MONOTONIC time "t").  Two sessions, one
# SMSC process each: "ka" (keepalive_s 1, throughput 5, the only route) and
# "quiet" (keepalive_s 0 = never).
# - ka, idle, sends an op 31 within 10 s, the SMSC's ACK keeps the session up
#   (response_timeout_s 2: an ACK the client ignored would end the session).
# - quiet sends none while ka has been seen sending keepalives for 3 s after
#   quiet's login (ka's keepalives are the clock, not a fixed sleep).
# - 15 messages at throughput 5/s: at most 7 arrivals in any 1 s window, and
#   the 15 take >= 2.4 s; all 15 end delivered.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

start_smsc() { # NAME: a scripted SMSC in $E2E_TMP/NAME, its pid in SMSC_PIDS
	mkdir -p "$E2E_TMP/$1"
	python3 "$E2E_ROOT/tests/peers/ucp_smsc.py" "$E2E_TMP/$1/port" "$E2E_TMP/$1/log.jsonl" &
	SMSC_PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		[ -s "$E2E_TMP/$1/port" ] && return 0
		sleep 0.1
	done
	bail "the scripted SMSC $1 did not start"
}
SMSC_PIDS=()
trap 'kill "${SMSC_PIDS[@]}" 2>/dev/null; _e2e_cleanup' EXIT
start_smsc ka
start_smsc quiet
KA_LOG=$E2E_TMP/ka/log.jsonl
QUIET_LOG=$E2E_TMP/quiet/log.jsonl

e2e_db smspool_e2e_ucp_keepalive
common='"login": "1234", "password": "x", "response_timeout_s": 2, "reconnect_min_ms": 200, "reconnect_max_ms": 1000'
add_connection ka ucp "{\"host\": \"127.0.0.1\", \"port\": $(cat "$E2E_TMP/ka/port"), \"keepalive_s\": 1, $common}"
add_connection quiet ucp "{\"host\": \"127.0.0.1\", \"port\": $(cat "$E2E_TMP/quiet/port"), \"keepalive_s\": 0, $common}"
sql "UPDATE smspool.connections SET throughput = 5 WHERE name = 'ka'" || bail "throughput"
add_route ka
start_daemon k
wait_for 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE name IN ('ka', 'quiet') AND state = 'up'" ||
	bail "no login: $(sql "SELECT name, state, detail FROM smspool.connection_state")"

# waitlog SECONDS PYTHON-EXPRESSION: polls until the expression, over ka
# (the events of ka's log) and quiet (those of quiet's log), is true.
waitlog() {
	python3 - "$1" "$2" "$KA_LOG" "$QUIET_LOG" <<'EOF'
import json, sys, time
secs, expr, ka_log, quiet_log = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
end = time.monotonic() + secs
while True:
    ka = [json.loads(l) for l in open(ka_log) if l.endswith("\n")]
    quiet = [json.loads(l) for l in open(quiet_log) if l.endswith("\n")]
    if eval(expr):
        sys.exit(0)
    if time.monotonic() > end:
        sys.exit(1)
    time.sleep(0.1)
EOF
}

if waitlog 10 'any(e["ev"] == "keepalive" for e in ka)'; then
	pass "keepalive_s 1: the idle client sends an op 31 within 10 s"
else
	fail "keepalive_s 1: the idle client sends an op 31 within 10 s" "$(cat "$KA_LOG")"
fi
# The keepalives go on, one per idle second, for 3 s after quiet logged in.
qlogin='max(e["t"] for e in quiet if e["ev"] == "login")'
if waitlog 15 "sum(e['ev'] == 'keepalive' and e['t'] > $qlogin for e in ka) >= 2 and \
max([e['t'] for e in ka if e['ev'] == 'keepalive'] + [0]) >= $qlogin + 3"; then
	pass "ka goes on sending keepalives while idle"
else
	fail "ka goes on sending keepalives while idle" "$(cat "$KA_LOG")"
fi
is "$(grep -c '"ev": "keepalive"' "$QUIET_LOG")" 0 "keepalive_s 0: no op 31 in the same 3 s"
is "$(grep -c '"ev": "accept"' "$KA_LOG")|$(sql "SELECT state FROM smspool.connection_state WHERE name = 'ka'")" "1|up" \
	"the SMSC's ACKs to op 31 keep the session up (one connection, still up)"

sql "INSERT INTO smspool.outbox (recipient, body)
	SELECT '+1555000' || (300 + i), 'paced ' || i FROM generate_series(0, 14) i" || bail "INSERT"
if wait_for 60 "SELECT count(*) = 15 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "all 15 messages end delivered"
else
	fail "all 15 messages end delivered" "$(sql "SELECT recipient, status, error_text FROM smspool.outbox ORDER BY recipient")"
fi
# The connection's throughput is applied by dispatch() in src/spool.c (not
# src/bucket.c, which is the accounts' bucket): tokens refill at 5/s up to a
# burst of max(throughput / 10, 1) = 1 token, and a submit needs one whole
# token.  So at most 1 + 5 = 6 submits leave in any 1 s; the peer's arrival
# times may bunch by one more when a loaded machine delays a frame (the
# daemon's own stalls do not bunch: the bucket caps at 1), hence 7.  The
# 15 arrivals take at least 14 / 5 = 2.8 s; 2.4 s allows the same jitter.
# Without the throughput, the 15 arrive within a few ms.
read -r maxwin span < <(python3 -c '
import json, sys
t = sorted(e["t"] for e in map(json.loads, open(sys.argv[1])) if e["ev"] == "submit")
print(max(sum(1 for u in t if s <= u < s + 1.0) for s in t) if t else 0, int((t[-1] - t[0]) * 1000) if t else 0)' "$KA_LOG")
is "$(grep -c '"ev": "submit"' "$KA_LOG")" 15 "the SMSC received the 15 submits, each once"
ok "${maxwin:-99} <= 7" "throughput 5/s: at most 7 arrivals in any 1 s window (saw ${maxwin})"
ok "${span:-0} >= 2400" "throughput 5/s: the 15 arrivals span ${span} ms (>= 2400)"
stop_daemon k
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish

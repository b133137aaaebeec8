#!/usr/bin/env bash
# Hostile clients against the SMPP server (issue 9, "hostile clients on the
# server side"), scripted by tests/peers/smpp_hostile.py (a small SMPP
# client written from the specification, not smspool's codec):
# - a session that never binds is closed after bind_timeout_s;
# - sessions beyond max_sessions_per_address from one address are closed at
#   accept, the others stay;
# - a bound client that pipelines submits while the database is stalled gets
#   ESME_RTHROTTLED beyond max_pending, and the rest answered once it is back;
# - many concurrent wrong-password binds for a while: answered in the daemon
#   after the first few (the database's account_auth is called a bounded
#   number of times), while a bound client's submits keep flowing (p99 < 2 s)
#   and the daemon stays alive, its peak RSS bounded.
# `make soak` runs the flood for 60 s with 200 workers (HOSTILE_FLOOD_S,
# HOSTILE_WORKERS; 8 s and 100 here).
. "$(dirname "$0")/../lib/e2e.sh"
plan 13
FLOOD_S=${HOSTILE_FLOOD_S:-8}
WORKERS=${HOSTILE_WORKERS:-100}

command -v python3 >/dev/null || bail "python3 is missing (packaging/install-deps.sh)"
HOSTILE="$E2E_ROOT/tests/peers/smpp_hostile.py"

e2e_db smspool_e2e_smpp_hostile
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1')" || bail "account"
# Count the calls of account_auth (pg_stat_user_functions): the database's cost of logins.
sql "DO \$\$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = pl', current_database()); END \$\$" || bail "track_functions"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "bind_timeout_s": 2, "max_pending": 5,
	"response_timeout_s": 10}'
add_connection smppd2 smpp-server '{"listen": "127.0.0.1:0", "max_sessions_per_address": 3}'
add_connection emu emulator '{}'
add_route emu
start_daemon h1

port_of() {
	wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = '$1'" ||
		bail "$1 does not listen: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = '$1'")"
	sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = '$1'"
}
PORT=$(port_of smppd)
PORT2=$(port_of smppd2)
pass "both smpp-server connections listen ($PORT, $PORT2)"

# --- a session that never binds ----------------------------------------------
out=$(python3 "$HOSTILE" unbound "$PORT" 20) || bail "smpp_hostile.py unbound failed"
diag "unbound: $out"
is "$(jq -r '.closed' <<<"$out")" true "a session that sends nothing is closed by the server"
ok "$(jq -r '.seconds >= 1.5 and .seconds <= 10' <<<"$out")" "... after bind_timeout_s (2 s), not at once and not never"

# --- sessions per address ------------------------------------------------------
out=$(python3 - "$PORT2" <<'EOF'
import json, socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
time.sleep(1.0)
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(json.dumps({"closed": closed}))
EOF
) || bail "per-address client failed"
is "$(jq -r '.closed' <<<"$out")" 2 "five sessions from one address with max_sessions_per_address 3: two closed at accept"

# --- pipelining while the database is stalled ---------------------------------
# A transaction holds the outbox so that no submit can commit for 3 s.
"$E2E_PSQL" -X -q -d "$SMSPOOL_DB" -c "BEGIN; LOCK TABLE smspool.outbox IN EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null 2>&1 &
LOCKER=$!
wait_for 10 "SELECT count(*) > 0 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'outbox' AND l.mode = 'ExclusiveLock' AND l.granted" ||
	bail "the outbox lock was not taken"
out=$(python3 "$HOSTILE" pipeline "$PORT" esme1 secret1 50) || bail "smpp_hostile.py pipeline failed"
wait "$LOCKER"
diag "pipeline: $out"
is "$(jq -r '.answered' <<<"$out")" 50 "every one of 50 pipelined submits is answered"
is "$(jq -r '.statuses.ESME_RTHROTTLED // 0' <<<"$out")" 45 "beyond max_pending (5) they get ESME_RTHROTTLED at once"
is "$(jq -r '.statuses.ESME_ROK // 0' <<<"$out")" 5 "the five pending ones are accepted once the database is back"

# --- a flood of wrong-password binds beside a working client --------------------
calls() { sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'account_auth'"; }
before=$(calls)
python3 "$HOSTILE" steady "$PORT" $((FLOOD_S + 4)) esme1 secret1 >"$E2E_TMP/steady.json" &
STEADY=$!
sleep 1 # the steady client binds first (its bind is not under test)
python3 "$HOSTILE" flood "$PORT" "$FLOOD_S" "$WORKERS" esme1 >"$E2E_TMP/flood.json" || bail "smpp_hostile.py flood failed"
wait "$STEADY" || bail "smpp_hostile.py steady failed"
diag "flood: $(cat "$E2E_TMP/flood.json")"
diag "steady: $(cat "$E2E_TMP/steady.json")"
attempts=$(jq -r '.attempts' "$E2E_TMP/flood.json")
ok "$(jq -r '(.statuses.ESME_ROK // 0) == 0' "$E2E_TMP/flood.json")" "no wrong password was ever accepted"
ok "$([ "$attempts" -ge 200 ] && echo true)" "the flood made at least 200 bind attempts ($attempts)"
# Statistics reach pg_stat_user_functions when the daemon's session is idle.
wait_for 10 "SELECT coalesce(sum(calls), 0) > $before FROM pg_stat_user_functions WHERE funcname = 'account_auth'" ||
	diag "no account_auth calls counted yet"
after=$(calls)
diag "account_auth calls during the flood: $((after - before)) for $attempts attempts"
ok "$([ $((after - before)) -le 60 ] && echo true)" "the database checked at most 60 of them ($((after - before)))"
ok "$(jq -r '.submits >= 50 and (.statuses.ESME_ROK // 0) == .submits and .p99 < 2' "$E2E_TMP/steady.json")" \
	"the bound client's submits kept flowing: all accepted, p99 under 2 s"
ok "$(daemon_alive h1 && echo true)" "the daemon is alive after the flood"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/${DAEMON_PID[h1]}/status")
ok "$([ "${hwm:-999999}" -lt $((96 * 1024)) ] && echo true)" "the daemon's peak RSS stayed under 96 MB ($((${hwm:-0} / 1024)) MB)"
diag "refusal lines logged: $(grep -c 'event=auth_refused' "${DAEMON_LOG[h1]}"), reasons: $(grep -o 'event=auth_refused.*reason="[^"]*"' "${DAEMON_LOG[h1]}" | sed 's/.*reason=//' | sort | uniq -c | tr '\n' ' ')"

stop_daemon h1
finish

#!/usr/bin/env bash
# Two daemons (different instance names) share one database: 5,000 messages,
# all final, none sent twice, and both daemons sent some.  A listening
# connection limited to one of them by connections.daemons (sql/022_ha.sql)
# runs there only.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

N=5000
e2e_db smspool_e2e_two
add_connection emu emulator '{"seed": 5, "accept_rate": 1.0,
  "outcomes": {"delivered": 90, "undelivered": 7, "expired": 3},
  "report_delay_ms": 100, "latency_ms": 5}' 20
add_route emu
add_connection srv smpp-server '{"listen": "127.0.0.1:0"}'
sql "UPDATE smspool.connections SET daemons = '{beta}' WHERE name = 'srv'" || bail "daemons"
start_daemon alpha
start_daemon beta
# Both connected and listening before the burst: emu in each daemon, srv in beta.
wait_for 20 "SELECT count(*) FILTER (WHERE state = 'up') = 3 FROM smspool.connection_state" ||
	bail "the connections did not come up: $(sql "SELECT string_agg(name || '@' || instance || ':' || state, ',') FROM smspool.connection_state")"

sql "INSERT INTO smspool.outbox (recipient, body)
     SELECT '+1555' || lpad(i::text, 7, '0'), 'two daemons ' || i
     FROM generate_series(1, $N) i" || bail "INSERT failed"

# Wait for the end, noting which instances hold claims in the hot queue meanwhile.
declare -A seen=()
end=$(($(now_ms) + 120000))
done_ok=0
while [ "$(now_ms)" -lt "$end" ]; do
	for who in $(sql "SELECT DISTINCT claimed_by FROM smspool.queue WHERE claimed_by IS NOT NULL" 2>/dev/null); do
		seen[$who]=$((${seen[$who]:-0} + 1))
	done
	if [ "$(sql "SELECT count(*) = $N FROM smspool.outbox WHERE status IN ($FINAL_STATES)")" = t ]; then
		done_ok=1
		break
	fi
	daemon_alive alpha && daemon_alive beta || break
	sleep 0.2
done
if [ "$done_ok" = 1 ]; then
	pass "all $N messages final within 120 s"
else
	fail "all $N messages final within 120 s" "states: $(state_counts)"
fi
diag "states: $(state_counts)"
is "$(count_where "status IN ('failed', 'rejected', 'cancelled')")" 0 "none failed or rejected"
is "$(count_where "attempts <> 1")" 0 "every message attempted exactly once"
is "$(count_where "coalesce(cardinality(remote_ids), 0) <> parts")" 0 "each message has as many remote ids as parts"

is "$(sql "SELECT string_agg(instance || ':' || state, ',') FROM smspool.connection_state WHERE name = 'srv'")" "beta:up" \
	"the listening connection with daemons = {beta} runs on beta only"

# Which daemon sent: the instances seen in queue.claimed_by while the burst ran.
diag "claims seen (samples): $(for k in "${!seen[@]}"; do printf '%s=%s ' "$k" "${seen[$k]}"; done)"
ok "${seen[alpha]:-0} > 0" "daemon alpha claimed some"
ok "${seen[beta]:-0} > 0" "daemon beta claimed some"

stop_daemon alpha
is "$DAEMON_STATUS" 0 "alpha exits 0 on SIGTERM"
stop_daemon beta
is "$DAEMON_STATUS" 0 "beta exits 0 on SIGTERM"
finish

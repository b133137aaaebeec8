#!/usr/bin/env bash
# The status page at / of the operations endpoint, loaded by a real browser
# (headless Chromium, Debian `chromium`): with two daemons sharing one
# database, an emulator connection that rejects some messages, a loopback
# connection and a disabled one, the DOM shows every connection of every
# daemon with its state, the error count of the last hour and the recent
# failures with their error texts as the database has them, the queue and
# both daemons' heartbeats; a screenshot is kept in $E2E_TMP.  The page is
# read-only (POST is refused) and carries no script.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/ops.sh"
plan 14

command -v chromium >/dev/null || bail "chromium is not installed (make test-deps)"
command -v curl >/dev/null || bail "curl is not installed"

e2e_db smspool_e2e_status
add_connection emu emulator '{"seed": 9, "accept_rate": 0.8, "report_delay_ms": 50}' 20
add_connection lo loopback '{}'
sql "INSERT INTO smspool.connections (name, type, settings, enabled) VALUES ('off', 'loopback', '{}', false)" ||
	bail "INSERT failed"
add_route emu
start_daemon p1 SMSPOOL_METRICS_LISTEN=127.0.0.1:0
start_daemon p2

port=$(ops_port p1)
[ -n "$port" ] || bail "the daemon did not log ops_http_listening"
URL="http://127.0.0.1:$port/"

sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+1555300' || lpad(i::text, 4, '0'), 'page ' || i
     FROM generate_series(1, 100) i;
     INSERT INTO smspool.outbox (recipient, sender, body, connection)
     SELECT '+1555400' || i, '+15559990000', 'echo ' || i, 'lo' FROM generate_series(1, 3) i" || bail "INSERT failed"
wait_for 60 "SELECT count(*) = 103 FROM smspool.outbox WHERE status IN ($FINAL_STATES)" ||
	fail "103 messages final" "states: $(state_counts)"
wait_for 30 "SELECT count(*) = 4 FROM smspool.connection_state WHERE state = 'up'" ||
	fail "both daemons report both connections up" "$(sql 'SELECT * FROM smspool.connection_state')"
rejected=$(count_where "connection_used = 'emu' AND status = 'rejected'")
last_error=$(sql "SELECT error_text FROM smspool.outbox WHERE status = 'rejected' ORDER BY done_at DESC LIMIT 1")
diag "rejected: $rejected; last error text: $last_error"

# The page is cached for up to 5 s: load it until it shows the final figures.
dom="$E2E_TMP/dom.html"
shot="$E2E_TMP/status.png"
errors_cell=""
for _ in $(seq 1 8); do
	rm -f "$shot"
	timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$E2E_TMP/chromium" \
		--window-size=1280,1000 --screenshot="$shot" --dump-dom "$URL" >"$dom" 2>"$E2E_TMP/chromium.log"
	errors_cell=$(python3 - "$dom" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rows = re.findall(r'<tr class="conn" data-connection="emu" data-instance="p1"[^>]*>(.*?)</tr>', t, re.S)
m = re.search(r'<td class="num errors">(\d+)</td>', rows[0]) if rows else None
print(m.group(1) if m else "")
PY
)
	[ "$errors_cell" = "$rejected" ] && break
	sleep 2
done
[ -s "$dom" ] || bail "chromium printed no DOM: $(tail -n 5 "$E2E_TMP/chromium.log")"

conn_rows() { grep -o "<tr class=\"conn\" data-connection=\"$1\" data-instance=\"$2\" data-state=\"$3\"" "$dom" | wc -l; }
is "$(conn_rows emu p1 up)" 1 "the page shows emu up on daemon p1"
is "$(conn_rows emu p2 up)" 1 "the page shows emu up on daemon p2 (every daemon's connections)"
is "$(conn_rows lo p1 up)$(conn_rows lo p2 up)" 11 "the page shows lo up on both daemons"
like "$(grep -o '<tr class="conn" data-connection="off"[^>]*>' "$dom")" 'data-state="disabled"' \
	"the disabled connection is shown as disabled"
is "$errors_cell" "$rejected" "emu's errors in the last hour equal the rejected messages"
ok "$(grep -o '<tr class="failure">' "$dom" | wc -l) == ($rejected < 10 ? $rejected : 10)" \
	"recent failures list the last rejected messages (at most 10)"
like "$(cat "$dom")" "<td>$(printf '%s' "$last_error" | sed 's/[][\.*^$()|+?{}]/\\&/g')</td>" \
	"the newest failure's error text is on the page"
is "$(grep -o '<b id="queue-depth">[0-9]*</b>' "$dom")" '<b id="queue-depth">0</b>' "queue depth 0"
is "$(grep -o '<tr class="daemon" data-instance="p[12]"' "$dom" | wc -l)" 2 "both daemons with their heartbeat"
ok "$(grep -o '<svg class="chart"' "$dom" | wc -l) >= 5" "a rate chart per connection row"
ok "$(grep -c '<script' "$dom") == 0" "no script on the page"
if [ -s "$shot" ] && [ "$(head -c 4 "$shot" | od -An -c | tr -d ' ')" = '211PNG' ]; then
	pass "screenshot taken ($shot)"
else
	fail "screenshot taken ($shot)" "$(tail -n 5 "$E2E_TMP/chromium.log")"
fi
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 5 "$URL")" 405 "the page is read-only: POST is 405"
stop_daemon p1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
stop_daemon p2
finish

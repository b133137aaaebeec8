#!/usr/bin/env bash
# The exec connection, receiving: conf/exec/receive-file.py follows a file of
# JSON lines (inbound texts, delivery reports for messages the same
# connection sent, bad lines) and writes them to smspool, which acknowledges
# each line on the program's stdin only after it is committed.  The receiver
# is killed (SIGKILL) twice mid-stream and restarted by the daemon: nothing
# is lost and nothing stored twice; bad lines are logged (rate-limited),
# acknowledged with an error and skipped; no zombie is left; at stop the
# receiver gets end of input and ends.
. "$(dirname "$0")/../lib/e2e.sh"
plan 15

command -v python3 >/dev/null || bail "python3 is missing (packaging/install-deps.sh)"
IN=$E2E_TMP/in.jsonl
: >"$IN"
e2e_db smspool_e2e_exec_receive
add_connection rx exec "{\"send_argv\": [\"/bin/echo\", \"R{id}\"],
	\"receive_argv\": [\"conf/exec/receive-file.py\", \"$IN\"], \"env\": {\"EMIT_DELAY_MS\": \"20\"},
	\"restart_min_ms\": 200, \"restart_max_ms\": 1000}" 10
start_daemon e2erx
DPID=${DAEMON_PID[e2erx]}

# receiver_pid: the receiver program, the daemon's child (pgrep only finds it; it is killed by pid).
receiver_pid() {
	pgrep -P "$DPID" -f receive-file.py | head -n 1
}

sql "INSERT INTO smspool.outbox (recipient, body, connection, want_report)
     SELECT '+155580' || lpad(i::text, 5, '0'), 'report me ' || i, 'rx', true FROM generate_series(1, 5) i" || bail "INSERT"
wait_for 30 "SELECT count(*) = 5 FROM smspool.outbox WHERE status = 'sent' AND remote_ids[1] = 'R' || id" &&
	pass "5 messages sent through the connection's send program" || fail "5 messages sent" "$(state_counts)"

NIN=400
NBAD=80
python3 - "$IN" "$NIN" "$NBAD" "$(sql "SELECT string_agg(id::text, ' ') FROM smspool.outbox")" <<'PY'
import json, sys
path, nin, nbad, ids = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
lines = []
for i in range(1, nin + 1):
    lines.append(json.dumps({"type": "inbound", "id": "in-%d" % i, "from": "+4917600%05d" % i, "to": "12345",
                             "text": "text %d $(rm -rf x) `id` 'q' ü 😀" % i}, ensure_ascii=False))
    if i % 5 == 0 and nbad > 0:
        nbad -= 1
        lines.append(["not json {", '{"type": "inbound", "id": "bad-%d", "from": "x"}' % i,
                      '{"type": "report", "remote_id": "R1", "state": "DELIVRD"}', "[1, 2]"][i // 5 % 4])
for n, mid in enumerate(ids):
    lines.insert(50 + n * 60, json.dumps({"type": "report", "id": "dr-%s" % mid, "remote_id": "R%s" % mid,
                                         "state": "delivered", "error_code": "000"}))
with open(path, "a", encoding="utf-8") as f:
    for l in lines:
        f.write(l + "\n")
PY
TOTAL=$(wc -l <"$IN")

kills=0
for at in 100 250; do
	if wait_for 60 "SELECT count(*) >= $at FROM smspool.inbox"; then
		p=$(receiver_pid)
		if [ -n "$p" ]; then
			kill -KILL "$p" && kills=$((kills + 1))
			diag "killed the receiver (pid $p) at $(sql 'SELECT count(*) FROM smspool.inbox') inbox rows"
		fi
	fi
done
is "$kills" 2 "the receiver was killed twice mid-stream"

if wait_for 90 "SELECT count(*) >= $NIN FROM smspool.inbox"; then
	pass "all $NIN inbound texts stored"
else
	fail "all $NIN inbound texts stored" "inbox: $(sql 'SELECT count(*) FROM smspool.inbox')"
fi
wait_for 30 "SELECT count(*) = 5 FROM smspool.outbox WHERE status = 'delivered'" &&
	pass "the 5 reports, by remote id, delivered their messages" || fail "the 5 reports delivered their messages" "$(state_counts)"
# Everything is acknowledged: the receiver's state file names every line once.
for _ in $(seq 1 150); do
	[ "$(sort -u "$IN.acked" 2>/dev/null | wc -l)" -ge "$TOTAL" ] && break
	sleep 0.2
done
is "$(sort -u "$IN.acked" | wc -l)" "$TOTAL" "every line ($TOTAL) was acknowledged to the receiver in the end"
sleep 1 # would a duplicate still arrive?
is "$(sql 'SELECT count(*) FROM smspool.inbox')" "$NIN" "nothing stored twice: exactly $NIN inbox rows"
is "$(sql 'SELECT count(DISTINCT body) FROM smspool.inbox')" "$NIN" "each text once"
is "$(sql "SELECT count(*) FROM smspool.inbox WHERE body = 'text 77 \$(rm -rf x) \`id\` ''q'' ü 😀' AND sender = '+491760000077' AND recipient = '12345' AND connection = 'rx'")" 1 \
	"a text arrives with its sender, recipient and every byte"
is "$(sql "SELECT count(*) FROM smspool.reports WHERE connection = 'rx'")" 5 "each report stored once"
restarts=$(grep -c "event=exec_receiver_started conn=rx" "${DAEMON_LOG[e2erx]}")
ok "$restarts >= 3" "the receiver was restarted after each kill (started $restarts times)"
grep -q "event=exec_receiver_ended conn=rx .*signal=9 .*restart_in_ms=" "${DAEMON_LOG[e2erx]}" &&
	grep -q 'event=conn_state conn=rx state=up detail="the receiver program ended; restarting"' "${DAEMON_LOG[e2erx]}" &&
	pass "its end and the restart delay are logged, and shown in the connection's state" ||
	fail "its end and the restart delay are logged, and shown in the connection's state"
diag "lines sent again after a restart: $(grep -c "event=exec_receive_again conn=rx" "${DAEMON_LOG[e2erx]}") (committed ones acknowledged at once, not stored)"
nbadlog=$(grep -c "event=exec_receive_bad_line conn=rx" "${DAEMON_LOG[e2erx]}")
ok "$nbadlog >= 1 && $nbadlog < $NBAD" "bad lines are logged, rate-limited ($nbadlog log lines for $NBAD bad lines)"
zombies=$(for s in /proc/[0-9]*/stat; do awk -v d="$DPID" '$4 == d && $3 == "Z" {print $1}' "$s" 2>/dev/null; done | tr '\n' ' ')
is "$zombies" "" "no zombie child of the daemon (/proc)"

RPID=$(receiver_pid)
stop_daemon e2erx
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
if [ -n "$RPID" ] && [ -e "/proc/$RPID" ] && [ "$(awk '{print $3}' "/proc/$RPID/stat" 2>/dev/null)" != Z ]; then
	fail "the receiver ended with the daemon" "pid $RPID still runs"
	kill -KILL "$RPID" 2>/dev/null
else
	pass "the receiver ended with the daemon"
fi
finish

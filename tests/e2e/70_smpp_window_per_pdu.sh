#!/usr/bin/env bash
# Flow control per PDU (issue 17): SMSCs count outstanding PDUs, so a 4-part
# message takes 4 slots of the connection's window.  A scripted SMSC binds
# and answers submit_sm only once the ESME has been quiet for a second, so
# that everything the window lets out is outstanding at once; with window 4
# and three 4-part messages queued, at most 4 submit_sm are outstanding.
. "$(dirname "$0")/../lib/e2e.sh"
plan 3

cat >"$E2E_TMP/smsc.py" <<'PY'
import select, socket, struct, sys
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
open(sys.argv[1], "w").write(str(ls.getsockname()[1]))
s, _ = ls.accept()
buf, held, answered, most, want = b"", [], 0, 0, int(sys.argv[2])
def send(cmd, seq, body=b""):
    s.sendall(struct.pack(">IIII", 16 + len(body), cmd, 0, seq) + body)
while answered < want:
    # Responses are held until the ESME has been quiet for 1 s: whatever
    # its window lets out comes in that time.
    if not select.select([s], [], [], 1.0)[0]:
        for seq in held:
            answered += 1
            send(0x80000004, seq, b"id%d\0" % answered)
        held = []
        continue
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 16:
        n, cmd, st, seq = struct.unpack(">IIII", buf[:16])
        if len(buf) < n:
            break
        buf = buf[n:]
        if cmd in (1, 2, 9):
            send(cmd | 0x80000000, seq, b"smsc\0")
        elif cmd == 0x15:
            send(0x80000015, seq)
        elif cmd == 4:
            held.append(seq)
            most = max(most, len(held))
print("answered=%d most_outstanding=%d" % (answered, most), flush=True)
PY
python3 "$E2E_TMP/smsc.py" "$E2E_TMP/port" 12 >"$E2E_TMP/smsc.out" 2>&1 &
SMSC=$!
trap 'kill $SMSC 2>/dev/null; _e2e_cleanup' EXIT
for ((i = 0; i < 100; i++)); do [ -s "$E2E_TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$E2E_TMP/port")

e2e_db smspool_e2e_smpp_window
add_connection smsc smpp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"system_id\": \"smspool\", \"password\": \"secret\",
	\"response_timeout_s\": 30, \"enquire_link_s\": 60, \"request_reports\": false}" 4
add_route smsc
LONG=$(printf 'Part of a long text number %03d. ' $(seq 1 18)) # 18 x 32 = 576 GSM characters: 4 parts of 153
sql "INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '+1555000000' || g, '$LONG', 'w' || g FROM generate_series(1, 3) g" ||
	bail "INSERT"
is "$(sql "SELECT string_agg(parts::text, ',') FROM smspool.outbox")" "4,4,4" "three messages of 4 parts each"
start_daemon w
end=$(($(now_ms) + 60000))
while kill -0 $SMSC 2>/dev/null && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
is "$(cat "$E2E_TMP/smsc.out")" "answered=12 most_outstanding=4" \
	"window 4: at most one 4-part message (4 submit_sm) outstanding at a time, every part sent"
wait_for 20 "SELECT count(*) = 3 FROM smspool.outbox WHERE status = 'sent'" || diag "$(sql "SELECT status, count(*) FROM smspool.outbox GROUP BY 1")"
stop_daemon w
is "$DAEMON_STATUS" 0 "daemon exits 0"
finish

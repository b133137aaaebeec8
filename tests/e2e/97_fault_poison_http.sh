#!/usr/bin/env bash
# Fault suite 8b (issue 9): poison bytes from an HTTP provider.  A small
# provider (python3 standard library, inline below) accepts every message
# with 200 but answers with a message id holding the byte 0xFF (not UTF-8):
#   json  {"message_id": "P\xff<n>"}: the body is not valid JSON, so no id can
#         be read; the message is still accepted (2xx), recorded as sent
#         without an id, and never sent again;
#   text  "OK ID: X\xff<n>" read by id_regex: the id is recorded with the
#         byte escaped (\xFF), and the message is never sent again.
# lease_s is 2: a message whose result the store could not write would be
# claimed and sent again after its lease; the provider counts each once.
. "$(dirname "$0")/../lib/e2e.sh"
plan 7
N=${FAULT_N:-100}

PROV_PID=
_poison_cleanup() {
	[ -n "$PROV_PID" ] && kill "$PROV_PID" 2>/dev/null && wait "$PROV_PID" 2>/dev/null
	_e2e_cleanup
}
trap _poison_cleanup EXIT

python3 - "$E2E_TMP/port" "$E2E_TMP/requests" <<'EOF' &
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port_file, log = sys.argv[1], sys.argv[2]
lock = threading.Lock()
n = [0]
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            n[0] += 1
            k = n[0]
            with open(log, "a") as f:
                f.write(self.path + " " + body.decode("utf-8", "replace").replace("\n", " ") + "\n")
        if self.path.startswith("/json"):
            out = b'{"message_id": "P\xff%d", "status": "accepted"}' % k
            ctype = "application/json"
        else:
            out = b"OK ID: X\xff%d" % k
            ctype = "text/plain"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
PROV_PID=$!
for _ in $(seq 100); do [ -s "$E2E_TMP/port" ] && break; sleep 0.05; done
[ -s "$E2E_TMP/port" ] || bail "the test provider did not start"
PORT=$(cat "$E2E_TMP/port")

e2e_db smspool_e2e_fault_poison_http
sql "UPDATE smspool.config SET value = '2' WHERE key = 'lease_s'" || bail "config"
add_connection pjson http "{\"url\": \"http://127.0.0.1:$PORT/json\", \"body\": \"to={recipient}&text={text}\",
	\"content_type\": \"application/x-www-form-urlencoded\", \"id_json_pointer\": \"/message_id\"}"
add_connection ptext http "{\"url\": \"http://127.0.0.1:$PORT/text\", \"body\": \"to={recipient}&text={text}\",
	\"content_type\": \"application/x-www-form-urlencoded\", \"id_regex\": \"ID: (\\\\S+)\"}"
start_daemon p1
sql "INSERT INTO smspool.outbox (recipient, body, client_ref, connection, want_report)
     SELECT '+1555' || lpad(g::text, 7, '0'), 'poison ' || g, 'pj' || g, 'pjson', false FROM generate_series(1, $N) g;
     INSERT INTO smspool.outbox (recipient, body, client_ref, connection, want_report)
     SELECT '+1556' || lpad(g::text, 7, '0'), 'poison ' || g, 'pt' || g, 'ptext', false FROM generate_series(1, $N) g" ||
	bail "insert"
if wait_for 60 "SELECT count(*) = $((2 * N)) FROM smspool.outbox WHERE client_ref LIKE 'p%' AND status = 'sent'"; then
	pass "all $((2 * N)) messages recorded as sent"
else
	fail "all $((2 * N)) messages recorded as sent" \
		"$(sql "SELECT string_agg(connection || ' ' || status || '=' || n, ', ') FROM (SELECT connection, status, count(*) n FROM smspool.outbox GROUP BY 1, 2) s")"
fi
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'pt%' AND remote_ids[1] LIKE 'X\\\\xFF%'")" "$N" \
	"text: every id recorded with the byte escaped (X\\xFF<n>)"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'pj%' AND attempts = 1")" "$N" \
	"json: every message took one attempt (an unreadable body of a 2xx is still an acceptance)"
# Several lease periods: nothing is claimed and sent again.
sleep 6 # the fault under test is time itself: three lease periods must pass
is "$(grep -c '^/json' "$E2E_TMP/requests")" "$N" "json: the provider got each message once, also after three lease periods"
is "$(grep -c '^/text' "$E2E_TMP/requests")" "$N" "text: the provider got each message once, also after three lease periods"
ok "$(daemon_alive p1 && echo true)" "the daemon is alive"
stop_daemon p1
pass "the daemon stops cleanly"
finish

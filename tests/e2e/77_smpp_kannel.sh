#!/usr/bin/env bash
# Kannel 1.4.5 as a client of our SMPP server: bearerbox binds an `smsc =
# smpp` group (transceiver) to the smpp-server connection as account kannel;
# a message sent with smsbox's sendsms becomes an outbox row of kannel, the
# emulator delivers it, and our delivery receipt reaches Kannel, which calls
# the message's dlr-url on a tiny HTTP listener with type 1 (delivered).
# Kannel comes from the set-up (make test-deps); without it the test bails out.
. "$(dirname "$0")/../lib/e2e.sh"
plan 7

# The set-up (make test-deps) installs Kannel; a test never installs anything.
command -v bearerbox >/dev/null 2>&1 && command -v smsbox >/dev/null 2>&1 ||
	bail "Kannel (bearerbox, smsbox) is not installed: run make test-deps (packaging/install-deps.sh --test)"

KDIR=$E2E_TMP/kannel
mkdir -p "$KDIR"
# free_port: a TCP port nobody listens on right now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The dlr-url listener: one line per request (the path) in $KDIR/dlr.log.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(self.path + "\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$KDIR/dlr.log" "$KDIR/http_port" &
HTTP_PID=$!
PIDS=("$HTTP_PID")
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
for ((i = 0; i < 100; i++)); do
	[ -s "$KDIR/http_port" ] && break
	sleep 0.1
done
HTTP_PORT=$(cat "$KDIR/http_port") || bail "the HTTP listener did not start"

e2e_db smspool_e2e_smpp_kannel
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('kannel', 'kpw')" || bail "account"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 200}'
add_route emu
start_daemon k1
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smppd'" || bail "smpp-server not up"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")

ADMIN_PORT=$(free_port)
BOX_PORT=$(free_port)
SENDSMS_PORT=$(free_port)
# No blank lines inside a group: an empty line ends it.
cat >"$KDIR/kannel.conf" <<EOF
group = core
admin-port = $ADMIN_PORT
admin-password = adminpw
smsbox-port = $BOX_PORT
box-allow-ip = 127.0.0.1
log-file = "$KDIR/bearerbox.log"
log-level = 0
access-log = "$KDIR/access.log"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = smspool
host = 127.0.0.1
port = $PORT
transceiver-mode = true
smsc-username = kannel
smsc-password = kpw
system-type = ""
interface-version = 34
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $SENDSMS_PORT
log-file = "$KDIR/smsbox.log"
log-level = 0

group = sendsms-user
username = tester
password = testpw
EOF
bearerbox "$KDIR/kannel.conf" >"$KDIR/bearerbox.out" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 150; i++)); do # smsbox gives up if bearerbox does not listen yet
	grep -q 'Start-up done' "$KDIR/bearerbox.log" 2>/dev/null && break
	sleep 0.2
done
smsbox "$KDIR/kannel.conf" >"$KDIR/smsbox.out" 2>&1 &
PIDS+=("$!")
diag "Kannel: bearerbox pid ${PIDS[1]}, smsbox pid ${PIDS[2]}, logs in $KDIR; smpp-server on $PORT"

end=$(($(now_ms) + 30000))
while ! grep -q 'smpp_server_bound.*account=kannel' "${DAEMON_LOG[k1]}"; do
	[ "$(now_ms)" -lt "$end" ] || break
	sleep 0.2
done
like "$(grep 'smpp_server_bound.*account=kannel' "${DAEMON_LOG[k1]}" | head -1)" 'mode=transceiver version=0x34' \
	"bearerbox binds to the smpp-server as a transceiver (SMPP 3.4)"

# sendsms answers once smsbox is connected to bearerbox.
end=$(($(now_ms) + 30000))
while :; do
	R=$(curl -s -G "http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms" --data-urlencode username=tester \
		--data-urlencode password=testpw --data-urlencode to=15550003001 --data-urlencode from=Kannel \
		--data-urlencode 'text=Hello from Kannel' --data-urlencode dlr-mask=3 \
		--data-urlencode "dlr-url=http://127.0.0.1:$HTTP_PORT/dlr?type=%d&to=%p")
	case $R in *Accepted* | *Sent* | *Queued*) break ;; esac
	[ "$(now_ms)" -lt "$end" ] || break
	sleep 0.5
done
like "$R" 'Accepted|Sent|Queued' "sendsms accepts the message ($R)"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.outbox WHERE account = 'kannel' AND body = 'Hello from Kannel'"; then
	pass "it becomes an outbox row of account kannel"
else
	fail "it becomes an outbox row of account kannel" "$(tail -5 "$KDIR/bearerbox.log")"
fi
is "$(sql "SELECT sender || '|' || right(recipient, 11) FROM smspool.outbox WHERE account = 'kannel'")" "Kannel|15550003001" \
	"sender and recipient as Kannel sent them"
if wait_for 20 "SELECT status = 'delivered' FROM smspool.outbox WHERE account = 'kannel'"; then
	pass "the message from Kannel is delivered (our receipt goes back to Kannel)"
else
	fail "the message from Kannel is delivered (our receipt goes back to Kannel)" \
		"$(sql "SELECT status FROM smspool.outbox WHERE account = 'kannel'")"
fi
end=$(($(now_ms) + 30000))
while ! grep -q 'type=1' "$KDIR/dlr.log" 2>/dev/null; do
	[ "$(now_ms)" -lt "$end" ] || break
	sleep 0.2
done
like "$(cat "$KDIR/dlr.log" 2>/dev/null)" '/dlr\?type=1&to=\+?15550003001' \
	"Kannel matched our delivery receipt and called its dlr-url with type 1 (delivered)"
stop_daemon k1
is "$DAEMON_STATUS" 0 "daemon exits 0 with Kannel bound"
finish

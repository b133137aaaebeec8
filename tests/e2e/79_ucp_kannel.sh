#!/usr/bin/env bash
# Kannel 1.4.5 as an EMI/UCP client of our ucp-server: bearerbox logs in
# (`smsc = emi`, op 60) as account kannel; a message sent with smsbox's
# sendsms arrives as op 51 and becomes an outbox row of kannel, the emulator
# delivers it, and our op 53 notification (the recipient and SCTS of our
# ACK) reaches Kannel, which calls the message's dlr-url with type 1.  An
# inbound text routed to the account goes out as op 52 and reaches smsbox,
# which calls its sms-service URL.  A second EMI group with a wrong password
# is refused (NACK 07).  A third group without smsc-username sends op 51 at
# once, without op 60: account ipacct (login_by_address, 127.0.0.1/32) is
# taken by its address, as is our own ucp client without `login`.  A long
# text, which smsbox splits into 2 concatenated parts (UDH in XSer 01), is
# joined into ONE outbox row; each part's ACK has its own SCTS, and each
# part gets its op 53 notification (Kannel's dlr-url for the first part,
# which is the one Kannel asks a report for).
. "$(dirname "$0")/../lib/e2e.sh"
plan 20

if ! command -v bearerbox >/dev/null 2>&1 || ! command -v smsbox >/dev/null 2>&1; then
	bail "Kannel (bearerbox, smsbox) is not installed: make test-deps (packaging/install-deps.sh --test)"
fi

KDIR=$E2E_TMP/kannel
mkdir -p "$KDIR"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The dlr-url and sms-service listener: one line per request (the path).
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(self.path + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$KDIR/http.log" "$KDIR/http_port" &
PIDS=("$!")
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
for ((i = 0; i < 100; i++)); do
	[ -s "$KDIR/http_port" ] && break
	sleep 0.1
done
HTTP_PORT=$(cat "$KDIR/http_port") || bail "the HTTP listener did not start"

e2e_db smspool_e2e_ucp_kannel
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('kannel', 'kpw')" || bail "account"
sql "INSERT INTO smspool.accounts (system_id, password, allowed_addresses, login_by_address)
	VALUES ('ipacct', 'unused', '{127.0.0.1/32}', true)" || bail "account by address"
add_connection ucpd ucp-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 200}'
add_connection lo loopback '{}'
add_route emu
sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (1, 'lo', 'kannel')" || bail "inbound route"
start_daemon k1
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ucpd'" || bail "ucp-server not up"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")

ADMIN_PORT=$(free_port)
BOX_PORT=$(free_port)
SENDSMS_PORT=$(free_port)
# No blank lines inside a group: an empty line ends it.
cat >"$KDIR/kannel.conf" <<EOF2
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
smsc = emi
smsc-id = smspool
host = 127.0.0.1
port = $PORT
smsc-username = kannel
smsc-password = kpw
keepalive = 5
reconnect-delay = 1
denied-smsc-id = byip

group = smsc
smsc = emi
smsc-id = badpw
host = 127.0.0.1
port = $PORT
smsc-username = kannel
smsc-password = wrong
reconnect-delay = 30

group = smsc
smsc = emi
smsc-id = byip
host = 127.0.0.1
port = $PORT
keepalive = 5
reconnect-delay = 1
denied-smsc-id = smspool

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $SENDSMS_PORT
log-file = "$KDIR/smsbox.log"
log-level = 0

group = sendsms-user
username = tester
password = testpw
max-messages = 5
concatenation = true

group = sms-service
keyword = default
get-url = "http://127.0.0.1:$HTTP_PORT/mo?from=%p&to=%P&text=%a"
max-messages = 0
EOF2
bearerbox "$KDIR/kannel.conf" >"$KDIR/bearerbox.out" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 150; i++)); do # smsbox gives up if bearerbox does not listen yet
	grep -q 'Start-up done' "$KDIR/bearerbox.log" 2>/dev/null && break
	sleep 0.2
done
smsbox "$KDIR/kannel.conf" >"$KDIR/smsbox.out" 2>&1 &
PIDS+=("$!")
diag "Kannel: logs in $KDIR; ucp-server on $PORT"

wait_log() { # wait_log PATTERN FILE SECONDS
	local end=$(($(now_ms) + $3 * 1000))
	while ! grep -q "$1" "$2" 2>/dev/null; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
wait_log 'ucp_server_logged_in.*account=kannel' "${DAEMON_LOG[k1]}" 30
like "$(grep 'ucp_server_logged_in' "${DAEMON_LOG[k1]}" | head -1)" 'account=kannel' \
	"bearerbox logs in to the ucp-server (op 60) as account kannel"
wait_log 'ucp_server_login_refused.*ec=07' "${DAEMON_LOG[k1]}" 30
like "$(grep 'ucp_server_login_refused' "${DAEMON_LOG[k1]}" | head -1)" 'login=kannel ec=07' \
	"a wrong password is refused with NACK 07 and a log line"
wait_log 'rejected our login' "$KDIR/bearerbox.log" 20
like "$(grep -c 'rejected our login' "$KDIR/bearerbox.log")" '^[1-9]' "Kannel saw the refusal"

# sendsms answers once smsbox is connected to bearerbox.
end=$(($(now_ms) + 30000))
while :; do
	R=$(curl -s -G "http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms" --data-urlencode username=tester \
		--data-urlencode password=testpw --data-urlencode to=15550003001 --data-urlencode from=Kannel \
		--data-urlencode smsc=smspool --data-urlencode 'text=Hello from Kannel' --data-urlencode dlr-mask=3 \
		--data-urlencode "dlr-url=http://127.0.0.1:$HTTP_PORT/dlr?type=%d&to=%p")
	case $R in *Accepted* | *Sent* | *Queued*) break ;; esac
	[ "$(now_ms)" -lt "$end" ] || break
	sleep 0.5
done
like "$R" 'Accepted|Sent|Queued' "sendsms accepts the message ($R)"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.outbox WHERE account = 'kannel' AND body = 'Hello from Kannel'"; then
	pass "op 51 becomes an outbox row of account kannel"
else
	fail "op 51 becomes an outbox row of account kannel" "$(tail -5 "$KDIR/bearerbox.log")"
fi
is "$(sql "SELECT sender || '|' || recipient FROM smspool.outbox WHERE account = 'kannel'")" "Kannel|15550003001" \
	"the alphanumeric sender (OTOA 5039) and the recipient as Kannel sent them"
if wait_for 20 "SELECT bool_and(status = 'delivered') FROM smspool.outbox WHERE account = 'kannel'"; then
	pass "the op 51 from Kannel is delivered (our op 53 goes back to Kannel)"
else
	fail "the op 51 from Kannel is delivered (our op 53 goes back to Kannel)" \
		"$(sql "SELECT string_agg(status, ',') FROM smspool.outbox WHERE account = 'kannel'")"
fi
wait_log 'type=1' "$KDIR/http.log" 30
like "$(grep dlr "$KDIR/http.log" 2>/dev/null)" '/dlr\?type=1&to=\+?15550003001' \
	"Kannel matched our op 53 notification and called its dlr-url with type 1 (delivered)"

# A long text: 2 concatenated parts from Kannel, one row here.
LONG="Long text: $(printf 'abcdefghij%.0s' $(seq 1 20)) end."
R=$(curl -s -G "http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms" --data-urlencode username=tester \
	--data-urlencode password=testpw --data-urlencode to=15550003009 --data-urlencode from=12345 \
	--data-urlencode smsc=smspool --data-urlencode "text=$LONG" --data-urlencode dlr-mask=3 \
	--data-urlencode "dlr-url=http://127.0.0.1:$HTTP_PORT/dlrlong?type=%d&to=%p")
if wait_for 30 "SELECT count(*) = 1 FROM smspool.outbox WHERE account = 'kannel' AND recipient = '15550003009'"; then
	pass "the 2 parts of Kannel's long text become one outbox row ($R)"
else
	fail "the 2 parts of Kannel's long text become one outbox row ($R)" "$(grep -E 'ucp_server' "${DAEMON_LOG[k1]}" | tail -5)"
fi
is "$(sql "SELECT length(body) || ':' || (body = '$LONG') || ':' || parts || ':' || client_parts || ':' || want_report
	FROM smspool.outbox WHERE account = 'kannel' AND recipient = '15550003009'")" "${#LONG}:true:2:2:true" \
	"the row holds the whole text, 2 parts, a report asked"
if wait_for 20 "SELECT status = 'delivered' FROM smspool.outbox WHERE recipient = '15550003009'"; then
	pass "the long text from Kannel is delivered"
else
	fail "the long text from Kannel is delivered" "$(sql "SELECT status FROM smspool.outbox WHERE recipient = '15550003009'")"
fi
wait_log 'dlrlong?type=1' "$KDIR/http.log" 30
like "$(grep dlrlong "$KDIR/http.log" 2>/dev/null)" '/dlrlong\?type=1&to=\+?15550003009' \
	"Kannel matched the op 53 of its first part and called its dlr-url with type 1"
# Our ACKs of the 2 parts: SM = AdC:SCTS, a different SCTS each; an op 53
# for each of them reached Kannel (its log shows every EMI frame received).
ID=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '15550003009'")
# The SCTS of part k (data.h): 2000-01-01 + 2^31 + (255 * id + k - 1) mod 10^9 s.
scts() { python3 -c "import datetime,sys; i, k = int(sys.argv[1]), int(sys.argv[2]); print((datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=2**31 + (255 * i + k - 1) % 10**9)).strftime('%d%m%y%H%M%S'))" "$1" "$2"; }
S1=$(scts "$ID" 1)
S2=$(scts "$ID" 2)
end=$(($(now_ms) + 20000))
while [ "$(grep -c -E "/O/53/.*/($S1|$S2)/" "$KDIR/bearerbox.log" 2>/dev/null)" -lt 2 ] && [ "$(now_ms)" -lt "$end" ]; do
	sleep 0.2
done
is "$(grep -E "/O/53/.*/($S1|$S2)/" "$KDIR/bearerbox.log" | grep -o -E "/($S1|$S2)/" | tr -d / | sort -u | tr '\n' ' ')" \
	"$(printf '%s\n' "$S1" "$S2" | sort | tr '\n' ' ')" \
	"Kannel received one op 53 per part, each with the SCTS of that part's ACK"
is "$(grep -E "/R/51/A//15550003009:($S1|$S2)/" "$KDIR/bearerbox.log" | grep -o -E ":($S1|$S2)/" | tr -d :/ | sort -u | tr '\n' ' ')" \
	"$(printf '%s\n' "$S1" "$S2" | sort | tr '\n' ' ')" \
	"each part's ACK carried SM = recipient:SCTS of that part"

# An inbound text: loopback returns it from the recipient, routed to kannel.
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES
	('+4915110000001', '12345', 'Hello from a handset', 'lo')" || bail "INSERT inbound"
wait_log '/mo?' "$KDIR/http.log" 30
like "$(grep '/mo?' "$KDIR/http.log" 2>/dev/null)" 'from=(%2B)?4915110000001&to=12345&text=Hello(\+|%20)from(\+|%20)a(\+|%20)handset' \
	"an inbound text routed to the account reaches smsbox by op 52"
# Login by address alone: Kannel's group without a username, then our client.
R=$(curl -s -G "http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms" --data-urlencode username=tester \
	--data-urlencode password=testpw --data-urlencode to=15550003002 --data-urlencode from=12345 \
	--data-urlencode smsc=byip --data-urlencode 'text=Hello by address')
if wait_for 30 "SELECT count(*) = 1 FROM smspool.outbox WHERE account = 'ipacct' AND body = 'Hello by address'"; then
	pass "Kannel without smsc-username: its op 51 becomes an outbox row of account ipacct ($R)"
else
	fail "Kannel without smsc-username: its op 51 becomes an outbox row of account ipacct ($R)" \
		"$(grep -E 'ucp_server' "${DAEMON_LOG[k1]}" | tail -3)"
fi
like "$(grep 'ucp_server_logged_in.*account=ipacct' "${DAEMON_LOG[k1]}" | head -1)" 'by=address' \
	"the session was opened by the client's address, without op 60"
add_connection cl ucp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"reconnect_min_ms\": 200}"
if wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'cl'"; then
	pass "our ucp client without login is up"
else
	fail "our ucp client without login is up" "$(sql "SELECT instance || ':' || state || ' ' || coalesce(detail, '') FROM smspool.connection_state WHERE name = 'cl'")"
fi
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES
	('+4915110000002', '12345', 'Hello from our client', 'cl')" || bail "INSERT via cl"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.outbox WHERE account = 'ipacct' AND body = 'Hello from our client'"; then
	pass "our ucp client without login (no op 60) submits as account ipacct"
else
	fail "our ucp client without login (no op 60) submits as account ipacct" "$(grep -E 'ucp_' "${DAEMON_LOG[k1]}" | tail -5)"
fi
stop_daemon k1
is "$DAEMON_STATUS" 0 "daemon exits 0 with Kannel logged in"
finish

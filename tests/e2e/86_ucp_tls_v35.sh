#!/usr/bin/env bash
# EMI/UCP over TLS, and version 3.5: daemon B has a ucp-server speaking TLS
# and a plain one; daemon A logs in to the first with "tls": true (the
# server's certificate verified against its CA file) and to the second with
# "version": "3.5", which submits by op 30 (a report asked) or op 01 (none)
# and refuses what 3.5 cannot carry (UCS-2, several parts).
. "$(dirname "$0")/../lib/e2e.sh"
plan 8

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a test certificate"

e2e_db smspool_e2e_ucp_tls_b
DB_B=$SMSPOOL_DB
# One account per connection of A: an account's notifications go to any of
# its sessions, and A matches a report on the connection that sent the message.
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('acc', 'pw'), ('acc35', 'pw')" || bail "account"
add_connection ucps ucp-server "{\"listen\": \"127.0.0.1:0\", \"tls\": true, \"tls_cert_file\": \"$E2E_TMP/cert.pem\", \"tls_key_file\": \"$E2E_TMP/key.pem\"}"
add_connection ucpd ucp-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 100}'
add_route emu
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE name IN ('ucps', 'ucpd') AND state = 'up'" ||
	bail "B's ucp-servers do not listen: $(sql "SELECT name, state, detail FROM smspool.connection_state")"
PORT_TLS=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucps'")
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")

e2e_db smspool_e2e_ucp_tls_a
DB_A=$SMSPOOL_DB
add_connection sec ucp "{\"host\": \"127.0.0.1\", \"port\": $PORT_TLS, \"login\": \"acc\", \"password\": \"pw\", \"tls\": true, \"tls_ca_file\": \"$E2E_TMP/cert.pem\", \"reconnect_min_ms\": 200}"
add_connection old ucp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"login\": \"acc35\", \"password\": \"pw\", \"version\": \"3.5\", \"reconnect_min_ms\": 200}"
start_daemon a SMSPOOL_DB="$DB_A"
if wait_for 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE name IN ('sec', 'old') AND state = 'up'"; then
	pass "A logs in over TLS and over plain TCP with version 3.5"
else
	fail "A logs in over TLS and over plain TCP with version 3.5" "$(sql "SELECT name, state, detail FROM smspool.connection_state")"
fi
like "$(grep 'ucp_server_logged_in' "${DAEMON_LOG[b]}" | grep 'conn=ucps' | head -1)" 'account=acc tls=yes' \
	"B's TLS listener logged the session in with TLS"

sql "INSERT INTO smspool.outbox (recipient, body, connection, want_report) VALUES
	('+15550002001', 'over TLS', 'sec', true),
	('+15550002002', 'op 30 with a report', 'old', true),
	('+15550002003', 'op 01 without one', 'old', false),
	('+15550002004', 'Grüße 😀', 'old', true)" || bail "INSERT"
# ("sent" is final only for the message that asked no report)
wait_for 30 "SELECT count(*) = 4 FROM smspool.outbox WHERE status IN ('delivered', 'failed', 'rejected', 'undelivered')
	OR (status = 'sent' AND NOT want_report)" || true
is "$(sql "SELECT string_agg(right(recipient, 4) || ':' || status, ',' ORDER BY recipient) FROM smspool.outbox")" \
	"2001:delivered,2002:delivered,2003:sent,2004:failed" "TLS and 3.5 messages end as they should"
like "$(sql "SELECT error_text FROM smspool.outbox WHERE recipient = '+15550002004'")" 'EMI 3.5 carries only GSM texts of one part' \
	"3.5 refuses a UCS-2 text with a reason"
is "$(SMSPOOL_DB=$DB_B sql "SELECT string_agg(right(recipient, 4) || ':' || body, ',' ORDER BY recipient) FROM smspool.outbox WHERE account IN ('acc', 'acc35')")" \
	"2001:over TLS,2002:op 30 with a report,2003:op 01 without one" "B has the three rows"
is "$(SMSPOOL_DB=$DB_B sql "SELECT string_agg(right(recipient, 4) || ':' || want_report, ',' ORDER BY recipient) FROM smspool.outbox WHERE account IN ('acc', 'acc35')")" \
	"2001:true,2002:true,2003:false" "NRq of op 51 and op 30 asks for a report, op 01 cannot"
stop_daemon a
is "$DAEMON_STATUS" 0 "daemon A exits 0"
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"
finish

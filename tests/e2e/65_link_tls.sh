#!/usr/bin/env bash
# The link over TLS (account + password inside): B's link-server speaks TLS
# with a test certificate; A's link connection verifies it against that
# certificate as its CA and sends 50 messages, which end delivered in A; a
# second connection that verifies against the system's CAs is refused by its
# own TLS check and never comes up.
. "$(dirname "$0")/../lib/e2e.sh"
plan 5

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a test certificate"

e2e_db smspool_e2e_link_tls_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('tlsacct', 'pw')" || bail "account"
add_connection linkd link-server "{\"listen\": \"127.0.0.1:0\", \"tls\": true, \"tls_cert_file\": \"$E2E_TMP/cert.pem\", \"tls_key_file\": \"$E2E_TMP/key.pem\"}"
add_connection emu emulator '{"report_delay_ms": 50}'
add_route emu
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'linkd'" ||
	bail "B's link-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")

e2e_db smspool_e2e_link_tls_a
DB_A=$SMSPOOL_DB
add_connection sec link "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"account\": \"tlsacct\", \"password\": \"pw\", \"tls\": true, \"tls_ca_file\": \"$E2E_TMP/cert.pem\", \"reconnect_min_ms\": 200}" 100
add_connection untrusted link "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"account\": \"tlsacct\", \"password\": \"pw\", \"tls\": true, \"reconnect_min_ms\": 500}"
add_route sec
start_daemon a SMSPOOL_DB="$DB_A"
if wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'sec'"; then
	pass "A's link comes up over TLS, verifying B's certificate"
else
	fail "A's link comes up over TLS, verifying B's certificate" "$(sql "SELECT name, state, detail FROM smspool.connection_state")"
fi
sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+1555003' || lpad(g::text, 4, '0'), 'tls ' || g FROM generate_series(1, 50) g" || bail "INSERT"
if wait_for 60 "SELECT count(*) = 50 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "50 messages end delivered in A over the TLS link"
else
	fail "50 messages end delivered in A over the TLS link" "$(state_counts)"
	daemon_tails
fi
like "$(grep 'link_server_bound' "${DAEMON_LOG[b]}" | head -1)" 'account=tlsacct .*tls=yes' "B's session is TLS, of the account"
if wait_for 10 "SELECT state <> 'up' AND detail ~* 'certificate|verif|tls|ssl' FROM smspool.connection_state WHERE name = 'untrusted'"; then
	pass "a link that cannot verify the certificate does not come up, and says why"
else
	fail "a link that cannot verify the certificate does not come up, and says why" "$(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'untrusted'")"
fi
stop_daemon a
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"
finish

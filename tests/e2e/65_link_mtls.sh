#!/usr/bin/env bash
# The link over mutual TLS: B's link-server verifies client certificates
# against a test CA (tls_client_ca_file) and maps them to accounts
# (tls_client_accounts: by subject CN and by SHA-256 fingerprint).  A's link
# that presents the CA-signed certificate of CN branch-a logs in as account
# certa without a password and its messages end delivered in A; a
# self-signed certificate of the same CN (untrusted), a CA-signed one that is
# mapped to nothing, and one mapped to a disabled account are refused, each
# with its reason in A's connection state and B's log; a login by password
# (no certificate) still works beside them.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

T=$E2E_TMP
mk() { openssl "$@" >>"$T/openssl.log" 2>&1 || bail "openssl $1 failed: $(tail -3 "$T/openssl.log")"; }
# the server's own certificate (A verifies it), the client CA, client certificates
mk req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/srv.key" -out "$T/srv.pem"
mk req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=smspool test client CA" \
	-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$T/ca.key" -out "$T/ca.pem"
client_cert() { # name CN: a certificate of CN signed by the CA
	mk req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$T/$1.key" -out "$T/$1.csr"
	mk x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -out "$T/$1.pem"
}
client_cert branch-a branch-a
client_cert stranger stranger
client_cert branch-d branch-d
mk req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=branch-a -keyout "$T/rogue.key" -out "$T/rogue.pem"
FP_D=$(openssl x509 -in "$T/branch-d.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
[ -n "$FP_D" ] || bail "no fingerprint"

e2e_db smspool_e2e_link_mtls_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('certa', 'pwa'), ('certd', 'pwd'), ('pwacct', 'pwp')" || bail "accounts"
sql "UPDATE smspool.accounts SET enabled = false WHERE system_id = 'certd'" || bail "disable"
add_connection linkd link-server "{\"listen\": \"127.0.0.1:0\", \"tls\": true, \"tls_cert_file\": \"$T/srv.pem\", \"tls_key_file\": \"$T/srv.key\", \"tls_client_ca_file\": \"$T/ca.pem\", \"tls_client_accounts\": {\"branch-a\": \"certa\", \"sha256:$FP_D\": \"certd\"}}"
add_connection emu emulator '{"report_delay_ms": 50}'
add_route emu
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'linkd'" ||
	bail "B's link-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")

e2e_db smspool_e2e_link_mtls_a
DB_A=$SMSPOOL_DB
link_conf() { # certificate name: a link presenting it, without account or password
	echo "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"tls\": true, \"tls_ca_file\": \"$T/srv.pem\", \"tls_cert\": \"$T/$1.pem\", \"tls_key\": \"$T/$1.key\", \"reconnect_min_ms\": 300}"
}
add_connection good link "$(link_conf branch-a)" 100
add_connection rogue link "$(link_conf rogue)"
add_connection stranger link "$(link_conf stranger)"
add_connection disabled link "$(link_conf branch-d)"
add_connection bypw link "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"tls\": true, \"tls_ca_file\": \"$T/srv.pem\", \"account\": \"pwacct\", \"password\": \"pwp\", \"reconnect_min_ms\": 300}"
add_route good
start_daemon a SMSPOOL_DB="$DB_A"

state_of() { sql "SELECT state || ': ' || coalesce(detail, '') FROM smspool.connection_state WHERE name = '$1'"; }
if wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'good'"; then
	pass "a link with a CA-signed certificate mapped by CN comes up without a password"
else
	fail "a link with a CA-signed certificate mapped by CN comes up without a password" "$(state_of good)"
fi
sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+1555004' || lpad(g::text, 4, '0'), 'mtls ' || g FROM generate_series(1, 30) g" || bail "INSERT"
if wait_for 60 "SELECT count(*) = 30 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "30 messages end delivered in A over the certificate's link"
else
	fail "30 messages end delivered in A over the certificate's link" "$(state_counts)"
	daemon_tails
fi
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FILTER (WHERE account = 'certa') || '/' || count(*) FROM smspool.outbox")" "30/30" \
	"B holds them as rows of the certificate's account"
like "$(grep 'link_server_bound' "${DAEMON_LOG[b]}" | grep 'account=certa' | head -1)" 'tls=yes' "B logs the TLS session of account certa"
if wait_for 20 "SELECT state <> 'up' AND detail ~ 'not trusted' FROM smspool.connection_state WHERE name = 'rogue'"; then
	pass "a self-signed certificate of a mapped CN is refused: not trusted"
else
	fail "a self-signed certificate of a mapped CN is refused: not trusted" "$(state_of rogue)"
fi
if wait_for 20 "SELECT state <> 'up' AND detail ~ 'not mapped to an account' FROM smspool.connection_state WHERE name = 'stranger'"; then
	pass "a trusted certificate mapped to no account is refused and says so"
else
	fail "a trusted certificate mapped to no account is refused and says so" "$(state_of stranger)"
fi
if wait_for 20 "SELECT state <> 'up' AND detail ~ 'auth' FROM smspool.connection_state WHERE name = 'disabled'" &&
	grep -q 'link_server_refused.*account=certd.*account disabled' "${DAEMON_LOG[b]}"; then
	pass "a certificate (mapped by fingerprint) of a disabled account is refused: account disabled in B's log"
else
	fail "a certificate (mapped by fingerprint) of a disabled account is refused: account disabled in B's log" \
		"$(state_of disabled)" "$(grep link_server_refused "${DAEMON_LOG[b]}" | tail -3)"
fi
if wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'bypw'"; then
	pass "a link by account and password (no certificate) comes up beside them"
else
	fail "a link by account and password (no certificate) comes up beside them" "$(state_of bypw)"
fi
stop_daemon a
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"
finish

#!/usr/bin/env bash
# Our http connection (the Kannel preset, conf/http/kannel.json) against a real
# SMS gateway, Kannel 1.4.5:
#
#   daemon A: outbox → http connection → GET smsbox /cgi-bin/sendsms (202)
#             → bearerbox → SMPP → daemon B (our smpp-server, account kannel)
#             → B's emulator delivers after 200 ms → B's receipt (deliver_sm)
#             → bearerbox matches it → smsbox calls the dlr-url
#             → A's callback listener (/report?id=…&status=%d&token=…)
#             → A's row is `delivered`.
#
# Two daemons, two databases (A and B).  Checked from SQL: in A every message
# ends delivered with Kannel's dlr-url reports stored and matched, no error,
# one attempt; in B the same messages arrived as outbox rows of account
# kannel with the same recipients, sender and texts.  A message that B's
# downstream rejects comes back through Kannel as a failure (DLR type 2) and
# ends `undelivered` in A.
#
# What the preset supports (see the assertions): GSM texts, GSM extension
# characters (€), and long texts (multipart "whole": Kannel splits them when
# the sendsms-user allows max-messages > 1).  The preset passes
# coding={coding}: 0 for GSM 7-bit, 2 for UCS-2, as smspool chose; a variant
# of the preset with `&coding=2` appended sends every message as UCS-2.
#
# Both daemons log at debug, so that the debug paths run as well.
#
# Kannel comes from the set-up (make test-deps); without it the test bails out.
set -uo pipefail


. "$(dirname "$0")/../lib/e2e.sh"
plan 20
command -v bearerbox >/dev/null 2>&1 && command -v smsbox >/dev/null 2>&1 ||
	bail "Kannel (bearerbox, smsbox) is not installed: run make test-deps (packaging/install-deps.sh --test)"

KDIR=$E2E_TMP/kannel
mkdir -p "$KDIR"
KPIDS=()
_kannel_cleanup() {
	local p i
	# smsbox first, then bearerbox: SIGTERM, up to 5 s, then SIGKILL.
	for ((i = ${#KPIDS[@]} - 1; i >= 0; i--)); do
		p=${KPIDS[$i]}
		kill -TERM "$p" 2>/dev/null || continue
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	_e2e_cleanup
}
trap _kannel_cleanup EXIT

# free_ports N: N distinct TCP ports nobody listens on right now.
free_ports() {
	python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# until_ok SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds.
until_ok() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# sqla / sqlb / wait_a / wait_b: sql and wait_for on database A or B.
sqla() { SMSPOOL_DB=$DB_A sql "$1"; }
sqlb() { SMSPOOL_DB=$DB_B sql "$1"; }
wait_a() { SMSPOOL_DB=$DB_A wait_for "$1" "$2"; }
wait_b() { SMSPOOL_DB=$DB_B wait_for "$1" "$2"; }

# both_alive: bails out (instead of running every later wait to its end)
# when a daemon has died, with the sanitizer's first words if any.
both_alive() {
	local inst
	for inst in a b; do
		daemon_alive "$inst" && continue
		diag "$(grep -m1 -A8 -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "${DAEMON_LOG[$inst]}" | grep -v 'level=')"
		bail "daemon $inst died (a sanitizer's report, if any, is above; log ${DAEMON_LOG[$inst]})"
	done
}


read -r CB_PORT CB2_PORT ADMIN_PORT BOX_PORT SENDSMS_PORT < <(free_ports 5)
TOKEN=kt81secret

# --- daemon B: the SMSC Kannel binds to ---------------------------------------------------
e2e_db smspool_e2e_http_kannel_b
DB_B=$SMSPOOL_DB
sqlb "INSERT INTO smspool.accounts (system_id, password) VALUES ('kannel', 'kpw')" || bail "account"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 200}'
# A recipient B's downstream refuses, always: the rejected case.
add_connection emurej emulator '{"accept_rate": 0, "report_delay_ms": 200}'
sqlb "INSERT INTO smspool.routes (position, connection, recipient_pattern) VALUES (10, 'emurej', '^\+?15559990')" ||
	bail "route to emurej"
add_route emu

# --- daemon A: the http connection with the Kannel preset ---------------------------------
e2e_db smspool_e2e_http_kannel_a
DB_A=$SMSPOOL_DB
# The preset as shipped, with its host, port, credentials and callback adapted;
# kannel_conn NAME CALLBACK_PORT [URL_SUFFIX].
PRESET=$(sed "s/'/''/g" conf/http/kannel.json)
kannel_conn() {
	sqla "WITH p AS (SELECT '$PRESET'::jsonb AS j)
	INSERT INTO smspool.connections (name, type, settings)
	SELECT '$1', 'http', j || jsonb_build_object(
		'url', replace(j->>'url', 'http://kannel.example:13013', 'http://127.0.0.1:$SENDSMS_PORT') || '${3:-}',
		'username', 'tester', 'password', 'testpw',
		'callback_url', replace(replace(j->>'callback_url', 'http://gateway.example:8080', 'http://127.0.0.1:$2'),
		                        'CHANGE_ME', '$TOKEN'),
		'listen', '127.0.0.1:$2', 'callback_secret', '$TOKEN') FROM p" || bail "A's http connection $1"
}
sqla "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
kannel_conn kannel "$CB_PORT"
# The variant for texts outside GSM: every message as UCS-2 (coding=2).
kannel_conn kannel_ucs2 "$CB2_PORT" '&coding=2'
add_route kannel
diag "settings of A's kannel connection: $(sqla "SELECT settings - 'description' FROM smspool.connections WHERE name = 'kannel'")"

# Both log at debug: B's smpp_server_event_done lines are counted below, and the
# debug paths run too (under the sanitizer build, they are checked as well).
start_daemon b SMSPOOL_DB="$DB_B" SMSPOOL_LOG_LEVEL=debug
start_daemon a SMSPOOL_DB="$DB_A" SMSPOOL_LOG_LEVEL=debug
wait_b 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smppd'" || bail "B's smpp-server not up"
SMPP_PORT=$(sqlb "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")
wait_a 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE state = 'up'" ||
	bail "A's connections not up: $(sqla "SELECT string_agg(name || '=' || state || ':' || coalesce(detail, ''), ' ') FROM smspool.connection_state")"

# --- Kannel -------------------------------------------------------------------------------
# No blank line inside a group: an empty line ends it.  max-messages lets
# smsbox split a long text into concatenated parts (the default, 1, would not).
cat >"$KDIR/kannel.conf" <<EOF
group = core
admin-port = $ADMIN_PORT
admin-password = adminpw
admin-interface = 127.0.0.1
smsbox-port = $BOX_PORT
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "$KDIR/bearerbox.log"
log-level = 0
access-log = "$KDIR/access.log"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = smspoolb
host = 127.0.0.1
port = $SMPP_PORT
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
sendsms-interface = 127.0.0.1
log-file = "$KDIR/smsbox.log"
log-level = 0
access-log = "$KDIR/smsbox-access.log"

group = sendsms-user
username = tester
password = testpw
max-messages = 5
concatenation = true
EOF
bearerbox "$KDIR/kannel.conf" >"$KDIR/bearerbox.out" 2>&1 &
KPIDS+=("$!")
# smsbox gives up if bearerbox does not listen yet.
until_ok 20 grep -qs 'Start-up done' "$KDIR/bearerbox.log" ||
	bail "bearerbox did not start: $(tail -5 "$KDIR/bearerbox.log" "$KDIR/bearerbox.out" 2>&1)"
smsbox "$KDIR/kannel.conf" >"$KDIR/smsbox.out" 2>&1 &
KPIDS+=("$!")
diag "Kannel: bearerbox pid ${KPIDS[0]}, smsbox pid ${KPIDS[1]}, logs in $KDIR; B's smpp-server on $SMPP_PORT," \
	"sendsms on $SENDSMS_PORT, A's callbacks on $CB_PORT"

bound() { grep -q 'smpp_server_bound.*account=kannel' "${DAEMON_LOG[b]}"; }
until_ok 20 bound
like "$(grep 'smpp_server_bound.*account=kannel' "${DAEMON_LOG[b]}" | head -1)" 'mode=transceiver' \
	"bearerbox binds to B's smpp-server as account kannel"
# smsbox answers HTTP once it is connected to bearerbox.
sendsms_up() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms")" != 000 ]; }
until_ok 20 sendsms_up || bail "smsbox's sendsms does not answer: $(tail -5 "$KDIR/smsbox.log" 2>&1)"

# --- the messages -------------------------------------------------------------------------
# 20 to deliver: 17 short GSM texts (some with characters to escape in a URL
# and GSM extension characters), a 2-part GSM text, a UCS-2 text through the
# coding=2 variant, and a GSM text through that variant too; and 1 that B's
# downstream rejects.
N=20
LONG="Part one and two: $(printf 'abcdefghij%.0s' $(seq 1 20)) end."
UCS2='Привет, мир! Ελλάδα ✓ 😀'
VALUES=""
for i in $(seq 1 17); do
	VALUES+="('+1555000$(printf '%04d' "$i")', 'ACME', 'Kannel #$i: 50% & more = ok? é € [x] ~', NULL, 'k$i'),"
done
VALUES+="('+15550000018', 'ACME', '$LONG', NULL, 'long'),"
VALUES+="('+15550000019', 'ACME', '$UCS2', 'kannel_ucs2', 'ucs2'),"
VALUES+="('+15550000020', 'ACME', 'plain text as UCS-2', 'kannel_ucs2', 'gsm_as_ucs2'),"
VALUES+="('+15559990001', 'ACME', 'refused downstream', NULL, 'rej')"
sqla "INSERT INTO smspool.outbox (recipient, sender, body, connection, client_ref) VALUES $VALUES" || bail "INSERT into A"
T0=$(now_ms)

# --- A: delivered through Kannel's dlr-url ---------------------------------------------------
wait_a 30 "SELECT count(*) = $N FROM smspool.outbox WHERE client_ref <> 'rej' AND status = 'delivered'" ||
	diag "A: $(sqla "SELECT string_agg(client_ref || '=' || status || ':' || coalesce(error_text, ''), ' ' ORDER BY id) FROM smspool.outbox WHERE status <> 'delivered'")"
is "$(sqla "SELECT count(*) FROM smspool.outbox WHERE client_ref <> 'rej' AND status = 'delivered'")" "$N" \
	"A: all $N messages end delivered"
diag "A: waited $(($(now_ms) - T0)) ms for the deliveries"
both_alive
is "$(sqla "SELECT count(*) FROM smspool.outbox WHERE client_ref <> 'rej'
	AND error_code IS NULL AND error_text IS NULL AND error_class IS NULL AND attempts = 1")" "$N" \
	"A: every request was accepted at once (sendsms answered 202 '0: Accepted'): one attempt, no error"
is "$(sqla "SELECT count(*) FROM smspool.outbox WHERE cardinality(remote_ids) = parts AND id::text = ALL (remote_ids)")" "$((N + 1))" \
	"A: the remote id (of every part) is our own message id (Kannel returns none)"
is "$(sqla "SELECT count(*) FROM smspool.outbox o WHERE client_ref <> 'rej' AND EXISTS (SELECT 1 FROM smspool.reports r
	WHERE r.message_id = o.id AND r.connection = o.connection_used AND r.remote_id = o.id::text AND r.state = 'delivered'
	  AND r.matched_at IS NOT NULL AND r.text ~ ('^id=' || o.id || '&status=1\$'))")" "$N" \
	"A: each has Kannel's dlr-url report (status=1) stored and matched"
is "$(sqla "SELECT string_agg(DISTINCT connection_used, ',') FROM smspool.outbox WHERE client_ref <> 'rej' AND client_ref NOT LIKE '%ucs2'")" \
	kannel "A: the GSM messages went through the preset's connection (route)"
is "$(sqla "SELECT parts FROM smspool.outbox WHERE client_ref = 'long'")" 2 "A: the long text counts 2 parts"

# --- B: the same messages, as outbox rows of account kannel ------------------------------------
# B's smpp-server joins the parts of a concatenated text into one row (the
# UCS-2 text is one more row than N).
wait_b 20 "SELECT count(*) = $((N + 1)) FROM smspool.outbox WHERE account = 'kannel'" ||
	diag "B: $(sqlb "SELECT count(*) FROM smspool.outbox")"
AB_A=$(sqla "SELECT string_agg(recipient || '|' || sender || '|' || body, E'\n' ORDER BY recipient)
	FROM smspool.outbox WHERE client_ref NOT IN ('ucs2', 'rej')")
AB_B=$(sqlb "SELECT string_agg(recipient || '|' || sender || '|' || body, E'\n' ORDER BY recipient) FROM
	(SELECT recipient, min(sender) sender, string_agg(body, '' ORDER BY id) body FROM smspool.outbox
	 WHERE account = 'kannel' AND recipient NOT IN ('+15550000019', '+15559990001') GROUP BY recipient) s")
is "$AB_B" "$AB_A" "B: the GSM messages arrived from Kannel with the same recipient, sender and text"
is "$(sqlb "SELECT count(*) || ':' || string_agg(length(body)::text, ',' ORDER BY id) FROM smspool.outbox WHERE recipient = '+15550000018'")" \
	"1:${#LONG}" "B: the long text, sent by Kannel as 2 concatenated parts, is one row with the whole text"
wait_b 10 "SELECT count(*) = $N FROM smspool.outbox WHERE account = 'kannel' AND status = 'delivered'" ||
	diag "B, not delivered: $(sqlb "SELECT string_agg(id || ' ' || recipient || ' ' || status || ' ' || want_report || ' ' || coalesce(error_text, ''), '; ') FROM smspool.outbox WHERE status <> 'delivered'")"
is "$(sqlb "SELECT count(*) FROM smspool.outbox WHERE account = 'kannel' AND status = 'delivered' AND want_report")" "$N" \
	"B: every message Kannel asked a receipt for was delivered by B's emulator"
is "$(sqlb "SELECT status || ':' || want_report || ':' || parts FROM smspool.outbox WHERE recipient = '+15550000018'")" \
	"delivered:true:2" "B: the joined long text (2 parts) asked a receipt (Kannel asks one for its first part) and is delivered"
is "$(sqlb "SELECT body FROM smspool.outbox WHERE recipient = '+15550000019'")" "$UCS2" \
	"B: the UCS-2 text arrived unchanged through the coding=2 variant"
is "$(sqla "SELECT status FROM smspool.outbox WHERE client_ref = 'ucs2'")" delivered "A: the UCS-2 text is delivered"

# Kannel asks a receipt for the first part only, so calls the dlr-url once.
is "$(sqla "SELECT string_agg(r.state, ',') FROM smspool.reports r JOIN smspool.outbox o ON o.id = r.message_id
	WHERE o.client_ref = 'long'")" delivered "A: the long text has one report (its first part's)"
is "$(sqla "SELECT count(*) FROM smspool.reports WHERE message_id IS NULL")" 0 "A: no report left unmatched"

both_alive

# --- the preset as shipped and a text outside GSM --------------------------------------------
sqla "INSERT INTO smspool.outbox (recipient, sender, body, client_ref) VALUES ('+15550000021', 'ACME', '$UCS2', 'ucs2_preset')" ||
	bail "INSERT ucs2_preset"
wait_b 20 "SELECT count(*) = 1 FROM smspool.outbox WHERE recipient = '+15550000021'"
GOT=$(sqlb "SELECT body FROM smspool.outbox WHERE recipient = '+15550000021'")
diag "the preset as shipped: A sent '$UCS2', B received '$GOT'"
# The preset passes coding={coding} (2 for a text smspool encodes as UCS-2),
# so Kannel sends UCS-2 and nothing becomes '?'.
is "$GOT" "$UCS2" "the preset as shipped carries a text outside GSM unchanged (coding={coding})"

both_alive

# --- rejected downstream ------------------------------------------------------------------------
wait_a 20 "SELECT status IN ($FINAL_STATES) FROM smspool.outbox WHERE client_ref = 'rej'"
is "$(sqlb "SELECT status || '|' || error_class FROM smspool.outbox WHERE recipient = '+15559990001'")" "rejected|permanent" \
	"B: the refused recipient's message is rejected by B's downstream"
is "$(sqla "SELECT o.status || '|' || string_agg(r.state || ':' || r.text, ',') FROM smspool.outbox o
	JOIN smspool.reports r ON r.message_id = o.id WHERE o.client_ref = 'rej' GROUP BY o.status")" \
	"undelivered|undelivered:id=$(sqla "SELECT id FROM smspool.outbox WHERE client_ref = 'rej'")&status=2" \
	"A: Kannel reports the failure (DLR type 2) and the row ends undelivered"

# B's receipts to Kannel: when more are due than the session's window (the
# connection's window, 10) has room for, B holds them until Kannel answers
# (smpp_server_wait) instead of giving them back to the database, where the
# retry backoff (5 s, 10 s, ...) would delay them for nothing.
is "$(grep -c 'event=smpp_server_event_done.*delivered=no' "${DAEMON_LOG[b]}")" 0 \
	"B gives back no receipt for lack of room in Kannel's session window"
diag "A: from sent to delivered, max $(sqla "SELECT round(extract(epoch FROM max(done_at - sent_at)) * 1000)
	FROM smspool.outbox WHERE status = 'delivered'") ms (B's emulator reports after 200 ms)"
# The preset's UCS-2 message ends delivered too (before the daemons stop).
wait_a 10 "SELECT status = 'delivered' FROM smspool.outbox WHERE client_ref = 'ucs2_preset'" || true

# --- shutdown --------------------------------------------------------------------------------------
stop_daemon a
sa=$DAEMON_STATUS
stop_daemon b
is "$sa/$DAEMON_STATUS" 0/0 "both daemons exit 0 on SIGTERM"
finish

#!/usr/bin/env bash
# The exec connection, sending: a program per message, never a shell.
# - hostile texts (quotes, $(…), backticks, newlines, 17,000 characters (254 parts)) reach
#   the program byte for byte as an argument, as SMSPOOL_TEXT and in the stdin
#   JSON, and run nothing; NUL cannot even enter the outbox;
# - exit statuses mapped (0 sent with stdout's first line as id, 75 temporary,
#   3 rejected with stderr's first line), a hang killed at timeout_ms with its
#   process group and retried, a crash retried, a flood of stdout cut, a
#   grandchild holding stdout not waited for, a program that cannot run;
# - at most `window` programs at once (the program counts itself);
# - the example programs conf/exec/send-curl.sh (against the scripted HTTP
#   provider on 127.0.0.1) and conf/exec/send-mail.sh (a Maildir), and a
#   program run as another user when the test runs as root;
# - no zombie left: the daemon has no child once everything is final.
. "$(dirname "$0")/../lib/e2e.sh"
plan 29

command -v python3 >/dev/null || bail "python3 is missing (packaging/install-deps.sh)"
command -v curl >/dev/null || bail "curl is missing (packaging/install-deps.sh)"
REC=tests/lib/exec/record.py
ORPHANS=()
cleanup_88() {
	[ -n "${PROV_PID:-}" ] && kill "$PROV_PID" 2>/dev/null
	local p
	for p in "${ORPHANS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	_e2e_cleanup
}
trap cleanup_88 EXIT

python3 tests/peers/http_provider.py --port-file "$E2E_TMP/provider.port" --log "$E2E_TMP/provider.log" \
	>"$E2E_TMP/provider.out" 2>&1 &
PROV_PID=$!
for _ in $(seq 1 100); do
	[ -s "$E2E_TMP/provider.port" ] && break
	sleep 0.1
done
[ -s "$E2E_TMP/provider.port" ] || bail "the provider did not start: $(cat "$E2E_TMP/provider.out")"
PROV=http://127.0.0.1:$(cat "$E2E_TMP/provider.port")

mkdir -p "$E2E_TMP/rec" "$E2E_TMP/conc" "$E2E_TMP/mail"
e2e_db smspool_e2e_exec_send
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s';
     UPDATE smspool.config SET value = '3' WHERE key = 'max_attempts';
     UPDATE smspool.config SET value = '255' WHERE key = 'max_parts'" || bail "config"

add_connection rec exec "{\"send_argv\": [\"$REC\", \"{id}\", \"{client_ref}\", \"{recipient}\", \"{text}\"],
	\"env\": {\"OUT_DIR\": \"$E2E_TMP/rec\"}, \"timeout_ms\": 4000, \"kill_grace_ms\": 500,
	\"temporary_exit_codes\": [75], \"max_output\": 4096}" 8
add_connection conc exec "{\"send_argv\": [\"$REC\", \"{id}\", \"{client_ref}\", \"{recipient}\", \"{text}\"],
	\"env\": {\"OUT_DIR\": \"$E2E_TMP/conc\", \"HOLD_MS\": \"400\"}}" 3
add_connection curl exec "{\"send_argv\": [\"conf/exec/send-curl.sh\", \"{recipient}\", \"{text}\"],
	\"env\": {\"SMS_API_URL\": \"$PROV/ok/v1/messages\"}, \"id_json_pointer\": \"/message_id\",
	\"temporary_exit_codes\": [6, 7, 28, 75]}" 2
add_connection curlrej exec "{\"send_argv\": [\"conf/exec/send-curl.sh\", \"{recipient}\", \"{text}\"],
	\"env\": {\"SMS_API_URL\": \"$PROV/reject/v1/messages\"}, \"temporary_exit_codes\": [6, 7, 28, 75]}"
add_connection mail exec "{\"send_argv\": [\"conf/exec/send-mail.sh\", \"{recipient}\"],
	\"env\": {\"MAIL_DIR\": \"$E2E_TMP/mail\"}}"
add_connection missing exec '{"send_argv": ["/nonexistent/smspool-program", "{text}"]}'
ROOT_USER=0
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	ROOT_USER=1
	add_connection asnobody exec '{"send_argv": ["id", "-un"], "user": "nobody", "working_directory": "/"}'
fi

# A NUL cannot be in a PostgreSQL text: the outbox refuses it before any program could see it.
if sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550100099', 'a' || chr(0) || 'b', 'rec')" \
	>"$E2E_TMP/nul.out" 2>&1; then
	fail "a text with NUL is refused by the outbox"
else
	like "$(cat "$E2E_TMP/nul.out")" "null character not permitted|invalid byte sequence" "a text with NUL is refused by the outbox"
fi

start_daemon e2eexec
python3 tests/lib/exec/hostile.py sql "$E2E_TMP" rec >"$E2E_TMP/hostile.sql" || bail "hostile.py"
"$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" -f "$E2E_TMP/hostile.sql" || bail "inserting the hostile texts"
NHOSTILE=$(grep -c "^('+1555010000" "$E2E_TMP/hostile.sql")
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref, want_report) VALUES
	('+15550200001', 'hang', 'rec', 'hang-once', false),
	('+15550200002', 'crash', 'rec', 'crash-once', false),
	('+15550200003', 'flood', 'rec', 'flood', false),
	('+15550200004', 'reject me', 'rec', 'exit3', false),
	('+15550200005', 'busy', 'rec', 'tempfail-once', false),
	('+15550200006', 'no id', 'rec', 'noid', false),
	('+15550200007', 'orphan', 'rec', 'orphan', false),
	('+15550300001', 'via curl a&b=c d+e ''x'' \$(y) ü', 'curl', NULL, false),
	('+15550300002', 'via curl 2', 'curl', NULL, false),
	('+15550300003', 'refused', 'curlrej', NULL, false),
	('+15550400001', 'by mail ''q'' \$(z)
second line', 'mail', NULL, false),
	('+15550500001', 'never runs', 'missing', NULL, false);
	INSERT INTO smspool.outbox (recipient, body, connection, client_ref, want_report)
	SELECT '+155506' || lpad(i::text, 5, '0'), 'conc ' || i, 'conc', 'ok', false FROM generate_series(1, 12) i" ||
	bail "INSERT failed"
[ "$ROOT_USER" = 1 ] && { sql "INSERT INTO smspool.outbox (recipient, body, connection, want_report)
	VALUES ('+15550700001', 'as nobody', 'asnobody', false)" || bail "INSERT failed"; }

if wait_for 120 "SELECT count(*) = 0 FROM smspool.outbox WHERE status NOT IN ('sent', $FINAL_STATES)"; then
	pass "every message final within 120 s"
else
	fail "every message final within 120 s" "states: $(state_counts)"
fi

# --- hostile texts, byte for byte -------------------------------------------------
bad=""
while IFS='|' read -r id rcpt status; do
	n=${rcpt#+1555010000}
	r=$(python3 tests/lib/exec/hostile.py check "$E2E_TMP" "$E2E_TMP/rec" "$id" "$n" 2>&1)
	[ "$status" = sent ] || r="status $status; $r"
	[ "$r" = ok ] || bad+="text $n (id $id): $r; "
done < <(sql "SELECT id, recipient, status FROM smspool.outbox WHERE recipient LIKE '+1555010000%' ORDER BY id")
is "$bad" "" "$NHOSTILE hostile texts reach the program byte for byte (argv, SMSPOOL_TEXT, stdin JSON)"
pwned=$(ls "$E2E_TMP" | grep -c PWNED)
is "$pwned" 0 "no \$(…), backtick, ;, |, & or > in a text ran anything"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient LIKE '+1555010000%' AND remote_ids[1] = 'R' || id
	AND cardinality(remote_ids) = parts AND 'R' || id = ALL (remote_ids)")" \
	"$NHOSTILE" "exit 0: sent, stdout's first line is the remote id (of every part)"
is "$(sql "SELECT parts FROM smspool.outbox WHERE recipient = '+15550100008'")" \
	"$(sql "SELECT smspool.sms_parts(body) FROM smspool.outbox WHERE recipient = '+15550100008'")" \
	"the 17,000-character text went as one program with all its parts"

# --- behaviours -------------------------------------------------------------------
row() { sql "SELECT status || ' ' || attempts || ' ' || coalesce(error_code, '-') || ' ' || coalesce(array_to_string(remote_ids, ','), '-') FROM smspool.outbox WHERE recipient = '$1'"; }
id_of() { sql "SELECT id FROM smspool.outbox WHERE recipient = '$1'"; }
HANG=$(id_of +15550200001)
is "$(row +15550200001)" "sent 2 - R$HANG" "a program that hangs is killed at timeout_ms, then sent on its second attempt"
grep -q "event=exec_kill conn=rec id=$HANG .*signal=TERM why=timeout" "${DAEMON_LOG[e2eexec]}" &&
	pass "the hang was ended with SIGTERM to its process group (log)" || fail "the hang was ended with SIGTERM to its process group (log)"
alive=""
while read -r p; do
	[ -n "$p" ] || continue
	st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ] || alive+="$p($st) "
done <"$E2E_TMP/rec/$HANG.1.pids"
is "$alive" "" "the hung program and the grandchild it started are gone (process group killed)"
CRASH=$(id_of +15550200002)
is "$(row +15550200002)" "sent 2 - R$CRASH" "a program that crashes (SIGSEGV) is retried, then sent"
FLOOD=$(id_of +15550200003)
is "$(row +15550200003)" "sent 1 - F$FLOOD" "a program that floods 20 MB on stdout and stderr: cut, sent with its first line as id"
is "$(row +15550200004)" "rejected 1 exit:3 -" "exit status 3: rejected"
is "$(sql "SELECT error_text FROM smspool.outbox WHERE recipient = '+15550200004'")" "invalid destination" \
	"the rejection's text is stderr's first line"
BUSY=$(id_of +15550200005)
is "$(row +15550200005)" "sent 2 - R$BUSY" "exit status 75 (temporary_exit_codes): retried, then sent"
NOID=$(id_of +15550200006)
is "$(row +15550200006)" "sent 1 - X$NOID.1" "exit 0 with nothing on stdout: sent with our own id"
ORPHAN=$(id_of +15550200007)
is "$(row +15550200007)" "sent 1 - O$ORPHAN" "a grandchild keeping stdout open is not waited for"
while read -r p; do [ -n "$p" ] && ORPHANS+=("$p"); done <"$E2E_TMP/rec/$ORPHAN.1.pids"
is "$(row +15550500001)" "failed 3 spawn -" "a program that cannot be run: temporary each time, failed after max_attempts"
like "$(sql "SELECT error_text FROM smspool.outbox WHERE recipient = '+15550500001'")" \
	"cannot run /nonexistent/smspool-program: execve: No such file or directory" "its error says why"

# --- the window -------------------------------------------------------------------
is "$(count_where "connection_used = 'conc' AND status = 'sent'")" 12 "12 messages through a connection of window 3"
maxrun=$(cat "$E2E_TMP/conc/max_running" 2>/dev/null || echo 0)
ok "$maxrun <= 3" "at most window (3) programs ran at once (the programs counted $maxrun)"
ok "$maxrun >= 2" "programs do run side by side (max $maxrun)"

# --- examples ---------------------------------------------------------------------
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE connection_used = 'curl' AND status = 'sent' AND remote_ids[1] ~ '^P[0-9]+$'")" 2 \
	"conf/exec/send-curl.sh: sent, the provider's message_id as remote id (id_json_pointer)"
got=$(python3 -c '
import json, sys, urllib.parse
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("method") == "POST" and r.get("path", "").startswith("/ok/"):
        q = urllib.parse.parse_qs(r.get("body", ""))
        if q.get("to") == ["+15550300001"]:
            print(q.get("text", [""])[0])
' "$E2E_TMP/provider.log")
is "$got" "via curl a&b=c d+e 'x' \$(y) ü" "the provider got the text intact through curl"
is "$(row +15550300003)" "rejected 1 exit:22 -" "conf/exec/send-curl.sh: an HTTP 400 rejects (curl exit 22)"
MAILID=$(id_of +15550400001)
is "$(row +15550400001)" "sent 1 - mail-$MAILID" "conf/exec/send-mail.sh: sent, the mail file's name as remote id"
if [ -f "$E2E_TMP/mail/new/$MAILID.eml" ] && grep -q '^To: <+15550400001@sms.invalid>' "$E2E_TMP/mail/new/$MAILID.eml" &&
	[ "$(sed '1,/^$/d' "$E2E_TMP/mail/new/$MAILID.eml")" = "by mail 'q' \$(z)
second line" ]; then
	pass "the mail file has the recipient and the text as it was"
else
	fail "the mail file has the recipient and the text as it was" "$(cat "$E2E_TMP/mail/new/$MAILID.eml" 2>&1)"
fi
if [ "$ROOT_USER" = 1 ]; then
	is "$(row +15550700001)" "sent 1 - nobody" "user: the program ran as nobody (id -un printed the remote id)"
else
	skip "user: the program ran as nobody" "the test does not run as root"
fi

# --- no zombie ----------------------------------------------------------------------
DPID=${DAEMON_PID[e2eexec]}
children=$(for s in /proc/[0-9]*/stat; do awk -v d="$DPID" '$4 == d {print $1 "(" $3 ")"}' "$s" 2>/dev/null; done | tr '\n' ' ')
is "$children" "" "the daemon has no child left, no zombie (/proc)"

stop_daemon e2eexec
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

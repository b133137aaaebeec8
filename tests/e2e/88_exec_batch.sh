#!/usr/bin/env bash
# The exec connection in batch mode (batch_size > 1): one program per batch,
# the messages as JSON lines on stdin, one result line per message on stdout
# ({"id", "remote_id"} or {"id", "error", "temporary"}), the exit status for
# the messages it does not name; a placeholder in send_argv is refused.
. "$(dirname "$0")/../lib/e2e.sh"
plan 7

command -v python3 >/dev/null || bail "python3 is missing (packaging/install-deps.sh)"
mkdir -p "$E2E_TMP/out"
e2e_db smspool_e2e_exec_batch
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
# The table cannot know this rule: the daemon refuses the connection when it opens it (last test).
add_connection bad exec '{"send_argv": ["x", "{text}"], "batch_size": 5}'
add_connection bt exec "{\"send_argv\": [\"tests/lib/exec/batch.py\"], \"batch_size\": 5, \"batch_wait_ms\": 300,
	\"env\": {\"OUT_DIR\": \"$E2E_TMP/out\", \"HOLD_MS\": \"200\"}}" 10
start_daemon e2ebatch
sql "INSERT INTO smspool.outbox (recipient, body, connection, want_report)
	SELECT '+155590' || lpad(i::text, 5, '0'),
	       CASE WHEN i = 3 THEN 'reject me' WHEN i = 5 THEN 'later please' WHEN i = 7 THEN 'silent one' ELSE 'batch ' || i END,
	       'bt', false FROM generate_series(1, 20) i" || bail "INSERT"
if wait_for 60 "SELECT count(*) = 0 FROM smspool.outbox WHERE connection = 'bt' AND status NOT IN ('sent', $FINAL_STATES)"; then
	pass "20 messages final"
else
	fail "20 messages final" "$(state_counts)"
fi
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE status = 'sent' AND remote_ids[1] = 'B' || id AND body LIKE 'batch %'")" 17 \
	"named as sent: the program's remote id"
is "$(sql "SELECT status || ' ' || error_code || ' ' || error_text FROM smspool.outbox WHERE body = 'reject me'")" \
	"rejected program unknown number" "named with an error: rejected with its text"
is "$(sql "SELECT status || ' ' || attempts || ' ' || remote_ids[1] = 'sent 2 B' || id FROM smspool.outbox WHERE body = 'later please'")" t \
	"named temporary: retried, then sent"
is "$(sql "SELECT status || ' ' || (remote_ids[1] = 'X' || id || '.1') FROM smspool.outbox WHERE body = 'silent one'")" "sent true" \
	"not named, exit 0: sent with smspool's own id"
sizes=$(sort -n "$E2E_TMP/out/batches" | tr '\n' ' ')
max=$(sort -n "$E2E_TMP/out/batches" | tail -n 1)
ok "${max:-0} <= 5 && ${max:-0} >= 2" "batches of at most batch_size (5) messages, several at once (sizes: $sizes)"
grep -q 'event=conn_broken conn=bad .*placeholder {text} is not available' "${DAEMON_LOG[e2ebatch]}" &&
	pass "the daemon refuses the batch connection with a placeholder, naming it" ||
	fail "the daemon refuses the batch connection with a placeholder, naming it"
stop_daemon e2ebatch
finish

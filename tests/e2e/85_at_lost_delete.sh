#!/usr/bin/env bash
# The `at` connection when the answer to an AT+CMGD is lost (the modem is
# unplugged between the command and its answer), in PDU and in text mode:
# - the delete was carried out, and while the modem was away a new text took
#   the freed index (a modem stores at the lowest free one): after the
#   reconnect the driver must not delete that index blindly; the new text
#   reaches the inbox;
# - the delete was not carried out: the committed text is deleted after the
#   reconnect, and not stored a second time.
# Each text is in the inbox exactly once and the SIM ends empty.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 8
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem p
start_modem t
e2e_db smspool_e2e_at_lost_delete
opts='"command_timeout_ms": 1500, "sweep_s": 2, "reconnect_min_ms": 200, "reconnect_max_ms": 1000'
add_connection pdu at "{\"port\": \"$E2E_TMP/p.tty\", $opts}"
add_connection text at "{\"port\": \"$E2E_TMP/t.tty\", \"mode\": \"text\", $opts}"
start_daemon l1
wait_for 30 "SELECT count(*) = 2 FROM smspool.connection_state WHERE state = 'up'" ||
	bail "the at connections did not come up: $(sql "SELECT name, state, detail FROM smspool.connection_state")"

# inject MODEM FROM TEXT
inject() { modem_ctl "$1" "{\"op\": \"inject\", \"from\": \"$2\", \"text\": \"$3\"}"; }
inbox() { sql "SELECT count(*) FROM smspool.inbox WHERE connection = '$1' AND body = '$2'"; }

# 1. Carried out, answer lost, index reused while away.
for m in p t; do
	modem_ctl $m '{"op": "lose-answer", "to": "AT+CMGD", "seconds": 1,
	               "inject": {"from": "+441632960202", "text": "stored while away"}}'
	inject $m +441632960201 "read before the lost answer"
done
for m in p t; do
	conn=$([ $m = p ] && echo pdu || echo text)
	if wait_for 30 "SELECT count(*) >= 2 FROM smspool.inbox WHERE connection = '$conn'"; then
		pass "$conn: the text stored at the freed index while the modem was away reaches the inbox"
	else
		fail "$conn: the text stored at the freed index while the modem was away reaches the inbox" \
			"inbox: $(sql "SELECT body FROM smspool.inbox WHERE connection = '$conn'"); modem: $(modem_py $m '[e for e in ev if e["ev"] in ("stored", "read", "deleted", "answer_lost", "list")]')"
	fi
done

# 2. Not carried out, answer lost: deleted after the reconnect, stored once.
for m in p t; do
	wait_modem $m 20 'len([e for e in ev if e["ev"] == "deleted"]) >= 2' || diag "$m: the first texts were not deleted"
	modem_ctl $m '{"op": "lose-answer", "to": "AT+CMGD", "run": false, "seconds": 1}'
	inject $m +441632960203 "deleted after the reconnect"
done
for m in p t; do
	conn=$([ $m = p ] && echo pdu || echo text)
	if wait_modem $m 30 'sum(e["ev"] == "answer_lost" for e in ev) == 2 and sum(e["ev"] == "deleted" for e in ev) >= 3'; then
		pass "$conn: the SIM ends empty (the text whose delete never ran was deleted after the reconnect)"
	else
		fail "$conn: the SIM ends empty (the text whose delete never ran was deleted after the reconnect)"
	fi
	is "$(sql "SELECT string_agg(body || '=' || n, ', ' ORDER BY body) FROM (SELECT body, count(*) n FROM smspool.inbox
	             WHERE connection = '$conn' GROUP BY body) s")" \
		"deleted after the reconnect=1, read before the lost answer=1, stored while away=1" \
		"$conn: each of the three texts in the inbox exactly once"
done
is "$(modem_py p 'sorted(set(e["index"] for e in ev if e["ev"] == "stored"))')" "[1]" \
	"the modem reused the freed index (the case the driver must not delete blindly)"
stop_daemon l1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

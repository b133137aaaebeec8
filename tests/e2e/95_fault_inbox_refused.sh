#!/usr/bin/env bash
# Fault suite 6: the database refuses inbound texts (as a full disk would):
# a CHECK constraint on smspool.inbox makes every INSERT fail for a while.
# The SMSC (tests/peers/smsc.js) sends MO texts; while refused the daemon
# must not acknowledge them positively (deliver_sm_resp with an error), so
# that the SMSC sends them again; once the constraint is gone every text is
# in the inbox.
#
# What the code guarantees: inbound is committed before the peer's
# acknowledgement, so at-least-once -- a text can be stored twice only if the
# acknowledgement of a committed text is lost (a crash or a dropped session
# between commit and deliver_sm_resp).  Nothing of the kind happens here, so
# this test asserts exactly once.
#   1. every insert refused (CHECK (false)), then the constraint dropped
#   2. one poison text refused (CHECK (body <> 'refuse me')) among good ones:
#      the good ones must still get in, the poison one stays refused, and
#      gets in once the constraint is dropped.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

NMO=30
plan 12

e2e_db smspool_e2e_fault_inbox
sql "ALTER TABLE smspool.inbox ADD CONSTRAINT fault_check CHECK (false) NOT VALID" || bail "ALTER TABLE"
smsc_start "$E2E_TMP/smsc" "\"mo_gen\": {\"count\": $NMO, \"prefix\": \"mo \", \"system_id\": \"smspool\"},
 \"log_skip\": [\"rx\", \"enquire_link\"]"
add_connection smsc smpp "$(smpp_settings)" 20
start_daemon fi

# nack_min: the fewest negative deliver_sm_resp any MO text got so far
nack_min='(() => { const c = {}; for (const e of L) if (e.ev === "deliver_resp" && e.kind === "mo" && e.status !== 0) c[e.key] = (c[e.key] || 0) + 1; const v = Object.values(c); return v.length < '$NMO' ? 0 : Math.min(...v); })()'
pos_mo='L.filter((e) => e.ev === "deliver_resp" && e.kind === "mo" && e.status === 0).length'
end=$(($(now_ms) + 30000))
while [ "$(smsc_q "$nack_min")" -lt 3 ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.3; done
ok "$(smsc_q "$nack_min") >= 3" "1: while refused, each of the $NMO MO texts was answered negatively and sent again (>= 3 times each)"
is "$(smsc_q "$pos_mo")" 0 "1: while refused, no MO text was acknowledged positively"
is "$(smsc_q 'L.filter((e) => e.ev === "deliver_resp" && e.kind === "mo" && e.status !== 0).every((e) => e.status === 0x64)')" true \
	"1: the negative answers are ESME_RX_T_APPN (temporary application error), not ESME_RSYSERR"
is "$(sql "SELECT count(*) FROM smspool.inbox")" 0 "1: nothing in the inbox"
ok "$(grep -c 'event=store_inbound_refused' "${DAEMON_LOG[fi]}") >= 1" "1: the daemon logs the refusal (store_inbound_refused)"

sql "ALTER TABLE smspool.inbox DROP CONSTRAINT fault_check" || bail "DROP CONSTRAINT"
if wait_for 20 "SELECT count(*) >= $NMO FROM smspool.inbox"; then
	pass "1: after the constraint is dropped, the texts reach the inbox"
else
	fail "1: after the constraint is dropped, the texts reach the inbox" "inbox: $(sql 'SELECT count(*) FROM smspool.inbox')"
fi
# The SMSC sends a text again only after a negative answer: once it has a
# positive one for each, nothing more comes (a text stored twice would show
# in the checks below).  Waited for with a bound, not slept.
end=$(($(now_ms) + 15000 * E2E_WAIT_SCALE))
while [ "$(smsc_q "$pos_mo")" -lt "$NMO" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
is "$(sql "SELECT count(*) || '/' || count(DISTINCT body) || '/' || count(*) FILTER (WHERE body ~ '^mo [0-9]+$' AND substr(body, 4)::int BETWEEN 1 AND $NMO) FROM smspool.inbox")" \
	"$NMO/$NMO/$NMO" "1: every MO text in the inbox exactly once"
is "$(smsc_q "$pos_mo")" "$NMO" "1: the SMSC got exactly one positive acknowledgement per text"

# --- 2. one poison text among good ones ---------------------------------
sql "ALTER TABLE smspool.inbox ADD CONSTRAINT fault_check CHECK (body <> 'refuse me') NOT VALID" || bail "ALTER TABLE"
stop_daemon fi
# The SMSC's texts of a second run: the same SMSC cannot add texts, so a
# second SMSC with the poison text among 20 good ones.
kill "$SMSC_PID" 2>/dev/null
smsc_start "$E2E_TMP/smsc2" '"mo_gen": {"count": 20, "prefix": "good ", "system_id": "smspool"},
 "mo": [{"from": "+4915100000666", "to": "12345", "text": "refuse me", "system_id": "smspool"}], "log_skip": ["rx", "enquire_link"]'
sql "UPDATE smspool.connections SET settings = '$(smpp_settings)'::jsonb WHERE name = 'smsc'" || bail "UPDATE"
start_daemon fi
if wait_for 20 "SELECT count(*) = 20 FROM smspool.inbox WHERE body LIKE 'good %'"; then
	pass "2: the 20 good texts get in while a poison text among them is refused"
else
	fail "2: the 20 good texts get in while a poison text among them is refused" \
		"inbox: $(sql "SELECT count(*) FROM smspool.inbox WHERE body LIKE 'good %'") of 20; refusals logged: $(grep -c 'event=store_inbound_refused' "${DAEMON_LOG[fi]}")"
fi
poison_nacks() { smsc_q 'L.filter((e) => e.ev === "deliver_resp" && e.kind === "mo" && e.key === 1 && e.status !== 0).length'; }
end=$(($(now_ms) + 15000))
while [ "$(poison_nacks)" -lt 2 ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.3; done
ok "$(poison_nacks) >= 2" "2: the poison text is refused to the SMSC, which sends it again ($(poison_nacks) times)"
sql "ALTER TABLE smspool.inbox DROP CONSTRAINT fault_check" || bail "DROP CONSTRAINT"
# Not an assertion by itself: waits (bounded) until the poison text is in and
# the SMSC has a positive answer for all 21 texts (then it sends nothing
# more); the check that follows fails when either did not come.
wait_for 20 "SELECT count(*) = 1 FROM smspool.inbox WHERE body = 'refuse me'" ||
	diag "the poison text did not reach the inbox"
end=$(($(now_ms) + 15000 * E2E_WAIT_SCALE))
while [ "$(smsc_q "$pos_mo")" -lt 21 ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
is "$(sql "SELECT count(*) FILTER (WHERE body = 'refuse me') || '/' || count(*) FILTER (WHERE body LIKE 'good %') || '/' || count(DISTINCT body) FILTER (WHERE body LIKE 'good %') FROM smspool.inbox")" \
	"1/20/20" "2: after the constraint is dropped: the poison text once, each good text once"

stop_daemon fi
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

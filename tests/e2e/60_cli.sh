#!/usr/bin/env bash
# The command line: db url, db migrate (idempotent), send, status, split, and
# invalid rows refused with an error that names the column.
. "$(dirname "$0")/../lib/e2e.sh"
plan 14

e2e_db smspool_e2e_cli
BIN=$SMSPOOL_BIN
PGDUMP=$PGBIN/pg_dump

# db url: with nothing configured, the daemon's URL is the private cluster's.
conf_db=$(sed -n 's/^[[:space:]]*database[[:space:]]*=[[:space:]]*//p' conf/smspool.conf 2>/dev/null | tail -n 1 | sed 's/[[:space:]]*$//')
if [ -z "$conf_db" ]; then
	is "$(env -u SMSPOOL_DB "$BIN" db url 2>&1)" "$(sh "$PGCLUSTER" url)" "smspool db url = pgcluster.sh url when no database is configured"
else
	skip "smspool db url = pgcluster.sh url when no database is configured" "conf/smspool.conf sets database"
fi
is "$("$BIN" db url 2>&1)" "$SMSPOOL_DB" "smspool db url follows SMSPOOL_DB"

# db migrate twice: the second run changes nothing.
# (pg_dump's \restrict lines carry a random key per run.)
dump() { "$PGDUMP" --no-owner -d "$SMSPOOL_DB" 2>&1 | grep -v '^--' | grep -v '^$' | grep -Ev '^\\(un)?restrict '; }
before=$(dump)
out=$("$BIN" db migrate 2>&1)
rc=$?
is "$rc" 0 "smspool db migrate on a migrated database exits 0"
[ "$rc" = 0 ] || diag "$out"
after=$(dump)
if [ "$before" == "$after" ]; then
	pass "smspool db migrate twice is idempotent (same dump)"
else
	fail "smspool db migrate twice is idempotent (same dump)" "$(diff <(echo "$before") <(echo "$after") | head -n 20)"
fi

# connections for status
add_connection cli_loop loopback '{}'
add_connection cli_emu emulator '{"seed": 1, "accept_rate": 1.0, "outcomes": {"delivered": 1}, "report_delay_ms": 10, "latency_ms": 1}'
add_route cli_emu

# send
out=$("$BIN" send --to +15551230001 --text 'hello from the cli' 2>&1)
rc=$?
id=$(printf '%s\n' "$out" | grep -Eo '[0-9]+' | tail -n 1)
if [ "$rc" = 0 ] && [ -n "$id" ] && [ "$(count_where "id = $id AND recipient = '+15551230001' AND body = 'hello from the cli'")" = 1 ]; then
	pass "smspool send prints the id of the row it inserted ($id)"
else
	fail "smspool send prints the id of the row it inserted" "exit $rc, output: $out"
fi
out=$("$BIN" send --to +15551230002 --text 'forced' --from +15550000001 --connection cli_loop 2>&1)
id=$(printf '%s\n' "$out" | grep -Eo '[0-9]+' | tail -n 1)
is "$(sql "SELECT sender || ' ' || connection FROM smspool.outbox WHERE id = ${id:-0}")" "+15550000001 cli_loop" \
	"smspool send --from --connection fill sender and connection"

# status
out=$("$BIN" status 2>&1)
rc=$?
if [ "$rc" = 0 ] && [[ $out == *cli_loop* ]] && [[ $out == *cli_emu* ]]; then
	pass "smspool status lists the connections"
else
	fail "smspool status lists the connections" "exit $rc, output:" "$out"
fi

# split
split() { "$BIN" split "$1" 2>&1 || "$BIN" split --text "$1" 2>&1; }
like "$(split 'short text')" 'parts[=: ]+1([^0-9]|$)' "smspool split: a short text is one part"
like "$(split "$(printf 'x%.0s' $(seq 1 161))")" 'parts[=: ]+2([^0-9]|$)' "smspool split: 161 GSM characters are two parts"
like "$(split "$(printf 'x%.0s' $(seq 1 160))")" 'parts[=: ]+1([^0-9]|$)' "smspool split: 160 GSM characters are one part"

# invalid rows are refused where they enter, naming the column
out=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('not a number', 'x')" 2>&1)
rc=$?
if [ "$rc" != 0 ] && [[ $out == *recipient* ]]; then
	pass "an INSERT with an invalid recipient is refused, naming the column"
else
	fail "an INSERT with an invalid recipient is refused, naming the column" "exit $rc, output: $out"
fi
out=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15551230003', NULL)" 2>&1)
rc=$?
if [ "$rc" != 0 ] && [[ $out == *body* ]]; then
	pass "an INSERT without a body is refused, naming the column"
else
	fail "an INSERT without a body is refused, naming the column" "exit $rc, output: $out"
fi
out=$("$BIN" send --to 'not a number' --text x 2>&1)
rc=$?
if [ "$rc" != 0 ] && [[ $out == *recipient* ]]; then
	pass "smspool send with an invalid recipient fails, naming the column"
else
	fail "smspool send with an invalid recipient fails, naming the column" "exit $rc, output: $out"
fi
is "$(sql "SELECT count(*) FROM smspool.outbox")" 2 "only the two valid sends are in the outbox"
finish

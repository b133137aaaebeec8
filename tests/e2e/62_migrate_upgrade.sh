#!/usr/bin/env bash
# Migrations (issue 10): a database made with the first release's schema
# (sql/001..008, applied as that release did: no checksums recorded) and
# holding messages in every state is brought to today's schema by
# `smspool db migrate`; nothing changes meaning: the same rows in the same
# states, a sent message still takes its delivery report, a queued one is
# still claimed, the inbox row still taken, the account still logs in.
# Then the checksums: a migration whose text no longer matches what was
# applied is refused by `smspool db migrate` and by `smspool run`.
. "$(dirname "$0")/../lib/e2e.sh"

plan 14
E2E_MIGRATE=none e2e_db smspool_e2e_upgrade
for f in "$E2E_ROOT"/sql/00[1-8]_*.sql; do
	out=$("$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" -f "$f" 2>&1) || bail "applying $f: $out"
done
sql "CREATE TABLE smspool.schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
     INSERT INTO smspool.schema_migrations (version, name)
     SELECT substr(n, 1, 3)::int, n FROM unnest(ARRAY[$(cd "$E2E_ROOT/sql" && ls 00[1-8]_*.sql | sed "s/\.sql$//; s/.*/'&'/" | paste -sd,)]) n" ||
	bail "schema_migrations of the first release"

# Data in every state, made with the first release's functions.
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('acct1', 'pw-one')" || bail "account"
sql "INSERT INTO smspool.outbox (recipient, body, client_ref, want_report)
     SELECT '+1555000' || g, 'upgrade ' || g, 'u' || g, true FROM generate_series(1, 6) g" || bail "outbox"
sql "SELECT count(*) FROM smspool.claim('old', NULL, 4)" >/dev/null || bail "claim"
sql "SELECT smspool.record_results('old', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref IN ('u1','u2','u3','u4') ORDER BY id),
     ARRAY['sent','sent','rejected','temporary'], ARRAY['c','c','c','c'], ARRAY['rid1','rid2',NULL,NULL], ARRAY[1,1,NULL,NULL],
     ARRAY[NULL,NULL,'0x0B','0x58'], ARRAY[NULL,NULL,'bad','busy'], NULL)" >/dev/null || bail "results"
sql "SELECT count(*) FROM smspool.record_reports(ARRAY['c'], ARRAY['rid1'], ARRAY['delivered'], ARRAY[NULL], ARRAY[NULL])" >/dev/null || bail "report"
sql "UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref = 'u5'" || bail "cancel"
sql "SELECT smspool.record_inbound(ARRAY['c'], ARRAY['+4911'], ARRAY['123'], ARRAY['hello old'], ARRAY[NULL], ARRAY[NULL], ARRAY['gsm7'], ARRAY[1], ARRAY[NULL]::timestamptz[])" >/dev/null || bail "inbound"
before=$(sql "SELECT string_agg(client_ref || ':' || status || ':' || coalesce(remote_ids::text, '-'), ' ' ORDER BY client_ref) FROM smspool.outbox")
diag "before: $before"

out=$("$SMSPOOL_BIN" db migrate 2>&1)
rc=$?
is "$rc" 0 "smspool db migrate brings the first release's schema to today's"
diag "$(echo "$out" | tail -3)"
is "$("$SMSPOOL_BIN" db status >/dev/null 2>&1; echo $?)" 0 "smspool db status: nothing pending"
is "$(sql "SELECT count(*) FROM smspool.schema_migrations WHERE checksum IS NULL OR checksum !~ '^[0-9a-f]{64}$'")" 0 \
	"every applied migration has its checksum, the old ones filled in"
after=$(sql "SELECT string_agg(client_ref || ':' || status || ':' || coalesce(remote_ids::text, '-'), ' ' ORDER BY client_ref) FROM smspool.outbox")
is "$after" "$before" "every message keeps its state and remote ids"
is "$(sql "SELECT count(*) FROM smspool.record_reports(ARRAY['c'], ARRAY['rid2'], ARRAY['undelivered'], ARRAY['1'], ARRAY[NULL]) WHERE message_id IS NOT NULL")" 1 \
	"a message sent before the upgrade takes its report after it"
is "$(sql "SELECT status FROM smspool.outbox WHERE client_ref = 'u2'")" undelivered "and reaches its final state"
is "$(sql "SELECT string_agg(client_ref, ' ') FROM smspool.claim('new', NULL, 10)")" u6 "the queued message is claimed (the retried one waits for its backoff)"
is "$(sql "SELECT body FROM smspool.inbox_take(10)")" "hello old" "the inbox row is taken"
is "$(sql "SELECT ok FROM smspool.account_auth('acct1', 'pw-one', NULL)")" t "the account still logs in with its password"

# A migration changed after it was applied is refused.
sql "UPDATE smspool.schema_migrations SET checksum = repeat('0', 64) WHERE version = 2" || bail "tamper"
out=$("$SMSPOOL_BIN" db migrate 2>&1)
rc=$?
ok "$rc != 0" "smspool db migrate refuses a changed migration (exit $rc)"
like "$out" "002_messages was changed after it was applied" "and says which one"
out=$(timeout 20 "$SMSPOOL_BIN" run 2>&1)
rc=$?
ok "$rc != 0" "smspool run refuses to start on it (exit $rc)"
like "$out" "002_messages was changed after it was applied" "with the same reason"
sql "UPDATE smspool.schema_migrations SET checksum = NULL WHERE version = 2" || bail "untamper"
is "$("$SMSPOOL_BIN" db migrate >/dev/null 2>&1; echo $?)" 0 "an unknown checksum (NULL) is filled in again"
finish

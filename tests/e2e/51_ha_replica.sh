#!/usr/bin/env bash
# Failover of the database itself (issue 16): libpq multi-host conninfo with
# target_session_attrs=read-write.  The test runs its own pair of clusters
# under $E2E_TMP, on Unix sockets in private directories: a primary and a
# streaming replica made with pg_basebackup -R from it (synchronous, so that
# what the primary acknowledged is on the replica).  The daemon's conninfo
# names both; traffic flows; the primary is stopped; the replica is promoted
# (pg_ctl promote); the daemon reconnects to it and carries on.  Afterwards
# a reconciliation (tests/lib/reconcile.sh): 0 lost, every row delivered,
# duplicates only within the window (a result the old primary never saw).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

WINDOW=20
if fault_small; then N=${FAULT_N:-1000}; else N=${FAULT_N:-3000}; fi
plan $((RECON_TESTS + 6))
[ -x "$PGBIN/pg_basebackup" ] || bail "$PGBIN/pg_basebackup not found (Debian postgresql-15)"

# Server programs run as the cluster's owner: postgres when we are root.
as_owner() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
PAIR=$E2E_TMP/pair
mkdir -p "$PAIR"
chmod 755 "$E2E_TMP" "$PAIR"
[ "$(id -u)" = 0 ] && chown postgres "$PAIR"
P_DATA=$PAIR/primary R_DATA=$PAIR/replica P_SOCK=$PAIR/sp R_SOCK=$PAIR/sr
P_PORT=5432 R_PORT=5433
as_owner mkdir -p "$P_SOCK" "$R_SOCK"
as_owner chmod 700 "$P_SOCK" "$R_SOCK"
pg_up() { # pg_up DATA SOCK PORT
	as_owner "$PGBIN/pg_ctl" start -D "$1" -l "$1.log" -w -t 60 -o "-k '$2' -p $3 -c listen_addresses=''" >/dev/null
}
pg_down() { as_owner "$PGBIN/pg_ctl" stop -D "$1" -m fast -w -t 60 >/dev/null 2>&1; }
cleanup_pair() {
	pg_down "$R_DATA"
	pg_down "$P_DATA"
}
trap 'kill $SMSC_PID 2>/dev/null; cleanup_pair; _e2e_cleanup' EXIT

as_owner "$PGBIN/initdb" -D "$P_DATA" -U smspool -A trust --encoding=UTF8 --locale=C --no-instructions >"$PAIR/initdb.log" 2>&1 ||
	bail "initdb: $(cat "$PAIR/initdb.log")"
as_owner sh -c 'cat >> "$1"' sh "$P_DATA/postgresql.auto.conf" <<'EOF'
wal_level = replica
max_wal_senders = 4
synchronous_standby_names = '*'
synchronous_commit = on
max_connections = 60
log_min_messages = warning
EOF
pg_up "$P_DATA" "$P_SOCK" $P_PORT || bail "the primary did not start: $(tail -5 "$P_DATA.log")"
as_owner "$PGBIN/pg_basebackup" -h "$P_SOCK" -p $P_PORT -U smspool -D "$R_DATA" -R -X stream >"$PAIR/basebackup.log" 2>&1 ||
	bail "pg_basebackup: $(cat "$PAIR/basebackup.log")"
# Promoted, the replica has no standby of its own: it must not wait for one.
echo "synchronous_standby_names = ''" | as_owner sh -c 'cat >> "$1"' sh "$R_DATA/postgresql.auto.conf"
pg_up "$R_DATA" "$R_SOCK" $R_PORT || bail "the replica did not start: $(tail -5 "$R_DATA.log")"

"$E2E_PSQL" -X -q -h "$P_SOCK" -p $P_PORT -U smspool -d postgres -c "CREATE DATABASE smspool_ha" >/dev/null || bail "createdb"
export SMSPOOL_DB="host=$P_SOCK,$R_SOCK port=$P_PORT,$R_PORT user=smspool dbname=smspool_ha target_session_attrs=read-write connect_timeout=3"
out=$("$SMSPOOL_BIN" db migrate 2>&1) || bail "smspool db migrate: $out"
q_replica() { "$E2E_PSQL" -X -A -t -q -h "$R_SOCK" -p $R_PORT -U smspool -d smspool_ha -c "$1"; }
is "$(q_replica 'SELECT pg_is_in_recovery()')/$(sql "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" "t/1" \
	"a synchronous streaming replica of the test's own primary"

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'
trap 'kill $SMSC_PID 2>/dev/null; cleanup_pair; _e2e_cleanup' EXIT
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '20' WHERE key = 'max_attempts'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" $WINDOW
add_route smsc

submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }
start_daemon d1
wait_for 30 "SELECT EXISTS (SELECT 1 FROM smspool.connection_state WHERE name = 'smsc' AND state = 'up')" ||
	bail "the connection did not come up"
fault_insert r- "$N"
target=$((N * 30 / 100)) end=$(($(now_ms) + 60000))
while [ "$(submits)" -lt "$target" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
before=$(submits)
pg_down "$P_DATA"
diag "primary stopped after $before submits"
# The daemon cannot write now (the replica refuses read-write sessions);
# sending goes on only as far as its claims and window allow.
sleep 1 # the outage under test is a period: 1 s without a writable primary
as_owner "$PGBIN/pg_ctl" promote -D "$R_DATA" -w -t 60 >/dev/null || bail "pg_ctl promote failed"
is "$(q_replica 'SELECT pg_is_in_recovery()')" f "the replica is promoted"
recon_mark_inflight # what the daemon had claimed and not yet written when the primary went
RECON_INFLIGHT=1 reconcile "after the primary stopped and the replica was promoted" "$SMSC_LOG" "$N" $WINDOW 90
# A claim whose COMMIT the stopping primary left unanswered is asked about
# on the new primary before its rows are sent (claimer.c confirm_unsure):
# sent as they were, its rolled-back rows went out twice (11 duplicates in one run).
diag "claims whose COMMIT went unanswered: $(grep -c 'event=store_claim_commit_unknown' "${DAEMON_LOG[d1]}")$(grep -o 'event=store_claim_confirmed .*' "${DAEMON_LOG[d1]}" | sed 's/^/; /' | tr '\n' ' ')"
ok "$(grep -c 'event=store_reconnected' "${DAEMON_LOG[d1]}") >= 1" "the daemon reconnected (to the promoted replica)"
ok "$(submits) >= $N" "the SMSC received every message ($(submits) submits)"
ok "$(daemon_alive d1 && echo 1 || echo 0)" "the daemon ran through the failover"
stop_daemon d1
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
finish

#!/usr/bin/env bash
# High availability of an exclusive connection (issue 16, sql/022_ha.sql):
# an SMPP account that allows one bind, marked connections.exclusive, run by
# two daemons on one database.  The SMSC (tests/peers/smsc.js, npm smpp)
# counts the sessions of the account bound at once at every bind: it must
# never see two.
#   0. d1 holds the connection, d2 shows it standby ("held by d1");
#   1. d1 stays alive but is cut from the database (its database connections
#      go through a socat proxy that the test kills): d1 stops the
#      connection by itself, d2 takes it within lease_s; nothing lost;
#   2. the proxy comes back: d1 shows standby, held by d2;
#   3. d2 is killed (SIGKILL) mid-run: d1 takes the connection within lease_s;
#   4. d1 stops cleanly and gives its lease up.
# Each phase with traffic ends with a reconciliation (tests/lib/reconcile.sh):
# every row delivered once, duplicates only of rows in flight at the fault.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

LEASE_S=6
WINDOW=20
SLACK_MS=${HA_SLACK_MS:-3000} # a loaded machine: psql polls, process start
if fault_small; then N=${FAULT_N:-600}; else N=${FAULT_N:-2000}; fi
command -v socat >/dev/null || bail "socat is not installed (packaging/install-deps.sh)"
plan $((2 * RECON_TESTS + 10))

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20, "tlv": "all"},
 "log_lean": true, "log_skip": ["rx", "receipt", "deliver_resp", "enquire_link"]'

e2e_db smspool_e2e_ha_exclusive
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '20' WHERE key = 'max_attempts'" || bail "config"
sql "UPDATE smspool.config SET value = '$LEASE_S' WHERE key = 'lease_s'" || bail "config"
add_connection one smpp "$(smpp_settings)" $WINDOW
sql "UPDATE smspool.connections SET exclusive = true WHERE name = 'one'" || bail "exclusive"
add_route one

# d1 reaches PostgreSQL through a unix-socket proxy: killing the proxy (and
# its forked children, one per database connection) cuts d1 off while it
# lives on.
PGSOCK_DIR=$(echo "$SMSPOOL_DB" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
PGPORT_=$(echo "$SMSPOOL_DB" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
mkdir -p "$E2E_TMP/px"
PX_PID=
proxy_start() {
	rm -f "$E2E_TMP/px/.s.PGSQL.$PGPORT_"
	setsid socat "UNIX-LISTEN:$E2E_TMP/px/.s.PGSQL.$PGPORT_,fork" "UNIX-CONNECT:$PGSOCK_DIR/.s.PGSQL.$PGPORT_" &
	PX_PID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		[ -S "$E2E_TMP/px/.s.PGSQL.$PGPORT_" ] && return 0
		sleep 0.1
	done
	bail "the socat proxy did not start"
}
proxy_stop() { [ -n "$PX_PID" ] && kill -KILL -- "-$PX_PID" 2>/dev/null; wait "$PX_PID" 2>/dev/null; PX_PID=; }
trap 'kill $SMSC_PID 2>/dev/null; proxy_stop; _e2e_cleanup' EXIT
proxy_start
D1_DB=$(echo "$SMSPOOL_DB" | sed "s#host=[^ ]*#host=$E2E_TMP/px#")

submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }
owner() { sql "SELECT instance FROM smspool.connection_owners WHERE name = 'one' AND lease_until > now()"; }
# wait_up INSTANCE: waits until the connection is up on INSTANCE; prints the ms it took
wait_up() {
	local t0=$1 inst=$2
	wait_for 60 "SELECT EXISTS (SELECT 1 FROM smspool.connection_state WHERE name = 'one' AND instance = '$inst' AND state = 'up')" || return 1
	echo $(($(now_ms) - t0))
}
# until_share PCT: waits until PCT % of this phase's messages went out
until_share() {
	local target=$(($(submits) + N * $1 / 100)) end=$(($(now_ms) + 60000))
	while [ "$(submits)" -lt "$target" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
}

# --- 0. one owner, one standby ---------------------------------------------
start_daemon d1 SMSPOOL_DB="$D1_DB"
wait_for 30 "SELECT EXISTS (SELECT 1 FROM smspool.connection_state WHERE name = 'one' AND instance = 'd1' AND state = 'up')" ||
	bail "d1 did not bring the connection up: $(sql 'SELECT * FROM smspool.connection_state')"
start_daemon d2
wait_for 30 "SELECT EXISTS (SELECT 1 FROM smspool.daemons WHERE instance = 'd2')
             AND EXISTS (SELECT 1 FROM smspool.connection_state WHERE name = 'one' AND instance = 'd2' AND state = 'standby')" ||
	diag "states: $(sql 'SELECT name, instance, state, detail FROM smspool.connection_state')"
is "$(owner)/$(sql "SELECT state || ': ' || detail FROM smspool.connection_state WHERE name = 'one' AND instance = 'd2'")" \
	"d1/standby: held by d1" "0: d1 holds the exclusive connection, d2 shows it standby"
like "$("$SMSPOOL_BIN" status 2>&1)" "owner: held by d1" "0: smspool status shows the owner"

# --- 1. d1 cut from the database ------------------------------------------
fault_insert p1- "$N"
until_share 30
t0=$(now_ms)
proxy_stop
recon_mark_inflight
diag "cut d1 from the database after $(submits) submits: $(state_counts)"
ms=$(wait_up "$t0" d2) || ms=999999
ok "$ms <= $((LEASE_S * 1000 + SLACK_MS))" "1: d2 brought the connection up ${ms} ms after d1 was cut (lease_s $LEASE_S s, slack $SLACK_MS ms)"
ok "$(daemon_alive d1 && grep -cE 'event=(conn_lease_lost|daemon_lease_expired) ' "${DAEMON_LOG[d1]}" || echo 0) >= 1" \
	"1: d1, alive, stopped the connection itself when it could not renew its lease"
RECON_SCOPE='p1-%' RECON_INFLIGHT=1 reconcile "1: d1 cut from the database" "$SMSC_LOG" "$N" $WINDOW 60

# --- 2. d1 back -----------------------------------------------------------
proxy_start
wait_for 40 "SELECT EXISTS (SELECT 1 FROM smspool.connection_state WHERE name = 'one' AND instance = 'd1' AND state = 'standby' AND detail = 'held by d2')" ||
	diag "states: $(sql 'SELECT name, instance, state, detail FROM smspool.connection_state')"
is "$(owner)/$(sql "SELECT state FROM smspool.connection_state WHERE name = 'one' AND instance = 'd1'")" "d2/standby" \
	"2: d1 reconnected and shows the connection standby, held by d2"

# --- 3. d2 killed -----------------------------------------------------------
fault_insert p2- "$N"
until_share 30
t0=$(now_ms)
kill_daemon d2
recon_mark_inflight
diag "killed d2 after $(submits) submits: $(state_counts)"
ms=$(wait_up "$t0" d1) || ms=999999
ok "$ms <= $((LEASE_S * 1000 + SLACK_MS))" "3: d1 brought the connection up ${ms} ms after d2 was killed (lease_s $LEASE_S s)"
is "$(owner)" d1 "3: d1 holds the lease"
RECON_SCOPE='p2-%' RECON_INFLIGHT=1 reconcile "3: the owner killed" "$SMSC_LOG" "$N" $WINDOW 60

# --- the peer's view: never two binds at once --------------------------------
is "$(smsc_q 'Math.max(...L.filter((e) => e.ev === "bind" && e.ok).map((e) => e.bound))')" 1 \
	"the SMSC never saw two sessions of the account bound at once"
ok "$(smsc_q 'L.filter((e) => e.ev === "bind" && e.ok).length') >= 3" \
	"the SMSC saw the account bind at least 3 times ($(smsc_q 'L.filter((e) => e.ev === "bind" && e.ok).length'))"

# --- 4. clean stop --------------------------------------------------------------
stop_daemon d1
is "$DAEMON_STATUS/$(sql "SELECT count(*) FROM smspool.connection_owners")" "0/0" "4: d1 exits 0 on SIGTERM and gives its lease up"
finish

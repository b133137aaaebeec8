#!/usr/bin/env bash
# `smspool check-config` and its documented exit codes (0 good, 1 usage,
# 2 configuration, 3 database unreachable, 4 schema, 5 a connection refused),
# and the service manager protocol of a Type=notify unit spoken to a socket
# of the test's own (NOTIFY_SOCKET, as systemd sets it): READY=1 once the
# connections are started, WATCHDOG=1 pings at half of WATCHDOG_USEC,
# RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.  With
# metrics_auth = admin the status page and /metrics want the login of an
# account with the admin flag; /health stays open.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/ops.sh"
plan 24

e2e_db smspool_e2e_opscli
add_connection lo loopback '{}'

out=$("$SMSPOOL_BIN" check-config 2>&1)
rc=$?
is "$rc" 0 "check-config on a good set-up exits 0"
like "$out" "ok: schema at version [0-9]+" "it reports the schema version"
like "$out" "ok: connection lo \(loopback\)" "it checks every connection"

"$SMSPOOL_BIN" check-config --bogus >/dev/null 2>&1
is "$?" 1 "an unknown option exits 1"

printf 'no_such_key = 1\n' >"$E2E_TMP/bad.conf"
out=$(SMSPOOL_CONF="$E2E_TMP/bad.conf" "$SMSPOOL_BIN" check-config 2>&1)
rc=$?
is "$rc" 2 "a broken configuration file exits 2"
like "$out" 'unknown key "no_such_key"' "and names the key"

SMSPOOL_DB="host=$E2E_TMP/nothing-here dbname=x" "$SMSPOOL_BIN" check-config >/dev/null 2>&1
is "$?" 3 "an unreachable database exits 3"

sh "$PGCLUSTER" dropdb smspool_e2e_opscli_empty >/dev/null 2>&1
sh "$PGCLUSTER" createdb smspool_e2e_opscli_empty >/dev/null 2>&1 || bail "createdb failed"
_dbs+=(smspool_e2e_opscli_empty)
out=$(SMSPOOL_DB=$(e2e_url smspool_e2e_opscli_empty) "$SMSPOOL_BIN" check-config 2>&1)
rc=$?
is "$rc" 4 "a database without the schema exits 4"
SMSPOOL_DB=$(e2e_url smspool_e2e_opscli_empty) "$SMSPOOL_BIN" check-config --no-schema >/dev/null 2>&1
is "$?" 0 "--no-schema stops after the database check (as the unit runs it before db migrate)"

# The table's own check cannot see inside a listen address; the driver can.
sql "INSERT INTO smspool.connections (name, type, settings, enabled)
     VALUES ('badapi', 'http-api', '{\"listen\": \"nonsense\"}', false)" || bail "INSERT failed"
out=$("$SMSPOOL_BIN" check-config --quiet 2>&1)
rc=$?
is "$rc" 5 "a connection the daemon would refuse exits 5"
like "$out" "error: connection badapi \(http-api, disabled\): settings.listen" "and names the connection and key"
sql "DELETE FROM smspool.connections WHERE name = 'badapi'" || bail "DELETE failed"

# A secret kept out of the table: "${NAME}" is read from the environment
# when the connection starts (here the emulator's inbound text shows it).
sql "INSERT INTO smspool.connections (name, type, settings) VALUES ('emumo', 'emulator',
     '{\"mo_interval_ms\": 200, \"mo_text\": \"\${SMSPOOL_E2E_SECRET}\"}')" || bail "INSERT failed"
out=$(env -u SMSPOOL_E2E_SECRET "$SMSPOOL_BIN" check-config --quiet 2>&1)
rc=$?
is "$rc" 5 "a secret reference to an unset variable is refused"
like "$out" 'settings.mo_text: \$\{SMSPOOL_E2E_SECRET\}: the environment variable SMSPOOL_E2E_SECRET is not set' \
	"naming the key and the variable"
start_daemon s1 SMSPOOL_E2E_SECRET=from-the-environment
if wait_for 30 "SELECT count(*) > 0 FROM smspool.inbox WHERE connection = 'emumo' AND body = 'from-the-environment'"; then
	pass "the daemon reads the secret from its environment"
else
	fail "the daemon reads the secret from its environment" "$(sql "SELECT body FROM smspool.inbox LIMIT 3")"
fi
stop_daemon s1
sql "DELETE FROM smspool.connections WHERE name = 'emumo'" || bail "DELETE failed"

# metrics_auth = admin
sql "INSERT INTO smspool.accounts (system_id, password, admin) VALUES ('opsadm', 'pw-admin', true);
     INSERT INTO smspool.accounts (system_id, password) VALUES ('opsapp', 'pw-app')" || bail "INSERT failed"
start_daemon w1 SMSPOOL_METRICS_LISTEN=127.0.0.1:0 SMSPOOL_METRICS_AUTH=admin
port=$(ops_port w1)
[ -n "$port" ] || bail "the daemon did not log ops_http_listening"
B="http://127.0.0.1:$port"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
is "$(code "$B/")$(code "$B/metrics")" 401401 "metrics_auth=admin: / and /metrics without a login are 401"
is "$(code -u opsadm:pw-admin "$B/")$(code -u opsadm:pw-admin "$B/metrics")" 200200 "an admin account's login opens both"
is "$(code -u opsapp:pw-app "$B/")$(code -u opsadm:wrong "$B/")" 401401 "an account without the flag, or a wrong password: 401"
is "$(ops_wait_code "$B/health" 200 /dev/null)" 200 "/health needs no login"
stop_daemon w1

# sd_notify: a datagram socket standing in for systemd.
sock="$E2E_TMP/notify.sock"
msgs="$E2E_TMP/notify.log"
python3 - "$sock" "$msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        for line in s.recv(4096).decode().split("\n"):
            if line:
                f.write(line + "\n")
PY
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; wait $LISTENER 2>/dev/null; _e2e_cleanup' EXIT
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || bail "the notify listener did not start"
: >"$msgs"

wait_line() { # wait_line SECONDS REGEX: until a line of the notify log matches
	local end=$(($(date +%s) + $1))
	while ! grep -Eq "$2" "$msgs"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

start_daemon n1 NOTIFY_SOCKET="$sock" WATCHDOG_USEC=2000000
if wait_line 30 '^READY=1$'; then pass "READY=1 once started"; else fail "READY=1 once started" "$(cat "$msgs")"; fi
# The state row is written by the store a moment after the connection came up.
if wait_for 10 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'lo' AND instance = 'n1'"; then
	pass "the connection started before READY=1 is up"
else
	fail "the connection started before READY=1 is up"
fi
# Pings every second (half of 2 s): at least three within 10 s.
end=$(($(date +%s) + 10))
while [ "$(grep -c '^WATCHDOG=1$' "$msgs")" -lt 3 ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
ok "$(grep -c '^WATCHDOG=1$' "$msgs") >= 3" "WATCHDOG=1 pings from the loop"
kill -HUP "${DAEMON_PID[n1]}"
if wait_line 10 '^RELOADING=1$'; then pass "RELOADING=1 on SIGHUP"; else fail "RELOADING=1 on SIGHUP" "$(cat "$msgs")"; fi
stop_daemon n1
if wait_line 5 '^STOPPING=1$'; then pass "STOPPING=1 on SIGTERM"; else fail "STOPPING=1 on SIGTERM" "$(cat "$msgs")"; fi
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish

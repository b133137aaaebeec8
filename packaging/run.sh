#!/usr/bin/env bash
# `make run` after the build: database, schema, demo connections, daemon.
#
#   make run                          (exports SMSPOOL_BIN)
#   SMSPOOL_BIN=bin/smspool bash packaging/run.sh
#
# With no database configured (SMSPOOL_DB empty and `database =` empty in
# conf/smspool.conf) the private cluster under var/pg is started.  Then the
# schema is migrated, conf/demo.sql applied, and `smspool run` runs in the
# foreground.  Ctrl-C or SIGTERM: the daemon gets SIGTERM, we wait for it, and
# the private cluster is stopped again if this script started it (its data
# stays: the next `make run` reuses it).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
BIN=${SMSPOOL_BIN:-bin/smspool}
PGCLUSTER="$ROOT/packaging/pgcluster.sh"

say() { printf 'run: %s\n' "$*"; }
die() {
	printf 'run: %s\n' "$*" >&2
	exit 1
}

[ -x "$BIN" ] || die "$BIN not found or not executable: build it with 'make'"

# The `database` key of conf/smspool.conf (last one wins, surrounding blanks trimmed).
conf_database() {
	[ -f conf/smspool.conf ] || return 0
	sed -n 's/^[[:space:]]*database[[:space:]]*=[[:space:]]*//p' conf/smspool.conf |
		tail -n 1 | sed 's/[[:space:]]*$//'
}

started_cluster=0
if [ -z "${SMSPOOL_DB:-}" ] && [ -z "$(conf_database)" ]; then
	if sh "$PGCLUSTER" status >/dev/null 2>&1; then
		say "private PostgreSQL cluster already running (left running on exit)"
	else
		sh "$PGCLUSTER" start
		started_cluster=1
	fi
fi

stop_cluster() {
	if [ "$started_cluster" = 1 ]; then
		started_cluster=0
		sh "$PGCLUSTER" stop || true
	fi
}
trap stop_cluster EXIT

"$BIN" db migrate
url=$("$BIN" db url)
[ -n "$url" ] || die "'$BIN db url' printed nothing"
PSQL=psql
command -v psql >/dev/null 2>&1 || PSQL=/usr/lib/postgresql/15/bin/psql
"$PSQL" "$url" -X -v ON_ERROR_STOP=1 -q -f conf/demo.sql

cat <<EOF

  smspool is starting.  In another terminal:

    psql "$url"

  send a text (the demo route hands it to the emulator; reports arrive within a second):

    INSERT INTO smspool.outbox (recipient, body) VALUES ('+15551234567', 'Hello from smspool');

  and watch it:

    SELECT id, recipient, status, connection_used, sent_at, done_at FROM smspool.outbox ORDER BY id DESC LIMIT 10;

  or force the loopback connection and read the echo in the inbox:

    INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES ('+15551234567', '+15550000000', 'ping', 'loopback');
    SELECT * FROM smspool.inbox ORDER BY id DESC LIMIT 10;

  Ctrl-C stops the daemon$([ "$started_cluster" = 1 ] && echo " and the private database (its data is kept)").

EOF

# The daemon runs in the background of this script, in a session of its own:
# the terminal's Ctrl-C reaches make and this script only, and the daemon gets
# exactly one SIGTERM from us (a second signal makes it exit at once).
setsid "$BIN" run &
pid=$!
signals=0
on_signal() {
	signals=$((signals + 1))
	if [ "$signals" = 1 ]; then
		say "stopping the daemon (pid $pid; Ctrl-C again to kill it)"
		kill -TERM "$pid" 2>/dev/null || true
	else
		say "killing the daemon (pid $pid)"
		kill -KILL "$pid" 2>/dev/null || true
	fi
}
trap on_signal INT TERM

rc=0
while :; do
	set +e
	wait "$pid"
	rc=$?
	set -e
	# wait returns early (status > 128) when a trapped signal arrives.
	kill -0 "$pid" 2>/dev/null || break
done
trap - INT TERM
if [ "$signals" -gt 0 ] && [ "$rc" = 0 ]; then
	say "daemon stopped"
elif [ "$rc" != 0 ]; then
	say "daemon exited with status $rc"
fi
stop_cluster
exit "$rc"

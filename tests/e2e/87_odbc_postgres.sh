#!/usr/bin/env bash
# odbc connection against PostgreSQL through psqlODBC: a second database of
# the private cluster, reached over its Unix socket (Servername = the socket
# directory); see tests/lib/odbc_e2e.sh.  "Away" is that database refusing
# connections (ALLOW_CONNECTIONS false) with its sessions terminated.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/odbc_e2e.sh"

DRIVER=/usr/lib/x86_64-linux-gnu/odbc/psqlodbca.so
[ -f "$DRIVER" ] || bail "$DRIVER missing (Debian odbc-postgresql)"
export ODBCSYSINI=$E2E_TMP ODBCINI=$E2E_TMP/odbc.ini
: >"$ODBCINI"

ENGINE=postgres
DIALECT=postgres
FDB=smspool_e2e_odbc_foreign
sh "$PGCLUSTER" dropdb "$FDB" >/dev/null 2>&1
out=$(sh "$PGCLUSTER" createdb "$FDB" 2>&1) || bail "createdb $FDB: $out"
_dbs+=("$FDB")
FURL=$(e2e_url "$FDB")
sock=$(sed 's/.*host=\([^ ]*\).*/\1/' <<<"$FURL")
port=$(sed 's/.*port=\([^ ]*\).*/\1/' <<<"$FURL")
user=$(sed 's/.*user=\([^ ]*\).*/\1/' <<<"$FURL")
CONNSTR="Driver=$DRIVER;Servername=$sock;Port=$port;Database=$FDB;Username=$user;ClientEncoding=UTF8"
NUL_SKIP="PostgreSQL text cannot hold a NUL"
fsql() { "$E2E_PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d "$FURL" -c "$1"; }

ftx_client() { "$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$FURL"; }
until_open() {
	local end=$(($(now_ms) + $1 * 1000))
	until [ "$(fsql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$FDB' AND state = 'idle in transaction'")" = 1 ]; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

fdb_down() {
	"$E2E_PSQL" -X -q -d "$(e2e_url postgres)" -c "ALTER DATABASE $FDB ALLOW_CONNECTIONS false" \
		-c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$FDB'" >/dev/null ||
		bail "could not take $FDB away"
}
fdb_up() {
	"$E2E_PSQL" -X -q -d "$(e2e_url postgres)" -c "ALTER DATABASE $FDB ALLOW_CONNECTIONS true" >/dev/null ||
		bail "could not bring $FDB back"
}

odbc_e2e_run
finish

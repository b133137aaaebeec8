#!/usr/bin/env bash
# odbc connection against SQLite through libsqliteodbc (a file in $E2E_TMP):
# see tests/lib/odbc_e2e.sh.  "Away" is an exclusive lock held by the sqlite3
# CLI, under which every statement of the connection fails.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/odbc_e2e.sh"

DRIVER=/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so
[ -f "$DRIVER" ] || bail "$DRIVER missing (Debian libsqliteodbc)"
command -v sqlite3 >/dev/null || bail "sqlite3 missing (Debian sqlite3)"
export ODBCSYSINI=$E2E_TMP ODBCINI=$E2E_TMP/odbc.ini
: >"$ODBCINI"

ENGINE=sqlite
DIALECT=sqlite
DB=$E2E_TMP/app.db
CONNSTR="Driver=$DRIVER;Database=$DB;Timeout=200"
# libsqliteodbc reads a text as a C string: one with a NUL reaches smspool cut
# at the NUL, with nothing to tell (README); the NUL check runs on MariaDB.
NUL_SKIP="libsqliteodbc cuts a text at its first NUL before smspool sees it"
fsql() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

LOCK_PID=""
# The lock holder waits for the daemon's transaction of the moment (without a
# busy timeout its BEGIN EXCLUSIVE failed at once when it met one, the rest
# ran in autocommit, nothing stayed locked and the connection never went
# down: the flaky check 17); then, bounded, until another connection can no
# longer write.
fdb_down() {
	exec 7> >(exec sqlite3 -cmd '.timeout 30000' "$DB")
	LOCK_PID=$!
	echo 'BEGIN EXCLUSIVE;' >&7
	echo 'INSERT INTO gate VALUES (NULL); DELETE FROM gate WHERE closed IS NULL;' >&7
	local end=$(($(now_ms) + 30000))
	while sqlite3 -cmd '.timeout 50' "$DB" 'BEGIN IMMEDIATE; ROLLBACK;' >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || bail "fdb_down: the exclusive lock was not taken within 30 s"
		sleep 0.1
	done
}
fdb_up() {
	echo 'COMMIT;' >&7
	exec 7>&-
	wait "$LOCK_PID" 2>/dev/null
}

odbc_e2e_run
finish

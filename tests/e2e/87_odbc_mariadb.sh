#!/usr/bin/env bash
# odbc connection against MariaDB through MariaDB Connector/ODBC: a private
# server (tests/lib/mariadb.sh: own datadir, socket, a free 127.0.0.1 port in
# $E2E_TMP) reached over TCP; see tests/lib/odbc_e2e.sh.  "Away" is the server
# shut down, then started again on the same port.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/odbc_e2e.sh"
. "$(dirname "$0")/../lib/mariadb.sh"

DRIVER=/usr/lib/x86_64-linux-gnu/odbc/libmaodbc.so
[ -f "$DRIVER" ] || bail "$DRIVER missing (Debian odbc-mariadb)"
command -v mariadb-install-db >/dev/null || bail "mariadb-install-db missing (Debian mariadb-server)"
export ODBCSYSINI=$E2E_TMP ODBCINI=$E2E_TMP/odbc.ini
: >"$ODBCINI"

_odbc_mariadb_cleanup() {
	mariadb_kill
	_e2e_cleanup
}
trap _odbc_mariadb_cleanup EXIT

mariadb_start "$E2E_TMP/mariadb" || bail "could not start a private MariaDB"
mariadb_sql "CREATE DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  CREATE USER 'smspool'@'127.0.0.1' IDENTIFIED BY 'odbc-pw';
  CREATE USER 'smspool'@'localhost' IDENTIFIED BY 'odbc-pw';
  GRANT ALL ON app.* TO 'smspool'@'127.0.0.1';
  GRANT ALL ON app.* TO 'smspool'@'localhost';" || bail "could not create the application database"

ENGINE=mariadb
DIALECT=mariadb
CONNSTR="Driver=$DRIVER;Server=127.0.0.1;Port=$MARIADB_PORT;Database=app;User=smspool;Password=odbc-pw;CHARSET=utf8mb4"
NUL_EXPR="CONCAT('nul', CHAR(0), 'inside')"
fsql() { mariadb_sql "$1" app | tr '\t' '|'; }
ftx_client() { mariadb --defaults-file="$MARIADB_DIR/my.cnf" -uroot --default-character-set=utf8mb4 -N -B app; }
until_open() {
	local end=$(($(now_ms) + $1 * 1000))
	until [ "$(fsql "SELECT count(*) FROM information_schema.innodb_trx WHERE trx_rows_modified > 0")" = 1 ]; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# multi-table UPDATEs run by the server since its start: the batched write-backs
fbatched() { fsql "SHOW GLOBAL STATUS LIKE 'Com_update_multi'" | cut -d'|' -f2; }
fdb_down() { mariadb_stop; }
fdb_up() { mariadb_start "$E2E_TMP/mariadb" || bail "could not restart MariaDB"; }

odbc_e2e_run
finish

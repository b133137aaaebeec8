# shellcheck shell=bash
# A private MariaDB server for tests and benchmarks: its own my.cnf, datadir,
# socket and a free 127.0.0.1 port, all under a directory of the caller's.
#
#   . tests/lib/mariadb.sh
#   mariadb_start DIR        install-db + mariadbd in the background; waits until it answers
#   mariadb_sql "SQL" [DB]   runs SQL as root over the socket (utf8mb4), tab-separated output
#   mariadb_stop             shutdown, waits for the process (by PID)
#   mariadb_kill             SIGKILL (a crash)
#
# Sets MARIADB_DIR, MARIADB_PORT, MARIADB_SOCK, MARIADB_PID.  mariadbd refuses
# to run as root without --user: as root it runs as `mysql`, which must reach
# DIR (its parents get o+x).  Bounded waits: 30 s to start, 30 s to stop.

MARIADB_BIN_D=${MARIADB_BIN_D:-/usr/sbin/mariadbd}
MARIADB_PID=""

_mariadb_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_mariadb_user() { [ "$(id -u)" = 0 ] && echo mysql || id -un; }

mariadb_start() {
	local dir=$1 i
	MARIADB_DIR=$dir
	[ -x "$MARIADB_BIN_D" ] || { echo "mariadb.sh: $MARIADB_BIN_D missing (Debian mariadb-server)" >&2; return 1; }
	mkdir -p "$dir/data" "$dir/run"
	if [ -z "${MARIADB_PORT:-}" ]; then MARIADB_PORT=$(_mariadb_free_port); fi
	MARIADB_SOCK=$dir/run/mysqld.sock
	cat >"$dir/my.cnf" <<CNF
[mariadbd]
datadir=$dir/data
socket=$MARIADB_SOCK
pid-file=$dir/run/mariadbd.pid
port=$MARIADB_PORT
bind-address=127.0.0.1
character-set-server=utf8mb4
collation-server=utf8mb4_bin
skip-log-bin
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=1
log-error=$dir/mariadbd.err
[client]
socket=$MARIADB_SOCK
default-character-set=utf8mb4
CNF
	if [ "$(id -u)" = 0 ]; then
		local p=$dir
		while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
		chown -R mysql:mysql "$dir"
	fi
	if [ ! -d "$dir/data/mysql" ]; then
		mariadb-install-db --defaults-file="$dir/my.cnf" --user="$(_mariadb_user)" --auth-root-authentication-method=normal \
			>"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
	fi
	"$MARIADB_BIN_D" --defaults-file="$dir/my.cnf" --user="$(_mariadb_user)" >>"$dir/mariadbd.out" 2>&1 &
	MARIADB_PID=$!
	for ((i = 0; i < 150; i++)); do
		mariadb-admin --defaults-file="$dir/my.cnf" -uroot ping >/dev/null 2>&1 && return 0
		kill -0 "$MARIADB_PID" 2>/dev/null || { tail -n 20 "$dir/mariadbd.err" >&2; return 1; }
		sleep 0.2
	done
	echo "mariadb.sh: mariadbd did not answer within 30 s" >&2
	return 1
}

mariadb_sql() { # mariadb_sql "SQL" [DB]
	mariadb --defaults-file="$MARIADB_DIR/my.cnf" -uroot --default-character-set=utf8mb4 -N -B ${2:+"$2"} -e "$1"
}

mariadb_stop() {
	local i
	[ -n "$MARIADB_PID" ] || return 0
	kill -TERM "$MARIADB_PID" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$MARIADB_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$MARIADB_PID" 2>/dev/null || true
	wait "$MARIADB_PID" 2>/dev/null || true
	MARIADB_PID=""
}

mariadb_kill() {
	[ -n "$MARIADB_PID" ] || return 0
	kill -KILL "$MARIADB_PID" 2>/dev/null || true
	wait "$MARIADB_PID" 2>/dev/null || true
	MARIADB_PID=""
}

#!/bin/sh
# The private PostgreSQL 15 cluster of this work tree, under var/pg/.
#
#   sh packaging/pgcluster.sh start               initdb on first use, start, wait until ready
#   sh packaging/pgcluster.sh stop                fast shutdown (nothing if not running)
#   sh packaging/pgcluster.sh status              prints running/stopped; exit 0 if running, 3 if not
#   sh packaging/pgcluster.sh url                 prints the libpq conninfo of the database smspool
#   sh packaging/pgcluster.sh restart [fast|immediate]
#   sh packaging/pgcluster.sh createdb NAME       creates database NAME (error if it exists)
#   sh packaging/pgcluster.sh dropdb NAME         drops NAME if it exists (disconnecting its users)
#
# Layout: var/pg/data (PGDATA), var/pg/run (Unix socket), var/pg/log (server log).
# Socket only (listen_addresses=''), port 5499, superuser smspool.  Peer
# authentication: only the OS user who starts the cluster (and root) may
# connect, as any database role; other local users are refused, though the
# socket directory is world-reachable.  pg_hba.conf and pg_ident.conf are
# written at every start, so an older cluster made with trust is closed too.
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the
# `postgres` OS user, which then owns var/pg.
#
# The conninfo printed by `url` is exactly what the daemon computes itself when
# no database is configured: host=<abs repo>/var/pg/run port=5499 user=smspool dbname=smspool
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
PGBIN=${SMSPOOL_PGBIN:-/usr/lib/postgresql/15/bin}
PGDIR=$ROOT/var/pg
DATA=$PGDIR/data
RUN=$PGDIR/run
LOG=$PGDIR/log
PORT=5499
SUPERUSER=smspool
DBNAME=smspool

die() {
	echo "pgcluster: $*" >&2
	exit 1
}

conninfo() { # conninfo DBNAME
	echo "host=$RUN port=$PORT user=$SUPERUSER dbname=$1"
}

check_path() {
	# sun_path holds 108 bytes including "/.s.PGSQL.5499" and the NUL.
	case $RUN in
	*[[:space:]\'\\]*)
		die "the work tree path '$ROOT' contains a blank, quote or backslash, which the conninfo host=$RUN cannot carry unquoted: move it (or set database = in conf/smspool.conf)"
		;;
	esac
	n=$(printf %s "$RUN" | wc -c)
	if [ "$n" -gt 90 ]; then
		die "the socket directory $RUN is $n bytes long; Unix sockets allow ~90. Move the work tree to a shorter path (or set database = in conf/smspool.conf)."
	fi
}

[ -x "$PGBIN/pg_ctl" ] || die "$PGBIN/pg_ctl not found: run 'sh packaging/install-deps.sh' (Debian postgresql-15)"

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a PostgreSQL server program as the user that owns the cluster.
as_owner() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# As root: var/pg belongs to postgres, and every directory above it must be
# traversable by postgres (o+x; nothing is made readable).
prepare_dirs() {
	mkdir -p "$PGDIR"
	chmod 755 "$ROOT/var" 2>/dev/null || true
	if is_root; then
		id postgres >/dev/null 2>&1 || die "no 'postgres' OS user: install postgresql-15 (sh packaging/install-deps.sh)"
		# From / downwards, so that only the directories that block are changed.
		d=""
		old_ifs=$IFS
		IFS=/
		set -f
		for part in ${PGDIR#/}; do
			d="$d/$part"
			if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
				echo "pgcluster: making $d traversable for the postgres user (chmod o+x)" >&2
				chmod o+x "$d"
			fi
		done
		set +f
		IFS=$old_ifs
		mkdir -p "$RUN"
		chown -R postgres:postgres "$PGDIR"
	else
		mkdir -p "$RUN"
	fi
	chmod 755 "$PGDIR" # the socket directory below must be reachable by clients
	chmod 755 "$RUN"
}

running() {
	[ -f "$DATA/PG_VERSION" ] || return 1
	as_owner "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

psql_q() { # psql_q DBNAME SQL
	"$PGBIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$(conninfo "$1")" -c "$2"
}

init_cluster() {
	if [ -d "$DATA" ] && [ ! -f "$DATA/PG_VERSION" ]; then
		echo "pgcluster: removing the incomplete data directory $DATA" >&2
		rm -rf "$DATA"
	fi
	[ -f "$DATA/PG_VERSION" ] && return 0
	locale=C
	if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then locale=C.UTF-8; fi
	echo "pgcluster: initdb $DATA (superuser $SUPERUSER, locale $locale)"
	if is_root; then
		mkdir -p "$DATA"
		chown postgres:postgres "$DATA"
	fi
	as_owner "$PGBIN/initdb" -D "$DATA" -U "$SUPERUSER" -A peer --encoding=UTF8 \
		--locale="$locale" --no-instructions >"$PGDIR/initdb.log" 2>&1 || {
		cat "$PGDIR/initdb.log" >&2
		die "initdb failed"
	}
	# Settings for a durable message queue on a 2-core machine.  The location
	# (socket directory) and port are given at each start, so that a moved
	# work tree still works.
	as_owner sh -c 'cat >> "$1"' sh "$DATA/postgresql.auto.conf" <<'EOF'
# smspool private cluster (packaging/pgcluster.sh)
listen_addresses = ''
port = 5499
max_connections = 200
shared_buffers = '256MB'
wal_buffers = '16MB'
checkpoint_timeout = '15min'
max_wal_size = '4GB'
# full-page images after each checkpoint are most of the WAL of a busy
# outbox; lz4 halves them for little CPU (sustained bench: last/first slice
# 0.87 -> 0.92)
wal_compression = 'lz4'
synchronous_commit = on
autovacuum_naptime = '10s'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
EOF
}

# Peer authentication mapped to the user who runs this script (and root):
# each may connect as the superuser smspool or as its own name.
write_auth() {
	me=$(id -un)
	echo '# smspool private cluster (packaging/pgcluster.sh): Unix socket only, and
# only the OS users of pg_ident.conf map "smspool" (peer authentication).
local all all peer map=smspool' | as_owner sh -c 'cat > "$1"' sh "$DATA/pg_hba.conf"
	{
		echo "# MAPNAME SYSTEM-USERNAME PG-USERNAME (written by packaging/pgcluster.sh start)"
		# root, and the owner of the server processes (postgres when root
		# starts it), whose own connections (dblink) come from that user
		owner=$me
		is_root && owner=postgres
		for u in $(printf "%s\n" "$me" root "$owner" | sort -u); do
			echo "smspool $u $SUPERUSER"
			echo "smspool $u $u"
		done
	} | as_owner sh -c 'cat > "$1"' sh "$DATA/pg_ident.conf"
}

cmd_start() {
	check_path
	if running; then
		echo "pgcluster: already running ($(conninfo $DBNAME))"
		return 0
	fi
	prepare_dirs
	init_cluster
	write_auth
	# A leftover socket lock file from a killed server would stop the start.
	if [ -f "$RUN/.s.PGSQL.$PORT.lock" ] && ! running; then
		rm -f "$RUN/.s.PGSQL.$PORT.lock" "$RUN/.s.PGSQL.$PORT"
	fi
	if ! as_owner "$PGBIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 \
		-o "-k '$RUN' -p $PORT -c listen_addresses=''" >/dev/null; then
		tail -n 30 "$LOG" >&2 || true
		die "PostgreSQL did not start (log: $LOG)"
	fi
	if [ -z "$(psql_q postgres "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" ]; then
		"$PGBIN/createdb" -h "$RUN" -p $PORT -U $SUPERUSER "$DBNAME"
		echo "pgcluster: created database $DBNAME"
	fi
	echo "pgcluster: running ($(conninfo $DBNAME))"
}

cmd_stop() {
	mode=${1:-fast}
	if ! running; then
		echo "pgcluster: not running"
		return 0
	fi
	as_owner "$PGBIN/pg_ctl" stop -D "$DATA" -m "$mode" -w -t 120 >/dev/null
	echo "pgcluster: stopped ($mode)"
}

cmd_status() {
	if running; then
		echo "running: $(conninfo $DBNAME) (data $DATA, log $LOG)"
		return 0
	fi
	if [ -f "$DATA/PG_VERSION" ]; then
		echo "stopped (data $DATA)"
	else
		echo "not initialised (no $DATA)"
	fi
	return 3
}

require_running() {
	running || die "the private cluster is not running: sh packaging/pgcluster.sh start"
}

valid_name() {
	case $1 in
	'' | *[!A-Za-z0-9_]*) die "database name '$1': use letters, digits and _ only" ;;
	esac
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start) cmd_start ;;
stop) cmd_stop fast ;;
status) cmd_status ;;
url)
	check_path
	conninfo $DBNAME
	;;
restart)
	mode=${1:-fast}
	case $mode in fast | immediate | smart) ;; *) die "restart mode: fast or immediate" ;; esac
	cmd_stop "$mode"
	cmd_start
	;;
createdb)
	[ $# = 1 ] || die "usage: createdb NAME"
	valid_name "$1"
	require_running
	"$PGBIN/createdb" -h "$RUN" -p $PORT -U $SUPERUSER "$1"
	;;
dropdb)
	[ $# = 1 ] || die "usage: dropdb NAME"
	valid_name "$1"
	require_running
	"$PGBIN/dropdb" -h "$RUN" -p $PORT -U $SUPERUSER --if-exists --force "$1"
	;;
*)
	echo "usage: $0 start|stop|status|url|restart [fast|immediate]|createdb NAME|dropdb NAME" >&2
	exit 2
	;;
esac

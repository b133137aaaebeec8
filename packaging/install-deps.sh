#!/bin/sh
# Installs the Debian packages that smspool needs to build, run and test.
#
#   sh packaging/install-deps.sh         build and run (what `make deps` and `make run` call)
#   sh packaging/install-deps.sh --test  also every independent peer the tests start
#                                        (what `make check` and .ci/run call); then the
#                                        npm peers of tests/peers (tests/peers/install.sh)
#   sh packaging/install-deps.sh --bench what --test installs and the tools of
#                                        `make bench` (gnuplot for its plot; what
#                                        `make bench-deps` calls)
#
# Tests and the benchmark never install anything themselves: a missing peer
# is a set-up failure.
#
# Checks with dpkg-query first: when everything is there it prints nothing and
# exits 0 at once.  Runs `apt-get update` only when something is missing.
# As a non-root user with something missing it prints the apt-get command to
# run and exits 1.  Installing PostgreSQL must not start Debian's stock cluster
# (we run a private one under var/pg): a temporary /usr/sbin/policy-rc.d that
# exits 101 keeps every service from starting during the install.
set -eu

PKGS="build-essential pkg-config clang libpq-dev libevent-dev libjansson-dev
libssl-dev libcurl4-openssl-dev libmicrohttpd-dev unixodbc-dev libserialport-dev
libcmocka-dev postgresql-15 postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl psmisc procps openssl
clang-format valgrind curl python3 libgmime-3.0-dev libsystemd-dev
libprotobuf-c-dev protobuf-c-compiler libcbor-dev"

# Independent peers the tests run privately on 127.0.0.1 or on ptys
# (../shared/PEERS.md): Kannel, Node.js for npm smpp, Exim and Dovecot, the
# ODBC engines, Gammu and smstools, Prometheus, Chromium, socat.  Node.js
# and npm come from tests/peers/install.sh (some images ship a nodejs that
# bundles npm and conflicts with Debian's).
TEST_PKGS="kannel kannel-extras exim4-daemon-light dovecot-pop3d
dovecot-imapd unixodbc odbc-postgresql libsqliteodbc sqlite3 mariadb-server
mariadb-client odbc-mariadb gammu smstools prometheus chromium socat
python3-serial systemd man-db"

# The benchmark's own tools (tests/bench/run.sh); it runs Kannel too (TEST_PKGS).
BENCH_PKGS="gnuplot-nox"

WITH_TESTS=0
case "${1:-}" in
--test) WITH_TESTS=1 ;;
--bench) WITH_TESTS=1 PKGS="$PKGS $BENCH_PKGS" ;;
esac
[ "$WITH_TESTS" = 1 ] && PKGS="$PKGS $TEST_PKGS"

peers() {
	[ "$WITH_TESTS" = 1 ] || return 0
	sh "$(dirname "$0")/../tests/peers/install.sh"
}

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=""
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done
# contrib: Debian 12 ships it inside postgresql-15 and names the metapackage
# postgresql-contrib; a real postgresql-contrib-15 package is used if one exists.
contrib_missing=0
if ! installed postgresql-contrib-15 && ! installed postgresql-contrib; then
	contrib_missing=1
fi

if [ -z "$missing" ] && [ "$contrib_missing" = 0 ]; then
	peers
	exit 0
fi

contrib_name() {
	# A virtual package has no record of its own: `apt-cache show` fails for it.
	if apt-cache show --no-all-versions postgresql-contrib-15 >/dev/null 2>&1; then
		echo postgresql-contrib-15
	else
		echo postgresql-contrib
	fi
}

if [ "$(id -u)" != 0 ]; then
	[ "$contrib_missing" = 1 ] && missing="$missing $(contrib_name)"
	echo "install-deps: missing Debian packages:$missing" >&2
	echo "install-deps: run as root:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing:$missing$([ "$contrib_missing" = 1 ] && echo ' (postgresql contrib)')"
apt-get update -q

[ "$contrib_missing" = 1 ] && missing="$missing $(contrib_name)"

# Keep services (the stock PostgreSQL cluster above all) from starting during
# the install.  An existing policy-rc.d is left as it is.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# temporary, from smspool packaging/install-deps.sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
cleanup() {
	if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2086  # word splitting of the package list is wanted
apt-get install -y -q --no-install-recommends $missing

echo "install-deps: done"
# Debian starts a service's stock instance only where policy-rc.d allows it; a
# machine that had none when we installed may still run them after a reboot.
# Tests never use those instances: they start private ones on ports of their own.
peers
# A stock 15/main cluster, if one runs, is left alone: we never use it, and
# the private cluster listens on a Unix socket of its own, port 5499.

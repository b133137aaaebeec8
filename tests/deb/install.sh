#!/usr/bin/env bash
# `make deb-check`: installs the Debian package built by `make deb` on this
# machine (dpkg -i, as root), checks what it installed (binary, unit, conf,
# man pages, system user), runs the installed binary against a database of
# the private cluster (`smspool --help`, `db migrate`, `check-config`, then
# `smspool run` sending a message through a loopback connection), and purges
# the package again.  Kept out of `make check` because it changes the
# machine (a package and a system user) and needs root; where systemd is
# PID 1 or not, the unit is verified with systemd-analyze; the installed
# binary runs directly (no service is started on this shared machine).  Output is TAP.
. "$(dirname "$0")/../lib/e2e.sh"
plan 17

[ "$(id -u)" = 0 ] || bail "deb-check installs a package: run it as root"
DEB=$(ls -t "$E2E_ROOT"/build/deb/smspool_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || bail "no package in build/deb (make deb)"
CLUSTER_STARTED=0
if ! sh "$PGCLUSTER" status >/dev/null 2>&1; then
	sh "$PGCLUSTER" start >/dev/null || bail "cannot start the private cluster"
	CLUSTER_STARTED=1
fi
exec 9>/tmp/smspool-deb.lock
flock 9
cleanup_pkg() {
	dpkg --purge smspool >/dev/null 2>&1
	[ "$CLUSTER_STARTED" = 1 ] && sh "$PGCLUSTER" stop >/dev/null 2>&1
	_e2e_cleanup
}
trap cleanup_pkg EXIT
dpkg --purge smspool >/dev/null 2>&1

out=$(dpkg -i "$DEB" 2>&1)
rc=$?
is "$rc" 0 "dpkg -i $(basename "$DEB")" || diag "$out"
is "$(dpkg-query -W -f '${Status}' smspool 2>/dev/null)" "install ok installed" "the package is installed"
out=$(/usr/bin/smspool --help 2>&1)
is "$?" 0 "the installed smspool --help exits 0"
like "$out" "check-config" "and lists check-config"
ok "$(man -w smspool 2>/dev/null | grep -c 'man8/smspool.8')" "man smspool finds smspool(8)"
ok "$(man -w smspool.conf 2>/dev/null | grep -c 'man5/smspool.conf.5')" "man smspool.conf finds smspool.conf(5)"
is "$(getent passwd smspool | cut -d: -f1)" smspool "the system user smspool exists"
is "$(stat -c '%U:%G %a' /etc/smspool/smspool.conf)" "root:smspool 640" "the conf is root:smspool 0640"
like "$(grep -E '^(Type|User|NoNewPrivileges|ProtectSystem|PrivateTmp)=' /lib/systemd/system/smspool.service | tr '\n' ' ')" \
	"Type=notify .*User=smspool .*NoNewPrivileges=yes ProtectSystem=strict .*PrivateTmp=yes" \
	"the unit: Type=notify, dedicated user, hardening"
# systemd-analyze verify works offline (systemd need not be PID 1).
out=$(systemd-analyze verify /lib/systemd/system/smspool.service 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "systemd-analyze verify accepts the unit"; else fail "systemd-analyze verify accepts the unit" "$out"; fi

# The installed binary against a database of the private cluster; the conf
# comes from /etc/smspool (the binary has no conf/ beside it).
e2e_db smspool_deb_check
export SMSPOOL_DB
unset SMSPOOL_CONF
out=$(cd / && /usr/bin/smspool check-config 2>&1)
is "$?" 0 "the installed check-config passes against the private cluster" || diag "$out"
out=$(cd / && SMSPOOL_DB="host=$E2E_TMP/none dbname=x" /usr/bin/smspool check-config 2>&1)
is "$?" 3 "and exits 3 when the database cannot be reached"
sql "INSERT INTO smspool.connections (name, type) VALUES ('lo', 'loopback')" || bail "INSERT failed"
log="$E2E_TMP/installed.log"
(cd / && SMSPOOL_INSTANCE=debcheck exec /usr/bin/smspool run) >"$log" 2>&1 &
PID=$!
DAEMON_PID[debcheck]=$PID
DAEMON_LOG[debcheck]=$log
DAEMON_EXPECT[debcheck]=1
id=$(cd / && /usr/bin/smspool send --to +15550001234 --text "from the package" --connection lo 2>&1)
like "$id" '^[0-9]+$' "smspool send queues a message"
if wait_for 30 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = ${id:-0}"; then
	pass "the installed daemon delivers it"
else
	fail "the installed daemon delivers it" "$(sql "SELECT status, error_text FROM smspool.outbox")"
fi
is "$(sql "SELECT count(*) FROM smspool.inbox WHERE body = 'from the package'")" 1 "and the loopback text is in the inbox"
stop_daemon debcheck
is "$DAEMON_STATUS" 0 "the installed daemon exits 0 on SIGTERM"

dpkg --purge smspool >/dev/null 2>&1
ok "$([ ! -e /usr/bin/smspool ] && [ ! -e /etc/smspool ] && echo 1 || echo 0)" "dpkg --purge removes the binary and /etc/smspool"
finish

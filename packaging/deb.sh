#!/bin/sh
# Builds the Debian package with plain dpkg-deb (no debhelper needed):
#   sh packaging/deb.sh [BINARY]      -> build/deb/smspool_VERSION_ARCH.deb
# Contents: /usr/bin/smspool, the systemd unit, /etc/smspool/smspool.conf (a
# conffile, readable by group smspool only), the man pages smspool(8) and
# smspool.conf(5), and /usr/share/smspool (Grafana dashboard, demo
# connections, HTTP provider presets).  Depends: computed by dpkg-shlibdeps
# from the binary's libraries.  The maintainer scripts create the system user
# `smspool` and reload systemd; they never enable or start the service
# (`systemctl enable --now smspool` once /etc/smspool/smspool.conf is set).
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-bin/smspool}
[ -x "$BIN" ] || { echo "deb.sh: $BIN does not exist (make)" >&2; exit 1; }
VERSION=${SMSPOOL_VERSION:-0.1.0}
ARCH=$(dpkg --print-architecture)
OUT=build/deb
STAGE=$OUT/smspool_${VERSION}_$ARCH
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN"

install -D -m 0755 "$BIN" "$STAGE/usr/bin/smspool"
strip --strip-unneeded "$STAGE/usr/bin/smspool"
install -D -m 0644 packaging/smspool.service "$STAGE/lib/systemd/system/smspool.service"
# The packaged conf points at the local PostgreSQL server instead of a
# source tree's private cluster.
install -d -m 0755 "$STAGE/etc/smspool"
sed 's|^database =.*|database = host=/var/run/postgresql dbname=smspool user=smspool|' conf/smspool.conf \
	>"$STAGE/etc/smspool/smspool.conf"
chmod 0640 "$STAGE/etc/smspool/smspool.conf"
for m in packaging/man/*.[0-9]; do
	sec=${m##*.}
	install -d "$STAGE/usr/share/man/man$sec"
	gzip -9n -c "$m" >"$STAGE/usr/share/man/man$sec/$(basename "$m").gz"
done
install -D -m 0644 packaging/grafana-dashboard.json "$STAGE/usr/share/smspool/grafana-dashboard.json"
install -D -m 0644 conf/demo.sql "$STAGE/usr/share/smspool/demo.sql"
if [ -d conf/http ]; then
	install -d "$STAGE/usr/share/smspool/http"
	install -m 0644 conf/http/* "$STAGE/usr/share/smspool/http/"
fi
install -d "$STAGE/usr/share/doc/smspool"
gzip -9n -c README.md >"$STAGE/usr/share/doc/smspool/README.md.gz"
cat >"$STAGE/usr/share/doc/smspool/copyright" <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: smspool
Files: *
Copyright: the smspool authors
License: see the source repository
TXT

# Depends from the libraries the binary links (dpkg-shlibdeps wants a
# debian/control beside it: a minimal one in a scratch directory).
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/debian"
printf 'Source: smspool\n\nPackage: smspool\nArchitecture: any\n' >"$SCRATCH/debian/control"
cp "$STAGE/usr/bin/smspool" "$SCRATCH/smspool"
DEPENDS=$(cd "$SCRATCH" && dpkg-shlibdeps -O -e smspool 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<TXT
Package: smspool
Version: $VERSION
Architecture: $ARCH
Maintainer: smspool maintainers <smspool@localhost>
Installed-Size: $SIZE
Depends: $DEPENDS, adduser
Recommends: postgresql (>= 12)
Section: net
Priority: optional
Homepage: https://localhost/smspool
Description: SMS gateway in which PostgreSQL is the single source of truth
 Applications send an SMS by inserting a row into smspool.outbox and read
 replies and delivery reports with SQL.  The daemon claims new rows, sends
 them through SMPP, HTTP and other connections configured as tables, and
 stores everything it receives before acknowledging it.  It serves
 Prometheus metrics, a health check and a status page (metrics_listen).
TXT
echo /etc/smspool/smspool.conf >"$STAGE/DEBIAN/conffiles"
cat >"$STAGE/DEBIAN/postinst" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	if ! getent passwd smspool >/dev/null; then
		adduser --system --group --home /nonexistent --no-create-home --quiet smspool
	fi
	chown root:smspool /etc/smspool/smspool.conf
	chmod 0640 /etc/smspool/smspool.conf
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null 2>&1 || true
	fi
fi
exit 0
TXT
cat >"$STAGE/DEBIAN/prerm" <<'TXT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl stop smspool.service >/dev/null 2>&1 || true
fi
exit 0
TXT
cat >"$STAGE/DEBIAN/postrm" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
	rm -rf /etc/smspool
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
TXT
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT/smspool_${VERSION}_$ARCH.deb" >/dev/null
echo "$OUT/smspool_${VERSION}_$ARCH.deb"

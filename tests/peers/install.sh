#!/bin/sh
# Installs the npm peers of the end-to-end tests into tests/peers/node_modules
# (exactly the versions of package-lock.json), only when they are missing or
# older than the lock file.  Installs Node.js and npm from Debian when node is
# absent.  Idempotent; prints nothing when there is nothing to do.
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "install.sh: installing nodejs and npm from Debian" >&2
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
stamp="$here/node_modules/.package-lock.json"
if [ -f "$stamp" ] && [ -d "$here/node_modules/smpp" ] && [ ! "$here/package-lock.json" -nt "$stamp" ]; then
	exit 0
fi
echo "install.sh: npm ci in $here" >&2
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >&2

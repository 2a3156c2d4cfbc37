#!/bin/sh
# deps.sh: install the Debian packages that building, running and testing streamd need,
# when they are missing. Called by `make deps` (and so by `make run` and `make check`).
# Quiet and quick when everything is there already.
set -u

# build: compiler, pkg-config and the -dev packages of the libraries streamd links.
BUILD="g++ make pkg-config libevent-dev libssl-dev libsqlite3-dev libcjson-dev zlib1g-dev libcmocka-dev"
# test: real clients and servers the integration tests start, and the checkers they run.
TEST="curl python3 python3-jwt python3-cryptography python3-websockets nginx ffmpeg \
prometheus mandoc procps systemd sqlite3 clang libclang-rt-14-dev chromium"
# bench: wrk drives both servers.
BENCH="wrk"

want="$BUILD $TEST $BENCH"
missing=""
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
	[ "$s" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "deps: not root and no sudo; install as root: apt-get install -y$missing" >&2
		exit 1
	fi
else
	SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet.
$SUDO apt-get update -qq >/dev/null 2>&1 || $SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null || \
	$SUDO apt-get install -y --no-install-recommends $missing
rc=$?
# Debian starts nginx from its postinst where an init system runs; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q nginx 2>/dev/null; then
	$SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
exit $rc

#!/bin/sh
# run.sh: run every integration test (tests/integ/test_*.py) against the real binary.
#   STREAMD_BIN=path SANITIZE=0|1 sh tests/integ/run.sh [test_name ...]
# Each file is a unittest module run by Debian's python3 (which has python3-jwt and
# python3-websockets); each has a time limit so a hang fails instead of blocking CI.
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
: "${STREAMD_BIN:=$here/../../streamd}"
export STREAMD_BIN
limit=${TEST_TIMEOUT:-900}
if [ $# -gt 0 ]; then
	files=""
	for t in "$@"; do files="$files $here/$t.py"; done
else
	files=$(ls "$here"/test_*.py)
fi
failed=""
for f in $files; do
	name=$(basename "$f" .py)
	echo "== integ $name"
	start=$(date +%s)
	if ! (cd "$here" && timeout -k 10 "$limit" "$py" -m unittest -v "$name" 2>&1); then
		failed="$failed $name"
	fi
	echo "== $name: $(( $(date +%s) - start )) s"
done
if [ -n "$failed" ]; then
	echo "FAILED:$failed"
	exit 1
fi
echo "all integration tests passed"

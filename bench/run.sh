#!/bin/sh
# run.sh: `make bench`. The corpus (about 900 MB) is made once in $TMPDIR/streamd-bench-corpus
# (or BENCH_CORPUS) and reused. Pass --quick for a smoke run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "bench: wrk missing (make deps)"; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "bench: nginx missing"; exit 1; }
PATH=$PATH:/usr/sbin exec /usr/bin/python3 "$here/bench.py" "$@"

#!/bin/sh
# run-dev.sh: what `make run` does: make sure a development key exists, print a signed
# curl command for a sample file, then run streamd in the foreground on etc/streamd.conf.
set -eu
bin=${1:-./streamd}
mkdir -p build/run
if [ ! -s build/run/secret.key ]; then
	umask 077
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > build/run/secret.key
fi
url=$("$bin" sign -c etc/streamd.conf -e 3600 "subfolder/Frühlings Lied.mp3")
port=${STREAM_SERVER_PORT:-8082}     # the variable overrides the listen port, as in streamd
echo "streamd: serving ./audio on http://127.0.0.1:$port (Ctrl-C stops)"
echo "try:  curl -o /tmp/sample.mp3 'http://127.0.0.1:$port$url'"
exec "$bin" -f -c etc/streamd.conf

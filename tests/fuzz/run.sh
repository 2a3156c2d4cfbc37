#!/bin/sh
# run.sh: build every libFuzzer target (tests/fuzz/fuzz_*.cpp) with clang and run each for
# SECONDS seconds on a copy of its seed corpus (tests/fuzz/corpus/<target>/).
#   sh tests/fuzz/run.sh [SECONDS]
set -u
secs=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build/fuzz
mkdir -p "$out"
targets=$(ls "$here"/fuzz_*.cpp 2>/dev/null)
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 0; }
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing (make deps)"; exit 1; }
flags="-std=c++17 -fno-exceptions -fno-rtti -g -O1 -D_GNU_SOURCE -I$top/include \
$(pkg-config --cflags libevent openssl sqlite3 libcjson zlib) \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
libs="$(pkg-config --libs libevent openssl sqlite3 libcjson zlib) -lm"
failed=""
for t in $targets; do
	name=$(basename "$t" .cpp)
	srcs=$(sed -n 's|^// sources: ||p' "$t")
	files=""
	for s in $srcs; do files="$files $top/src/$s"; done
	if ! clang++ $flags -o "$out/$name" "$t" $files $libs 2>"$out/$name.build.log"; then
		cat "$out/$name.build.log"
		failed="$failed $name(build)"
		continue
	fi
	corpus=$out/$name.corpus
	rm -rf "$corpus"
	mkdir -p "$corpus"
	[ -d "$here/corpus/$name" ] && cp "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
	echo "== fuzz $name for ${secs}s"
	if ! "$out/$name" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$out/$name-" "$corpus" > "$out/$name.log" 2>&1; then
		tail -40 "$out/$name.log"
		failed="$failed $name"
		continue
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$out/$name.log" |
	    sed "s/^/   $name /"
done
[ -z "$failed" ] || { echo "fuzz FAILED:$failed"; exit 1; }
echo "fuzz: all targets clean"

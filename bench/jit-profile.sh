#!/usr/bin/env bash
# A profile of the server's request path by JavaScript function: runs the
# server from source (the binary's code, its identifiers not minified, so
# the JIT names its functions) with JavaScriptCore's JIT dump on, warms it
# up as bench/compare.ts does, records its main thread with `perf record -g`
# (cpu-clock, 5 kHz) during one redis-benchmark run, and prints the CPU time
# per request under each function (bench/jit-profile.ts). BENCHMARKS.md,
# "Profile after run 29".
#
#   bash bench/jit-profile.sh [TEST] [KEYS] [ROWS] [--disassemble FUNCTION]
#
# TEST (get) and KEYS (-r, 100000) shape the measured -c 50 -P 1 run of 200k
# requests. Needs perf (linux-perf) and redis-benchmark; installs them when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
test=${1:-get}
keys=${2:-100000}
rows=${3:-30}
shift $(( $# < 3 ? $# : 3 ))
requests=200000
hz=5000
command -v redis-benchmark >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-tools >/dev/null; }
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=7011
# The runtime settings the binary restarts itself with (src/config/runtime.ts),
# set here so the process perf follows is the one that serves.
export BUN_JSC_useWarmUpMarkedBlocks=0 MIMALLOC_PURGE_HOLES=0 MIMALLOC_PURGE_DELAY=10000
BUN_JSC_useJITDump=1 bun src/main.ts --port $port --dir "$dir" --appendonly yes --appendfsync everysec --loglevel warning &
server=$!
until redis-cli -p $port ping >/dev/null 2>&1; do sleep 0.1; done
for run in 1 2; do redis-benchmark -p $port -c 50 -r 100000 -n 200000 -t set,get -q >/dev/null; done
perf record -e cpu-clock -F $hz -g -t "$server" -o "$dir/perf.data" 2>/dev/null &
recorder=$!
sleep 0.5
redis-benchmark -p $port -c 50 -r "$keys" -n $requests -t "$test" --csv | tail -1
kill -INT $recorder
wait $recorder || true
kill "$server"
wait "$server" || true
dump=$(ls -t /tmp/jit-*-"$server"-* 2>/dev/null | head -1)
[ -n "$dump" ] || { echo "no JIT dump from pid $server in /tmp" >&2; exit 1; }
bun bench/jit-profile.ts "$dir/perf.data" "$dump" "$server" $requests $hz "$rows" "$@"
rm -f "$dump" "/tmp/perf-$server.map"

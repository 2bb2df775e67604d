#!/usr/bin/env bash
# What AOF rewrites cost the event loop under goal 6's load: for each binary
# given (default ./atomic_server; give two to compare builds, they alternate),
# ROUNDS times: a fresh server (AOF everysec, automatic rewrites on, as in
# bench/compare.ts) filled with ~1M keys, then SECONDS of the mixed load of
# bench/compare.ts goal 6 (40 clients SET/GET/INCR/MSET and 10 sending DEL,
# random keys, 32-byte values; the load grows the AOF enough for automatic
# rewrites), traced by bench/rewrite-turns.bt (bpftrace, installed if
# missing; needs root). One line per run: rewrites and their ms, then turns,
# turns of 3+ and 5+ ms, and the main thread's page faults, inside rewrites
# and outside, then turns in which the main thread slept (waited off its
# CPU: the disk, a lock) 2+ and 5+ ms, and the ms it slept inside turns in
# all. BENCHMARKS.md, "Profile after run 20".
#
#   bun run build && bash bench/rewrite-turns.sh [ROUNDS] [SECONDS] [BINARY...]
#
# SERVER_ARGS adds options to every server, e.g.
# SERVER_ARGS="--auto-aof-rewrite-percentage 0" for the load without rewrites.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
seconds=${2:-25}
shift 2 || shift $#
binaries=("$@")
(( ${#binaries[@]} > 0 )) || binaries=(./atomic_server)
command -v redis-benchmark >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; }
[ -x ./atomic_server ] || bun run build
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=7009
source bench/bpftrace.sh
echo 'round binary rewrites rewrite_ms | in rewrites: turns 3ms+ 5ms+ faults | outside: turns 3ms+ 5ms+ faults | slept 2ms+ 5ms+ (in rewrites, outside) slept_ms'
for round in $(seq "$rounds"); do
  for binary in "${binaries[@]}"; do
    rm -rf "$dir/data" && mkdir "$dir/data"
    # shellcheck disable=SC2086 # SERVER_ARGS is a list of options
    "$binary" --port $port --dir "$dir/data" --appendonly yes --appendfsync everysec --loglevel warning ${SERVER_ARGS:-} &
    server=$!
    sleep 1
    redis-benchmark -p $port -t set -r 1000000 -n 4000000 -d 32 -P 64 -c 20 -q >/dev/null
    sleep 2
    start_trace bench/rewrite-turns.bt $server
    timeout "$seconds" redis-benchmark -p $port -t set,get,incr,mset -c 40 -r 1000000 -d 32 -n 50000 -l -q --csv >/dev/null &
    load=$!
    timeout "$seconds" redis-benchmark -p $port -c 10 -r 1000000 -n 50000 -l -q --csv DEL 'key:__rand_int__' >/dev/null || true
    wait $load || true
    stop_trace @other_turns: "$round $binary" && traced=1 || traced=0
    kill $server && wait $server || true
    (( traced )) || continue
    echo "$round $binary $(value @rewrites) $(value @rewrite_ms) | $(value @rewrite_turns) $(value @rewrite_3ms) $(value @rewrite_5ms) $(value @rewrite_faults) | $(value @other_turns) $(value @other_3ms) $(value @other_5ms) $(value @other_faults) | $(value @rewrite_slept_2ms) $(value @rewrite_slept_5ms) $(value @other_slept_2ms) $(value @other_slept_5ms) $(awk -v us="$(value @slept_us)" 'BEGIN {printf "%.1f", us / 1000}')"
  done
done

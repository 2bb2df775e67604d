#!/usr/bin/env bash
# What goal 6's GC row measures. bench/compare.ts reports the longest
# stop-the-world pause in JSC's GC log; this asks how long the server's main
# thread, the one that answers clients, was actually held. Goal 6's load
# (1M keys, then SET/GET/INCR/MSET from 40 clients and DEL from 10 for
# SECONDS) against ./atomic_server with the GC log on, traced by
# bench/gc-stalls.bt (bpftrace, installed if missing; needs root), ROUNDS
# times with a fresh server each; bench/gc-stalls.ts then reads each round's
# log against the main thread's turns. BENCHMARKS.md, "What the GC row
# measures".
#
#   bun run build && bash bench/gc-stalls.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
seconds=${2:-60}
port=7011
command -v redis-benchmark >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; }
[ -x ./atomic_server ] || bun run build
root=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$root"' EXIT
source bench/bpftrace.sh # start_trace writes to the round's $dir
monotonic_ns() { python3 -c 'import time; print(time.monotonic_ns())'; } # bpftrace's clock
for round in $(seq "$rounds"); do
  dir="$root/$round"
  mkdir "$dir"
  BUN_JSC_logGC=1 ./atomic_server --port $port --dir "$dir" --appendonly yes --appendfsync everysec 2>"$dir/stderr" >/dev/null &
  server=$!
  sleep 1
  redis-benchmark -p $port -t set -r 1000000 -n 4000000 -d 32 -P 64 -c 20 -q >/dev/null
  start_trace bench/gc-stalls.bt $server
  cp "/proc/$server/maps" "$dir/maps"
  echo $server >"$dir/pid"
  monotonic_ns >"$dir/load-start"
  timeout "$seconds" redis-benchmark -p $port -t set,get,incr,mset -c 40 -r 1000000 -d 32 -n 50000 -l -q >/dev/null &
  mixed=$!
  timeout "$seconds" redis-benchmark -p $port -c 10 -r 1000000 -n 50000 -l -q DEL 'key:__rand_int__' >/dev/null &
  del=$!
  wait $mixed $del || true
  monotonic_ns >"$dir/load-end"
  stop_trace 'W ' "round $round" || exit 1
  # The trace's writes are the log's last bytes up to here (the shutdown adds more).
  stat -c %s "$dir/stderr" >"$dir/stderr-size"
  kill $server
  wait $server || true
done
bun bench/gc-stalls.ts "$root"/*

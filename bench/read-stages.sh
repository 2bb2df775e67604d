#!/usr/bin/env bash
# Where each read's time goes: a copy of src/ with bench/read-stages/
# instrument.patch applied (Bun.nanoseconds() around the stages of a read,
# the end of a turn, the cron and the GET/SET keyspace work; nothing in src/
# changes) against bench/read-stages/bare-timed.ts, the bare server timed
# the same way, alternated under redis-benchmark -P 1. Prints the benchmark's
# CSV rows, then each server's stage histograms, one block per round.
# BENCHMARKS.md, "Profile after run 13, continued". The patch is written
# against src/ as it was then; when src/ moves on and it stops applying, the
# script says so and stops (re-make it with `diff -u` against a timed copy).
#
#   bash bench/read-stages.sh [ROUNDS] [get|set]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
test=${2:-get}
command -v redis-benchmark >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-tools >/dev/null; }
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
cp -r src package.json "$dir/"
cp bench/read-stages/stage-log.ts "$dir/src/stage-log.ts"
patch --quiet -d "$dir" -p1 < bench/read-stages/instrument.patch
bun build --compile --minify --bytecode --format=esm "$dir/src/main.ts" --outfile "$dir/atomic-timed" >/dev/null
bun build --compile bench/read-stages/bare-timed.ts --outfile "$dir/bare-timed" >/dev/null
mkdir "$dir/data"
# One histogram block per 200k reads: with -P 1 a read is a request, so each
# block below is one run (the 200k-request warm-up's first).
STAGE_WINDOW=200000 "$dir/atomic-timed" --port 7011 --dir "$dir/data" --appendonly yes --appendfsync everysec --loglevel warning 2>"$dir/atomic.log" &
STAGE_WINDOW=200000 "$dir/bare-timed" 7013 2>"$dir/bare.log" &
sleep 1
bench() { redis-benchmark -p "$1" -c 50 -r 100000 -n 200000 -t "$2" --csv 2>/dev/null | grep -v '"test"'; }
for port in 7011 7013; do bench "$port" set >/dev/null; done # warm-up; fills the keys a GET finds
for round in $(seq "$rounds"); do
  ports="7011 7013"
  if (( round % 2 == 0 )); then ports="7013 7011"; fi
  for port in $ports; do echo "$round $port $(bench "$port" "$test")"; done
done
sleep 0.5
echo; echo "AtomicKV (port 7011), from the warm-up on:"; cat "$dir/atomic.log"
echo; echo "bare Bun server (port 7013), from the warm-up on:"; cat "$dir/bare.log"

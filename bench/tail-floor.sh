#!/usr/bin/env bash
# The -P 1 tail against a floor: ./atomic_server, redis-server (both AOF
# everysec) and bench/bare-server.ts (Bun's socket layer alone) on ports
# 7001-7003, alternated, the order reversed every other round. Prints
# redis-benchmark's CSV row per run with, around it, the server's minor page
# faults and CPU ticks (/proc/<pid>/stat), how often its main thread slept
# (voluntary context switches) and the CPU ms redis-benchmark itself used.
# BENCHMARKS.md, "Profile after run 13" and "Profile after run 17".
#
#   bun run build && bash bench/tail-floor.sh [ROUNDS] [get|set]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-6}
test=${2:-get}
command -v redis-benchmark >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; }
[ -x ./atomic_server ] || bun run build
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
bun build --compile bench/bare-server.ts --outfile "$dir/bare-server" >/dev/null
mkdir "$dir/atomic" "$dir/redis"
./atomic_server --port 7001 --dir "$dir/atomic" --appendonly yes --appendfsync everysec --loglevel warning &
declare -A pid=([7001]=$!)
redis-server --port 7002 --dir "$dir/redis" --appendonly yes --appendfsync everysec --save '' --loglevel warning &
pid[7002]=$!
"$dir/bare-server" 7003 >/dev/null &
pid[7003]=$!
sleep 1
# faults and user+system ticks of a process: fields 10, 14 and 15 of its stat
stat() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $8, $12 + $13}'; }
sleeps() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$1/task/$1/status"; }
bench() { redis-benchmark -p "$1" -c 50 -r 100000 -n 200000 -t "$2" --csv 2>/dev/null | grep -v '"test"'; }
# bench, with the client's user and system CPU seconds (bash's `time`) left in $dir/client-times.
timed_bench() {
  local TIMEFORMAT='%3U %3S'
  { time bench "$@"; } 2>"$dir/client-times"
}
client_ms() { awk '{printf "%d", ($1 + $2) * 1000}' "$dir/client-times"; }
# Warm-up, not reported: two runs, as bench/compare.ts does (the second still recompiles; see WARMUP_RUNS there).
for port in 7001 7002 7003; do bench "$port" set,get >/dev/null; bench "$port" set,get >/dev/null; done
echo 'round port "test","rps","avg_ms","min_ms","p50_ms","p95_ms","p99_ms","max_ms" minflt ticks sleeps client_cpu_ms'
for round in $(seq "$rounds"); do
  ports="7001 7002 7003"
  if (( round % 2 == 0 )); then ports="7003 7002 7001"; fi
  for port in $ports; do
    read -r faults0 ticks0 < <(stat "${pid[$port]}")
    sleeps0=$(sleeps "${pid[$port]}")
    row=$(timed_bench "$port" "$test")
    read -r faults1 ticks1 < <(stat "${pid[$port]}")
    sleeps1=$(sleeps "${pid[$port]}")
    echo "$round $port $row $((faults1 - faults0)) $((ticks1 - ticks0)) $((sleeps1 - sleeps0)) $(client_ms)"
  done
done

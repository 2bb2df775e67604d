#!/usr/bin/env bash
# The -P 1 tail against a floor: ./atomic_server, redis-server (both AOF
# everysec) and bench/bare-server.ts (Bun's socket layer alone) on ports
# 7001-7003, alternated, the order reversed every other round. Prints
# redis-benchmark's CSV row per run with, around it, the server's minor page
# faults and CPU ticks (/proc/<pid>/stat), its main thread's user and system
# ticks apart (/proc/<pid>/task/<pid>/stat), how often that thread slept
# (voluntary context switches) and the CPU ms redis-benchmark itself used.
# BENCHMARKS.md, "Profile after run 13", "Profile after run 17" and "Profile
# after run 22".
#
#   bun run build && bash bench/tail-floor.sh [ROUNDS] [get|set]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-6}
test=${2:-get}
source bench/three-servers.sh
# faults and user+system ticks of a process: fields 10, 14 and 15 of its stat
stat() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $8, $12 + $13}'; }
# the main thread's user and system ticks apart
thread_ticks() { sed 's/.*) //' "/proc/$1/task/$1/stat" | awk '{print $12, $13}'; }
sleeps() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$1/task/$1/status"; }
# bench, with the client's user and system CPU seconds (bash's `time`) left in $dir/client-times.
timed_bench() {
  local TIMEFORMAT='%3U %3S'
  { time bench "$@"; } 2>"$dir/client-times"
}
client_ms() { awk '{printf "%d", ($1 + $2) * 1000}' "$dir/client-times"; }
echo 'round port "test","rps","avg_ms","min_ms","p50_ms","p95_ms","p99_ms","max_ms" minflt ticks main_user_ticks main_sys_ticks sleeps client_cpu_ms'
for round in $(seq "$rounds"); do
  for port in $(round_ports "$round"); do
    read -r faults0 ticks0 < <(stat "${pid[$port]}")
    read -r user0 sys0 < <(thread_ticks "${pid[$port]}")
    sleeps0=$(sleeps "${pid[$port]}")
    row=$(timed_bench "$port" "$test")
    read -r faults1 ticks1 < <(stat "${pid[$port]}")
    read -r user1 sys1 < <(thread_ticks "${pid[$port]}")
    sleeps1=$(sleeps "${pid[$port]}")
    echo "$round $port $row $((faults1 - faults0)) $((ticks1 - ticks0)) $((user1 - user0)) $((sys1 - sys0)) $((sleeps1 - sleeps0)) $(client_ms)"
  done
done

#!/usr/bin/env bash
# The -P 1 load's event-loop turns, per server: ./atomic_server, redis-server
# (both AOF everysec) and bench/bare-server.ts (Bun's socket layer alone) on
# ports 7001-7003, alternated as in bench/tail-floor.sh, each run traced by
# bench/turn-trace.bt (bpftrace through bench/bpftrace.sh: installed if missing; needs root). One line
# per run: redis-benchmark's rps and p99, then
#   turns       turns that handled at least one socket
#   convoy      turns that handled 25+ sockets, and their us per socket
#   single_us   the mean turn that handled one socket
#   long        turns of 500 us or more
#   stall       long turns of 1-3 sockets: count/ms, and how much of it the
#               main thread was off its CPU
#   preempted   ms the main thread was runnable in a turn while another
#               thread had its CPU, and the three that had it longest
# BENCHMARKS.md, "Profile after run 18".
#
#   bun run build && bash bench/turn-trace.sh [ROUNDS] [get|set]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
test=${2:-get}
source bench/three-servers.sh
source bench/bpftrace.sh
per() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}'; }
echo 'round port rps p99_ms turns convoy(us/socket) single_us long stall(ms,off_ms) preempted_ms [by]'
for round in $(seq "$rounds"); do
  for port in $(round_ports "$round"); do
    start_trace bench/turn-trace.bt "${pid[$port]}"
    row=$(bench "$port" "$test")
    stop_trace @turns: "$round $port" || continue
    rps=$(echo "$row" | cut -d, -f2 | tr -d '"')
    p99=$(echo "$row" | cut -d, -f7 | tr -d '"')
    by=$(sed -n 's/^@preempted_us\[\(.*\)\]: \(.*\)/\2 \1/p' "$dir/trace" | sort -rn | head -3 | awk '{printf "%s%s=%.1f", (NR > 1 ? " " : ""), $2, $1 / 1000}')
    echo "$round $port $rps $p99 $(value @turns) $(value @convoy)($(per "$(value @convoy_us)" "$(value @convoy_events)"))" \
      "$(per "$(value @single_us)" "$(value @single)") $(value @long)" \
      "$(value @stall)($(per "$(value @stall_us)" 1000),$(per "$(value @stall_off_us)" 1000))" \
      "$(per "$(value @preempted_total_us)" 1000) [$by]"
  done
done

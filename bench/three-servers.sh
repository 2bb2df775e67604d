# Sourced by bench/tail-floor.sh and bench/turn-trace.sh: starts
# ./atomic_server and redis-server (both AOF everysec) and
# bench/bare-server.ts (Bun's socket layer alone) on ports 7001-7003, their
# pids in `pid`, a temp dir in `dir` (removed on exit with the servers), and
# runs the warm-up. Defines `bench PORT TESTS` (one redis-benchmark -P 1 run,
# its CSV row) and `round_ports ROUND` (the order for a round: reversed every
# other round, so no server always goes first).
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
bench() { redis-benchmark -p "$1" -c 50 -r 100000 -n 200000 -t "$2" --csv 2>/dev/null | grep -v '"test"'; }
round_ports() { if (( $1 % 2 == 0 )); then echo "7003 7002 7001"; else echo "7001 7002 7003"; fi; }
# Warm-up, not reported: two runs, as bench/compare.ts does (the second still recompiles; see WARMUP_RUNS there).
for port in 7001 7002 7003; do bench "$port" set,get >/dev/null; bench "$port" set,get >/dev/null; done

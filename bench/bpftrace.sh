# Sourced by bench/turn-trace.sh, bench/rewrite-turns.sh and
# bench/gc-stalls.sh: runs one bpftrace script against one process at a time
# (bpftrace is installed if missing; it needs root), its output in
# $dir/trace. `dir` must be set by the time these run.
command -v bpftrace >/dev/null || { apt-get update -qq && apt-get install -y -qq bpftrace >/dev/null; }
# Tracepoints live in tracefs, which a fresh VM here has not mounted: without
# it bpftrace finds none ("tracepoint not found").
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
# start_trace SCRIPT PID: traces PID in the background; returns once attached.
start_trace() {
  bpftrace "$1" "$2" >"$dir/trace" 2>"$dir/trace-errors" &
  tracer=$!
  sleep 2 # attaching takes about a second
}
# stop_trace MARK LABEL: ends the trace (bpftrace prints its maps); false, with
# bpftrace's own message, when no line of the trace starts with MARK (a map's
# `@name:`, or an event's tag): it did not attach.
stop_trace() {
  kill -INT $tracer 2>/dev/null || true
  wait $tracer || true
  grep -q "^$1" "$dir/trace" && return 0
  echo "$2: no trace; bpftrace said: $(grep -v RLIMIT_MEMLOCK "$dir/trace-errors" | head -3)" >&2
  return 1
}
# A map's value in the trace (0 when bpftrace printed none).
value() { awk -v k="$1" '$1 == k":" {x = $2} END {print x + 0}' "$dir/trace"; }

/**
 * Measuring in steady state, shared by the in-process benchmarks
 * (micro.ts, value-representation.ts, calibrate-memory.ts).
 */
import { readFileSync } from "node:fs";
import { bench, do_not_optimize } from "mitata";

/** Minor page faults of this process so far (Linux), or NaN. */
export function minorFaults(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Runs `fn` until the process stops taking page faults (three quiet 50 ms
 * windows; at most 3 s). After a full GC the allocator hands freed pages back
 * to the OS and the next allocations fault them in again, which on this VM
 * costs microseconds per page: an allocating benchmark measured from a fresh
 * GC reports that first-touch cost (10× the steady-state time for a 32 B
 * string) rather than the operation's.
 */
export function warmUp(fn: () => unknown): void {
  const deadline = performance.now() + 3000;
  let quiet = 0;
  while (quiet < 3 && performance.now() < deadline) {
    const faults = minorFaults();
    const start = performance.now();
    do {
      for (let k = 0; k < 64; k++) do_not_optimize(fn());
    } while (performance.now() - start < 50);
    quiet = minorFaults() - faults <= 4 || Number.isNaN(faults) ? quiet + 1 : 0;
  }
}

/**
 * A mitata benchmark measured in steady state: warmed up until the heap and
 * allocator stop growing, and without mitata's forced GC before measuring
 * (which would undo the warm-up). GC still runs as the allocations trigger it,
 * and its cost is in the numbers, as it would be in the server.
 */
export function steady(name: string, fn: () => unknown) {
  return bench(name, function* () {
    warmUp(fn);
    yield fn;
  }).gc(false);
}

/** RSS once repeated full collections stop returning memory to the OS. */
export async function settledRss(): Promise<number> {
  let prev = Number.POSITIVE_INFINITY;
  let rss = 0;
  for (let i = 0; i < 40; i++) {
    Bun.gc(true);
    await Bun.sleep(250);
    rss = process.memoryUsage.rss();
    if (Math.abs(prev - rss) < 256 * 1024) break;
    prev = rss;
  }
  return rss;
}

/**
 * Settings of the runtime itself that Bun reads only from the environment,
 * before any of our code runs: the server restarts itself once (execve: same
 * pid, same arguments) with them set, unless the environment already names
 * them, so that an operator's own value always wins.
 *
 * BUN_JSC_useWarmUpMarkedBlocks=0: JSC's `JSCWarmUp` helper thread keeps 32
 * heap blocks' pages resident ahead of the allocator. It wakes ~50 times per
 * 200k requests and runs ~0.5 ms each time, preempting the event loop or a
 * client on the same machine. Off, the event loop touches those pages itself
 * (a few µs per new block). `-P 1` p99, two cores, alternated with the
 * default and redis-server: GET 0.84-0.94 against 1.07-1.22 ms, SET
 * 1.04-1.14 against 1.35-1.36 ms; resident memory per key unchanged
 * (BENCHMARKS.md, "The runtime's warm-up thread").
 *
 * MIMALLOC_PURGE_HOLES=0, MIMALLOC_PURGE_DELAY=10000: Bun's mimalloc (3.5.3)
 * hands freed pages back to the OS within ~100 ms, and also the free runs
 * inside pages still in use (its `purge_holes`). Each collection frees the
 * requests' garbage, so the next requests fault the same memory back in:
 * 4-6k minor faults per 200k `-P 1` requests on the event loop, a few µs
 * each, against Redis's ~90. With holes kept and whole pages kept for 10 s
 * (jemalloc's default decay in Redis), 0.4-2k. `-P 1` p99 against
 * redis-server, medians of per-round ratios, 12 alternated rounds: GET
 * 0.96x against 1.02x with the defaults, SET 1.09x against 1.27x. Cost: ~9
 * MB more resident at 1M keys (~9 B/key), ~8 MB more when empty
 * (BENCHMARKS.md, "The allocator's purges").
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_useWarmUpMarkedBlocks: "0",
  MIMALLOC_PURGE_HOLES: "0",
  MIMALLOC_PURGE_DELAY: "10000",
};

/**
 * Replaces the process with itself with RUNTIME_ENV set, when some of it is
 * missing; returns only when nothing was missing or the exec failed (then
 * the server runs with the runtime's defaults, and the reason is returned).
 */
export function restartWithRuntimeEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const missing = Object.keys(RUNTIME_ENV).filter((name) => env[name] === undefined);
  if (missing.length === 0) return null;
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  for (const name of missing) merged[name] = RUNTIME_ENV[name]!;
  // A compiled binary's argv[1] is its bundled entry ("/$bunfs/root/…"),
  // which the binary adds again itself; from source it is the script to run,
  // after bun's own flags (execArgv).
  const compiled = Bun.main.startsWith("/$bunfs/");
  const args = compiled ? process.argv.slice(2) : [...process.execArgv, ...process.argv.slice(1)];
  if (process.execve === undefined) return "this runtime has no process.execve";
  try {
    process.execve(process.execPath, [process.execPath, ...args], merged);
  } catch (err) {
    return (err as Error).message;
  }
  return "execve returned";
}

/**
 * How far a `-P 1` p99 moves when nothing changes: two ./atomic_server
 * processes of the same binary (A and B) and redis-server, in
 * bench/compare.ts's regime for goals 1 and 5 (the same command lines, its
 * warm-up runs, FLUSHALL and a finished BGREWRITEAOF on all three
 * before every run). Each round runs goal 1's load once per server, the
 * order cycling through all six, so that no server always follows the same
 * one. Prints each server's medians, then for A/B, A/redis and B/redis the
 * ratio of p99 medians per group of three rounds (what a three-round
 * compare.ts reports) and over all rounds, and in how many rounds the first
 * measured at most the second. A/B is the noise floor: any ratio inside its
 * spread is no difference. BENCHMARKS.md, "How noisy a p99 is".
 *
 *   bun run build && bun bench/p99-noise.ts [--rounds N] [--requests N] [--no-build]
 */
import { resolve } from "node:path";
import {
  type ManagedServer,
  cleanupAll,
  emptyAof,
  ensureRedisTools,
  ensureServerBinary,
  freePorts,
  installCleanupHandlers,
  makeTempDir,
  median,
  oursArgv,
  parseBenchArgs,
  parseBenchmarkOutput,
  positiveInt,
  redisArgv,
  removeTempDir,
  runCommand,
  setGetArgs,
  shellQuote,
  startServer,
  stopProcess,
  textTable,
  UNPIPELINED_LOAD,
  WARMUP_RUNS,
  waitForPing,
} from "./lib.ts";

const USAGE = `usage: bun bench/p99-noise.ts [--rounds N] [--requests N] [--no-build]

  --rounds N     rounds; each runs goal 1's load once on every server (default 12)
  --requests N   redis-benchmark -n per run (default 200000, as compare.ts)
  --no-build     use ./atomic_server as it is instead of running \`bun run build\` first
`;

const opts = parseBenchArgs(USAGE, {
  rounds: { type: "string" },
  requests: { type: "string" },
  "no-build": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
});
const rounds = opts.rounds !== undefined ? positiveInt("--rounds", opts.rounds) : 12;
const requests = opts.requests !== undefined ? positiveInt("--requests", opts.requests) : 200_000;

const ROOT = resolve(import.meta.dir, "..");
const TESTS = ["SET", "GET"] as const;
const NAMES = ["A", "B", "redis"] as const;
type Name = (typeof NAMES)[number];
/** Every order of the three servers, one per round in turn. */
const ORDERS: Name[][] = [
  ["A", "B", "redis"],
  ["redis", "B", "A"],
  ["B", "redis", "A"],
  ["A", "redis", "B"],
  ["redis", "A", "B"],
  ["B", "A", "redis"],
];
const PAIRS: [Name, Name][] = [
  ["A", "B"],
  ["A", "redis"],
  ["B", "redis"],
];
/** Rounds per group: compare.ts's default. */
const GROUP = 3;

interface Run {
  name: Name;
  round: number;
  rps: Record<string, number>;
  p99: Record<string, number>;
}

const log = (msg: string) => console.error(`[bench:p99-noise ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Goal 1's load, as compare.ts runs it. */
function loadArgs(port: number): string[] {
  return setGetArgs(port, { ...UNPIPELINED_LOAD, requests });
}

async function runLoad(server: ManagedServer): Promise<Omit<Run, "name" | "round">> {
  const res = await runCommand(loadArgs(server.port), { timeoutMs: 300_000 });
  const rows = parseBenchmarkOutput(res.stdout);
  if (res.code !== 0 || rows.size === 0 || !server.alive()) {
    throw new Error(`${server.name}: redis-benchmark failed (code ${res.code}, ${server.alive() ? "server up" : "server died"}): ${res.stderr.trim().slice(-500)}`);
  }
  const out = { rps: {} as Record<string, number>, p99: {} as Record<string, number> };
  for (const test of TESTS) {
    const row = rows.get(test);
    out.rps[test] = row?.rps ?? Number.NaN;
    out.p99[test] = row?.extra["p99_latency_ms"] ?? Number.NaN;
  }
  return out;
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

function report(runs: Run[]): string {
  const of = (name: Name, pick: (r: Run) => number) => runs.filter((r) => r.name === name).sort((a, b) => a.round - b.round).map(pick);
  const out: string[] = [""];
  const servers: string[][] = [["server", ...TESTS.map((t) => `${t} p99 ms (per round)`), ...TESTS.map((t) => `${t} p99 median`), ...TESTS.map((t) => `${t} rps median`)]];
  for (const name of NAMES) {
    servers.push([
      name,
      ...TESTS.map((t) => of(name, (r) => r.p99[t]!).map((x) => fmt(x)).join(" ")),
      ...TESTS.map((t) => fmt(median(of(name, (r) => r.p99[t]!)), 3)),
      ...TESTS.map((t) => fmt(median(of(name, (r) => r.rps[t]!)), 0)),
    ]);
  }
  out.push(textTable(servers), "");
  const ratios: string[][] = [["p99 ratio", `medians of ${GROUP} rounds`, "all rounds", "rounds first <= second"]];
  for (const test of TESTS) {
    for (const [x, y] of PAIRS) {
      const a = of(x, (r) => r.p99[test]!);
      const b = of(y, (r) => r.p99[test]!);
      const groups: string[] = [];
      for (let g = 0; g + GROUP <= a.length; g += GROUP) groups.push(fmt(median(a.slice(g, g + GROUP)) / median(b.slice(g, g + GROUP))));
      const atMost = a.filter((v, i) => v <= b[i]!).length;
      ratios.push([`${test} ${x}/${y}`, groups.join(" "), fmt(median(a) / median(b)), `${atMost} of ${a.length}`]);
    }
  }
  out.push(textTable(ratios), "");
  out.push(`A and B are the same binary: their spread is what a p99 ratio moves by when nothing changed.`);
  out.push(`servers: ${shellQuote(oursArgv("PORT", "TMP"))} (twice); ${shellQuote(redisArgv("PORT", "TMP"))}`);
  out.push(`load: ${shellQuote(loadArgs(0)).replace("-p 0", "-p PORT")}, FLUSHALL + BGREWRITEAOF on all three before each run`);
  return out.join("\n");
}

async function main(): Promise<void> {
  installCleanupHandlers();
  await ensureRedisTools(log);
  await ensureServerBinary(ROOT, opts["no-build"] !== true, log);
  const ports = freePorts(3);
  const dirs = NAMES.map((name) => makeTempDir(`p99-noise-${name}-`));
  const servers = new Map<Name, ManagedServer>();
  try {
    NAMES.forEach((name, i) => {
      const argv = name === "redis" ? redisArgv(ports[i]!, dirs[i]!) : oursArgv(ports[i]!, dirs[i]!);
      servers.set(name, startServer(name, argv, ports[i]!, ROOT));
    });
    await Promise.all([...servers.values()].map((s) => waitForPing(s, 60_000)));
    for (const [name, server] of servers) {
      for (let run = 1; run <= WARMUP_RUNS; run++) await runLoad(server);
      log(`warmed up ${name} (${WARMUP_RUNS} runs, not measured)`);
    }
    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const name of ORDERS[(round - 1) % ORDERS.length]!) {
        await Promise.all([...servers.values()].map(emptyAof));
        const run = { name, round, ...(await runLoad(servers.get(name)!)) };
        runs.push(run);
        log(`round ${round}/${rounds} ${name.padEnd(5)} ${TESTS.map((t) => `${t} ${fmt(run.rps[t]!, 0)} rps, p99 ${fmt(run.p99[t]!, 3)} ms`).join("; ")}`);
      }
    }
    console.log(report(runs));
  } finally {
    await Promise.all([...servers.values()].map((s) => stopProcess(s.proc, 30_000)));
    for (const dir of dirs) removeTempDir(dir);
    await cleanupAll();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

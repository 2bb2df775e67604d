/**
 * The whole comparison for the performance issue's goals, in one command:
 * AtomicKV vs redis-server in the same run, both with the AOF on
 * (`appendonly yes`, `appendfsync everysec`), each in its own temp dir.
 *
 *   bun bench/compare.ts [--quick] [--rounds N] [--p1-rounds N] [--no-build]
 *                        [--only GOALS] [--json FILE] [--requests N1,N16] [--mem-keys N]
 *                        [--mixed-seconds S] [--no-probe]
 *
 * Goals (ratio = AtomicKV / redis-server):
 *   1 set-get      redis-benchmark -t set,get -c 50 -r 100000, no pipelining: SET and GET rps ratio >= 1.0
 *   2 pipelined    the same at -P 16: >= 1.0
 *   3 random-keys  -r 1000000 at -P 16: >= 0.8
 *   4 memory       resident bytes per key after ~1M 16-byte keys with 32-byte values: ratio <= 1.2
 *   5 p99          p99 latency (redis-benchmark --csv) of goal 1's SET and GET: ours <= redis's
 *   6 gc           worst GC pause during a mixed load at -c 50 (60 s): <= 10 ms, read from the
 *                  server's own JSC GC log (BUN_JSC_logGC=1); redis-server has no GC, so the
 *                  worst wait of a 1 ms PING probe is shown for both next to it. Traced
 *                  (bench/gc-stalls.sh, with bpftrace), the log's long pauses were in some
 *                  hours longer than the main thread's stall and in others the stall itself
 *   7 seed         bench/seed-benchmark.py (the seed's single blocking Python client, 10,000
 *                  inline SETs): requests/s for both, the seed's 9,683 for reference
 *
 * Throughput runs (goals 1, 2, 3, 5) share one pair of servers, warmed up by
 * two unmeasured runs of goal 1's load on each, and start on an
 * empty AOF (FLUSHALL, then BGREWRITEAOF to completion, on both servers, so the
 * idle one is not rewriting either). Each round runs every configuration on
 * both servers, alternating which goes first from one round to the next;
 * medians over rounds. Goal 1's -P 1 runs, whose p99 is goal 5, get three
 * times as many rounds (--p1-rounds): a p99 moves ±15% between rounds of one
 * server, and a 3-round median of it cannot tell 10% apart (BENCHMARKS.md,
 * "How noisy a p99 is"). Memory (4) uses a fresh pair per round. GC (6)
 * pre-fills one pair, then runs the mixed load `--rounds` times per server.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type BenchEnvironment,
  type ManagedServer,
  admin,
  type StartServerOptions,
  assertAlive,
  benchEnvironment,
  busyProcesses,
  cleanupAll,
  describeBusy,
  emptyAof,
  ensureRedisTools,
  ensureServerBinary,
  fail,
  formatBytes,
  freePorts,
  info,
  installCleanupHandlers,
  makeTempDir,
  oursArgv,
  median,
  parseBenchArgs,
  parseBenchmarkOutput,
  positiveInt,
  ratio,
  readProcStatusBytes,
  readTreeRss,
  redisArgv,
  setGetArgs,
  removeTempDir,
  requestCounts,
  runCommand,
  runInherit,
  shellQuote,
  startServer,
  stopProcess,
  textTable,
  waitForPing,
  waitForRewriteEnd,
  HOST,
  OURS,
  REDIS,
  type ServerKey,
  SERVERS,
  UNPIPELINED_LOAD,
  WARMUP_RUNS,
} from "./lib.ts";
import { PingProbe, type PingStats, pingStats } from "./ping-probe.ts";

const ROOT = resolve(import.meta.dir, "..");

// ---------------------------------------------------------------------------
// Goals and options
// ---------------------------------------------------------------------------

const GOALS = [
  { id: 1, name: "set-get", what: "SET/GET rps, -c 50 -r 100000, no pipelining" },
  { id: 2, name: "pipelined", what: "SET/GET rps, -c 50 -r 100000 -P 16" },
  { id: 3, name: "random-keys", what: "SET/GET rps, -c 50 -r 1000000 -P 16" },
  { id: 4, name: "memory", what: "resident bytes per key, ~1M keys" },
  { id: 5, name: "p99", what: "p99 latency of goal 1's runs" },
  { id: 6, name: "gc", what: "worst GC pause under a mixed load" },
  { id: 7, name: "seed", what: "the seed's Python benchmark" },
] as const;
type GoalId = (typeof GOALS)[number]["id"];

const USAGE = `usage: bun bench/compare.ts [options]

Runs AtomicKV and redis-server side by side (AOF on, appendfsync everysec) and
prints each goal with both figures, the ratio (AtomicKV / redis-server), the
goal and whether it was met.

  --quick               smoke run: 1 round (unless --rounds), small request
                        counts, 100k keys, a 10 s mixed load
  --rounds N            rounds per server (default 3; --quick 1); medians
  --p1-rounds N         rounds of goal 1's -P 1 runs, whose p99 is goal 5
                        (default 3 x --rounds; --quick: --rounds)
  --no-build            use ./atomic_server as it is instead of running
                        \`bun run build\` first
  --only GOALS          run a subset: comma-separated names or numbers from
                        ${GOALS.map((g) => `${g.id} ${g.name}`).join(", ")}
                        (repeatable)
  --json FILE           also write every figure as JSON to FILE
  --requests N[,M]      redis-benchmark -n at -P 1 and at -P 16 (goals 1-3, 5);
                        default 200000,1000000 (--quick 20000,100000)
  --mem-keys N          key space of the memory fill and of the GC goal's
                        pre-fill and mixed load (default 1000000, --quick
                        100000); the fill sends 4*N SETs
  --mixed-seconds S     length of each mixed load (goal 6; default 60, --quick 10)
  --no-probe            goal 6 without the PING probe: the GC pauses with only
                        the load generator competing for the cores
  -h, --help            show this help
`;

const opts = parseBenchArgs(USAGE, {
  quick: { type: "boolean", default: false },
  rounds: { type: "string" },
  "p1-rounds": { type: "string" },
  "no-build": { type: "boolean", default: false },
  only: { type: "string", multiple: true },
  json: { type: "string" },
  requests: { type: "string" },
  "mem-keys": { type: "string" },
  "mixed-seconds": { type: "string" },
  "no-probe": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
});

const quick = opts.quick === true;
const rounds = opts.rounds !== undefined ? positiveInt("--rounds", opts.rounds) : quick ? 1 : 3;
const p1Rounds = opts["p1-rounds"] !== undefined ? positiveInt("--p1-rounds", opts["p1-rounds"]) : quick ? rounds : 3 * rounds;
const [requestsP1, requestsP16] = requestCounts(opts.requests, quick ? [20_000, 100_000] : [200_000, 1_000_000]);
const memKeys = opts["mem-keys"] !== undefined ? positiveInt("--mem-keys", opts["mem-keys"]) : quick ? 100_000 : 1_000_000;
const mixedSeconds = opts["mixed-seconds"] !== undefined ? positiveInt("--mixed-seconds", opts["mixed-seconds"]) : quick ? 10 : 60;
const jsonFile = opts.json;
const pingProbe = opts["no-probe"] !== true;

function parseOnly(values: string[] | undefined): Set<GoalId> {
  if (values === undefined || values.length === 0) return new Set(GOALS.map((g) => g.id));
  const out = new Set<GoalId>();
  for (const word of values.flatMap((v) => v.split(",")).map((w) => w.trim().toLowerCase()).filter((w) => w !== "")) {
    const goal = GOALS.find((g) => g.name === word || String(g.id) === word);
    if (!goal) fail(`--only: unknown goal ${JSON.stringify(word)}; goals: ${GOALS.map((g) => `${g.id} ${g.name}`).join(", ")}`);
    out.add(goal.id);
  }
  if (out.size === 0) fail("--only names no goal");
  return out;
}
const selected = parseOnly(opts.only as string[] | undefined);

const CLIENTS = UNPIPELINED_LOAD.clients;
const RUN_TIMEOUT_MS = 300_000;
/** Memory fill: redis-benchmark's -r keys are `key:` + 12 digits = 16 bytes. */
const MEM_VALUE_SIZE = 32;
const MEM_REQUESTS = memKeys * 4; // 1 - e^-4: ~98% of the key space gets a key
const MEM_PIPELINE = 64;
const MEM_CLIENTS = 20;
/** RSS is read after the fill and any AOF rewrite are over: wait, then the least of a few samples. */
const SETTLE_MS = quick ? 1000 : 2000;
const RSS_SAMPLES = 5;
const RSS_SAMPLE_GAP_MS = quick ? 200 : 500;
/** Mixed load: 40 clients cycling SET/GET/INCR/MSET, 10 more sending DEL, all on random keys. */
const MIXED_TESTS = "set,get,incr,mset";
const MIXED_MAIN_CLIENTS = 40;
const MIXED_DEL_CLIENTS = CLIENTS - MIXED_MAIN_CLIENTS;
const MIXED_PER_TEST = 50_000;
const GC_GOAL_MS = 10;
/**
 * Idle time before each mixed load: AtomicKV runs a full collection
 * (Bun.gc(true)) once a cron period passes without commands, by design while
 * idle; this lets that one finish before the measured window opens.
 */
const PRE_LOAD_IDLE_MS = 2000;
/**
 * GC lines are stamped when read from the server's log file, at most
 * GC_LOG_POLL_MS after the pause ends; the window closes this long after the
 * load stopped. Shorter than the cron period (100 ms at the default hz 10)
 * that must pass without commands before AtomicKV's idle-time collection, so
 * that collection stays outside.
 */
const WINDOW_GRACE_MS = 50;
/** How often the GC log file is read: a line is stamped at most this late, well inside the grace. */
const GC_LOG_POLL_MS = 20;
const PROBE_INTERVAL_MS = 1;
const SEED_REQUESTS = 10_000;
const SEED_RPS = 9_683;
const SEED_SCRIPT = "bench/seed-benchmark.py";
const GC_ENV = { BUN_JSC_logGC: "1" };

interface ThroughputConfig {
  key: "p1" | "p16" | "p16-r1m";
  pipeline: number;
  keyspace: number;
  requests: number;
  rounds: number;
}
const CONFIGS: readonly ThroughputConfig[] = [
  { key: "p1", pipeline: UNPIPELINED_LOAD.pipeline, keyspace: UNPIPELINED_LOAD.keyspace, requests: requestsP1, rounds: p1Rounds },
  { key: "p16", pipeline: 16, keyspace: UNPIPELINED_LOAD.keyspace, requests: requestsP16, rounds },
  { key: "p16-r1m", pipeline: 16, keyspace: 1_000_000, requests: requestsP16, rounds },
];
const TESTS = ["SET", "GET"] as const;
type Test = (typeof TESTS)[number];

function configsToRun(): ThroughputConfig[] {
  return CONFIGS.filter(
    (c) =>
      (c.key === "p1" && (selected.has(1) || selected.has(5))) ||
      (c.key === "p16" && selected.has(2)) ||
      (c.key === "p16-r1m" && selected.has(3)),
  );
}

// ---------------------------------------------------------------------------
// Command lines
// ---------------------------------------------------------------------------

function throughputArgs(port: number | string, c: ThroughputConfig): string[] {
  return setGetArgs(port, { clients: CLIENTS, keyspace: c.keyspace, requests: c.requests, pipeline: c.pipeline });
}

function fillArgs(port: number | string): string[] {
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port), "-t", "set", "-r", String(memKeys),
    "-n", String(MEM_REQUESTS), "-d", String(MEM_VALUE_SIZE), "-P", String(MEM_PIPELINE), "-c", String(MEM_CLIENTS), "-q", "--csv",
  ];
}

/** Looped (-l) until killed after --mixed-seconds. */
function mixedArgs(port: number | string): string[] {
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port), "-t", MIXED_TESTS, "-c", String(MIXED_MAIN_CLIENTS),
    "-r", String(memKeys), "-d", String(MEM_VALUE_SIZE), "-n", String(MIXED_PER_TEST), "-l", "-q", "--csv",
  ];
}

function mixedDelArgs(port: number | string): string[] {
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port), "-c", String(MIXED_DEL_CLIENTS),
    "-r", String(memKeys), "-n", String(MIXED_PER_TEST), "-l", "-q", "--csv", "DEL", "key:__rand_int__",
  ];
}

function seedArgs(port: number | string): string[] {
  return ["python3", SEED_SCRIPT, "--host", HOST, "--port", String(port), "--requests", String(SEED_REQUESTS)];
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

const log = (msg: string) => console.error(`[bench:compare ${new Date().toISOString().slice(11, 19)}] ${msg}`);

type Pair = Record<ServerKey, ManagedServer> & { dirs: string[] };

async function startPair(label: string, oursOptions: StartServerOptions = {}): Promise<Pair> {
  const [p1, p2] = freePorts(2);
  const dirs = [makeTempDir(`atomickv-compare-${label}-`), makeTempDir(`redis-compare-${label}-`)];
  const ours = startServer(OURS, oursArgv(p1!, dirs[0]!), p1!, ROOT, oursOptions);
  const redis = startServer(REDIS, redisArgv(p2!, dirs[1]!), p2!, ROOT);
  await Promise.all([waitForPing(ours, 60_000), waitForPing(redis, 30_000)]);
  log(`${label}: started ${OURS} (pid ${ours.proc.pid}, port ${ours.port}) and ${REDIS} (pid ${redis.proc.pid}, port ${redis.port})`);
  return { [OURS]: ours, [REDIS]: redis, dirs };
}

async function stopPair(pair: Pair): Promise<void> {
  await Promise.all(SERVERS.map((k) => stopProcess(pair[k].proc, 30_000)));
  for (const dir of pair.dirs) removeTempDir(dir);
}

/** Round 1 starts with AtomicKV, round 2 with redis-server, and so on. */
function orderFor(round: number): ServerKey[] {
  return round % 2 === 1 ? [OURS, REDIS] : [REDIS, OURS];
}

async function dbsize(server: ManagedServer): Promise<number> {
  return Number(await admin(server, ["DBSIZE"]));
}

async function runBenchmark(server: ManagedServer, argv: string[]): Promise<{ rows: ReturnType<typeof parseBenchmarkOutput>; seconds: number; error?: string }> {
  assertAlive(server);
  const res = await runCommand(argv, { timeoutMs: RUN_TIMEOUT_MS });
  const rows = parseBenchmarkOutput(res.stdout);
  let error: string | undefined;
  if (res.timedOut) error = `timed out after ${RUN_TIMEOUT_MS / 1000} s`;
  else if (res.code !== 0) error = `exited with code ${res.code ?? res.signal}`;
  else if (rows.size === 0) error = "no results in redis-benchmark output";
  if (error) {
    const detail = `${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-6).join("\n");
    error += detail ? `: ${detail}` : "";
  }
  if (!server.alive()) error = `${server.name} died during the run${error ? ` (${error})` : ""}`;
  return { rows, seconds: res.ms / 1000, error };
}

// ---------------------------------------------------------------------------
// Goals 1, 2, 3, 5: throughput and p99 latency
// ---------------------------------------------------------------------------

interface ThroughputRun {
  server: ServerKey;
  round: number;
  config: ThroughputConfig["key"];
  rps: Partial<Record<Test, number>>;
  p99Ms: Partial<Record<Test, number>>;
  seconds: number;
  error?: string;
}

const WARMUP_CONFIG = CONFIGS.find((c) => c.key === "p1")!;

async function throughputPhase(configs: readonly ThroughputConfig[]): Promise<ThroughputRun[]> {
  log(`throughput: ${configs.map((c) => `${c.rounds} round(s) of -P ${c.pipeline} -r ${c.keyspace}`).join(", ")}, x 2 servers`);
  const pair = await startPair("throughput");
  const runs: ThroughputRun[] = [];
  try {
    for (const key of SERVERS) {
      for (let run = 1; run <= WARMUP_RUNS; run++) {
        const { seconds, error } = await runBenchmark(pair[key], throughputArgs(pair[key].port, WARMUP_CONFIG));
        if (error) throw new Error(`${key}: warm-up run ${run} failed: ${error}`);
        log(`warm-up ${run}/${WARMUP_RUNS} ${key.padEnd(8)} ${WARMUP_CONFIG.requests.toLocaleString("en-US")} SET + GET -P 1 in ${seconds.toFixed(1)} s (not measured)`);
      }
    }
    const lastRound = Math.max(...configs.map((c) => c.rounds));
    for (let round = 1; round <= lastRound; round++) {
      for (const config of configs) {
        if (round > config.rounds) continue;
        for (const key of orderFor(round)) {
          const server = pair[key];
          await Promise.all(SERVERS.map((k) => emptyAof(pair[k])));
          const { rows, seconds, error } = await runBenchmark(server, throughputArgs(server.port, config));
          const run: ThroughputRun = { server: key, round, config: config.key, rps: {}, p99Ms: {}, seconds };
          for (const test of TESTS) {
            const row = rows.get(test);
            if (!row) continue;
            run.rps[test] = row.rps;
            if (row.extra["p99_latency_ms"] !== undefined) run.p99Ms[test] = row.extra["p99_latency_ms"];
          }
          if (error) run.error = error;
          runs.push(run);
          log(
            `round ${round}/${config.rounds} -P ${config.pipeline} -r ${config.keyspace} ${key.padEnd(8)} ` +
              TESTS.map((t) => `${t} ${fmtInt(run.rps[t] ?? Number.NaN)} rps (p99 ${fmtMs(run.p99Ms[t] ?? Number.NaN)} ms)`).join(", ") +
              ` in ${seconds.toFixed(1)} s${error ? `  ERROR: ${error}` : ""}`,
          );
          assertAlive(server);
        }
      }
    }
  } finally {
    await stopPair(pair);
  }
  return runs;
}

// ---------------------------------------------------------------------------
// Goal 4: resident memory per key
// ---------------------------------------------------------------------------

interface MemoryRun {
  server: ServerKey;
  round: number;
  rssEmpty: number;
  rssAfter: number;
  rssPeak: number;
  dbsize: number;
  bytesPerKey: number;
  /** A key and its value's length, read back after the fill (RANDOMKEY, STRLEN). */
  sampleKey: string;
  sampleValueBytes: number;
  fillRps: number;
  fillSeconds: number;
  error?: string;
}

/** The least VmRSS (whole process tree) of `samples` reads `gapMs` apart: a settled figure, not a transient peak. */
async function settledRss(pid: number, samples: number, gapMs: number): Promise<number> {
  const reads: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await Bun.sleep(gapMs);
    reads.push(readTreeRss(pid));
  }
  return Math.min(...reads.filter((r) => Number.isFinite(r)));
}

async function memoryPhase(): Promise<MemoryRun[]> {
  log(`memory: ${rounds} round(s), fresh servers each, ${MEM_REQUESTS} SETs over a ${memKeys} key space (-d ${MEM_VALUE_SIZE})`);
  const runs: MemoryRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    const pair = await startPair(`memory${round}`);
    try {
      await Bun.sleep(1000);
      const empty = new Map<ServerKey, number>();
      for (const key of SERVERS) empty.set(key, await settledRss(pair[key].proc.pid, 3, 200));
      for (const key of orderFor(round)) {
        const server = pair[key];
        const { rows, seconds, error } = await runBenchmark(server, fillArgs(server.port));
        assertAlive(server);
        const size = await dbsize(server);
        await waitForRewriteEnd(server);
        await Bun.sleep(SETTLE_MS);
        const rssAfter = await settledRss(server.proc.pid, RSS_SAMPLES, RSS_SAMPLE_GAP_MS);
        const sampleKey = String(await admin(server, ["RANDOMKEY"]));
        const sampleValueBytes = Number(await admin(server, ["STRLEN", sampleKey]));
        const rssEmpty = empty.get(key)!;
        const run: MemoryRun = {
          server: key,
          round,
          rssEmpty,
          rssAfter,
          rssPeak: readProcStatusBytes(server.proc.pid, "VmHWM"),
          dbsize: size,
          bytesPerKey: size > 0 ? (rssAfter - rssEmpty) / size : Number.NaN,
          sampleKey,
          sampleValueBytes,
          fillRps: rows.get("SET")?.rps ?? Number.NaN,
          fillSeconds: seconds,
        };
        if (error) run.error = error;
        runs.push(run);
        log(
          `memory round ${round}/${rounds} ${key.padEnd(8)} DBSIZE ${size}, RSS ${formatBytes(rssEmpty)} -> ${formatBytes(rssAfter)}` +
            ` (peak ${formatBytes(run.rssPeak)}): ${fmt1(run.bytesPerKey)} B/key; fill ${fmtInt(run.fillRps)} rps in ${seconds.toFixed(1)} s${error ? `  ERROR: ${error}` : ""}`,
        );
      }
    } finally {
      await stopPair(pair);
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------
// Goal 6: GC pauses (the server's JSC log) and PING stalls under a mixed load
// ---------------------------------------------------------------------------

type GcEventKind = "pause" | "epilogue" | "sweep";
interface GcEvent {
  /** performance.now() when the line reached us. */
  at: number;
  kind: GcEventKind;
  ms: number;
  line: string;
}
interface GcCollection {
  at: number;
  scope: string;
}

/**
 * Reads JSC's `logGC` output (BUN_JSC_logGC=1), which the server writes to a
 * file (see StartServerOptions.stderrFile), line by line:
 * - every `p=<ms>ms` is one stop-the-world pause: the world is stopped from
 *   the collection's begin (or a reloop) until the collector resumes it or
 *   the collection ends (JSC Heap::runFixpointPhase / runEndPhase);
 * - `[GC<...>: epilogue <ms>ms]` is the collection epilogue, run on the JS
 *   thread after the world resumed (eager sweeping, cache clearing);
 * - `Full sweep: <kb> => <kb>, <ms>ms` is a synchronous sweep of the whole heap.
 * All three keep the JS thread from serving clients.
 */
class GcLog {
  readonly events: GcEvent[] = [];
  readonly collections: GcCollection[] = [];
  private partial = "";

  /**
   * Reads what is appended to `path` every GC_LOG_POLL_MS, each line stamped
   * when read (so up to that late); returns a function that reads the rest
   * and stops.
   */
  follow(path: string): () => void {
    const fd = openSync(path, "r");
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let offset = 0;
    const read = () => {
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, offset)) > 0; offset += n) this.feed(chunk.latin1Slice(0, n));
    };
    const timer = setInterval(read, GC_LOG_POLL_MS);
    return () => {
      clearInterval(timer);
      read();
      closeSync(fd);
    };
  }

  feed(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    const now = performance.now();
    for (const line of lines) this.parseLine(line, now);
  }

  private parseLine(line: string, at: number): void {
    if (!line.includes("[GC<") && !line.includes("Full sweep:")) return;
    const start = /START \S+ \d+kb => (\w+)/.exec(line);
    if (start) this.collections.push({ at, scope: start[1]! });
    for (const m of line.matchAll(/\bp=([\d.]+)ms/g)) this.events.push({ at, kind: "pause", ms: Number(m[1]), line });
    const epilogue = /: epilogue ([\d.]+)ms/.exec(line);
    if (epilogue) this.events.push({ at, kind: "epilogue", ms: Number(epilogue[1]), line });
    const sweep = /Full sweep: \d+kb => \d+kb, ([\d.]+)ms/.exec(line);
    if (sweep) this.events.push({ at, kind: "sweep", ms: Number(sweep[1]), line });
  }

  window(from: number, to: number): { events: GcEvent[]; collections: GcCollection[] } {
    return {
      events: this.events.filter((e) => e.at >= from && e.at <= to),
      collections: this.collections.filter((c) => c.at >= from && c.at <= to),
    };
  }
}

/** A round's PING waits, and how many replies were not PONG. */
type ProbeStats = PingStats & { errors: number };

/** What the report shows for the PING probe when --no-probe left it out. */
const NO_PROBE_STATS: ProbeStats = { ...pingStats([], GC_GOAL_MS), errors: 0 };

interface GcRun {
  server: ServerKey;
  round: number;
  seconds: number;
  opsPerSec: number;
  ping: ProbeStats;
  /** AtomicKV only: from its JSC GC log, within the load's window. */
  gc: {
    collections: number;
    eden: number;
    full: number;
    pauses: number;
    worstPauseMs: number;
    worstEpilogueMs: number;
    worstSweepMs: number;
    worstMs: number;
    totalMs: number;
    overGoal: number;
    worstLine: string;
    /** When the worst one's log line arrived, seconds after the load started. */
    worstAtS: number;
  } | null;
  error?: string;
}

async function gcPhase(): Promise<{ runs: GcRun[]; collectionsLogged: number; sampleLine: string | null }> {
  const gcLog = new GcLog();
  log(`gc: pre-fill ${memKeys} key space, then ${rounds} x ${mixedSeconds} s mixed load per server (${OURS} with ${Object.entries(GC_ENV).map(([k, v]) => `${k}=${v}`).join(" ")})`);
  const logDir = makeTempDir("atomickv-compare-gclog-");
  const logFile = join(logDir, "stderr.log");
  const pair = await startPair("gc", { env: GC_ENV, stderrFile: logFile });
  const stopFollowing = gcLog.follow(logFile);
  const runs: GcRun[] = [];
  try {
    for (const key of SERVERS) {
      const { error } = await runBenchmark(pair[key], fillArgs(pair[key].port));
      if (error) throw new Error(`${key}: pre-fill failed: ${error}`);
      log(`gc: ${key} pre-filled, DBSIZE ${await dbsize(pair[key])}`);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const key of orderFor(round)) {
        const server = pair[key];
        await Promise.all(SERVERS.map((k) => waitForRewriteEnd(pair[k])));
        await Bun.sleep(PRE_LOAD_IDLE_MS);
        const before = Number((await info(server, "stats")).get("total_commands_processed"));
        const probe = pingProbe ? await PingProbe.start(server.port, PROBE_INTERVAL_MS) : null;
        const from = performance.now();
        const [main, del] = await Promise.all([
          runCommand(mixedArgs(server.port), { timeoutMs: mixedSeconds * 1000 }),
          runCommand(mixedDelArgs(server.port), { timeoutMs: mixedSeconds * 1000 }),
        ]);
        const to = performance.now();
        await probe?.stop();
        const ping = probe === null ? NO_PROBE_STATS : { ...pingStats(probe.waits(), GC_GOAL_MS), errors: probe.errors };
        await Bun.sleep(WINDOW_GRACE_MS);
        const after = Number((await info(server, "stats")).get("total_commands_processed"));
        const seconds = (to - from) / 1000;
        const errors: string[] = [];
        for (const [name, res] of [["mixed", main], ["DEL", del]] as const) {
          if (!res.timedOut) errors.push(`${name} redis-benchmark ended early (code ${res.code ?? res.signal}): ${`${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-3).join(" | ")}`);
        }
        if (!server.alive()) errors.push(`${key} died during the mixed load`);
        if (ping.errors > 0) errors.push(`${ping.errors} PINGs did not get PONG`);
        const run: GcRun = { server: key, round, seconds, opsPerSec: (after - before) / seconds, ping, gc: null };
        if (key === OURS) {
          const { events, collections } = gcLog.window(from, to + WINDOW_GRACE_MS);
          const worstOf = (kind: GcEventKind) => {
            const ms = events.filter((e) => e.kind === kind).map((e) => e.ms);
            return ms.length > 0 ? Math.max(...ms) : Number.NaN; // NaN: none logged ("n/a")
          };
          const worst = events.reduce<GcEvent | null>((w, e) => (w === null || e.ms > w.ms ? e : w), null);
          run.gc = {
            collections: collections.length,
            eden: collections.filter((c) => c.scope === "EdenCollection").length,
            full: collections.filter((c) => c.scope === "FullCollection").length,
            pauses: events.filter((e) => e.kind === "pause").length,
            worstPauseMs: worstOf("pause"),
            worstEpilogueMs: worstOf("epilogue"),
            worstSweepMs: worstOf("sweep"),
            worstMs: worst?.ms ?? 0,
            totalMs: events.reduce((s, e) => s + e.ms, 0),
            overGoal: events.filter((e) => e.ms > GC_GOAL_MS).length,
            worstLine: worst?.line.trim() ?? "",
            worstAtS: worst ? (worst.at - from) / 1000 : Number.NaN,
          };
          if (gcLog.collections.length === 0) errors.push(`no JSC GC log lines from ${OURS}: is ${Object.keys(GC_ENV).join(", ")} honoured by this binary?`);
        }
        if (errors.length > 0) run.error = errors.join("; ");
        runs.push(run);
        log(
          `gc round ${round}/${rounds} ${key.padEnd(8)} ${fmtInt(run.opsPerSec)} ops/s; PING probe: ${ping.count} PINGs, p99 ${fmtMs(ping.p99Ms)} ms, worst ${fmtMs(ping.maxMs)} ms` +
            (run.gc ? `; GC: ${run.gc.collections} collections (${run.gc.full} full), worst pause ${fmtMs(run.gc.worstMs)} ms, total ${fmtMs(run.gc.totalMs)} ms` : "") +
            (run.error ? `  ERROR: ${run.error}` : ""),
        );
      }
    }
  } finally {
    stopFollowing();
    await stopPair(pair);
    removeTempDir(logDir);
  }
  const sample = gcLog.events.find((e) => e.kind === "pause" && e.line.includes("END]"))?.line.trim() ?? gcLog.events[0]?.line.trim() ?? null;
  return { runs, collectionsLogged: gcLog.collections.length, sampleLine: sample };
}

// ---------------------------------------------------------------------------
// Goal 7: the seed's benchmark
// ---------------------------------------------------------------------------

interface SeedRun {
  server: ServerKey;
  round: number;
  rps: number;
  error?: string;
}

async function seedPhase(): Promise<SeedRun[]> {
  log(`seed: ${rounds} round(s) of ${shellQuote(seedArgs("PORT"))} per server`);
  if (!Bun.which("python3")) return SERVERS.map((server) => ({ server, round: 1, rps: Number.NaN, error: "python3 not found" }));
  const pair = await startPair("seed");
  const runs: SeedRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const key of orderFor(round)) {
        const server = pair[key];
        await Promise.all(SERVERS.map((k) => emptyAof(pair[k])));
        const res = await runCommand(seedArgs(server.port), { cwd: ROOT, timeoutMs: 120_000 });
        const m = /requests\/s: ([\d.]+)/.exec(res.stdout);
        const run: SeedRun = { server: key, round, rps: m ? Number(m[1]) : Number.NaN };
        if (res.code !== 0 || !m) run.error = `${SEED_SCRIPT} failed (code ${res.code ?? res.signal}): ${`${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-3).join(" | ")}`;
        runs.push(run);
        log(`seed round ${round}/${rounds} ${key.padEnd(8)} ${fmtInt(run.rps)} requests/s${run.error ? `  ERROR: ${run.error}` : ""}`);
      }
    }
  } finally {
    await stopPair(pair);
  }
  return runs;
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const fmt1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const fmtMs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "n/a");

interface GoalRow {
  goal: GoalId;
  what: string;
  ours: string;
  redis: string;
  ratio: string;
  target: string;
  met: boolean | null;
  /** Context, not a goal: "-" in the met? column. */
  info?: boolean;
  /** Indented under the row before it, without the goal number. */
  sub?: boolean;
}

interface Results {
  throughput: ThroughputRun[] | null;
  memory: MemoryRun[] | null;
  gc: Awaited<ReturnType<typeof gcPhase>> | null;
  seed: SeedRun[] | null;
}

function medianOf<T extends { server: ServerKey }>(rows: readonly T[], server: ServerKey, pick: (r: T) => number | undefined): number {
  return median(rows.filter((r) => r.server === server && !(r as { error?: string }).error).map((r) => pick(r) ?? Number.NaN));
}

function goalRows(r: Results): GoalRow[] {
  const rows: GoalRow[] = [];
  const atLeast = (x: number, goal: number) => (Number.isFinite(x) ? x >= goal : null);
  const atMost = (x: number, goal: number) => (Number.isFinite(x) ? x <= goal : null);
  if (r.throughput) {
    const t = r.throughput;
    const rpsGoals: [GoalId, ThroughputConfig["key"], number, string][] = [
      [1, "p1", 1.0, "-P 1"],
      [2, "p16", 1.0, "-P 16"],
      [3, "p16-r1m", 0.8, "-P 16 -r 1000000"],
    ];
    for (const [goal, config, target, label] of rpsGoals) {
      if (!selected.has(goal)) continue;
      for (const test of TESTS) {
        const pick = (run: ThroughputRun) => (run.config === config ? run.rps[test] : undefined);
        const ours = medianOf(t, OURS, pick);
        const redis = medianOf(t, REDIS, pick);
        const q = ratio(ours, redis);
        rows.push({ goal, what: `${test} rps ${label}`, ours: fmtInt(ours), redis: fmtInt(redis), ratio: fmtRatio(q), target: `>= ${target.toFixed(1)}x`, met: atLeast(q, target) });
      }
    }
    if (selected.has(5)) {
      for (const test of TESTS) {
        const pick = (run: ThroughputRun) => (run.config === "p1" ? run.p99Ms[test] : undefined);
        const ours = medianOf(t, OURS, pick);
        const redis = medianOf(t, REDIS, pick);
        const q = ratio(ours, redis);
        rows.push({ goal: 5, what: `${test} p99 ms -P 1`, ours: fmtMs(ours), redis: fmtMs(redis), ratio: fmtRatio(q), target: "<= redis", met: atMost(q, 1.0) });
        const wins = roundsAtMost(t, pick);
        rows.push({ goal: 5, what: "rounds with ours <= redis's", ours: `${wins.won} of ${wins.rounds}`, redis: "", ratio: "", target: "", met: null, info: true, sub: true });
      }
    }
  }
  if (r.memory) {
    const ours = medianOf(r.memory, OURS, (m) => m.bytesPerKey);
    const redis = medianOf(r.memory, REDIS, (m) => m.bytesPerKey);
    const q = ratio(ours, redis);
    rows.push({ goal: 4, what: "RSS bytes/key", ours: fmt1(ours), redis: fmt1(redis), ratio: fmtRatio(q), target: "<= 1.2x", met: atMost(q, 1.2) });
    rows.push({
      goal: 4,
      what: "DBSIZE after the fill",
      ours: fmtInt(medianOf(r.memory, OURS, (m) => m.dbsize)),
      redis: fmtInt(medianOf(r.memory, REDIS, (m) => m.dbsize)),
      ratio: "",
      target: "",
      met: null,
      info: true,
      sub: true,
    });
  }
  if (r.gc) {
    const runs = r.gc.runs;
    const oursRuns = runs.filter((x) => x.server === OURS && x.gc !== null);
    const worstGc = oursRuns.length > 0 && oursRuns.every((x) => !x.error) ? Math.max(...oursRuns.map((x) => x.gc!.worstMs)) : Number.NaN;
    rows.push({ goal: 6, what: "worst GC pause ms (JSC log)", ours: fmtMs(worstGc), redis: "no GC", ratio: "", target: `<= ${GC_GOAL_MS} ms`, met: atMost(worstGc, GC_GOAL_MS) });
    const worstPing = (k: ServerKey) => {
      const xs = runs.filter((x) => x.server === k && !x.error).map((x) => x.ping.maxMs);
      return xs.length > 0 ? Math.max(...xs) : Number.NaN;
    };
    rows.push({
      goal: 6,
      what: "worst PING stall ms",
      ours: fmtMs(worstPing(OURS)),
      redis: fmtMs(worstPing(REDIS)),
      ratio: fmtRatio(ratio(worstPing(OURS), worstPing(REDIS))),
      target: "",
      met: null,
      info: true,
      sub: true,
    });
  }
  if (r.seed) {
    const ours = medianOf(r.seed, OURS, (s) => s.rps);
    const redis = medianOf(r.seed, REDIS, (s) => s.rps);
    rows.push({
      goal: 7,
      what: "seed Python client req/s",
      ours: fmtInt(ours),
      redis: fmtInt(redis),
      ratio: fmtRatio(ratio(ours, redis)),
      target: `(seed: ${fmtInt(SEED_RPS)})`,
      met: null,
      info: true,
    });
  }
  return rows.sort((a, b) => a.goal - b.goal); // stable: a sub-row stays under its row
}

/** Rounds in which both servers ran cleanly, and in how many of them ours measured at most redis-server's. */
function roundsAtMost(runs: readonly ThroughputRun[], pick: (r: ThroughputRun) => number | undefined): { won: number; rounds: number } {
  const figure = (key: ServerKey, round: number) => {
    const run = runs.find((x) => x.server === key && x.round === round && !x.error && pick(x) !== undefined);
    return run ? pick(run)! : Number.NaN;
  };
  let won = 0;
  let rounds = 0;
  for (const round of new Set(runs.map((x) => x.round))) {
    const ours = figure(OURS, round);
    const redis = figure(REDIS, round);
    if (!Number.isFinite(ours) || !Number.isFinite(redis)) continue;
    rounds++;
    if (ours <= redis) won++;
  }
  return { won, rounds };
}

function perRound<T extends { server: ServerKey; round: number }>(runs: readonly T[], show: (r: T) => string): string {
  return SERVERS.map((k) => `${k}: ${runs.filter((r) => r.server === k).sort((a, b) => a.round - b.round).map(show).join(" / ") || "n/a"}`).join("   ");
}

function report(env: BenchEnvironment, binaryVersion: string, loadavg: [string, string], busy: [string, string], r: Results, rows: GoalRow[], elapsedS: number): string {
  const out: string[] = [];
  const metCount = rows.filter((x) => x.met === true).length;
  const goalCount = rows.filter((x) => !x.info).length; // goal 7 has no target: reported, not counted
  out.push("");
  out.push(
    `AtomicKV vs redis-server, both with appendonly yes + appendfsync everysec (${quick ? "--quick, " : ""}${rounds} round(s)${p1Rounds !== rounds && configsToRun().some((c) => c.key === "p1") ? `, ${p1Rounds} of -P 1` : ""}, medians; ratio = AtomicKV / redis-server)`,
  );
  out.push("");
  const table: string[][] = [["goal", "AtomicKV", "redis-server", "ratio", "goal", "met?"]];
  for (const x of rows) {
    table.push([`${x.sub ? "    " : `${x.goal} `}${x.what}`, x.ours, x.redis, x.ratio, x.target, x.info ? "-" : x.met === null ? "n/a" : x.met ? "yes" : "NO"]);
  }
  out.push(textTable(table));
  out.push("");
  out.push(`${metCount} of ${goalCount} goal rows met.${quick ? " --quick: small counts, a short mixed load; a smoke run, not the goals' measurement." : ""}`);

  out.push("");
  out.push("per round:");
  if (r.throughput) {
    for (const c of configsToRun()) {
      for (const test of TESTS) {
        const runs = r.throughput.filter((x) => x.config === c.key);
        out.push(`  ${`${test} -P ${c.pipeline} -r ${c.keyspace}`.padEnd(22)} rps   ${perRound(runs, (x) => fmtInt(x.rps[test] ?? Number.NaN))}`);
        if (c.key === "p1") out.push(`  ${`${test} -P ${c.pipeline} -r ${c.keyspace}`.padEnd(22)} p99ms ${perRound(runs, (x) => fmtMs(x.p99Ms[test] ?? Number.NaN))}`);
      }
    }
  }
  if (r.memory) {
    out.push(`  memory bytes/key             ${perRound(r.memory, (m) => fmt1(m.bytesPerKey))}`);
    for (const m of r.memory) {
      out.push(
        `    round ${m.round} ${m.server.padEnd(8)} DBSIZE ${m.dbsize}, RSS empty ${formatBytes(m.rssEmpty)}, after ${formatBytes(m.rssAfter)}, peak ${formatBytes(m.rssPeak)}; ` +
          `sample key ${m.sampleKey} (${Buffer.byteLength(m.sampleKey)} bytes), value ${m.sampleValueBytes} bytes; fill ${fmtInt(m.fillRps)} rps`,
      );
    }
  }
  if (r.gc) {
    out.push(`  mixed load ops/s             ${perRound(r.gc.runs, (x) => fmtInt(x.opsPerSec))}`);
    out.push(`  PING probe worst ms          ${perRound(r.gc.runs, (x) => fmtMs(x.ping.maxMs))}`);
    out.push(`  PING probe p99 ms            ${perRound(r.gc.runs, (x) => fmtMs(x.ping.p99Ms))}`);
    out.push(`  PINGs over ${GC_GOAL_MS} ms             ${perRound(r.gc.runs, (x) => `${x.ping.overGoal}/${x.ping.count}`)}`);
    for (const x of r.gc.runs.filter((y) => y.gc !== null)) {
      const g = x.gc!;
      out.push(
        `    round ${x.round} ${OURS} GC: ${g.collections} collections (${g.eden} eden, ${g.full} full), ${g.pauses} stop-the-world pauses; worst pause ${fmtMs(g.worstPauseMs)} ms, ` +
          `worst epilogue ${fmtMs(g.worstEpilogueMs)} ms, worst full sweep ${fmtMs(g.worstSweepMs)} ms; ${g.overGoal} over ${GC_GOAL_MS} ms; total ${fmtMs(g.totalMs)} ms in ${x.seconds.toFixed(0)} s`,
      );
      if (g.worstLine) out.push(`      worst, logged ${g.worstAtS.toFixed(1)} s into the load: ${g.worstLine}`);
    }
  }
  if (r.seed) out.push(`  seed Python client req/s     ${perRound(r.seed, (x) => fmtInt(x.rps))}`);

  if (r.gc) {
    out.push("");
    const envText = Object.entries(GC_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
    out.push(`goal 6's figure is JavaScriptCore's own: ${OURS} runs with ${envText}, and JSC logs every collection`);
    out.push(`to its stderr, here a file (a pipe's reader would compete with the pause it logs). Each "p=<ms>ms"`);
    out.push(`(a stop-the-world pause), "epilogue <ms>ms" and "Full sweep: ..., <ms>ms" (both run on the JS thread)`);
    out.push(`logged during the load counts; the worst is the figure. Each server idles ${PRE_LOAD_IDLE_MS / 1000} s before its load and`);
    out.push(`the window closes ${WINDOW_GRACE_MS} ms after it, so ${OURS}'s by-design idle-time full collection (Bun.gc(true) when`);
    out.push(`idle) falls outside it. The PING rows are an event-loop stall probe (one PING in flight, one every`);
    out.push(`~${PROBE_INTERVAL_MS} ms, from this process) against both servers under the same load; a wait includes queueing behind`);
    out.push(`${CLIENTS} busy clients and scheduling on shared cores, so it bounds a stall from above. redis-server has no GC.`);
    out.push(`JSC's pause clock can run while the main thread still serves: bench/gc-stalls.sh traces the stall itself.`);
    if (r.gc.sampleLine) out.push(`  sample GC log line: ${r.gc.sampleLine}`);
  }

  out.push("");
  out.push("commands (PORT and TMP differ per server and run):");
  out.push(`  ${OURS}: ${shellQuote(oursArgv("PORT", "TMP"))}   (${binaryVersion})`);
  out.push(`  ${REDIS}:    ${shellQuote(redisArgv("PORT", "TMP"))}`);
  if (configsToRun().length > 0) out.push(`  warm-up, ${WARMUP_RUNS} runs per server before goals 1-3, 5, not measured: ${shellQuote(throughputArgs("PORT", WARMUP_CONFIG))}`);
  for (const c of configsToRun()) {
    out.push(`  goal ${c.key === "p1" ? "1, 5" : c.key === "p16" ? "2" : "3"}: ${shellQuote(throughputArgs("PORT", c))}   (x${c.rounds} per server, alternating; FLUSHALL + BGREWRITEAOF on both before each)`);
  }
  if (r.memory) {
    out.push(`  goal 4: ${shellQuote(fillArgs("PORT"))}   (fresh servers per round; (VmRSS after - VmRSS empty) / DBSIZE, VmRSS the least of ${RSS_SAMPLES} reads ${RSS_SAMPLE_GAP_MS} ms apart, ${SETTLE_MS} ms after the fill and any AOF rewrite)`);
  }
  if (r.gc) {
    out.push(`  goal 6: pre-fill: ${shellQuote(fillArgs("PORT"))}`);
    out.push(`          load, together for ${mixedSeconds} s: ${shellQuote(mixedArgs("PORT"))}`);
    out.push(`                                and ${shellQuote(mixedDelArgs("PORT"))}`);
    out.push(`          ${OURS} started with ${Object.entries(GC_ENV).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  if (r.seed) out.push(`  goal 7: ${shellQuote(seedArgs("PORT"))}   (FLUSHALL + BGREWRITEAOF before each)`);

  out.push("");
  out.push("environment:");
  out.push(`  redis-server ${env.redisServerVersion} (${env.redisServerVersionLine})`);
  out.push(`  ${env.redisBenchmarkVersion}`);
  out.push(`  nproc ${env.nproc}, CPU ${env.cpuModel}, Linux ${env.kernel}, Bun ${env.bunVersion}`);
  out.push(`  load average at start ${loadavg[0]}, at end ${loadavg[1]}`);
  out.push(`  other processes over 10% of a core, at start: ${busy[0]}; at end: ${busy[1]}`);
  out.push(`  date ${env.date}, total ${elapsedS.toFixed(0)} s`);
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadStart = loadAverage();
  installCleanupHandlers();
  const busyStart = describeBusy(await busyProcesses());
  if (busyStart !== "none") log(`warning: other processes are busy on this machine, their CPU is missing from both servers' figures: ${busyStart}`);
  await ensureRedisTools(log);
  if (opts["no-build"] !== true) {
    log("running `bun run build` (--no-build skips this)");
    const code = await runInherit([process.execPath, "run", "build"], ROOT);
    if (code !== 0) throw new Error(`\`bun run build\` failed with exit code ${code}`);
  }
  await ensureServerBinary(ROOT, false, log);
  const env = await benchEnvironment();
  const versionRun = await runCommand([resolve(ROOT, "atomic_server"), "--version"], { timeoutMs: 10_000 });
  const binaryVersion = versionRun.stdout.trim().split("\n")[0] || "version unknown";
  log(`${binaryVersion}; redis-server ${env.redisServerVersion}; nproc ${env.nproc}; goals ${[...selected].sort().join(",")}`);

  const configs = configsToRun();
  const results: Results = {
    throughput: configs.length > 0 ? await throughputPhase(configs) : null,
    memory: selected.has(4) ? await memoryPhase() : null,
    gc: selected.has(6) ? await gcPhase() : null,
    seed: selected.has(7) ? await seedPhase() : null,
  };
  const rows = goalRows(results);
  const elapsedS = (performance.now() - started) / 1000;
  const loadEnd = loadAverage();
  const busyEnd = describeBusy(await busyProcesses());
  console.log(report(env, binaryVersion, [loadStart, loadEnd], [busyStart, busyEnd], results, rows, elapsedS));

  const errors = [
    ...(results.throughput ?? []).filter((x) => x.error).map((x) => `${x.server} ${x.config} round ${x.round}: ${x.error}`),
    ...(results.memory ?? []).filter((x) => x.error).map((x) => `${x.server} memory round ${x.round}: ${x.error}`),
    ...(results.gc?.runs ?? []).filter((x) => x.error).map((x) => `${x.server} mixed load round ${x.round}: ${x.error}`),
    ...(results.seed ?? []).filter((x) => x.error).map((x) => `${x.server} seed round ${x.round}: ${x.error}`),
  ];
  if (errors.length > 0) {
    console.log("\nerrors (their runs are left out of the medians):");
    for (const e of errors) console.log(`  ${e}`);
    process.exitCode = 1;
  }

  if (jsonFile !== undefined) {
    const nanToNull = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
    const json = {
      env,
      binaryVersion,
      loadAverage: { start: loadStart, end: loadEnd },
      busyProcesses: { start: busyStart, end: busyEnd },
      config: {
        quick,
        rounds,
        p1Rounds,
        goals: [...selected].sort(),
        requests: { P1: requestsP1, P16: requestsP16 },
        memKeys,
        memRequests: MEM_REQUESTS,
        mixedSeconds,
        commands: {
          [OURS]: shellQuote(oursArgv("PORT", "TMP")),
          [REDIS]: shellQuote(redisArgv("PORT", "TMP")),
          throughput: Object.fromEntries(configs.map((c) => [c.key, shellQuote(throughputArgs("PORT", c))])),
          memoryFill: shellQuote(fillArgs("PORT")),
          mixed: [shellQuote(mixedArgs("PORT")), shellQuote(mixedDelArgs("PORT"))],
          gcEnv: GC_ENV,
          seed: shellQuote(seedArgs("PORT")),
        },
      },
      goals: rows,
      results,
      errors,
      elapsedSeconds: elapsedS,
    };
    await Bun.write(resolve(process.cwd(), jsonFile), JSON.stringify(json, nanToNull, 2) + "\n");
    log(`wrote ${jsonFile}`);
  }
}

main().catch(async (err: unknown) => {
  console.error(`\nbench:compare failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanupAll();
  process.exit(1);
});

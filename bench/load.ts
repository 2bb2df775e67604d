/**
 * Load benchmark: AtomicKV vs redis-server, side by side, with redis-benchmark.
 *
 *   bun bench/load.ts [--quick] [--rounds N] [--requests N | N1,N16]
 *                     [--mem-keys N] [--no-build] [--server-cmd "<cmd>"]
 *                     [--json FILE] [--skip-throughput] [--skip-memory]
 *                     [--run-timeout SECONDS]
 *
 * Phase 1 (throughput): `redis-benchmark -t set,get -c 50 -r 100000` at -P 1
 * and -P 16, alternating servers, `--rounds` times; reports median rps.
 * Phase 2 (memory): fresh instances, fill ~1M 16-byte keys with 32-byte
 * values, report (RSS after - RSS empty) / DBSIZE.
 *
 * Both servers run with `--appendonly no`, each in its own temp `--dir`:
 * AtomicKV now writes an AOF by default, and this benchmark measures the
 * in-memory paths, comparable with the runs before persistence existed
 * (bench/persistence.ts measures the AOF).
 */
import { resolve } from "node:path";
import {
  type BenchEnvironment,
  type ManagedServer,
  RespError,
  type RespValue,
  assertAlive,
  benchEnvironment,
  cleanupAll,
  ensureRedisTools,
  ensureServerBinary,
  formatBytes,
  freePorts,
  installCleanupHandlers,
  makeTempDir,
  median,
  parseBenchmarkOutput,
  parseInfo,
  ratio,
  readProcStatusBytes,
  readTreeRss,
  removeTempDir,
  respCommand,
  runCommand,
  shellQuote,
  splitCommandLine,
  startServer,
  stopProcess,
  textTable,
  waitForPing,
  fail,
  parseBenchArgs,
  positiveInt,
  requestCounts,
  HOST,
  OURS,
  REDIS,
  type ServerKey,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

const USAGE = `usage: bun bench/load.ts [options]

  --quick               smoke run: 1 round, small request counts, 100k keys
  --rounds N            throughput rounds per server (default 3; --quick 1)
  --requests N[,M]      requests per redis-benchmark run: N for -P 1 and M for
                        -P 16 (one value sets both); default 200000,1000000
                        (--quick 20000,100000)
  --mem-keys N          key space for the memory fill (default 1000000,
                        --quick 100000); the fill sends 3*N SETs
  --server-cmd "<cmd>"  benchmark this command line instead of ./atomic_server
                        ("--port P --bind 127.0.0.1 --dir TMP --appendonly no"
                        is appended)
  --no-build            do not run \`bun run build\` when ./atomic_server is missing
  --json FILE           also write the results as JSON to FILE
  --skip-throughput     only run the memory phase
  --skip-memory         only run the throughput phase
  --run-timeout SEC     kill a single redis-benchmark run after SEC seconds (default 240)
  -h, --help            show this help
`;

const opts = parseBenchArgs(USAGE, {
  quick: { type: "boolean", default: false },
  rounds: { type: "string" },
  requests: { type: "string" },
  "mem-keys": { type: "string" },
  "server-cmd": { type: "string" },
  "no-build": { type: "boolean", default: false },
  json: { type: "string" },
  "skip-throughput": { type: "boolean", default: false },
  "skip-memory": { type: "boolean", default: false },
  "run-timeout": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
});

const quick = opts.quick === true;
const rounds = opts.rounds !== undefined ? positiveInt("--rounds", opts.rounds) : quick ? 1 : 3;
const [requestsP1, requestsP16] = requestCounts(opts.requests, quick ? [20_000, 100_000] : [200_000, 1_000_000]);
const memKeys = opts["mem-keys"] !== undefined ? positiveInt("--mem-keys", opts["mem-keys"]) : quick ? 100_000 : 1_000_000;
const runTimeoutMs = (opts["run-timeout"] !== undefined ? positiveInt("--run-timeout", opts["run-timeout"]) : 240) * 1000;
const serverCmd = opts["server-cmd"];
const jsonFile = opts.json;
const doThroughput = !opts["skip-throughput"];
const doMemory = !opts["skip-memory"];
if (!doThroughput && !doMemory) fail("--skip-throughput and --skip-memory together leave nothing to do");

const PIPELINES = [1, 16] as const;
const TESTS = ["SET", "GET"] as const;
const THROUGHPUT_KEYSPACE = 100_000;
const THROUGHPUT_CLIENTS = 50;
const MEM_VALUE_SIZE = 32;
const MEM_PIPELINE = 64;
const MEM_CLIENTS = 20;
const MEM_REQUESTS = memKeys * 3;

function throughputArgs(port: number | string, pipeline: number): string[] {
  const n = pipeline === 1 ? requestsP1 : requestsP16;
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port),
    "-t", "set,get", "-c", String(THROUGHPUT_CLIENTS), "-r", String(THROUGHPUT_KEYSPACE),
    "-n", String(n), "-P", String(pipeline), "-q", "--csv",
  ];
}

function fillArgs(port: number | string): string[] {
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port),
    "-t", "set", "-r", String(memKeys), "-n", String(MEM_REQUESTS), "-d", String(MEM_VALUE_SIZE),
    "-P", String(MEM_PIPELINE), "-c", String(MEM_CLIENTS), "-q", "--csv",
  ];
}

function oursArgv(port: number | string, dir: string): string[] {
  const base = serverCmd !== undefined ? splitCommandLine(serverCmd) : ["./atomic_server"];
  if (base.length === 0) fail("--server-cmd is empty");
  return [...base, "--port", String(port), "--bind", HOST, "--dir", dir, "--appendonly", "no"];
}

function redisArgv(port: number | string, dir: string): string[] {
  return [
    "redis-server", "--port", String(port), "--bind", HOST,
    "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
  ];
}

// ---------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------

const log = (msg: string) => console.error(`[bench:load ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---------------------------------------------------------------------------
// Server helpers
// ---------------------------------------------------------------------------

interface Pair {
  [OURS]: ManagedServer;
  [REDIS]: ManagedServer;
  dirs: string[];
}

async function startPair(): Promise<Pair> {
  const [p1, p2] = freePorts(2);
  const dirs = [makeTempDir("atomickv-load-"), makeTempDir("redis-load-")];
  const ours = startServer(OURS, oursArgv(p1!, dirs[0]!), p1!, ROOT);
  const redis = startServer(REDIS, redisArgv(p2!, dirs[1]!), p2!, ROOT);
  await Promise.all([waitForPing(ours, 60_000), waitForPing(redis, 30_000)]);
  log(`started ${OURS} (pid ${ours.proc.pid}, port ${ours.port}) and ${REDIS} (pid ${redis.proc.pid}, port ${redis.port})`);
  return { [OURS]: ours, [REDIS]: redis, dirs };
}

async function stopPair(pair: Pair): Promise<void> {
  await Promise.all([stopProcess(pair[OURS].proc), stopProcess(pair[REDIS].proc)]);
  for (const dir of pair.dirs) removeTempDir(dir);
}

const warned = new Set<string>();
function warnOnce(key: string, msg: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  log(`warning: ${msg}`);
}

async function command(server: ManagedServer, args: string[], timeoutMs = 60_000): Promise<RespValue> {
  const reply = await respCommand(server.port, args, { timeoutMs });
  if (reply instanceof RespError) throw reply;
  return reply;
}

async function flushAll(servers: ManagedServer[]): Promise<void> {
  for (const s of servers) {
    try {
      await command(s, ["FLUSHALL"]);
    } catch (err) {
      warnOnce(`flush-${s.name}`, `FLUSHALL on ${s.name} failed: ${(err as Error).message}`);
    }
  }
}

async function dbsize(server: ManagedServer): Promise<number> {
  try {
    const reply = await command(server, ["DBSIZE"]);
    return typeof reply === "number" ? reply : Number(reply);
  } catch (err) {
    warnOnce(`dbsize-${server.name}`, `DBSIZE on ${server.name} failed: ${(err as Error).message}`);
    return Number.NaN;
  }
}

async function infoMemory(server: ManagedServer): Promise<Map<string, string>> {
  try {
    const reply = await command(server, ["INFO", "memory"]);
    return typeof reply === "string" ? parseInfo(reply) : new Map();
  } catch {
    return new Map();
  }
}

function infoNumber(info: Map<string, string>, key: string): number | null {
  const v = info.get(key);
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

interface BenchRun {
  server: ServerKey;
  round: number;
  pipeline: number;
  command: string;
  seconds: number;
  rps: Partial<Record<(typeof TESTS)[number], number>>;
  latencyMs: Partial<Record<(typeof TESTS)[number], Record<string, number>>>;
  error?: string;
}

async function runBenchmark(server: ManagedServer, argv: string[]): Promise<{ rows: ReturnType<typeof parseBenchmarkOutput>; seconds: number; error?: string }> {
  assertAlive(server);
  const res = await runCommand(argv, { timeoutMs: runTimeoutMs });
  const rows = parseBenchmarkOutput(res.stdout);
  const seconds = res.ms / 1000;
  let error: string | undefined;
  if (res.timedOut) error = `timed out after ${runTimeoutMs / 1000} s`;
  else if (res.code !== 0) error = `redis-benchmark exited with code ${res.code ?? res.signal}`;
  else if (rows.size === 0) error = "no results in redis-benchmark output";
  if (error) {
    const detail = `${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-8).join("\n");
    error += detail ? `: ${detail}` : "";
  }
  if (!server.alive()) error = `${server.name} died during the run${error ? ` (${error})` : ""}`;
  return { rows, seconds, error };
}

// ---------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------

interface ThroughputSummary {
  test: string;
  pipeline: number;
  requests: number;
  ours: number;
  redis: number;
  ratio: number;
  oursRuns: number[];
  redisRuns: number[];
}

async function throughputPhase(): Promise<{ runs: BenchRun[]; summary: ThroughputSummary[] }> {
  log(`throughput: ${rounds} round(s) x -P ${PIPELINES.join("/")} x 2 servers`);
  const pair = await startPair();
  const runs: BenchRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const pipeline of PIPELINES) {
        // Alternate who goes first from one round to the next.
        const order: ServerKey[] = round % 2 === 1 ? [OURS, REDIS] : [REDIS, OURS];
        for (const key of order) {
          const server = pair[key];
          await flushAll([pair[OURS], pair[REDIS]]);
          const argv = throughputArgs(server.port, pipeline);
          const { rows, seconds, error } = await runBenchmark(server, argv);
          const run: BenchRun = { server: key, round, pipeline, command: shellQuote(argv), seconds, rps: {}, latencyMs: {} };
          for (const test of TESTS) {
            const row = rows.get(test);
            if (row) {
              run.rps[test] = row.rps;
              run.latencyMs[test] = row.extra;
            }
          }
          if (error) run.error = error;
          runs.push(run);
          const rpsText = TESTS.map((t) => `${t} ${run.rps[t]?.toFixed(0) ?? "n/a"}`).join(", ");
          log(`round ${round}/${rounds} -P ${pipeline} ${key.padEnd(8)} ${rpsText} rps (${seconds.toFixed(1)} s)${error ? `  ERROR: ${error}` : ""}`);
          assertAlive(server);
        }
      }
    }
  } finally {
    await stopPair(pair);
  }
  const summary: ThroughputSummary[] = [];
  for (const pipeline of PIPELINES) {
    for (const test of TESTS) {
      const pick = (key: ServerKey) =>
        runs.filter((r) => r.server === key && r.pipeline === pipeline && r.rps[test] !== undefined).map((r) => r.rps[test]!);
      const oursRuns = pick(OURS);
      const redisRuns = pick(REDIS);
      const ours = median(oursRuns);
      const redis = median(redisRuns);
      summary.push({
        test,
        pipeline,
        requests: pipeline === 1 ? requestsP1 : requestsP16,
        ours,
        redis,
        ratio: ratio(ours, redis),
        oursRuns,
        redisRuns,
      });
    }
  }
  return { runs, summary };
}

interface MemoryResult {
  server: ServerKey;
  pid: number;
  rssEmpty: number;
  rssAfter: number;
  rssPeak: number;
  dbsize: number;
  bytesPerKey: number;
  usedMemoryEmpty: number | null;
  usedMemoryAfter: number | null;
  usedMemoryBytesPerKey: number | null;
  fillRps: number;
  fillSeconds: number;
  command: string;
  error?: string;
}

async function memoryPhase(): Promise<MemoryResult[]> {
  log(`memory: fresh instances, filling ${memKeys} key space with ${MEM_REQUESTS} SETs (-d ${MEM_VALUE_SIZE})`);
  const pair = await startPair();
  const results: MemoryResult[] = [];
  try {
    await Bun.sleep(1000); // let both settle before the baseline
    const baseline = new Map<ServerKey, { rss: number; used: number | null }>();
    for (const key of [OURS, REDIS] as const) {
      const s = pair[key];
      baseline.set(key, { rss: readTreeRss(s.proc.pid), used: infoNumber(await infoMemory(s), "used_memory") });
    }
    for (const key of [OURS, REDIS] as const) {
      const s = pair[key];
      const argv = fillArgs(s.port);
      const { rows, seconds, error } = await runBenchmark(s, argv);
      assertAlive(s);
      const size = await dbsize(s);
      await Bun.sleep(1000);
      const rssAfter = readTreeRss(s.proc.pid);
      const used = infoNumber(await infoMemory(s), "used_memory");
      const base = baseline.get(key)!;
      const result: MemoryResult = {
        server: key,
        pid: s.proc.pid,
        rssEmpty: base.rss,
        rssAfter,
        rssPeak: readProcStatusBytes(s.proc.pid, "VmHWM"),
        dbsize: size,
        bytesPerKey: size > 0 ? (rssAfter - base.rss) / size : Number.NaN,
        usedMemoryEmpty: base.used,
        usedMemoryAfter: used,
        usedMemoryBytesPerKey: used !== null && base.used !== null && size > 0 ? (used - base.used) / size : null,
        fillRps: rows.get("SET")?.rps ?? Number.NaN,
        fillSeconds: seconds,
        command: shellQuote(argv),
      };
      if (error) result.error = error;
      results.push(result);
      log(
        `${key.padEnd(8)} dbsize ${size}, RSS ${formatBytes(base.rss)} -> ${formatBytes(rssAfter)}, ` +
          `${result.bytesPerKey.toFixed(1)} B/key` +
          (result.usedMemoryBytesPerKey !== null ? `, used_memory ${result.usedMemoryBytesPerKey.toFixed(1)} B/key` : "") +
          ` (fill ${result.fillRps.toFixed(0)} rps, ${seconds.toFixed(1)} s)${error ? `  ERROR: ${error}` : ""}`,
      );
    }
  } finally {
    await stopPair(pair);
  }
  return results;
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : "n/a");
const fmt1 = (n: number | null) => (n !== null && Number.isFinite(n) ? n.toFixed(1) : "n/a");
const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "n/a");

function report(
  env: BenchEnvironment,
  throughput: ThroughputSummary[] | null,
  memory: MemoryResult[] | null,
  elapsedS: number,
): string {
  const rows: string[][] = [["test", `${OURS} rps`, `${REDIS} rps`, "ratio"]];
  for (const s of throughput ?? []) rows.push([`${s.test} -P${s.pipeline}`, fmtInt(s.ours), fmtInt(s.redis), fmtRatio(s.ratio)]);
  const memOurs = memory?.find((m) => m.server === OURS);
  const memRedis = memory?.find((m) => m.server === REDIS);
  if (memOurs && memRedis) {
    const keysLabel = memKeys >= 1_000_000 && memKeys % 1_000_000 === 0 ? `${memKeys / 1_000_000}M` : memKeys >= 1000 ? `${Math.round(memKeys / 1000)}k` : String(memKeys);
    rows.push([
      `bytes/key RSS (${keysLabel} key space)`,
      fmt1(memOurs.bytesPerKey),
      fmt1(memRedis.bytesPerKey),
      fmtRatio(ratio(memOurs.bytesPerKey, memRedis.bytesPerKey)),
    ]);
    rows.push([
      "bytes/key used_memory",
      fmt1(memOurs.usedMemoryBytesPerKey),
      fmt1(memRedis.usedMemoryBytesPerKey),
      memOurs.usedMemoryBytesPerKey !== null && memRedis.usedMemoryBytesPerKey !== null
        ? fmtRatio(ratio(memOurs.usedMemoryBytesPerKey, memRedis.usedMemoryBytesPerKey))
        : "n/a",
    ]);
  }
  const out: string[] = [];
  out.push("");
  out.push(`AtomicKV load benchmark (${quick ? "--quick, " : ""}${rounds} round(s), median requests/s; ratio = ${OURS}/${REDIS})`);
  out.push("");
  out.push(textTable(rows));
  out.push("");
  out.push("rps ratio > 1: AtomicKV faster. bytes/key ratio < 1: AtomicKV smaller.");
  if (throughput) {
    out.push("");
    out.push("per-round requests/s:");
    for (const s of throughput) {
      out.push(`  ${`${s.test} -P${s.pipeline}`.padEnd(9)} ${OURS}: ${s.oursRuns.map(fmtInt).join(", ") || "n/a"}   ${REDIS}: ${s.redisRuns.map(fmtInt).join(", ") || "n/a"}`);
    }
  }
  if (memory) {
    out.push("");
    out.push("memory details:");
    for (const m of memory) {
      out.push(
        `  ${m.server.padEnd(8)} dbsize ${m.dbsize}, RSS empty ${formatBytes(m.rssEmpty)}, after ${formatBytes(m.rssAfter)}, peak ${formatBytes(m.rssPeak)}` +
          `, used_memory ${m.usedMemoryAfter !== null ? formatBytes(m.usedMemoryAfter) : "n/a (not in INFO)"}`,
      );
    }
  }
  out.push("");
  out.push("commands:");
  out.push(`  ${OURS}:  ${shellQuote(oursArgv("P1", "TMP1"))}${serverCmd === undefined ? "   (built with `bun run build`)" : ""}`);
  out.push(`  ${REDIS}:     ${shellQuote(redisArgv("P2", "TMP2"))}`);
  if (throughput) {
    for (const p of PIPELINES) out.push(`  throughput: ${shellQuote(throughputArgs("PORT", p))}   (x${rounds} per server, alternating, FLUSHALL before each)`);
  }
  if (memory) {
    out.push(`  memory:     ${shellQuote(fillArgs("PORT"))}   (fresh servers; (VmRSS after - VmRSS empty) / DBSIZE, VmRSS read 1 s after the fill)`);
  }
  out.push("");
  out.push("environment:");
  out.push(`  redis-server ${env.redisServerVersion} (${env.redisServerVersionLine})`);
  out.push(`  ${env.redisBenchmarkVersion}`);
  out.push(`  nproc ${env.nproc}, CPU ${env.cpuModel}, Linux ${env.kernel}, Bun ${env.bunVersion}`);
  out.push(`  date ${env.date}, total ${elapsedS.toFixed(0)} s`);
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  installCleanupHandlers();
  await ensureRedisTools(log);
  if (serverCmd === undefined) await ensureServerBinary(ROOT, !opts["no-build"], log);
  const env = await benchEnvironment();
  log(`redis-server ${env.redisServerVersion}, nproc ${env.nproc}; ours: ${shellQuote(oursArgv("P", "TMP"))}`);

  const throughput = doThroughput ? await throughputPhase() : null;
  const memory = doMemory ? await memoryPhase() : null;
  const elapsedS = (performance.now() - started) / 1000;

  console.log(report(env, throughput?.summary ?? null, memory, elapsedS));

  const errors = [
    ...(throughput?.runs.filter((r) => r.error).map((r) => `${r.server} -P${r.pipeline} round ${r.round}: ${r.error}`) ?? []),
    ...(memory?.filter((m) => m.error).map((m) => `${m.server} memory fill: ${m.error}`) ?? []),
  ];
  if (errors.length > 0) {
    console.log("\nerrors:");
    for (const e of errors) console.log(`  ${e}`);
  }

  if (jsonFile !== undefined) {
    const nanToNull = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
    const json = {
      env,
      config: {
        quick,
        rounds,
        requests: { "P1": requestsP1, "P16": requestsP16 },
        throughputKeyspace: THROUGHPUT_KEYSPACE,
        throughputClients: THROUGHPUT_CLIENTS,
        memKeys,
        memRequests: MEM_REQUESTS,
        memValueSize: MEM_VALUE_SIZE,
        serverCmd: shellQuote(oursArgv("PORT", "TMP")),
        redisCmd: shellQuote(redisArgv("PORT", "TMP")),
      },
      throughput,
      memory,
      errors,
      elapsedSeconds: elapsedS,
    };
    await Bun.write(resolve(process.cwd(), jsonFile), JSON.stringify(json, nanToNull, 2) + "\n");
    log(`wrote ${jsonFile}`);
  }
  if (errors.length > 0) process.exitCode = 1;
}

main().catch(async (err: unknown) => {
  console.error(`\nbench:load failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanupAll();
  process.exit(1);
});

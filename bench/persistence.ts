/**
 * Persistence benchmark: AtomicKV's append-only file vs redis-server's, side by side.
 *
 *   bun bench/persistence.ts [--quick] [--rounds N] [--requests N1,N16] [--keys N]
 *                            [--no-build] [--json FILE] [--skip-fsync] [--skip-dataset]
 *                            [--run-timeout SECONDS]
 *
 * Phase 1 (fsync): for appendfsync always, everysec and no, both servers with
 * `--appendonly yes` in fresh temp dirs; `redis-benchmark -t set -c 50
 * -r 100000` at -P 1 and -P 16, alternating servers, `--rounds` times, each
 * run on an empty AOF (FLUSHALL, then BGREWRITEAOF to completion); median rps.
 *
 * Phase 2 (load): fill each server with exactly `--keys` distinct keys
 * (16-byte keys, 32-byte values, pipelined SETs), SIGTERM it, restart it on
 * the same dir and time spawn -> first PING answered +PONG (-LOADING means
 * still loading); `--rounds` restarts, alternating. The server's own "DB
 * loaded from append only file" line is reported too.
 *
 * Phase 3 (rewrite): on the loaded servers, a client sends PING in a
 * sequential loop (one outstanding) while BGREWRITEAOF runs until INFO shows
 * aof_rewrite_in_progress:0; reports the rewrite's time and the PING waits
 * during it (the goal: worst under 50 ms). Then one more restart checks that
 * the rewritten AOF loads every key.
 *
 * Phases 2 and 3 run both servers with automatic rewrites off, so the load
 * reads exactly the SETs the fill appended and the only rewrite is the one
 * measured, and redis-server with `--aof-use-rdb-preamble no`, so both files
 * are RESP text. Temp dirs go under $TMPDIR (default /tmp), which must be a
 * real disk for fsync to mean anything; the report names its filesystem.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type BenchEnvironment,
  type ManagedServer,
  RespConnection,
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
  removeTempDir,
  runCommand,
  shellQuote,
  startServer,
  stopProcess,
  textTable,
  waitForPing,
  withTimeout,
  fail,
  parseBenchArgs,
  positiveInt,
  requestCounts,
  HOST,
  OURS,
  REDIS,
  type ServerKey,
  SERVERS,
} from "./lib.ts";
import { PingProbe, type PingStats, pingStats } from "./ping-probe.ts";

const ROOT = resolve(import.meta.dir, "..");

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

const USAGE = `usage: bun bench/persistence.ts [options]

  --quick               smoke run: 1 round, small request counts, 100k keys
  --rounds N            rounds per server: throughput runs, restarts and
                        rewrites (default 3; --quick 1)
  --requests N[,M]      requests per redis-benchmark run: N for -P 1 and M for
                        -P 16 (one value sets both); default 100000,500000
                        (--quick 20000,100000)
  --keys N              keys in the load and rewrite dataset (default 1000000,
                        --quick 100000)
  --no-build            do not run \`bun run build\` when ./atomic_server is missing
  --json FILE           also write the results as JSON to FILE
  --skip-fsync          skip phase 1 (SET throughput per appendfsync mode)
  --skip-dataset        skip phases 2 and 3 (load and rewrite of --keys keys)
  --run-timeout SEC     kill a single redis-benchmark run after SEC seconds (default 240)
  -h, --help            show this help

Temp dirs go under $TMPDIR (default /tmp); put it on a real disk.
`;

const opts = parseBenchArgs(USAGE, {
  quick: { type: "boolean", default: false },
  rounds: { type: "string" },
  requests: { type: "string" },
  keys: { type: "string" },
  "no-build": { type: "boolean", default: false },
  json: { type: "string" },
  "skip-fsync": { type: "boolean", default: false },
  "skip-dataset": { type: "boolean", default: false },
  "run-timeout": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
});

const quick = opts.quick === true;
const rounds = opts.rounds !== undefined ? positiveInt("--rounds", opts.rounds) : quick ? 1 : 3;
const [requestsP1, requestsP16] = requestCounts(opts.requests, quick ? [20_000, 100_000] : [100_000, 500_000]);
const datasetKeys = opts.keys !== undefined ? positiveInt("--keys", opts.keys) : quick ? 100_000 : 1_000_000;
const runTimeoutMs = (opts["run-timeout"] !== undefined ? positiveInt("--run-timeout", opts["run-timeout"]) : 240) * 1000;
const jsonFile = opts.json;
const doFsync = !opts["skip-fsync"];
const doDataset = !opts["skip-dataset"];
if (!doFsync && !doDataset) fail("--skip-fsync and --skip-dataset together leave nothing to do");

const FSYNC_MODES = ["always", "everysec", "no"] as const;
type FsyncMode = (typeof FSYNC_MODES)[number];
const PIPELINES = [1, 16] as const;
const THROUGHPUT_KEYSPACE = 100_000;
const THROUGHPUT_CLIENTS = 50;
/** `key:` + 12 digits, and `value:` + 26 digits: the sizes bench/load.ts's memory fill uses. */
const KEY_DIGITS = 12;
const VALUE_DIGITS = 26;
const FILL_BATCH = 10_000;
/** How often the restart probe and the rewrite watcher ask; the resolution of their times. */
const PONG_POLL_MS = 5;
const INFO_POLL_MS = 20;
/** PINGs timed before BGREWRITEAOF, as the idle reference. */
const PING_BASELINE_MS = 1000;
const PING_GOAL_MS = 50;
const REWRITE_TIMEOUT_MS = 600_000;
const LOAD_TIMEOUT_MS = 600_000;
/** Dataset servers: the only rewrite is the measured one; redis-server's files are RESP text like ours. */
const OURS_DATASET_ARGS = ["--auto-aof-rewrite-percentage", "0"];
const REDIS_DATASET_ARGS = ["--auto-aof-rewrite-percentage", "0", "--aof-use-rdb-preamble", "no"];

function oursArgv(port: number | string, dir: string, fsync: FsyncMode | "MODE", extra: readonly string[] = []): string[] {
  return [
    "./atomic_server", "--port", String(port), "--bind", HOST, "--dir", dir,
    "--appendonly", "yes", "--appendfsync", fsync, ...extra,
  ];
}

function redisArgv(port: number | string, dir: string, fsync: FsyncMode | "MODE", extra: readonly string[] = []): string[] {
  return [
    "redis-server", "--port", String(port), "--bind", HOST, "--save", "",
    "--appendonly", "yes", "--appendfsync", fsync, "--dir", dir, "--daemonize", "no", ...extra,
  ];
}

function throughputArgs(port: number | string, pipeline: number): string[] {
  const n = pipeline === 1 ? requestsP1 : requestsP16;
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port),
    "-t", "set", "-c", String(THROUGHPUT_CLIENTS), "-r", String(THROUGHPUT_KEYSPACE),
    "-n", String(n), "-P", String(pipeline), "-q", "--csv",
  ];
}

const log = (msg: string) => console.error(`[bench:persistence ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---------------------------------------------------------------------------
// Instances: a server bound to a data dir, restartable on it
// ---------------------------------------------------------------------------

interface Instance {
  key: ServerKey;
  dir: string;
  argvFor: (port: number | string) => string[];
  server: ManagedServer;
}

function spawnOn(key: ServerKey, dir: string, argvFor: (port: number | string) => string[]): Instance {
  const [port] = freePorts(1);
  return { key, dir, argvFor, server: startServer(key, argvFor(port!), port!, ROOT) };
}

/** SIGTERM and wait: both servers flush and fsync their AOF on the way out. */
async function stopInstance(inst: Instance): Promise<void> {
  await stopProcess(inst.server.proc, 60_000);
  if (inst.server.proc.signalCode === "SIGKILL") {
    throw new Error(`${inst.key} did not exit within 60 s of SIGTERM and was killed.\n--- output ---\n${inst.server.log()}`);
  }
}

async function command(inst: Instance, args: string[], timeoutMs = 60_000): Promise<RespValue> {
  const conn = await RespConnection.open(inst.server.port, HOST, 5000);
  try {
    const reply = await withTimeout(conn.command(args), timeoutMs, `${args[0]} to ${inst.key}`);
    if (reply instanceof RespError) throw new Error(`${inst.key}: ${args[0]} failed: ${reply.message}`);
    return reply;
  } finally {
    conn.close();
  }
}

async function info(inst: Instance, section: string): Promise<Map<string, string>> {
  const reply = await command(inst, ["INFO", section]);
  return typeof reply === "string" ? parseInfo(reply) : new Map();
}

async function dbsize(inst: Instance): Promise<number> {
  const reply = await command(inst, ["DBSIZE"]);
  return typeof reply === "number" ? reply : Number(reply);
}

/** Waits until INFO shows no rewrite running or scheduled; returns the last INFO persistence. */
async function waitForRewriteEnd(inst: Instance, conn: RespConnection, timeoutMs = REWRITE_TIMEOUT_MS): Promise<Map<string, string>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    assertAlive(inst.server);
    const reply = await withTimeout(conn.command(["INFO", "persistence"]), 30_000, `INFO to ${inst.key}`);
    if (reply instanceof RespError) throw new Error(`${inst.key}: INFO failed: ${reply.message}`);
    const fields = parseInfo(String(reply));
    if (fields.get("aof_rewrite_in_progress") === "0" && fields.get("aof_rewrite_scheduled") === "0") return fields;
    if (performance.now() > deadline) throw new Error(`${inst.key}: the AOF rewrite did not finish within ${timeoutMs / 1000} s`);
    await Bun.sleep(INFO_POLL_MS);
  }
}

/** FLUSHALL, then a rewrite to completion: the next run starts on an empty AOF. */
async function emptyAof(inst: Instance): Promise<void> {
  await command(inst, ["FLUSHALL"]);
  await command(inst, ["BGREWRITEAOF"]);
  const conn = await RespConnection.open(inst.server.port, HOST);
  try {
    const fields = await waitForRewriteEnd(inst, conn, 60_000);
    if (fields.get("aof_last_bgrewrite_status") !== "ok") {
      throw new Error(`${inst.key}: the rewrite after FLUSHALL failed (aof_last_bgrewrite_status ${fields.get("aof_last_bgrewrite_status")})`);
    }
  } finally {
    conn.close();
  }
}

/** Total bytes of the files under `dir` (redis-server keeps a manifest and several files in appendonlydir/). */
function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** The last line of the server's output matching `pattern`, waiting up to `timeoutMs` for one other than `previous`. */
async function awaitLogLine(server: ManagedServer, pattern: RegExp, timeoutMs: number, previous: string | null = null): Promise<RegExpExecArray | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const global = new RegExp(pattern.source, "gm");
    let last: RegExpExecArray | null = null;
    for (let m = global.exec(server.log()); m !== null; m = global.exec(server.log())) last = m;
    if (last !== null && last[0] !== previous) return last;
    if (performance.now() > deadline) return null;
    await Bun.sleep(20);
  }
}

// ---------------------------------------------------------------------------
// Phase 1: SET throughput per appendfsync mode
// ---------------------------------------------------------------------------

interface FsyncRun {
  server: ServerKey;
  fsync: FsyncMode;
  pipeline: number;
  round: number;
  rps: number;
  p50Ms: number | null;
  seconds: number;
  error?: string;
}

interface FsyncSummary {
  fsync: FsyncMode;
  pipeline: number;
  requests: number;
  ours: number;
  redis: number;
  ratio: number;
  oursRuns: number[];
  redisRuns: number[];
}

async function runBenchmark(inst: Instance, pipeline: number): Promise<{ rps: number; p50Ms: number | null; seconds: number; error?: string }> {
  assertAlive(inst.server);
  const res = await runCommand(throughputArgs(inst.server.port, pipeline), { timeoutMs: runTimeoutMs });
  const row = parseBenchmarkOutput(res.stdout).get("SET");
  let error: string | undefined;
  if (res.timedOut) error = `timed out after ${runTimeoutMs / 1000} s`;
  else if (res.code !== 0) error = `redis-benchmark exited with code ${res.code ?? res.signal}`;
  else if (!row) error = "no SET result in redis-benchmark output";
  if (error) {
    const detail = `${res.stderr}\n${res.stdout}`.trim().split("\n").slice(-8).join("\n");
    error += detail ? `: ${detail}` : "";
  }
  if (!inst.server.alive()) error = `${inst.key} died during the run${error ? ` (${error})` : ""}`;
  return { rps: row?.rps ?? Number.NaN, p50Ms: row?.extra["p50_latency_ms"] ?? null, seconds: res.ms / 1000, error };
}

async function fsyncPhase(): Promise<{ runs: FsyncRun[]; summary: FsyncSummary[] }> {
  const runs: FsyncRun[] = [];
  for (const fsync of FSYNC_MODES) {
    log(`fsync ${fsync}: ${rounds} round(s) x -P ${PIPELINES.join("/")} x 2 servers`);
    const oursDir = makeTempDir(`atomickv-fsync-${fsync}-`);
    const redisDir = makeTempDir(`redis-fsync-${fsync}-`);
    const instances: Record<ServerKey, Instance> = {
      [OURS]: spawnOn(OURS, oursDir, (p) => oursArgv(p, oursDir, fsync)),
      [REDIS]: spawnOn(REDIS, redisDir, (p) => redisArgv(p, redisDir, fsync)),
    };
    try {
      await Promise.all(SERVERS.map((k) => waitForPing(instances[k].server, 60_000)));
      for (let round = 1; round <= rounds; round++) {
        for (const pipeline of PIPELINES) {
          const order: ServerKey[] = round % 2 === 1 ? [OURS, REDIS] : [REDIS, OURS];
          for (const key of order) {
            const inst = instances[key];
            await emptyAof(inst);
            const result = await runBenchmark(inst, pipeline);
            runs.push({ server: key, fsync, pipeline, round, ...result });
            log(
              `${fsync.padEnd(8)} round ${round}/${rounds} -P ${String(pipeline).padEnd(2)} ${key.padEnd(8)} ` +
                `SET ${result.rps.toFixed(0)} rps (${result.seconds.toFixed(1)} s)${result.error ? `  ERROR: ${result.error}` : ""}`,
            );
            assertAlive(inst.server);
          }
        }
      }
    } finally {
      await Promise.all(SERVERS.map((k) => stopProcess(instances[k].server.proc)));
      removeTempDir(oursDir);
      removeTempDir(redisDir);
    }
  }
  const summary: FsyncSummary[] = [];
  for (const fsync of FSYNC_MODES) {
    for (const pipeline of PIPELINES) {
      const pick = (key: ServerKey) =>
        runs.filter((r) => r.server === key && r.fsync === fsync && r.pipeline === pipeline && Number.isFinite(r.rps)).map((r) => r.rps);
      const oursRuns = pick(OURS);
      const redisRuns = pick(REDIS);
      const ours = median(oursRuns);
      const redis = median(redisRuns);
      summary.push({ fsync, pipeline, requests: pipeline === 1 ? requestsP1 : requestsP16, ours, redis, ratio: ratio(ours, redis), oursRuns, redisRuns });
    }
  }
  return { runs, summary };
}

// ---------------------------------------------------------------------------
// Phase 2: filling, then loading the AOF at restart
// ---------------------------------------------------------------------------

function setFrames(from: number, count: number): Buffer {
  let text = "";
  for (let i = from; i < from + count; i++) {
    const key = `key:${String(i).padStart(KEY_DIGITS, "0")}`;
    const value = `value:${String(i).padStart(VALUE_DIGITS, "0")}`;
    text += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
  }
  return Buffer.from(text, "latin1");
}

interface FillResult {
  server: ServerKey;
  keys: number;
  dbsize: number;
  seconds: number;
  rps: number;
  aofBytes: number;
}

/** Writes exactly `keys` distinct keys, FILL_BATCH pipelined SETs at a time. */
async function fill(inst: Instance, keys: number): Promise<FillResult> {
  const conn = await RespConnection.open(inst.server.port, HOST);
  const started = performance.now();
  try {
    for (let i = 0; i < keys; i += FILL_BATCH) {
      const count = Math.min(FILL_BATCH, keys - i);
      const replies = await withTimeout(conn.pipeline(setFrames(i, count), count), 120_000, `fill batch to ${inst.key}`);
      const bad = replies.find((r) => r !== "OK");
      if (bad !== undefined) throw new Error(`${inst.key}: SET during the fill replied ${bad instanceof Error ? `-${bad.message}` : JSON.stringify(bad)}`);
    }
  } finally {
    conn.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { server: inst.key, keys, dbsize: await dbsize(inst), seconds, rps: keys / seconds, aofBytes: dirBytes(inst.dir) };
}

interface LoadResult {
  server: ServerKey;
  round: number;
  aofBytes: number;
  /** spawn -> the port accepted a connection. */
  listeningMs: number;
  /** spawn -> first +PONG. */
  pongMs: number;
  loadingReplies: number;
  /** From the server's "DB loaded from append only file: X seconds" line. */
  logSeconds: number | null;
  logRecords: number | null;
  logKeys: number | null;
  dbsize: number;
  error?: string;
}

const LOADED_LINE = /DB loaded from append only file: ([\d.]+) seconds(?: \((\d+) records, [\d.]+ MB\/s, (\d+) keys)?/;

/** Stops the instance, restarts it on its dir and times spawn -> first PONG, polling PING every PONG_POLL_MS. */
async function restart(inst: Instance, round: number): Promise<LoadResult> {
  await stopInstance(inst);
  const aofBytes = dirBytes(inst.dir);
  const spawnedAt = performance.now();
  const next = spawnOn(inst.key, inst.dir, inst.argvFor);
  inst.server = next.server;
  const server = inst.server;
  let conn: RespConnection | null = null;
  let listeningMs = Number.NaN;
  let loadingReplies = 0;
  try {
    for (;;) {
      if (!server.alive()) {
        throw new Error(`${inst.key} exited (code ${server.proc.exitCode}, signal ${server.proc.signalCode}) while loading.\n--- output ---\n${server.log()}`);
      }
      if (performance.now() - spawnedAt > LOAD_TIMEOUT_MS) throw new Error(`${inst.key} did not answer PONG within ${LOAD_TIMEOUT_MS / 1000} s of its start`);
      if (conn === null) {
        try {
          conn = await RespConnection.open(server.port, HOST, 1000);
          if (Number.isNaN(listeningMs)) listeningMs = performance.now() - spawnedAt;
        } catch {
          await Bun.sleep(PONG_POLL_MS);
          continue;
        }
      }
      let reply: RespValue;
      try {
        reply = await withTimeout(conn.command(["PING"]), LOAD_TIMEOUT_MS, `PING to ${inst.key}`);
      } catch {
        conn.close();
        conn = null;
        continue;
      }
      if (reply === "PONG") break;
      if (reply instanceof RespError && reply.message.startsWith("LOADING")) loadingReplies++;
      else throw new Error(`${inst.key}: PING while loading replied ${reply instanceof Error ? `-${reply.message}` : JSON.stringify(reply)}`);
      await Bun.sleep(PONG_POLL_MS);
    }
  } finally {
    conn?.close();
  }
  const pongMs = performance.now() - spawnedAt;
  const line = await awaitLogLine(server, LOADED_LINE, 3000);
  const result: LoadResult = {
    server: inst.key,
    round,
    aofBytes,
    listeningMs,
    pongMs,
    loadingReplies,
    logSeconds: line ? Number(line[1]) : null,
    logRecords: line?.[2] !== undefined ? Number(line[2]) : null,
    logKeys: line?.[3] !== undefined ? Number(line[3]) : null,
    dbsize: await dbsize(inst),
  };
  if (result.dbsize !== datasetKeys) result.error = `DBSIZE ${result.dbsize} after loading, expected ${datasetKeys}`;
  else if (line === null) result.error = `no "DB loaded from append only file" line in the output`;
  log(
    `${inst.key.padEnd(8)} restart ${round}: PONG after ${pongMs.toFixed(0)} ms (listening after ${listeningMs.toFixed(0)} ms, ` +
      `${loadingReplies} -LOADING replies), log ${result.logSeconds ?? "n/a"} s, DBSIZE ${result.dbsize}, AOF ${formatBytes(aofBytes)}` +
      `${result.error ? `  ERROR: ${result.error}` : ""}`,
  );
  return result;
}

// ---------------------------------------------------------------------------
// Phase 3: rewrite under a sequential PING loop
// ---------------------------------------------------------------------------

interface RewriteResult {
  server: ServerKey;
  round: number;
  /** BGREWRITEAOF sent -> INFO first showed no rewrite (INFO polled every INFO_POLL_MS). */
  wallMs: number;
  /** AtomicKV's "Background AOF rewrite finished successfully: K keys, B bytes, M ms". */
  logMs: number | null;
  logKeys: number | null;
  infoRewriteSeconds: number | null;
  latestForkUsec: number | null;
  status: string;
  aofBytesAfter: number;
  during: PingStats;
  before: PingStats;
  /** When the worst PING during the rewrite was sent, ms after BGREWRITEAOF (tells a start, middle or end stall apart). */
  worstAtMs: number;
  /** The PING waits themselves, pooled across rounds for the report (left out of the JSON). */
  duringWaits: number[];
  beforeWaits: number[];
  pingErrors: number;
  error?: string;
}

/** Matched from the line's start, so that its timestamp tells one rewrite's line from the previous one's. */
const REWRITE_LINE = /^.*Background AOF rewrite finished successfully(?:: (\d+) keys, (\d+) bytes, (\d+) ms)?/;

async function rewriteUnderPing(inst: Instance, round: number): Promise<RewriteResult> {
  const probe = await PingProbe.start(inst.server.port, 0);
  const watcher = await RespConnection.open(inst.server.port, HOST);
  const previousLine = (await awaitLogLine(inst.server, REWRITE_LINE, 0))?.[0] ?? null;
  try {
    await Bun.sleep(PING_BASELINE_MS);
    const started = performance.now();
    const reply = await watcher.command(["BGREWRITEAOF"]);
    if (reply instanceof RespError) throw new Error(`${inst.key}: BGREWRITEAOF failed: ${reply.message}`);
    const fields = await waitForRewriteEnd(inst, watcher);
    const finished = performance.now();
    try {
      await probe.stop();
    } catch (err) {
      throw new Error(`${inst.key}: the PING loop failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const line = await awaitLogLine(inst.server, REWRITE_LINE, 3000, previousLine);
    const stats = parseInfo(String(await watcher.command(["INFO", "stats"])));
    const duringWaits: number[] = [];
    const beforeWaits: number[] = [];
    let worstAtMs = Number.NaN;
    let worst = -1;
    for (let i = 0; i < probe.sent.length; i++) {
      const sent = probe.sent[i]!;
      const wait = probe.replied[i]! - sent;
      if (sent + wait <= started) beforeWaits.push(wait);
      else if (sent < finished) {
        duringWaits.push(wait);
        if (wait > worst) {
          worst = wait;
          worstAtMs = sent - started;
        }
      }
    }
    const rewriteSeconds = Number(fields.get("aof_last_rewrite_time_sec"));
    const forkUsec = Number(stats.get("latest_fork_usec"));
    const result: RewriteResult = {
      server: inst.key,
      round,
      wallMs: finished - started,
      logMs: line?.[3] !== undefined ? Number(line[3]) : null,
      logKeys: line?.[1] !== undefined ? Number(line[1]) : null,
      infoRewriteSeconds: Number.isFinite(rewriteSeconds) ? rewriteSeconds : null,
      latestForkUsec: stats.has("latest_fork_usec") && Number.isFinite(forkUsec) ? forkUsec : null,
      status: fields.get("aof_last_bgrewrite_status") ?? "n/a",
      aofBytesAfter: dirBytes(inst.dir),
      during: pingStats(duringWaits, PING_GOAL_MS),
      duringWaits,
      before: pingStats(beforeWaits, PING_GOAL_MS),
      worstAtMs,
      beforeWaits,
      pingErrors: probe.errors,
    };
    if (result.status !== "ok") result.error = `aof_last_bgrewrite_status:${result.status}`;
    else if (result.pingErrors > 0) result.error = `${result.pingErrors} PINGs did not get PONG`;
    else if (line === null) result.error = `no "Background AOF rewrite finished successfully" line in the output`;
    log(
      `${inst.key.padEnd(8)} rewrite ${round}: ${result.wallMs.toFixed(0)} ms` +
        `${result.logMs !== null ? ` (log ${result.logMs} ms, ${result.logKeys} keys)` : ""}` +
        `${result.latestForkUsec !== null ? ` fork ${result.latestForkUsec} us` : ""}; ` +
        `${result.during.count} PINGs during it: p50 ${result.during.p50Ms.toFixed(2)} ms, p99 ${result.during.p99Ms.toFixed(2)} ms, ` +
        `max ${result.during.maxMs.toFixed(2)} ms (sent at +${result.worstAtMs.toFixed(0)} ms), ${result.during.overGoal} over ${PING_GOAL_MS} ms (before: max ${result.before.maxMs.toFixed(2)} ms)` +
        `${result.error ? `  ERROR: ${result.error}` : ""}`,
    );
    return result;
  } finally {
    watcher.close();
    await probe.stop().catch(() => {}); // already stopped, or the error above is the one to report
  }
}

// ---------------------------------------------------------------------------
// Phases 2 and 3 on one dataset per server
// ---------------------------------------------------------------------------

interface DatasetResults {
  fills: FillResult[];
  loads: LoadResult[];
  rewrites: RewriteResult[];
  reloads: LoadResult[];
}

async function datasetPhases(): Promise<DatasetResults> {
  const results: DatasetResults = { fills: [], loads: [], rewrites: [], reloads: [] };
  const oursDir = makeTempDir("atomickv-dataset-");
  const redisDir = makeTempDir("redis-dataset-");
  const instances: Record<ServerKey, Instance> = {
    [OURS]: spawnOn(OURS, oursDir, (p) => oursArgv(p, oursDir, "everysec", OURS_DATASET_ARGS)),
    [REDIS]: spawnOn(REDIS, redisDir, (p) => redisArgv(p, redisDir, "everysec", REDIS_DATASET_ARGS)),
  };
  const orderFor = (round: number): ServerKey[] => (round % 2 === 1 ? [OURS, REDIS] : [REDIS, OURS]);
  try {
    await Promise.all(SERVERS.map((k) => waitForPing(instances[k].server, 60_000)));
    log(`load: filling each server with ${datasetKeys} keys (${FILL_BATCH} pipelined SETs at a time)`);
    for (const key of SERVERS) {
      const result = await fill(instances[key], datasetKeys);
      results.fills.push(result);
      log(`${key.padEnd(8)} filled: DBSIZE ${result.dbsize} in ${result.seconds.toFixed(1)} s (${result.rps.toFixed(0)} SET/s), AOF ${formatBytes(result.aofBytes)}`);
      if (result.dbsize !== datasetKeys) throw new Error(`${key}: DBSIZE ${result.dbsize} after the fill, expected ${datasetKeys}`);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const key of orderFor(round)) results.loads.push(await restart(instances[key], round));
    }
    log(`rewrite: BGREWRITEAOF under a sequential PING loop, ${rounds} round(s) per server`);
    for (let round = 1; round <= rounds; round++) {
      for (const key of orderFor(round)) results.rewrites.push(await rewriteUnderPing(instances[key], round));
    }
    for (const key of SERVERS) results.reloads.push(await restart(instances[key], 1));
  } finally {
    await Promise.all(SERVERS.map((k) => stopProcess(instances[k].server.proc)));
    removeTempDir(oursDir);
    removeTempDir(redisDir);
  }
  return results;
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const fmtInt = (n: number | null) => (n !== null && Number.isFinite(n) ? Math.round(n).toString() : "n/a");
const fmt1 = (n: number | null) => (n !== null && Number.isFinite(n) ? n.toFixed(1) : "n/a");
const fmt2 = (n: number | null) => (n !== null && Number.isFinite(n) ? n.toFixed(2) : "n/a");
const fmt3 = (n: number | null) => (n !== null && Number.isFinite(n) ? n.toFixed(3) : "n/a");
const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "n/a");

/** The filesystem holding `path`, from /proc/mounts (longest matching mount point). */
function filesystemOf(path: string): string {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // report the path as given
  }
  let best = { mount: "", type: "unknown", device: "" };
  try {
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [device, rawMount, type] = line.split(" ");
      if (!device || !rawMount || !type) continue;
      const mount = rawMount.replace(/\\040/g, " ");
      const inside = real === mount || real.startsWith(mount.endsWith("/") ? mount : `${mount}/`);
      if (inside && mount.length >= best.mount.length) best = { mount, type, device };
    }
  } catch {
    // not Linux
  }
  return `${best.type} (${best.device} on ${best.mount || "?"})`;
}

async function sourceState(): Promise<string> {
  const head = await runCommand(["git", "-C", ROOT, "log", "-1", "--format=%h %s"], { timeoutMs: 10_000 });
  const dirty = await runCommand(["git", "-C", ROOT, "status", "--porcelain", "--", "src"], { timeoutMs: 10_000 });
  if (head.code !== 0) return "unknown (not a git checkout)";
  return `${head.stdout.trim()}${dirty.stdout.trim() ? " (src/ has uncommitted changes)" : ""}`;
}

function medianOf<T extends { server: ServerKey }>(rows: readonly T[], server: ServerKey, pick: (r: T) => number | null): number {
  return median(rows.filter((r) => r.server === server).map((r) => pick(r) ?? Number.NaN));
}

function report(
  env: BenchEnvironment,
  source: string,
  tempFs: string,
  fsync: FsyncSummary[] | null,
  dataset: DatasetResults | null,
  elapsedS: number,
): string {
  const out: string[] = [];
  out.push("");
  out.push(`AtomicKV persistence benchmark (${quick ? "--quick, " : ""}${rounds} round(s), medians; ratio = ${OURS}/${REDIS})`);

  if (fsync) {
    out.push("");
    out.push(`SET requests/s with the AOF on (redis-benchmark -t set -c ${THROUGHPUT_CLIENTS} -r ${THROUGHPUT_KEYSPACE}, -n ${requestsP1} at -P 1, ${requestsP16} at -P 16)`);
    out.push("");
    const rows: string[][] = [["appendfsync", "pipeline", `${OURS} rps`, `${REDIS} rps`, "ratio"]];
    for (const s of fsync) rows.push([s.fsync, `-P${s.pipeline}`, fmtInt(s.ours), fmtInt(s.redis), fmtRatio(s.ratio)]);
    out.push(textTable(rows));
    out.push("");
    out.push("per-round requests/s:");
    for (const s of fsync) {
      out.push(`  ${`${s.fsync} -P${s.pipeline}`.padEnd(13)} ${OURS}: ${s.oursRuns.map(fmtInt).join(", ") || "n/a"}   ${REDIS}: ${s.redisRuns.map(fmtInt).join(", ") || "n/a"}`);
    }
  }

  if (dataset) {
    const { fills, loads, rewrites, reloads } = dataset;
    const fillOf = (k: ServerKey) => fills.find((f) => f.server === k);
    const reloadOf = (k: ServerKey) => reloads.find((r) => r.server === k);
    const loadMedian = (k: ServerKey, pick: (r: LoadResult) => number | null) => medianOf(loads, k, pick);
    const rewriteMedian = (k: ServerKey, pick: (r: RewriteResult) => number | null) => medianOf(rewrites, k, pick);
    const pooled = (k: ServerKey) => pingStats(rewrites.filter((r) => r.server === k).flatMap((r) => r.duringWaits), PING_GOAL_MS);
    const pooledBefore = (k: ServerKey) => pingStats(rewrites.filter((r) => r.server === k).flatMap((r) => r.beforeWaits), PING_GOAL_MS);

    out.push("");
    out.push(`AOF load at restart: ${datasetKeys} keys (16-byte keys, 32-byte values), median of ${rounds} restart(s); ratio < 1: ${OURS} faster`);
    out.push("");
    const rows: string[][] = [["", OURS, REDIS, "ratio"]];
    const both = (label: string, f: (k: ServerKey) => number, fmt: (n: number) => string, withRatio = true) =>
      rows.push([label, fmt(f(OURS)), fmt(f(REDIS)), withRatio ? fmtRatio(ratio(f(OURS), f(REDIS))) : ""]);
    both("AOF on disk after the fill", (k) => fillOf(k)?.aofBytes ?? Number.NaN, formatBytes);
    both("spawn -> first PONG, ms", (k) => loadMedian(k, (r) => r.pongMs), fmtInt);
    both("server's own load time, s", (k) => loadMedian(k, (r) => r.logSeconds), fmt3);
    both("spawn -> listening, ms", (k) => loadMedian(k, (r) => r.listeningMs), fmtInt, false);
    both("-LOADING replies while polling", (k) => loadMedian(k, (r) => r.loadingReplies), fmtInt, false);
    both("fill (pipelined SETs), SET/s", (k) => fillOf(k)?.rps ?? Number.NaN, fmtInt, false);
    both("after the rewrite: AOF on disk", (k) => reloadOf(k)?.aofBytes ?? Number.NaN, formatBytes);
    both("after the rewrite: spawn -> PONG, ms", (k) => reloadOf(k)?.pongMs ?? Number.NaN, fmtInt);
    out.push(textTable(rows));

    out.push("");
    out.push(`AOF rewrite of the ${datasetKeys} keys, a sequential PING loop running (${rounds} rewrite(s) each; PING goal: worst < ${PING_GOAL_MS} ms)`);
    out.push("");
    const rw: string[][] = [["", OURS, REDIS]];
    const pair = (label: string, f: (k: ServerKey) => string) => rw.push([label, f(OURS), f(REDIS)]);
    pair("BGREWRITEAOF -> INFO done, ms (median)", (k) => fmtInt(rewriteMedian(k, (r) => r.wallMs)));
    pair("server's own figure (median; redis: whole s)", (k) =>
      k === OURS ? `${fmtInt(rewriteMedian(k, (r) => r.logMs))} ms (log)` : `${fmtInt(rewriteMedian(k, (r) => r.infoRewriteSeconds))} s (INFO)`,
    );
    pair("PINGs during the rewrites", (k) => fmtInt(pooled(k).count));
    pair("PING wait p50, ms", (k) => fmt2(pooled(k).p50Ms));
    pair("PING wait p99, ms", (k) => fmt2(pooled(k).p99Ms));
    pair("PING wait worst, ms", (k) => fmt2(pooled(k).maxMs));
    pair(`PING waits over ${PING_GOAL_MS} ms`, (k) => fmtInt(pooled(k).overGoal));
    pair(`idle reference (${PING_BASELINE_MS} ms before): p99 / worst`, (k) => `${fmt2(pooledBefore(k).p99Ms)} / ${fmt2(pooledBefore(k).maxMs)}`);
    pair("fork, latest_fork_usec (median)", (k) => fmtInt(rewriteMedian(k, (r) => r.latestForkUsec)));
    out.push(textTable(rw));

    out.push("");
    out.push("per restart: spawn -> PONG ms / server's load s / DBSIZE");
    for (const k of SERVERS) {
      out.push(`  ${k.padEnd(8)} ${loads.filter((r) => r.server === k).map((r) => `${fmtInt(r.pongMs)} / ${fmt3(r.logSeconds)} / ${r.dbsize}`).join(";  ")}`);
    }
    out.push("per rewrite: wall ms / server's figure / PING p99 ms / PING worst ms (sent at +ms) / PINGs");
    for (const k of SERVERS) {
      out.push(
        `  ${k.padEnd(8)} ` +
          rewrites
            .filter((r) => r.server === k)
            .map((r) => `${fmtInt(r.wallMs)} / ${k === OURS ? `${fmtInt(r.logMs)} ms` : `${fmtInt(r.infoRewriteSeconds)} s`} / ${fmt2(r.during.p99Ms)} / ${fmt2(r.during.maxMs)} (+${fmtInt(r.worstAtMs)}) / ${r.during.count}`)
            .join(";  "),
      );
    }
  }

  out.push("");
  out.push("commands:");
  out.push(`  ${OURS}:  ${shellQuote(oursArgv("P", "TMP", "MODE"))}   (built with \`bun run build\`)`);
  out.push(`  ${REDIS}:     ${shellQuote(redisArgv("P", "TMP", "MODE"))}`);
  if (fsync) {
    for (const p of PIPELINES) out.push(`  fsync: ${shellQuote(throughputArgs("PORT", p))}   (MODE = ${FSYNC_MODES.join(", ")}; x${rounds} per server, alternating, FLUSHALL + BGREWRITEAOF before each)`);
  }
  if (dataset) {
    out.push(`  load and rewrite: MODE = everysec, plus ${OURS}: ${shellQuote(OURS_DATASET_ARGS)}; ${REDIS}: ${shellQuote(REDIS_DATASET_ARGS)}`);
    out.push(`    fill: ${datasetKeys} x SET key:%0${KEY_DIGITS}d value:%0${VALUE_DIGITS}d over one connection, ${FILL_BATCH} per pipeline`);
    out.push(`    load: SIGTERM, restart on the same dir, PING every ${PONG_POLL_MS} ms over one connection until +PONG`);
    out.push(`    rewrite: PING loop on one connection for ${PING_BASELINE_MS} ms, then BGREWRITEAOF; INFO persistence every ${INFO_POLL_MS} ms until aof_rewrite_in_progress:0`);
  }
  out.push("");
  out.push("environment:");
  out.push(`  redis-server ${env.redisServerVersion} (${env.redisServerVersionLine})`);
  out.push(`  ${env.redisBenchmarkVersion}`);
  out.push(`  nproc ${env.nproc}, CPU ${env.cpuModel}, Linux ${env.kernel}, Bun ${env.bunVersion}`);
  out.push(`  source: ${source}`);
  out.push(`  temp dirs: ${tmpdir()} on ${tempFs}`);
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
  await ensureServerBinary(ROOT, !opts["no-build"], log);
  const env = await benchEnvironment();
  const source = await sourceState();
  const tempFs = filesystemOf(tmpdir());
  log(`redis-server ${env.redisServerVersion}, nproc ${env.nproc}; source ${source}; temp dirs on ${tempFs}`);
  if (/^tmpfs|^ramfs/.test(tempFs)) log(`warning: ${tmpdir()} is in memory, so fsync costs nothing there; set TMPDIR to a directory on a disk`);

  const fsync = doFsync ? await fsyncPhase() : null;
  const dataset = doDataset ? await datasetPhases() : null;
  const elapsedS = (performance.now() - started) / 1000;

  console.log(report(env, source, tempFs, fsync?.summary ?? null, dataset, elapsedS));

  const errors = [
    ...(fsync?.runs.filter((r) => r.error).map((r) => `${r.server} appendfsync ${r.fsync} -P${r.pipeline} round ${r.round}: ${r.error}`) ?? []),
    ...(dataset?.loads.filter((r) => r.error).map((r) => `${r.server} restart ${r.round}: ${r.error}`) ?? []),
    ...(dataset?.rewrites.filter((r) => r.error).map((r) => `${r.server} rewrite ${r.round}: ${r.error}`) ?? []),
    ...(dataset?.reloads.filter((r) => r.error).map((r) => `${r.server} restart after the rewrites: ${r.error}`) ?? []),
  ];
  if (errors.length > 0) {
    console.log("\nerrors:");
    for (const e of errors) console.log(`  ${e}`);
  }

  if (jsonFile !== undefined) {
    const nanToNull = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
    const json = {
      env,
      source,
      tempDirs: { path: tmpdir(), filesystem: tempFs },
      config: {
        quick,
        rounds,
        requests: { P1: requestsP1, P16: requestsP16 },
        throughputKeyspace: THROUGHPUT_KEYSPACE,
        throughputClients: THROUGHPUT_CLIENTS,
        datasetKeys,
        serverCmd: shellQuote(oursArgv("PORT", "TMP", "MODE")),
        redisCmd: shellQuote(redisArgv("PORT", "TMP", "MODE")),
        datasetArgs: { [OURS]: OURS_DATASET_ARGS, [REDIS]: REDIS_DATASET_ARGS },
      },
      fsync,
      dataset: dataset && { ...dataset, rewrites: dataset.rewrites.map(({ duringWaits: _d, beforeWaits: _b, ...rest }) => rest) },
      errors,
      elapsedSeconds: elapsedS,
    };
    await Bun.write(resolve(process.cwd(), jsonFile), JSON.stringify(json, nanToNull, 2) + "\n");
    log(`wrote ${jsonFile}`);
  }
  if (errors.length > 0) process.exitCode = 1;
}

main().catch(async (err: unknown) => {
  console.error(`\nbench:persistence failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanupAll();
  process.exit(1);
});

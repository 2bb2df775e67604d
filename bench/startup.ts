/**
 * `bun bench/startup.ts [--rounds N] [--no-build]`: what shipping costs.
 * Binary sizes (./atomic_server, the dist/ release binaries when built,
 * redis-server's executable), and the time from exec to the first PONG
 * for ./atomic_server and redis-server, alternating, each start with a
 * fresh empty data directory and the AOF on (everysec), medians and p90
 * over the rounds, plus resident memory once answering.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import {
  benchEnvironment,
  cleanupAll,
  ensureRedisTools,
  ensureServerBinary,
  formatBytes,
  freePorts,
  installCleanupHandlers,
  makeTempDir,
  median,
  parseBenchArgs,
  percentile,
  positiveInt,
  ratio,
  readRss,
  removeTempDir,
  respCommand,
  startServer,
  stopProcess,
  textTable,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const log = (msg: string) => console.error(`[bench:startup] ${msg}`);

const values = parseBenchArgs("bun bench/startup.ts [--rounds N] [--no-build]", {
  rounds: { type: "string", default: "20" },
  "no-build": { type: "boolean", default: false },
});
const rounds = positiveInt("--rounds", values.rounds!);

installCleanupHandlers();
await ensureRedisTools(log);
await ensureServerBinary(ROOT, !values["no-build"], log);

type Name = "atomic_server" | "redis-server";
const argvFor = (name: Name, port: number, dir: string): string[] =>
  name === "atomic_server"
    ? [resolve(ROOT, "atomic_server"), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec"]
    : ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no"];

/** Starts the server and returns milliseconds from spawn to the first PONG, and its RSS then. */
async function startOnce(name: Name): Promise<{ ms: number; rss: number }> {
  const [port] = freePorts(1);
  const dir = makeTempDir(`startup-${name}`);
  const started = performance.now();
  const server = startServer(name, argvFor(name, port!, dir), port!);
  try {
    for (;;) {
      if (!server.alive()) throw new Error(`${name} exited before answering PING:\n${server.log()}`);
      const reply = await respCommand(port!, ["PING"], { timeoutMs: 1000 }).catch(() => null);
      if (reply === "PONG") break;
      await Bun.sleep(1);
    }
    const ms = performance.now() - started;
    return { ms, rss: readRss(server.proc.pid) };
  } finally {
    await stopProcess(server.proc);
    removeTempDir(dir);
  }
}

const samples: Record<Name, { ms: number[]; rss: number[] }> = {
  atomic_server: { ms: [], rss: [] },
  "redis-server": { ms: [], rss: [] },
};
try {
  for (let round = 0; round < rounds; round++) {
    // Alternate which one goes first, so neither always gets the warmer page cache.
    const order: Name[] = round % 2 === 0 ? ["atomic_server", "redis-server"] : ["redis-server", "atomic_server"];
    for (const name of order) {
      const { ms, rss } = await startOnce(name);
      samples[name].ms.push(ms);
      samples[name].rss.push(rss);
    }
  }
} finally {
  await cleanupAll();
}

const size = (path: string) => (existsSync(path) ? formatBytes(statSync(path).size) : "not built");
const redisBinary = realpathSync(Bun.which("redis-server")!);
const env = await benchEnvironment();
const ours = samples.atomic_server;
const redis = samples["redis-server"];
console.log(`# startup (${rounds} rounds each, alternating; ${env.cpuModel}, ${env.nproc} cores, bun ${env.bunVersion}, ${env.redisServerVersionLine})`);
console.log(
  textTable([
    ["", "atomic_server", "redis-server", "ratio"],
    ["exec -> first PONG, median (ms)", median(ours.ms).toFixed(1), median(redis.ms).toFixed(1), ratio(median(ours.ms), median(redis.ms)).toFixed(2)],
    ["exec -> first PONG, p90 (ms)", percentile(ours.ms, 90).toFixed(1), percentile(redis.ms, 90).toFixed(1), ratio(percentile(ours.ms, 90), percentile(redis.ms, 90)).toFixed(2)],
    ["RSS at first PONG, median", formatBytes(median(ours.rss)), formatBytes(median(redis.rss)), ratio(median(ours.rss), median(redis.rss)).toFixed(1)],
  ]),
);
console.log();
console.log(
  textTable([
    ["binary", "size"],
    ["./atomic_server", size(resolve(ROOT, "atomic_server"))],
    ["dist/atomic_server-linux-x64", size(resolve(ROOT, "dist/atomic_server-linux-x64"))],
    ["dist/atomic_server-linux-arm64", size(resolve(ROOT, "dist/atomic_server-linux-arm64"))],
    [`redis-server (${redisBinary}, plus shared libraries)`, size(redisBinary)],
  ]),
);

/**
 * A/B of two builds of the server under the same load, to measure what a
 * change costs on the request path:
 *
 *   bun bench/ab.ts --a <git-rev | binary> --b <git-rev | binary> [--rounds N]
 *                   [--requests N1,N16] [--appendonly yes|no]
 *
 * A git revision is built into a temporary worktree with scripts/build.ts;
 * a path is used as it is. Both run with the same options (AOF on with
 * everysec by default, each in its own temp dir); each round runs
 * `redis-benchmark -t set,get -c 50 -r 100000` at -P 1 and -P 16 against A
 * then B, then B then A in the next round (so neither always goes first).
 * Prints every round and the medians, and B/A.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  cleanupAll,
  ensureRedisTools,
  fail,
  freePorts,
  installCleanupHandlers,
  makeTempDir,
  median,
  parseBenchArgs,
  parseBenchmarkOutput,
  positiveInt,
  removeTempDir,
  requestCounts,
  respCommand,
  runCommand,
  startServer,
  stopProcess,
  textTable,
  waitForPing,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const USAGE = "usage: bun bench/ab.ts --a <git-rev|binary> --b <git-rev|binary> [--rounds N] [--requests N1,N16] [--appendonly yes|no]";
const opts = parseBenchArgs(USAGE, {
  a: { type: "string" },
  b: { type: "string" },
  rounds: { type: "string", default: "5" },
  requests: { type: "string" },
  appendonly: { type: "string", default: "yes" },
  help: { type: "boolean", short: "h", default: false },
});
if (opts.a === undefined || opts.b === undefined) fail("--a and --b are required");
if (opts.appendonly !== "yes" && opts.appendonly !== "no") fail("--appendonly takes yes or no");
const rounds = positiveInt("--rounds", opts.rounds!);
const [requestsP1, requestsP16] = requestCounts(opts.requests, [200_000, 1_000_000]);
const log = (msg: string) => console.error(`[bench:ab] ${msg}`);

const scratch = mkdtempSync(join(tmpdir(), "atomickv-ab-"));

/** A binary for `spec`: the file itself, or the build of that git revision. */
async function binaryFor(spec: string, label: string): Promise<string> {
  if (existsSync(spec)) return resolve(spec);
  const tree = join(scratch, label);
  const add = await runCommand(["git", "worktree", "add", "--detach", tree, spec], { cwd: ROOT });
  if (add.code !== 0) fail(`${spec} is neither a file nor a git revision: ${add.stderr.trim()}`);
  log(`building ${spec} in ${tree}`);
  const build = await runCommand([process.execPath, "scripts/build.ts"], { cwd: tree });
  if (build.code !== 0) fail(`building ${spec} failed:\n${build.stdout}${build.stderr}`);
  return join(tree, "atomic_server");
}

async function removeWorktrees(): Promise<void> {
  for (const label of ["a", "b"]) {
    if (existsSync(join(scratch, label))) await runCommand(["git", "worktree", "remove", "--force", join(scratch, label)], { cwd: ROOT });
  }
  rmSync(scratch, { recursive: true, force: true });
}

installCleanupHandlers();
await ensureRedisTools(log);
const binaries = { A: await binaryFor(opts.a, "a"), B: await binaryFor(opts.b, "b") };
type Side = keyof typeof binaries;
const results: Record<string, number[]> = {};

async function measure(side: Side, round: number): Promise<void> {
  const [port] = freePorts(1);
  const dir = makeTempDir(`ab-${side}`);
  const server = startServer(side, [binaries[side], "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", opts.appendonly!], port!);
  try {
    await waitForPing(server, 60_000);
    for (const pipeline of [1, 16]) {
      await respCommand(port!, ["FLUSHALL"]);
      const n = pipeline === 1 ? requestsP1 : requestsP16;
      const run = await runCommand(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "-t", "set,get", "-c", "50", "-r", "100000", "-n", String(n), "-P", String(pipeline), "-q", "--csv"],
        { timeoutMs: 300_000 },
      );
      for (const [test, row] of parseBenchmarkOutput(run.stdout)) {
        (results[`${side} ${test} -P${pipeline}`] ??= []).push(row.rps);
        log(`round ${round + 1} ${side} ${test} -P${pipeline}: ${Math.round(row.rps)}`);
      }
    }
  } finally {
    await stopProcess(server.proc);
    removeTempDir(dir);
  }
}

try {
  for (let round = 0; round < rounds; round++) {
    for (const side of (round % 2 === 0 ? ["A", "B"] : ["B", "A"]) as Side[]) await measure(side, round);
  }
} finally {
  await cleanupAll();
  await removeWorktrees();
}

console.log(`# A = ${opts.a}, B = ${opts.b}; appendonly ${opts.appendonly}; ${rounds} rounds, alternating; medians of requests/s`);
const rows = [["", "A", "B", "B/A", "rounds A", "rounds B"]];
for (const test of ["SET -P1", "GET -P1", "SET -P16", "GET -P16"]) {
  const a = results[`A ${test}`] ?? [];
  const b = results[`B ${test}`] ?? [];
  rows.push([test, Math.round(median(a)).toString(), Math.round(median(b)).toString(), (median(b) / median(a)).toFixed(3), a.map(Math.round).join(" "), b.map(Math.round).join(" ")]);
}
console.log(textTable(rows));

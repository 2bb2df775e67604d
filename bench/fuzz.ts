/**
 * The long fuzz run: `bun bench/fuzz.ts [--inputs N] [--seed S]` starts
 * ./atomic_server (built when missing) on a free port and throws N hostile
 * connections at it (test/fuzz/live.ts) while a good client checks its own
 * keys. Prints inputs tried, bytes, good checks, wrong answers, whether
 * the server died, its resident memory and whether the AOF it left is
 * valid (--check-aof); exit 1 if anything went wrong.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fuzzLiveServer } from "../test/fuzz/live.ts";
import { freePort, waitForPing } from "../test/helpers/server.ts";

const { values } = parseArgs({ options: { inputs: { type: "string", default: "20000" }, seed: { type: "string", default: "1" } } });
const inputs = Number(values.inputs);
const seed = Number(values.seed);
const root = resolve(import.meta.dir, "..");
const binary = join(root, "atomic_server");
if (!existsSync(binary) && Bun.spawnSync([process.execPath, "run", "build"], { cwd: root, stdout: "inherit", stderr: "inherit" }).exitCode !== 0) process.exit(1);

const dir = mkdtempSync(join(tmpdir(), "atomickv-fuzz-"));
const port = await freePort();
const proc = Bun.spawn([binary, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir], { stdout: "ignore", stderr: "pipe" });
try {
  await waitForPing(port);
  const started = performance.now();
  const report = await fuzzLiveServer(port, proc.pid, inputs, seed);
  const seconds = (performance.now() - started) / 1000;
  proc.kill("SIGTERM");
  const code = await proc.exited;
  const logs = await new Response(proc.stderr).text();
  const bugs = logs.split("\n").filter((l) => /threw|reading from .* failed/.test(l));
  // What the hostile traffic left in the AOF must load back (a frame is logged as it arrived).
  const check = Bun.spawnSync([binary, "--check-aof", join(dir, "appendonly.aof")]);
  const aofValid = check.exitCode === 0;
  const aofReport = `${check.stdout}${check.stderr}`.trim().split("\n").slice(-2).join(" ");
  const mib = (n: number) => (n / (1024 * 1024)).toFixed(1);
  console.log(
    [
      `inputs tried:        ${report.inputs} hostile connections (seed ${seed}), ${mib(report.bytesSent)} MiB, ${seconds.toFixed(1)} s`,
      `good client checks:  ${report.goodChecks}, wrong answers: ${report.wrongAnswers.length}`,
      `server crashed:      ${report.serverDied ? "YES" : "no"} (exit code at SIGTERM: ${code})`,
      `bugs in the log:     ${bugs.length}${bugs.length ? `\n  ${bugs.slice(0, 5).join("\n  ")}` : ""}`,
      `resident memory:     ${mib(report.rssStartBytes)} MiB at start, ${mib(report.rssMaxBytes)} MiB at most`,
      `AOF after the run:   ${aofReport}`,
    ].join("\n"),
  );
  process.exitCode = report.serverDied || report.wrongAnswers.length > 0 || bugs.length > 0 || code !== 0 || !aofValid ? 1 : 0;
} finally {
  proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

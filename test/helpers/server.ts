import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Starts a real AtomicKV server for a test: from source (`bun src/main.ts`),
 * or the built binary when ATOMICKV_BINARY names it (CI runs the end-to-end
 * suite both ways). Each server gets a free loopback port and its own
 * data directory.
 */

const ROOT = resolve(import.meta.dir, "../..");

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly proc: Subprocess;
  /** Everything the server wrote to stderr so far. */
  logs(): string;
  /** SIGTERM, wait for exit, remove the data directory (unless the caller gave it); returns the exit code. */
  stop(): Promise<number>;
  /** Sends a signal (SIGKILL: a crash) and waits for the exit; the data directory stays. */
  kill(signal?: NodeJS.Signals): Promise<number>;
}

export function serverCommand(): string[] {
  const binary = process.env.ATOMICKV_BINARY;
  return binary ? [resolve(ROOT, binary)] : [process.execPath, join(ROOT, "src/main.ts")];
}

/**
 * Ports below the kernel's ephemeral range: a port the kernel handed out
 * (port 0) can become the local port of any outgoing connection between the
 * probe and the server's bind, and the server then fails with EADDRINUSE
 * (seen in CI: a metrics port taken by a test's own client socket).
 */
const PORT_RANGE = (() => {
  let ephemeralStart = 32768;
  try {
    ephemeralStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {}
  return { low: 10_000, high: Math.max(10_000, ephemeralStart - 1) };
})();
/** Ports already handed to a test in this process: two calls before either server binds get different ones. */
const handedOut = new Set<number>();

/** A loopback port nothing listens on, outside the ephemeral range when there is room below it. */
export async function freePort(): Promise<number> {
  const span = PORT_RANGE.high - PORT_RANGE.low;
  for (let attempt = 0; attempt < 100 && span >= 1000; attempt++) {
    const port = PORT_RANGE.low + Math.floor(Math.random() * span);
    if (handedOut.has(port)) continue;
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    } catch {
      continue; // in use
    }
    handedOut.add(port);
    return port;
  }
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** Resolves when a TCP connection to the port succeeds and PING is answered. */
export async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((done) => {
      let settled = false;
      const finish = (v: boolean) => {
        if (!settled) {
          settled = true;
          done(v);
        }
      };
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.write("*1\r\n$4\r\nPING\r\n");
          },
          data(s, d) {
            // A server that wants AUTH answers too: it is up.
            const reply = d.toString();
            finish(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
            s.end();
          },
          close() {
            finish(false);
          },
          connectError() {
            finish(false);
          },
          error() {
            finish(false);
          },
        },
      }).catch(() => finish(false));
      setTimeout(() => finish(false), 500);
    });
    if (ok) return;
    await Bun.sleep(25);
  }
  throw new Error(`server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

const running = new Set<Subprocess>();

/** Kills servers that tests started and did not stop (a failed assertion skips the stop). */
export function killLeftoverServers(): void {
  for (const proc of running) proc.kill("SIGKILL");
  running.clear();
}

/** A fresh data directory; the caller removes it. */
export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), "atomickv-test-"));
}

/** Runs `body` with a fresh data directory (for servers restarted on it), removed afterwards. */
export async function withDataDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeDataDir();
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a server and waits until it answers PING (after loading its AOF).
 * `dir` reuses a data directory (a restart); the caller then owns it.
 */
export async function startServer(
  args: string[] = [],
  options: { env?: Record<string, string>; dir?: string; port?: number; configFile?: string } = {},
): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? makeDataDir();
  let stderr = "";
  const configFile = options.configFile === undefined ? [] : [options.configFile];
  const proc = Bun.spawn([...serverCommand(), ...configFile, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) stderr += decoder.decode(chunk);
  })();
  try {
    await Promise.race([
      waitForPing(port),
      proc.exited.then((code) => {
        throw new Error(`server exited with ${code} before answering: ${stderr}`);
      }),
    ]);
  } catch (err) {
    proc.kill("SIGKILL");
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: "127.0.0.1",
    port,
    dir,
    proc,
    logs: () => stderr,
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const code = await proc.exited;
      clearTimeout(timer);
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
    async kill(signal = "SIGKILL") {
      proc.kill(signal);
      return await proc.exited;
    },
  };
}

/** Runs the server with arguments that should make it refuse to start. */
export async function runToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...serverCommand(), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

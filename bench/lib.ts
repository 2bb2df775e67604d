/**
 * Reusable helpers for the benchmark scripts: free ports, a tiny RESP client
 * (one-shot and persistent), PING polling, process-tree RSS, child-process
 * and temp-dir bookkeeping and cleanup, redis-benchmark output parsing, the
 * setup shared by the load and persistence benchmarks, and small statistics.
 *
 * Linux-only where /proc is involved (RSS and process trees).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Socket, Subprocess } from "bun";

/** The two servers every comparison runs, by the names the scripts print. */
export const HOST = "127.0.0.1";
export const OURS = "atomickv";
export const REDIS = "redis";
export type ServerKey = typeof OURS | typeof REDIS;
export const SERVERS: readonly ServerKey[] = [OURS, REDIS];

// ---------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------

/** Median of the finite values in `values`; NaN when there are none. */

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** The p-th percentile (0-100, nearest rank) of the finite values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * xs.length);
  return xs[Math.min(xs.length - 1, Math.max(0, rank - 1))]!;
}

/** `a / b`, or NaN when either side is missing or b is 0. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return a / b;
}

/** Formats bytes as `12.3 MiB` for human-readable logs. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "n/a";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// ---------------------------------------------------------------------------
// Ports and a minimal RESP client
// ---------------------------------------------------------------------------

/**
 * Returns `count` distinct free loopback ports, found by binding port 0 with
 * Bun.listen (all listeners are held open together so the ports differ) and
 * closing them again. Racy by nature, but good enough on a quiet machine.
 */
export function freePorts(count: number, hostname = "127.0.0.1"): number[] {
  const listeners: { port: number; stop(closeActive?: boolean): void }[] = [];
  try {
    for (let i = 0; i < count; i++) {
      listeners.push(
        Bun.listen({ hostname, port: 0, socket: { data() {} } }),
      );
    }
    return listeners.map((l) => l.port);
  } finally {
    for (const l of listeners) l.stop(true);
  }
}

/** `promise`, or a rejection naming `what` once `ms` have passed first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RespError";
  }
}

export type RespValue = string | number | bigint | boolean | null | RespError | RespValue[];

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Uint8Array {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return Buffer.from(out);
}

/**
 * Parses one RESP2/RESP3 reply starting at `pos`. Returns null when `buf` does
 * not yet hold a complete reply.
 */
export function parseReply(buf: Buffer, pos = 0): { value: RespValue; next: number } | null {
  if (pos >= buf.length) return null;
  const lineEnd = buf.indexOf("\r\n", pos);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString("utf8", pos + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, next: after };
    case "-":
      return { value: new RespError(line), next: after };
    case ":":
      return { value: Number(line), next: after };
    case "(":
      return { value: BigInt(line), next: after };
    case ",":
      return { value: Number(line), next: after };
    case "#":
      return { value: line === "t", next: after };
    case "_":
      return { value: null, next: after };
    case "$":
    case "=":
    case "!": {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return null;
      const text = buf.toString("utf8", after, after + len);
      return { value: type === "!" ? new RespError(text) : text, next: after + len + 2 };
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      let count = Number(line);
      if (count < 0) return { value: null, next: after };
      if (type === "%") count *= 2;
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} in ${JSON.stringify(buf.toString("utf8", pos, Math.min(buf.length, pos + 40)))}`);
  }
}

/**
 * Opens a TCP connection, sends one command, resolves with its reply and closes.
 * Rejects on connection failure, premature close or timeout.
 */
export function respCommand(
  port: number,
  args: readonly string[],
  opts: { hostname?: string; timeoutMs?: number } = {},
): Promise<RespValue> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise<RespValue>((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    let sock: { end(): void } | null = null;
    const finish = (err: Error | null, value?: RespValue) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        sock?.end();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`${args[0]} to ${hostname}:${port} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    Bun.connect({
      hostname,
      port,
      socket: {
        open(socket) {
          sock = socket;
          socket.write(encodeCommand(args));
        },
        data(_socket, chunk) {
          buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
          try {
            const reply = parseReply(buf);
            if (reply) finish(null, reply.value);
          } catch (err) {
            finish(err as Error);
          }
        },
        close() {
          finish(new Error(`connection to ${hostname}:${port} closed before a reply to ${args[0]}`));
        },
        error(_socket, err) {
          finish(err);
        },
        connectError(_socket, err) {
          finish(err);
        },
      },
    }).then(
      (socket) => {
        sock = socket;
        if (settled) socket.end();
      },
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

/**
 * One long-lived connection that sends commands and matches replies to them
 * in order: for pipelined bulk loads (`pipeline`) and for sequential
 * request/reply loops whose round trips are timed (`command`). Error replies
 * resolve as RespError values; a closed or failed connection rejects every
 * request still waiting.
 */
export class RespConnection {
  private socket: Socket<undefined> | null = null;
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes the socket did not take yet; written on drain. */
  private unsent: Buffer[] = [];
  private readonly waiting: { remaining: number; replies: RespValue[]; resolve(r: RespValue[]): void; reject(e: Error): void }[] = [];
  private failure: Error | null = null;

  private constructor(readonly port: number, readonly hostname: string) {}

  static async open(port: number, hostname = "127.0.0.1", timeoutMs = 5000): Promise<RespConnection> {
    const conn = new RespConnection(port, hostname);
    const connecting = Bun.connect({
      hostname,
      port,
      socket: {
        data: (_socket, chunk) => conn.onData(chunk),
        drain: (socket) => conn.flushUnsent(socket),
        close: () => conn.fail(new Error(`connection to ${hostname}:${port} closed`)),
        error: (_socket, err) => conn.fail(err),
        connectError: (_socket, err) => conn.fail(err),
      },
    });
    try {
      conn.socket = await withTimeout(connecting, timeoutMs, `connecting to ${hostname}:${port}`);
    } catch (err) {
      connecting.then((socket) => socket.end(), () => {});
      throw err;
    }
    return conn;
  }

  /** Sends one command and resolves with its reply. */
  async command(args: readonly string[]): Promise<RespValue> {
    return (await this.pipeline(encodeCommand(args), 1))[0]!;
  }

  /** Writes `frames` (`count` encoded commands) at once and resolves with their `count` replies, in order. */
  pipeline(frames: Uint8Array, count: number): Promise<RespValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.socket) return Promise.reject(new Error(`connection to ${this.hostname}:${this.port} is not open`));
    const promise = new Promise<RespValue[]>((resolvePromise, reject) => {
      this.waiting.push({ remaining: count, replies: [], resolve: resolvePromise, reject });
    });
    if (this.unsent.length > 0) this.unsent.push(Buffer.from(frames));
    else {
      const written = this.socket.write(frames);
      if (written < frames.length) this.unsent.push(Buffer.from(frames.subarray(Math.max(0, written))));
    }
    return promise;
  }

  close(): void {
    try {
      this.socket?.end();
    } catch {
      // already closed
    }
    this.fail(new Error(`connection to ${this.hostname}:${this.port} closed by us`));
  }

  private flushUnsent(socket: Socket<undefined>): void {
    while (this.unsent.length > 0) {
      const head = this.unsent[0]!;
      const written = socket.write(head);
      if (written >= head.length) this.unsent.shift();
      else {
        this.unsent[0] = head.subarray(Math.max(0, written));
        return;
      }
    }
  }

  private onData(chunk: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    while (this.waiting.length > 0) {
      let reply: ReturnType<typeof parseReply>;
      try {
        reply = parseReply(this.buf, pos);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      if (!reply) break;
      pos = reply.next;
      const head = this.waiting[0]!;
      head.replies.push(reply.value);
      if (--head.remaining === 0) {
        this.waiting.shift();
        head.resolve(head.replies);
      }
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}

/** Parses INFO output (`key:value` lines) into a map. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const idx = line.indexOf(":");
    if (idx > 0) out.set(line.slice(0, idx), line.slice(idx + 1));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/** Every child process we started and have not reaped yet. */
const liveProcesses = new Set<Subprocess>();
/** Every temp dir we made and have not removed yet. */
const tempDirs = new Set<string>();

/** A fresh directory under the system temp dir ($TMPDIR or /tmp), removed by removeTempDir or at exit. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a dir made by makeTempDir; stop the processes writing into it first. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function track(proc: Subprocess): void {
  liveProcesses.add(proc);
  void proc.exited.then(() => liveProcesses.delete(proc));
}

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** User + system CPU time so far, in clock ticks (USER_HZ, 100 a second on Linux). */
  ticks: number;
}

/** Every process's /proc/PID/stat, parsed; empty where there is no /proc. */
function procStats(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ..." -- comm may contain spaces and parens.
    const close = stat.lastIndexOf(")");
    const rest = stat.slice(close + 2).split(" ");
    out.push({ pid: Number(name), comm: stat.slice(stat.indexOf("(") + 1, close), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
  }
  return out;
}

/** pid -> children pids. */
function childrenMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const { pid, ppid } of procStats()) {
    const list = map.get(ppid);
    if (list) list.push(pid);
    else map.set(ppid, [pid]);
  }
  return map;
}

export interface BusyProcess {
  pid: number;
  comm: string;
  /** Share of one CPU it used while sampled (1 = a whole core). */
  cpu: number;
}

/**
 * The processes other than this one that used at least `minCpu` of a core
 * over `sampleMs`. A benchmark on a shared two-core machine is only as good
 * as the quiet around it: a load generator left spinning by an earlier run
 * takes a core from both servers, and only the load average hinted at it.
 */
export async function busyProcesses(sampleMs = 1000, minCpu = 0.1): Promise<BusyProcess[]> {
  const before = new Map(procStats().map((p) => [p.pid, p.ticks]));
  const start = performance.now();
  await Bun.sleep(sampleMs);
  const seconds = (performance.now() - start) / 1000;
  const busy: BusyProcess[] = [];
  for (const p of procStats()) {
    const ticks0 = before.get(p.pid);
    if (ticks0 === undefined || p.pid === process.pid) continue;
    const cpu = (p.ticks - ticks0) / 100 / seconds;
    if (cpu >= minCpu) busy.push({ pid: p.pid, comm: p.comm, cpu });
  }
  return busy.sort((a, b) => b.cpu - a.cpu);
}

/** "redis-benchmark (pid 3502) 91%, ..." or "none". */
export function describeBusy(busy: readonly BusyProcess[]): string {
  if (busy.length === 0) return "none";
  return busy.map((p) => `${p.comm} (pid ${p.pid}) ${Math.round(p.cpu * 100)}%`).join(", ");
}

/** `pid` followed by all of its live descendants (breadth-first). */
export function processTree(pid: number): number[] {
  const children = childrenMap();
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const child of children.get(out[i]!) ?? []) out.push(child);
  }
  return out;
}

/** Reads a `Vm*` field (kB in the file) of /proc/PID/status, in bytes; NaN if unavailable. */
export function readProcStatusBytes(pid: number, field = "VmRSS"): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of one process (VmRSS), in bytes. */
export function readRss(pid: number): number {
  return readProcStatusBytes(pid, "VmRSS");
}

/**
 * Resident memory of a process plus all of its descendants, in bytes (so that
 * a wrapper such as `bun run start` or a forking server is measured whole).
 */
export function readTreeRss(pid: number): number {
  let total = 0;
  let any = false;
  for (const p of processTree(pid)) {
    const rss = readRss(p);
    if (Number.isFinite(rss)) {
      total += rss;
      any = true;
    }
  }
  return any ? total : Number.NaN;
}

/** Sends `signal` to a process and all its descendants (collected first). */
export function killTree(pid: number, signal: NodeJS.Signals | number = "SIGTERM"): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM the tree, wait up to `graceMs`, then SIGKILL whatever is left. */
export async function stopProcess(proc: Subprocess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    liveProcesses.delete(proc);
    return;
  }
  const tree = processTree(proc.pid);
  for (const p of tree) {
    try {
      process.kill(p, "SIGTERM");
    } catch {
      // already gone
    }
  }
  // A timer we clear, not Bun.sleep: a pending sleep would keep the event loop (and the script) alive for graceMs.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    proc.exited.then(() => true),
    new Promise<boolean>((resolveGrace) => {
      timer = setTimeout(() => resolveGrace(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  for (const p of exited ? tree.slice(1) : tree) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await proc.exited;
  liveProcesses.delete(proc);
}

/** Stops every tracked child process. */
export async function cleanupAll(graceMs = 3000): Promise<void> {
  await Promise.all([...liveProcesses].map((p) => stopProcess(p, graceMs)));
}

let handlersInstalled = false;

/**
 * Makes sure tracked children die with us and temp dirs go: SIGKILL and rm on
 * process exit (sync), graceful stop then exit on SIGINT / SIGTERM / SIGHUP.
 */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    for (const proc of liveProcesses) killTree(proc.pid, "SIGKILL");
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: a process killed just now may still be closing files there
      }
    }
  });
  const signals: [NodeJS.Signals, number][] = [
    ["SIGINT", 2],
    ["SIGTERM", 15],
    ["SIGHUP", 1],
  ];
  let stopping = false;
  for (const [sig, num] of signals) {
    process.on(sig, () => {
      if (stopping) {
        process.exit(128 + num); // second signal: give up waiting ("exit" handler SIGKILLs)
      }
      stopping = true;
      console.error(`\n${sig} received, stopping child processes...`);
      void cleanupAll(2000).finally(() => process.exit(128 + num));
    });
  }
}

/** Keeps the last `limit` characters of a stream (so pipes never fill up). */
class OutputTail {
  text = "";
  constructor(private readonly limit = 16_384) {}
  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        this.text += text;
        if (this.text.length > this.limit * 2) this.text = this.text.slice(-this.limit);
      }
    } catch {
      // stream closed
    }
  }
  get tail(): string {
    return this.text.slice(-this.limit);
  }
}

export interface ManagedServer {
  name: string;
  argv: string[];
  port: number;
  proc: Subprocess;
  /** Last few KB of the server's combined stdout/stderr. */
  log(): string;
  alive(): boolean;
}

export interface StartServerOptions {
  /** Extra environment variables, over this process's (e.g. BUN_JSC_logGC=1). */
  env?: Record<string, string>;
  /**
   * Writes the server's stderr straight to this file instead of through a
   * socket to this process. For output the server writes while it must not
   * wait (JSC's GC log, written inside each pause): read through Bun.spawn's
   * socket, with this process as another busy reader on two cores, the same
   * load's worst measured pause was 15.7 ms against 3.8 ms with a file.
   */
  stderrFile?: string;
}

/** Starts a long-running process whose output is kept in a small in-memory tail. */
export function startServer(name: string, argv: string[], port: number, cwd?: string, opts: StartServerOptions = {}): ManagedServer {
  let proc: Subprocess<"ignore", "pipe", "pipe" | "ignore">;
  const stderrFile = opts.stderrFile;
  try {
    const env = opts.env ? { ...process.env, ...opts.env } : undefined;
    proc = Bun.spawn(argv, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: stderrFile === undefined ? "pipe" : Bun.file(stderrFile) }) as Subprocess<"ignore", "pipe", "pipe" | "ignore">;
  } catch (err) {
    throw new Error(`${name}: cannot start ${shellQuote(argv)}: ${(err as Error).message}`);
  }
  track(proc);
  const out = new OutputTail();
  void out.drain(proc.stdout);
  if (stderrFile === undefined) void out.drain(proc.stderr as ReadableStream<Uint8Array>);
  return {
    name,
    argv,
    port,
    proc,
    log: () => out.tail + (stderrFile === undefined ? "" : fileTail(stderrFile, 16_384)),
    alive: () => proc.exitCode === null && proc.signalCode === null,
  };
}

/** The last `bytes` bytes of a file ("" if it cannot be read). */
function fileTail(path: string, bytes: number): string {
  try {
    return readFileSync(path, "latin1").slice(-bytes);
  } catch {
    return "";
  }
}

/** Throws with the server's last output when it is no longer running. */
export function assertAlive(server: ManagedServer): void {
  if (!server.alive()) {
    throw new Error(
      `${server.name} (pid ${server.proc.pid}) died (code ${server.proc.exitCode}, signal ${server.proc.signalCode}).\n--- output ---\n${server.log()}`,
    );
  }
}

/** Polls PING over a raw socket until the server answers PONG. */
export async function waitForPing(server: ManagedServer, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!server.alive()) {
      throw new Error(
        `${server.name} exited (code ${server.proc.exitCode}, signal ${server.proc.signalCode}) before answering PING.\n` +
          `command: ${shellQuote(server.argv)}\n--- output ---\n${server.log()}`,
      );
    }
    try {
      const reply = await respCommand(server.port, ["PING"], { timeoutMs: 1000 });
      if (reply === "PONG") return;
      lastError = `unexpected reply ${JSON.stringify(reply instanceof Error ? reply.message : reply)}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await Bun.sleep(50);
  }
  throw new Error(
    `${server.name} did not answer PING on port ${server.port} within ${timeoutMs} ms (${lastError}).\n` +
      `command: ${shellQuote(server.argv)}\n--- output ---\n${server.log()}`,
  );
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs a command to completion, capturing its output; killed after `timeoutMs`. */
export async function runCommand(
  argv: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  track(proc);
  let timedOut = false;
  const timer =
    opts.timeoutMs === undefined
      ? null
      : setTimeout(() => {
          timedOut = true;
          killTree(proc.pid, "SIGKILL");
        }, opts.timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  if (timer) clearTimeout(timer);
  return {
    code: proc.exitCode,
    signal: proc.signalCode,
    stdout,
    stderr,
    timedOut,
    ms: performance.now() - started,
  };
}

/** Runs a command with inherited stdio (for builds and installs); resolves with the exit code. */
export async function runInherit(argv: string[], cwd?: string): Promise<number> {
  const proc = Bun.spawn(argv, { cwd, stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  track(proc);
  return await proc.exited;
}

// ---------------------------------------------------------------------------
// Setup shared by the benchmarks that compare with redis-server
// ---------------------------------------------------------------------------

/** The command lines the comparisons start the two servers with: both AOF on, appendfsync everysec, each in `dir`. */
export function oursArgv(port: number | string, dir: string): string[] {
  return ["./atomic_server", "--port", String(port), "--bind", HOST, "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec"];
}

export function redisArgv(port: number | string, dir: string): string[] {
  return [
    "redis-server", "--port", String(port), "--bind", HOST, "--save", "",
    "--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir, "--daemonize", "no",
  ];
}

export async function admin(server: ManagedServer, args: string[], timeoutMs = 60_000): Promise<RespValue> {
  const reply = await respCommand(server.port, args, { hostname: HOST, timeoutMs });
  if (reply instanceof RespError) throw new Error(`${server.name}: ${args.join(" ")} failed: ${reply.message}`);
  return reply;
}

export async function info(server: ManagedServer, section: string): Promise<Map<string, string>> {
  return parseInfo(String(await admin(server, ["INFO", section])));
}

/** Polls INFO persistence until no AOF rewrite is running or scheduled. */
export async function waitForRewriteEnd(server: ManagedServer, timeoutMs = 600_000): Promise<Map<string, string>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    assertAlive(server);
    const fields = await info(server, "persistence");
    if (fields.get("aof_rewrite_in_progress") !== "1" && fields.get("aof_rewrite_scheduled") !== "1") return fields;
    if (performance.now() > deadline) throw new Error(`${server.name}: an AOF rewrite did not finish within ${timeoutMs / 1000} s`);
    await Bun.sleep(20);
  }
}

/** A `redis-benchmark -t set,get` load: the throughput goals' and p99's. */
export interface SetGetLoad {
  clients: number;
  keyspace: number;
  requests: number;
  pipeline: number;
}

/** Goal 1's load without pipelining, whose p99 is goal 5 (compare.ts, p99-noise.ts), but for its request count. */
export const UNPIPELINED_LOAD = { clients: 50, keyspace: 100_000, pipeline: 1 } as const;

/**
 * Goal 1's load, twice per server before the measured rounds. A fresh
 * AtomicKV runs its first ~200k requests while JSC is still compiling the
 * request path (on a JIT thread that shares the two cores with the load):
 * over four fresh starts, the first run's SET p99 was 2.4-3.4 ms and later
 * runs' in the same process 1.0-1.9 ms; redis-server's first runs were like
 * its later ones. The second run still recompiles: with
 * BUN_JSC_reportCompileTimes=1, two starts logged ~300 compiles in the first
 * run, 17 in the second (3 FTL compiles, 52 ms; 65 ms in all) and 0-4 small
 * ones (under 5 ms) in each of the four runs after. Without both, round 1
 * measured AtomicKV's start-up, not the server at work. redis-server gets
 * the same runs.
 */
export const WARMUP_RUNS = 2;

export function setGetArgs(port: number | string, load: SetGetLoad): string[] {
  return [
    "redis-benchmark", "-h", HOST, "-p", String(port), "-t", "set,get", "-c", String(load.clients),
    "-r", String(load.keyspace), "-n", String(load.requests), "-P", String(load.pipeline), "-q", "--csv",
  ];
}

/** FLUSHALL, then BGREWRITEAOF to completion: the next run starts on an empty keyspace and an empty AOF. */
export async function emptyAof(server: ManagedServer): Promise<void> {
  await waitForRewriteEnd(server);
  await admin(server, ["FLUSHALL"]);
  await admin(server, ["BGREWRITEAOF"]);
  const fields = await waitForRewriteEnd(server, 120_000);
  if (fields.get("aof_last_bgrewrite_status") !== "ok") {
    throw new Error(`${server.name}: the rewrite after FLUSHALL failed (aof_last_bgrewrite_status ${fields.get("aof_last_bgrewrite_status")})`);
  }
}

/** Installs Debian's redis-server and redis-tools with apt-get when redis-server or redis-benchmark is missing. */
export async function ensureRedisTools(log: (msg: string) => void): Promise<void> {
  if (Bun.which("redis-server") && Bun.which("redis-benchmark")) return;
  log("redis-server / redis-benchmark not found; installing redis-server redis-tools with apt-get");
  const code = await runInherit(["sh", "-c", "apt-get update && apt-get install -y redis-server redis-tools"]);
  if (code !== 0 || !Bun.which("redis-server") || !Bun.which("redis-benchmark")) {
    throw new Error(`could not install redis-server/redis-benchmark (apt-get exit code ${code}); install them and retry`);
  }
}

/** Makes sure `root`/atomic_server exists, running `bun run build` when it does not (unless `build` is false). */
export async function ensureServerBinary(root: string, build: boolean, log: (msg: string) => void): Promise<void> {
  const binary = resolve(root, "atomic_server");
  if (existsSync(binary)) return;
  if (!build) throw new Error(`${binary} does not exist and --no-build was given; run \`bun run build\` first`);
  log("./atomic_server not found; running `bun run build`");
  const code = await runInherit([process.execPath, "run", "build"], root);
  if (code !== 0) throw new Error(`\`bun run build\` failed with exit code ${code}`);
  if (!existsSync(binary)) throw new Error(`\`bun run build\` succeeded but ${binary} was not produced`);
}

export interface BenchEnvironment {
  date: string;
  redisServerVersion: string;
  redisServerVersionLine: string;
  redisBenchmarkVersion: string;
  nproc: number;
  cpuModel: string;
  kernel: string;
  bunVersion: string;
}

/** Versions and machine facts printed under every comparison. */
export async function benchEnvironment(): Promise<BenchEnvironment> {
  const redisVersionOut = (await runCommand(["redis-server", "--version"], { timeoutMs: 10_000 })).stdout.trim();
  const benchVersionOut = (await runCommand(["redis-benchmark", "--version"], { timeoutMs: 10_000 })).stdout.trim();
  const nprocOut = Bun.which("nproc") ? (await runCommand(["nproc"], { timeoutMs: 10_000 })).stdout.trim() : "";
  let cpuModel = "unknown";
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  } catch {
    // not Linux
  }
  let kernel = "unknown";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    redisServerVersion: /v=(\S+)/.exec(redisVersionOut)?.[1] ?? redisVersionOut,
    redisServerVersionLine: redisVersionOut,
    redisBenchmarkVersion: benchVersionOut,
    nproc: Number(nprocOut) || availableParallelism(),
    cpuModel,
    kernel,
    bunVersion: Bun.version,
  };
}

/** Lines of aligned columns: the first cell of a row left-aligned, the others right-aligned. */
export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("   ").trimEnd())
    .join("\n");
}

// ---------------------------------------------------------------------------
// Command lines
// ---------------------------------------------------------------------------

/**
 * Splits a command line the way a POSIX shell would for simple commands:
 * whitespace separates words; '...' is literal; "..." allows \" \\ \$ \`;
 * a backslash outside quotes escapes the next character. No expansion.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in command line: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= line.length) throw new Error(`unterminated " in command line: ${line}`);
        const d = line[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) {
          word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Quotes argv for display so it can be copy-pasted into a shell. */
export function shellQuote(argv: readonly string[]): string {
  return argv
    .map((a) => (a === "" ? "''" : /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

// ---------------------------------------------------------------------------
// redis-benchmark output
// ---------------------------------------------------------------------------

export interface BenchRow {
  test: string;
  rps: number;
  /** Any other numeric columns (avg_latency_ms, p50_latency_ms, ...). */
  extra: Record<string, number>;
}

/** Splits one CSV line, honouring double quotes ("" inside quotes is a quote). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/**
 * Parses `redis-benchmark --csv` output (7.x: a `"test","rps",...` header;
 * older: header-less `"SET","12345.67"` lines) and, as a fallback, `-q` text
 * lines (`SET: 12345.67 requests per second, ...`). Progress lines that use
 * `\r` are reduced to their last segment. Returns rows keyed by upper-cased
 * test name as printed (e.g. "SET", "GET", "LRANGE_100 (first 100 elements)").
 */
export function parseBenchmarkOutput(text: string): Map<string, BenchRow> {
  const rows = new Map<string, BenchRow>();
  let header: string[] | null = null;
  const lines = text
    .split("\n")
    .map((l) => {
      const segs = l.split("\r").filter((s) => s.trim() !== "");
      return (segs[segs.length - 1] ?? "").trim();
    })
    .filter((l) => l !== "");
  for (const line of lines) {
    if (line.startsWith('"') || /^[A-Za-z_][^,:]*,/.test(line)) {
      const cells = parseCsvLine(line);
      if (cells[0]?.toLowerCase() === "test") {
        header = cells.map((c) => c.toLowerCase());
        continue;
      }
      const rpsIdx = header ? header.indexOf("rps") : 1;
      const rps = Number(cells[rpsIdx < 0 ? 1 : rpsIdx]);
      if (!cells[0] || !Number.isFinite(rps)) continue;
      const extra: Record<string, number> = {};
      if (header) {
        header.forEach((h, i) => {
          if (i === 0 || h === "rps") return;
          const v = Number(cells[i]);
          if (Number.isFinite(v)) extra[h] = v;
        });
      }
      rows.set(cells[0].toUpperCase(), { test: cells[0].toUpperCase(), rps, extra });
      continue;
    }
    const m = /^(.+?):\s*([\d.]+)\s+requests per second/i.exec(line);
    if (m) rows.set(m[1]!.trim().toUpperCase(), { test: m[1]!.trim().toUpperCase(), rps: Number(m[2]), extra: {} });
  }
  return rows;
}

// ---------------------------------------------------------------------------
// Command lines of the bench scripts
// ---------------------------------------------------------------------------

/** A bad command line: one line on stderr, exit code 2. */
export function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

export function positiveInt(name: string, text: string): number {
  const n = Number(text.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n <= 0) fail(`${name} expects a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Strict flags only; prints `usage` and exits on -h/--help (when declared) or on a bad flag. */
export function parseBenchArgs<O extends NonNullable<ParseArgsConfig["options"]>>(usage: string, options: O) {
  let parsed;
  try {
    parsed = parseArgs({ args: Bun.argv.slice(2), strict: true, allowPositionals: false, options });
  } catch (err) {
    console.error(usage);
    fail((err as Error).message);
  }
  if ((parsed.values as Record<string, unknown>).help === true) {
    console.log(usage);
    process.exit(0);
  }
  return parsed.values;
}

/** `--requests N` (both pipelines) or `N1,N16`; `defaults` when not given. */
export function requestCounts(text: string | undefined, defaults: [number, number]): [number, number] {
  if (text === undefined) return defaults;
  const parts = text.split(",").map((p) => positiveInt("--requests", p.trim()));
  if (parts.length === 1) return [parts[0]!, parts[0]!];
  if (parts.length === 2) return [parts[0]!, parts[1]!];
  fail("--requests expects N or N1,N16");
}

/**
 * Reads what bench/gc-stalls.sh recorded, one directory per round: `trace`
 * (bench/gc-stalls.bt), the server's `stderr` with JSC's GC log, its `maps`
 * and `pid`, `load-start` and `load-end` (monotonic ns) and `stderr-size`
 * (the log's length when the trace stopped). Prints per round:
 *
 * - the stop-the-world pauses logged (`p=`) and the longest, the figure
 *   bench/compare.ts's goal 6 reports;
 * - for the longest pauses, the main-thread turn in which the line ending
 *   the pause was written, and the longest main-thread turn that overlapped
 *   the pause: a client waits on a turn, not on the collector's clock;
 * - for those pauses, how much of each was the GC log's own writes (JSC
 *   writes a collection's line in ~120 pieces, some with the world
 *   stopped: time a server without the log does not spend), and the
 *   server's threads that waited 1 ms or more for a CPU inside them;
 * - the longest main-thread turns of the round, how much of each was in
 *   system calls, how many GC log writes fell in them, and where the main
 *   thread's samples in them landed.
 *
 *   bun bench/gc-stalls.ts DIR...
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface Write { ns: number; tid: number; bytes: number; us: number }
interface Turn { ns: number; us: number; sockets: number; sysUs: number }
interface Sample { ns: number; ip: bigint; symbol: string }
/** A thread ready to run from `ns` that waited `us` for a CPU. */
interface ReadyWait { ns: number; tid: number; us: number; comm: string }
interface LoggedPause { endNs: number; pauseMs: number; scope: string; writerIsMain: boolean }
interface Mapping { start: bigint; end: bigint; offset: bigint; file: string }

const KERNEL_SPACE = 0xffff000000000000n;

function readTrace(dir: string): { writes: Write[]; turns: Turn[]; samples: Sample[]; waits: ReadyWait[] } {
  const writes: Write[] = [];
  const turns: Turn[] = [];
  const samples: Sample[] = [];
  const waits: ReadyWait[] = [];
  for (const line of readFileSync(join(dir, "trace"), "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[0] === "W") writes.push({ ns: Number(f[1]), tid: Number(f[2]), bytes: Number(f[3]), us: Number(f[4]) });
    else if (f[0] === "T") turns.push({ ns: Number(f[1]), us: Number(f[2]), sockets: Number(f[3]), sysUs: Number(f[4]) });
    else if (f[0] === "S") samples.push({ ns: Number(f[1]), ip: BigInt("0x" + f[2]), symbol: f[3] ?? "" });
    else if (f[0] === "R") waits.push({ ns: Number(f[1]), tid: Number(f[2]), us: Number(f[3]), comm: f.slice(4).join(" ") });
  }
  return { writes, turns, samples, waits };
}

/**
 * Times each GC log line ending a collection phase (`p=` pauses) by the write
 * that carried its last byte. The trace's writes are the log's last bytes
 * before `stderr-size`, in order.
 */
function loggedPauses(dir: string, writes: Write[], mainTid: number): LoggedPause[] {
  const size = Number(readFileSync(join(dir, "stderr-size"), "utf8"));
  const log = readFileSync(join(dir, "stderr")).subarray(0, size).toString("latin1");
  const traced = writes.reduce((sum, w) => sum + w.bytes, 0);
  const start = log.length - traced;
  if (start < 0) throw new Error(`${dir}: the trace has ${traced} bytes of writes, the log ${log.length}`);
  const writeAt: number[] = []; // end offset of each write
  let offset = start;
  for (const w of writes) writeAt.push((offset += w.bytes));
  const writeOf = (pos: number): Write => {
    let lo = 0;
    let hi = writeAt.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (writeAt[mid]! > pos) hi = mid;
      else lo = mid + 1;
    }
    return writes[lo]!;
  };
  const found: LoggedPause[] = [];
  for (const m of log.slice(start).matchAll(/\[GC<[^\]]*?(?:\.\.\.\]|END\])/g)) {
    const pauses = [...m[0].matchAll(/\bp=([\d.]+)ms/g)].map((p) => Number(p[1]));
    if (pauses.length === 0) continue;
    const w = writeOf(start + m.index! + m[0].length - 1);
    const scope = /=> (\w+)Collection/.exec(m[0])?.[1] ?? "(continued)";
    found.push({ endNs: w.ns, pauseMs: pauses.reduce((a, b) => a + b, 0), scope, writerIsMain: w.tid === mainTid });
  }
  return found;
}

function readMaps(dir: string): Mapping[] {
  return readFileSync(join(dir, "maps"), "utf8").split("\n").filter(Boolean).map((line) => {
    const f = line.split(/\s+/);
    const [start, end] = f[0]!.split("-").map((x) => BigInt("0x" + x));
    return { start: start!, end: end!, offset: BigInt("0x" + f[2]), file: f[5] || "" };
  });
}

/** Exported symbols of a shared library, by address, to name a user-space sample (libc's send, say). */
const symbolTables = new Map<string, { at: bigint; name: string }[]>();
function symbolsOf(file: string): { at: bigint; name: string }[] {
  let table = symbolTables.get(file);
  if (table) return table;
  const nm = Bun.spawnSync(["nm", "-D", "--defined-only", file], { stdout: "pipe", stderr: "ignore" });
  table = nm.stdout.toString().split("\n").flatMap((line) => {
    const f = line.trim().split(/\s+/);
    return f.length === 3 && /^[tTwW]$/.test(f[1]!) ? [{ at: BigInt("0x" + f[0]), name: f[2]!.replace(/@.*/, "") }] : [];
  }).sort((a, b) => (a.at < b.at ? -1 : 1));
  symbolTables.set(file, table);
  return table;
}

function place(sample: Sample, maps: Mapping[]): string {
  if (sample.ip >= KERNEL_SPACE) return `kernel ${sample.symbol}`;
  const m = maps.find((x) => x.start <= sample.ip && sample.ip < x.end);
  if (!m || m.file === "") return "anonymous memory (JIT code)";
  const name = m.file.split("/").pop()!;
  if (!name.startsWith("lib")) return name; // the server binary: no symbols
  const at = sample.ip - m.start + m.offset;
  const symbols = symbolsOf(m.file);
  let best: string | null = null;
  for (const s of symbols) if (s.at <= at) best = s.name;
  return best ? `${name} ${best}` : name;
}

function overlapping(turns: Turn[], from: number, to: number): Turn[] {
  return turns.filter((t) => t.ns < to && t.ns + t.us * 1000 > from);
}

function describe(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${k} ${n}`).join(", ");
}

const ms = (x: number) => x.toFixed(2);

for (const dir of process.argv.slice(2)) {
  const trace = readTrace(dir);
  // Only what happened under the load. Its last 0.3 s are left out: the server's idle collection
  // runs 0.1 s after the last command, with nobody waiting, before the script can note the end.
  const [from, end] = ["load-start", "load-end"].map((f) => Number(readFileSync(join(dir, f), "utf8")));
  const to = end! - 0.3e9;
  const during = (ns: number) => ns >= from! && ns <= to;
  const writes = trace.writes;
  const turns = trace.turns.filter((t) => during(t.ns));
  const samples = trace.samples;
  const mainTid = Number(readFileSync(join(dir, "pid"), "utf8")); // the main thread's tid is the pid
  const maps = readMaps(dir);
  const logged = loggedPauses(dir, writes, mainTid).filter((c) => during(c.endNs));
  const t0 = from!;
  const at = (ns: number) => ((ns - t0) / 1e9).toFixed(1) + " s";
  const byPause = [...logged].sort((a, b) => b.pauseMs - a.pauseMs);
  console.log(`${dir}: ${logged.length} pauses logged, longest ${ms(byPause[0]?.pauseMs ?? 0)} ms; ${turns.filter((t) => t.sockets > 0).length} main-thread turns with sockets of 1 ms or more, longest ${ms(Math.max(0, ...turns.map((t) => t.us)) / 1000)} ms`);
  console.log("  longest pauses: the turn that wrote the pause's line, and the longest turn overlapping the pause");
  let worstHeld: Turn | null = null;
  for (const [rank, c] of byPause.entries()) {
    const pauseStart = c.endNs - c.pauseMs * 1e6;
    const around = overlapping(turns, pauseStart, c.endNs + 1);
    const held = Math.max(0, ...around.map((t) => t.us / 1000));
    for (const t of around) if (worstHeld === null || t.us > worstHeld.us) worstHeld = t;
    if (rank >= 5) continue;
    const writing = overlapping(turns, c.endNs, c.endNs + 1)[0];
    const logUs = writes.filter((w) => w.ns >= pauseStart && w.ns <= c.endNs).reduce((sum, w) => sum + Math.min(w.us, (c.endNs - w.ns) / 1000), 0);
    const waited = trace.waits
      .filter((w) => w.ns < c.endNs && w.ns + w.us * 1000 > pauseStart)
      .map((w) => `${w.tid === mainTid ? "main thread" : `${w.comm} (${w.tid})`} ${ms(Math.min(c.endNs, w.ns + w.us * 1000) / 1e6 - Math.max(pauseStart, w.ns) / 1e6)} ms`);
    console.log(
      `    at ${at(c.endNs)}: ${c.scope} p=${ms(c.pauseMs)} ms (${ms(logUs / 1000)} ms of it in the log's writes, ${ms(c.pauseMs - logUs / 1000)} ms without them), line written by the ${c.writerIsMain ? "main thread" : "collector"} in a turn of ${writing ? `${ms(writing.us / 1000)} ms (${ms(writing.sysUs / 1000)} in syscalls)` : "under 1 ms"}; longest overlapping turn ${held > 0 ? ms(held) + " ms" : "under 1 ms"}; ` +
        `waiting for a CPU in it: ${waited.length > 0 ? waited.join(", ") : "no thread 1 ms or more"}`,
    );
  }
  const turnLine = (t: Turn): string => {
    const end = t.ns + t.us * 1000;
    const gcWrites = writes.filter((w) => w.ns >= t.ns && w.ns <= end).length;
    const counts = new Map<string, number>();
    const inTurn = samples.filter((s) => s.ns >= t.ns && s.ns <= end);
    for (const s of inTurn) {
      const where = place(s, maps);
      counts.set(where, (counts.get(where) ?? 0) + 1);
    }
    return `at ${at(t.ns)}: ${ms(t.us / 1000)} ms (${ms(t.sysUs / 1000)} ms in syscalls), ${t.sockets} sockets, ${gcWrites} GC log writes, ${inTurn.length} samples: ${describe(counts)}`;
  };
  console.log(`  longest turn overlapping any logged pause (an upper bound: the collector thread may have run it while the main thread served): ${worstHeld ? turnLine(worstHeld) : "none of 1 ms or more"}`);
  const byThread = new Map<string, { n: number; us: number; max: number }>();
  for (const w of trace.waits.filter((x) => during(x.ns))) {
    const key = w.tid === mainTid ? "main thread" : w.comm;
    const t = byThread.get(key) ?? { n: 0, us: 0, max: 0 };
    byThread.set(key, { n: t.n + 1, us: t.us + w.us, max: Math.max(t.max, w.us) });
  }
  console.log(
    `  waits of 1 ms or more for a CPU under the load, by thread: ${[...byThread].sort((a, b) => b[1].us - a[1].us).map(([k, t]) => `${k} ${t.n} (${ms(t.us / 1000)} ms, longest ${ms(t.max / 1000)})`).join("; ") || "none"}`,
  );
  console.log("  longest turns with sockets: GC log writes in them, and where the main thread's samples landed");
  for (const t of [...turns].filter((x) => x.sockets > 0).sort((a, b) => b.us - a.us).slice(0, 5)) console.log("    " + turnLine(t));
}

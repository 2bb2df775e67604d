/**
 * Measurement only (bench/read-stages.sh patches it into a copy of src/;
 * nothing in src/ imports it): where each read's time goes, in histograms
 * printed to stderr once per window of reads.
 *
 * A read's stages: `pre` (onData up to the parser), `parse` (the parser and
 * dispatch, minus the handlers), `cmd` (command handlers), `flush` (sending
 * or holding the replies: for an unheld reply, the socket write). `gap` is
 * the time between the end of one read and the start of the next (the event
 * loop, Bun's own per-read work, timers, idle). SET's replies leave at the end
 * of the turn: `turn ends` times the AOF write and the release of the held
 * replies. `GET`/`SET` split the keyspace work of each command.
 */
const WINDOW = Number(process.env.STAGE_WINDOW ?? 200_000);
/** Bucket upper bounds in microseconds; the last bucket is everything above. */
const BOUNDS = [2, 5, 10, 25, 100];

class Histogram {
  readonly counts = new Float64Array(BOUNDS.length + 1);
  sum = 0;
  n = 0;
  add(us: number): void {
    let i = 0;
    while (i < BOUNDS.length && us >= BOUNDS[i]!) i++;
    this.counts[i]!++;
    this.sum += us;
    this.n++;
  }
  line(name: string): string {
    const text = `  ${name.padEnd(8)} mean ${(this.n === 0 ? 0 : this.sum / this.n).toFixed(2).padStart(6)} us  ${Array.from(this.counts, (c) => String(c).padStart(7)).join("")}`;
    this.counts.fill(0);
    this.sum = this.n = 0;
    return text;
  }
}

const stages = ["pre", "parse", "cmd", "flush", "total", "gap"].map((name) => ({ name, h: new Histogram() }));
const aofWrite = new Histogram();
const release = new Histogram();
const cron = new Histogram();
const parts = new Map<string, Float64Array>();
let handlerNs = 0;
let reads = 0;
let lastEnd = 0;
let turnClients = 0;
/** Which stage was the largest in reads of 10 us or more: pre, parse, cmd, flush. */
const largest = new Float64Array(4);

export function handlerTime(ns: number): void {
  handlerNs += ns;
}

export function read(t0: number, parsed: number, handled: number, flushed: number): void {
  const cmd = handlerNs / 1000;
  handlerNs = 0;
  const v = [(parsed - t0) / 1000, (handled - parsed) / 1000 - cmd, cmd, (flushed - handled) / 1000, (flushed - t0) / 1000];
  for (let i = 0; i < 5; i++) stages[i]!.h.add(v[i]!);
  if (lastEnd !== 0) stages[5]!.h.add((t0 - lastEnd) / 1000);
  lastEnd = flushed;
  if (v[4]! >= 10) {
    let m = 0;
    for (let i = 1; i < 4; i++) if (v[i]! > v[m]!) m = i;
    largest[m]!++;
  }
  if (++reads % WINDOW === 0) print();
}

export function turnEnd(t0: number, written: number, released: number, clients: number): void {
  aofWrite.add((written - t0) / 1000);
  release.add((released - written) / 1000);
  turnClients += clients;
}

export function cronTime(ns: number): void {
  cron.add(ns / 1000);
}

/** Time between consecutive marks of one command's keyspace work, e.g. part("GET", ["hash", "lookup"], t0, t1, t2). */
export function part(command: string, names: readonly string[], ...marks: number[]): void {
  let sums = parts.get(command);
  if (sums === undefined) parts.set(command, (sums = new Float64Array(names.length + 1)));
  for (let i = 0; i < names.length; i++) sums[i]! += marks[i + 1]! - marks[i]!;
  sums[names.length]!++;
  partNames.set(command, names);
}
const partNames = new Map<string, readonly string[]>();

function print(): void {
  const lines = [`reads ${reads - WINDOW + 1}-${reads}: buckets < ${BOUNDS.join(", ")} us, then above`];
  for (const { name, h } of stages) lines.push(h.line(name));
  lines.push(`  reads >= 10 us, largest stage pre/parse/cmd/flush: ${Array.from(largest).join(" / ")}`);
  largest.fill(0);
  if (aofWrite.n > 0) {
    lines.push(`  turn ends: ${aofWrite.n}, ${(turnClients / aofWrite.n).toFixed(2)} held clients each`);
    lines.push(aofWrite.line("aof"), release.line("release"));
    turnClients = 0;
  }
  if (cron.n > 0) lines.push(cron.line("cron"));
  for (const [command, sums] of parts) {
    const n = sums[sums.length - 1]!;
    if (n === 0) continue;
    const names = partNames.get(command)!;
    lines.push(`  ${command} keyspace, mean us over ${n}: ${names.map((name, i) => `${name} ${(sums[i]! / n / 1000).toFixed(3)}`).join(", ")}`);
    sums.fill(0);
  }
  console.error(lines.join("\n"));
}

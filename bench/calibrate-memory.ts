/**
 * Calibrates ENTRY_OVERHEAD_BYTES (src/store/memory.ts) against resident memory.
 *
 *   bun bench/calibrate-memory.ts [--keys N] [--case NAME]... [--no-sweep] [--json FILE]
 *   bun bench/calibrate-memory.ts --string-sweep [--keys N]
 *
 * Each case runs in a fresh `bun` process so that cases do not share heap,
 * allocator free lists or JIT state. The child:
 *   1. warms the parser and keyspace code paths on a throwaway keyspace,
 *      then forces GC and waits for RSS to settle (the baseline);
 *   2. feeds N pipelined `SET key value` RESP frames through the real
 *      RequestParser in ~64 KiB chunks (a reused read buffer, as the socket
 *      delivers them) into a real Keyspace, so keys and values are exactly
 *      the latin1 strings the server stores;
 *   3. forces GC and reads RSS at once ("after GC", which still holds pages
 *      freed by that GC), then again once the allocator has returned them to
 *      the OS ("settled").
 *
 * Cases (N = --keys, default 1M): 16 B keys with 32 B values, with 1 KiB
 * values, 100 B keys with 32 B values, 16 B/32 B with a TTL on every key, and
 * 16 B/32 B at N just past a power of two, where the Map's table and the
 * keyspace's arrays have just doubled (the most expensive point per key).
 *
 * For each it prints the ENTRY_OVERHEAD_BYTES that would make entryBytes()
 * equal the measured RSS per key: RSS per key minus the arena block key and
 * value share. --string-sweep measures what a JSC latin1 string costs
 * (jscStringBytes below): what each request's argument strings cost until
 * collected, and what the keyspace cost per key before the arena.
 */
import { heapStats } from "bun:jsc";
import { parseArgs } from "node:util";
import { Keyspace } from "../src/store/keyspace.ts";
import { Arena } from "../src/store/arena.ts";
import { ENTRY_OVERHEAD_BYTES, entryBytes } from "../src/store/memory.ts";
import { RequestParser } from "../src/protocol/request-parser.ts";
import { settledRss } from "./steady.ts";

interface Case {
  name: string;
  keys: number;
  keySize: number;
  valueSize: number;
  /** Give every key a TTL (an hour ahead), which puts it in the volatile structures too. */
  ttl?: boolean;
}

interface ChildResult extends Case {
  baselineRss: number;
  rssAfterGc: number;
  rssSettled: number;
  heapSizeDelta: number;
  extraMemoryDelta: number;
  stringCells: number;
  estimatePerKey: number;
  insertMs: number;
  size: number;
}

const DIGITS = 12;
const CHUNK_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------
// Child: one measurement
// ---------------------------------------------------------------------------

/** Writes `n` as DIGITS zero-padded decimal digits at `pos`. */
function writeDigits(buf: Buffer, pos: number, n: number): void {
  for (let j = DIGITS - 1; j >= 0; j--) {
    buf[pos + j] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/**
 * A reusable read buffer of whole `SET key value` frames and where each
 * frame's key and value counters go. Keys are `key:` + filler + 12 digits;
 * values start with the same 12 digits so no two values are equal.
 */
function makeChunk(keySize: number, valueSize: number) {
  if (keySize < 4 + DIGITS) throw new Error(`key size must be at least ${4 + DIGITS}`);
  const key = "key:" + "k".repeat(keySize - 4 - DIGITS) + "0".repeat(DIGITS);
  const value = "0".repeat(Math.min(DIGITS, valueSize)) + "v".repeat(Math.max(0, valueSize - DIGITS));
  const head = `*3\r\n$3\r\nSET\r\n$${keySize}\r\n`;
  const mid = `\r\n$${valueSize}\r\n`;
  const frame = Buffer.from(head + key + mid + value + "\r\n", "latin1");
  const keyDigits = head.length + keySize - DIGITS;
  const valueDigits = head.length + keySize + mid.length;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / frame.length));
  const chunk = Buffer.alloc(perChunk * frame.length);
  for (let i = 0; i < perChunk; i++) frame.copy(chunk, i * frame.length);
  /** Fills the chunk with frames for keys first..first+count-1; returns the bytes used. */
  const fill = (first: number, count: number): number => {
    for (let i = 0; i < count; i++) {
      const base = i * frame.length;
      writeDigits(chunk, base + keyDigits, first + i);
      if (valueSize >= DIGITS) writeDigits(chunk, base + valueDigits, first + i);
    }
    return count * frame.length;
  };
  return { chunk, perChunk, fill };
}


function insert(db: Keyspace, c: Case, first: number, count: number): void {
  const parser = new RequestParser();
  const { chunk, perChunk, fill } = makeChunk(c.keySize, c.valueSize);
  const expireAt = c.ttl === true ? Date.now() + 3_600_000 : 0;
  const sink = (argv: string[]): boolean => {
    db.set(argv[1]!, argv[2]!, expireAt);
    return true;
  };
  const onInlineError = (message: string): void => {
    throw new Error(message);
  };
  for (let done = 0; done < count; ) {
    const n = Math.min(perChunk, count - done);
    const bytes = fill(first + done, n);
    parser.feed(bytes === chunk.length ? chunk : chunk.subarray(0, bytes), sink, onInlineError);
    done += n;
  }
}

async function child(c: Case): Promise<ChildResult> {
  // Warm-up: JIT-compile the parse and insert paths outside the measurement.
  let warm: Keyspace | null = new Keyspace();
  insert(warm, { ...c, keys: 20_000 }, 900_000_000_000, 20_000);
  warm = null;

  const db = new Keyspace();
  db.now = Date.now();
  const baselineRss = await settledRss();
  const heap0 = heapStats();
  const started = performance.now();
  insert(db, c, 0, c.keys);
  const insertMs = performance.now() - started;
  Bun.gc(true);
  const rssAfterGc = process.memoryUsage.rss();
  const rssSettled = await settledRss();
  const heap1 = heapStats();
  if (db.size !== c.keys) throw new Error(`expected ${c.keys} keys, keyspace has ${db.size}`);
  return {
    ...c,
    baselineRss,
    rssAfterGc,
    rssSettled,
    heapSizeDelta: heap1.heapSize - heap0.heapSize,
    extraMemoryDelta: heap1.extraMemorySize - heap0.extraMemorySize,
    stringCells: heap1.objectTypeCounts["string"] ?? 0,
    estimatePerKey: db.usedMemory / db.size,
    insertMs,
    size: db.size,
  };
}

/** RSS per string of `length` latin1 characters, made by latin1Slice as the parser does. */
async function childString(length: number, count: number): Promise<{ length: number; count: number; rssPerString: number }> {
  const src = Buffer.alloc(length + DIGITS, 97);
  const strings: string[] = new Array<string>(count).fill("");
  for (let i = 0; i < 1000; i++) strings[i] = src.latin1Slice(0, length); // warm-up
  strings.fill("");
  const before = await settledRss();
  for (let i = 0; i < count; i++) {
    writeDigits(src, 0, i); // distinct contents (for lengths < 12 the tail of the counter)
    strings[i] = src.latin1Slice(Math.max(0, DIGITS - length), Math.max(0, DIGITS - length) + length);
  }
  const after = await settledRss();
  if (strings.length !== count) throw new Error("unreachable");
  return { length, count, rssPerString: (after - before) / count };
}

// ---------------------------------------------------------------------------
// Parent: run the cases, print the table
// ---------------------------------------------------------------------------


/**
 * A closer model of what a latin1 string costs in JSC, fitted with
 * --string-sweep (within ~1% from 8 B to 8 KiB): a 16-byte JSString cell,
 * about 8 bytes of GC-block and allocator metadata, and the StringImpl
 * (20-byte header, characters inline) rounded up to the allocator's size
 * class: 16-byte steps up to 128 bytes, then four classes per power of two
 * (so 1024 characters take 1280 bytes, 1004 take 1024).
 */
function jscStringBytes(length: number): number {
  return 24 + sizeClass(20 + length);
}

function sizeClass(bytes: number): number {
  if (bytes <= 128) return Math.ceil(bytes / 16) * 16;
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

function pad(s: string, n: number, left = false): string {
  return left ? s.padEnd(n) : s.padStart(n);
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => pad(c, widths[i]!, i === 0)).join(" | ") + " |";
  const sep = "|" + widths.map((w, i) => (i === 0 ? ":" : "") + "-".repeat(w + (i === 0 ? 1 : 1)) + (i === 0 ? "" : ":")).join("|") + "|";
  return [line(headers), sep, ...rows.map(line)].join("\n");
}

async function runChild(c: Case): Promise<ChildResult> {
  const proc = Bun.spawn(
    [
      process.execPath,
      import.meta.path,
      "--child",
      "--name",
      c.name,
      "--keys",
      String(c.keys),
      "--key-size",
      String(c.keySize),
      "--value-size",
      String(c.valueSize),
      ...(c.ttl === true ? ["--ttl"] : []),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || line === undefined) throw new Error(`case ${c.name} failed (exit ${code}):\n${out}`);
  return JSON.parse(line.slice("RESULT ".length)) as ChildResult;
}

/**
 * RSS per latin1 string by length, each length in a fresh process, against
 * jscStringBytes(): the evidence for the size-class model.
 */
async function stringSweep(maxCount: number): Promise<void> {
  const lengths = [8, 16, 28, 32, 48, 64, 96, 108, 128, 192, 236, 256, 492, 512, 1004, 1024, 2048, 4096, 8192];
  // Many strings, because a run carries a few MiB of fixed noise (heap and
  // allocator growth steps), but at most ~1 GiB of them.
  const countFor = (length: number) => Math.min(maxCount, Math.floor(2 ** 30 / (length + 64)));
  console.log(`RSS per string, up to ${maxCount.toLocaleString("en-US")} strings per length (at most ~1 GiB), each length in a fresh process\n`);
  const rows: string[][] = [];
  for (const length of lengths) {
    const count = countFor(length);
    const proc = Bun.spawn([process.execPath, import.meta.path, "--child-string", String(length), "--keys", String(count)], { stdout: "pipe", stderr: "inherit" });
    const out = await new Response(proc.stdout).text();
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    if ((await proc.exited) !== 0 || line === undefined) throw new Error(`string length ${length} failed:\n${out}`);
    const r = JSON.parse(line.slice("RESULT ".length)) as { rssPerString: number };
    const model = jscStringBytes(length);
    rows.push([String(length), count.toLocaleString("en-US"), r.rssPerString.toFixed(1), String(model), (r.rssPerString - model).toFixed(1), (r.rssPerString / length).toFixed(2)]);
  }
  console.log(table(["length", "strings", "RSS/string", "model", "RSS - model", "RSS/length"], rows));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: "boolean", default: false },
      name: { type: "string", default: "" },
      keys: { type: "string" },
      "key-size": { type: "string", default: "16" },
      "value-size": { type: "string", default: "32" },
      ttl: { type: "boolean", default: false },
      case: { type: "string", multiple: true },
      "no-sweep": { type: "boolean", default: false },
      "string-sweep": { type: "boolean", default: false },
      "child-string": { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: bun bench/calibrate-memory.ts [--keys N] [--case NAME]... [--no-sweep] [--string-sweep] [--json FILE]");
    return;
  }
  const keys = values.keys === undefined ? 1_000_000 : Number(values.keys);
  if (!Number.isSafeInteger(keys) || keys <= 0) throw new Error(`bad --keys ${values.keys}`);

  if (values["child-string"] !== undefined) {
    console.log("RESULT " + JSON.stringify(await childString(Number(values["child-string"]), keys)));
    return;
  }
  if (values["string-sweep"]) {
    await stringSweep(keys);
    return;
  }
  if (values.child) {
    const result = await child({ name: values.name!, keys, keySize: Number(values["key-size"]), valueSize: Number(values["value-size"]), ttl: values.ttl });
    console.log("RESULT " + JSON.stringify(result));
    return;
  }

  let cases: Case[] = [
    { name: "k16/v32", keys, keySize: 16, valueSize: 32 },
    { name: "k16/v1KiB", keys, keySize: 16, valueSize: 1024 },
    { name: "k100/v32", keys, keySize: 100, valueSize: 32 },
    { name: "k16/v32 with TTL", keys, keySize: 16, valueSize: 32, ttl: true },
  ];
  if (!values["no-sweep"]) {
    // 1% past the power of two at or above N: the Map's table and the
    // keyspace's arrays have just doubled, the most expensive point per key.
    const worst = Math.round(2 ** Math.ceil(Math.log2(keys)) * 1.01);
    cases.push({ name: `k16/v32 N=${worst.toLocaleString("en-US")} (just past 2^${Math.ceil(Math.log2(keys))})`, keys: worst, keySize: 16, valueSize: 32 });
  }
  if (values.case !== undefined) cases = cases.filter((c) => values.case!.includes(c.name));

  console.log(`bun ${Bun.version}, ${process.platform}/${process.arch}; ENTRY_OVERHEAD_BYTES = ${ENTRY_OVERHEAD_BYTES}`);
  console.log("each case in a fresh process; RSS = process.memoryUsage.rss() after Bun.gc(true)\n");
  const results: ChildResult[] = [];
  for (const c of cases) {
    process.stdout.write(`running ${c.name} (${c.keys.toLocaleString("en-US")} keys)... `);
    const r = await runChild(c);
    process.stdout.write(`${(r.insertMs / 1000).toFixed(1)} s insert\n`);
    results.push(r);
  }

  const rows: string[][] = [];
  let needMax = Number.NEGATIVE_INFINITY;
  let needMaxGc = Number.NEGATIVE_INFINITY;
  for (const r of results) {
    const settled = (r.rssSettled - r.baselineRss) / r.keys;
    const afterGc = (r.rssAfterGc - r.baselineRss) / r.keys;
    const payload = Arena.blockSize(r.keySize + r.valueSize);
    needMax = Math.max(needMax, settled - payload);
    needMaxGc = Math.max(needMaxGc, afterGc - payload);
    rows.push([
      r.name,
      r.keys.toLocaleString("en-US"),
      `${r.keySize}/${r.valueSize}`,
      settled.toFixed(1),
      afterGc.toFixed(1),
      (r.heapSizeDelta / r.keys).toFixed(1),
      r.estimatePerKey.toFixed(0),
      (r.estimatePerKey / settled).toFixed(2),
      String(payload),
      (settled - payload).toFixed(1),
      (afterGc - payload).toFixed(1),
    ]);
  }
  console.log();
  console.log(
    table(
      [
        "case",
        "keys",
        "key/val B",
        "RSS/key settled",
        "RSS/key after GC",
        "heap/key",
        "entryBytes now",
        "est/RSS",
        "arena block",
        "overhead needed",
        "(after GC)",
      ],
      rows,
    ),
  );
  const round8 = (x: number) => Math.ceil(x / 8) * 8;
  console.log();
  console.log("RSS/key settled: growth once freed pages went back to the OS; after GC: read right after Bun.gc(true).");
  console.log("arena block: Arena.blockSize(key + value), the bytes key and value share in the arena.");
  console.log("overhead needed: RSS/key - arena block, i.e. the ENTRY_OVERHEAD_BYTES that makes entryBytes() equal RSS.");
  console.log();
  console.log(
    `largest overhead needed ${needMax.toFixed(1)} B settled -> ${round8(needMax)}, ${needMaxGc.toFixed(1)} B right after GC -> ${round8(needMaxGc)}` +
      ` (current ${ENTRY_OVERHEAD_BYTES})`,
  );
  if (values.json !== undefined) await Bun.write(values.json, JSON.stringify(results, null, 2));
}

await main();

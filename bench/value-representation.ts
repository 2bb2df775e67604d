/**
 * Why values are latin1 strings: memory per key and per-operation cost of
 * the candidate representations of a stored value.
 *
 *   bun bench/value-representation.ts [--keys N] [--value-size B] [--timing-sizes 32,1024]
 *                                     [--no-timing] [--no-memory] [--json FILE]
 *   bun bench/value-representation.ts --variant NAME [--keys N] [--value-size B]   (one child)
 *
 * Memory: each variant runs in a fresh `bun` process (so heaps, allocator
 * free lists and JIT state do not mix) and stores N entries (default 1M) of
 * 16-byte keys and `--value-size`-byte values (default 32) taken out of a
 * reused ~64 KiB read buffer holding pipelined `SET key value` frames, the
 * way the server receives them:
 *
 *   latin1-map      Map<string, string>, key and value from buf.latin1Slice
 *   buffer-copy-map Map<string, Buffer>, value = Buffer.from(buf.subarray(…)), a copy
 *   buffer-slab-map Map<string, Buffer>, value copied into a 1 MiB slab and kept
 *                   as slab.subarray(…) (no per-value allocation of bytes)
 *   keyspace        the real Keyspace (src/store/keyspace.ts), latin1 values
 *
 * Reported: RSS growth per key (process.memoryUsage.rss() after Bun.gc(true),
 * at once and once the allocator has returned freed pages), and the growth
 * of JSC's heapSize / extraMemorySize (bun:jsc heapStats) per key.
 *
 * Timing (mitata, in this process, steady state: see warmUp): making a stored
 * value out of the read buffer, writing a stored value into the reply buffer,
 * and a whole RESP2 bulk reply, for 32 B and 1 KiB values; medians at the end.
 */
import { heapStats } from "bun:jsc";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { do_not_optimize, group, run, summary } from "mitata";
import { Keyspace } from "../src/store/keyspace.ts";
import { OutputBuffer, ReplyWriter } from "../src/protocol/reply.ts";
import { settledRss, steady } from "./steady.ts";

const VARIANTS = ["latin1-map", "buffer-copy-map", "buffer-slab-map", "keyspace"] as const;
type Variant = (typeof VARIANTS)[number];

const KEY_SIZE = 16; // "key:" + 12 digits
const DIGITS = 12;
const CHUNK_BYTES = 64 * 1024;
const SLAB_BYTES = 1024 * 1024;

interface MemoryResult {
  variant: Variant;
  keys: number;
  valueSize: number;
  baselineRss: number;
  rssAfterGc: number;
  rssSettled: number;
  heapSizeDelta: number;
  extraMemoryDelta: number;
  topTypes: [string, number][];
  insertMs: number;
}

// ---------------------------------------------------------------------------
// The read buffer: pipelined SET frames with fixed offsets
// ---------------------------------------------------------------------------

function writeDigits(buf: Buffer, pos: number, n: number): void {
  for (let j = DIGITS - 1; j >= 0; j--) {
    buf[pos + j] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/**
 * A reused read buffer of `*3 $3 SET $16 key $V value` frames. `fill` writes
 * the frames for keys first..first+count-1; keyAt/valueAt give the offsets of
 * frame i's key and value bytes.
 */
function makeReadBuffer(valueSize: number) {
  const head = `*3\r\n$3\r\nSET\r\n$${KEY_SIZE}\r\n`;
  const mid = `\r\n$${valueSize}\r\n`;
  const key = "key:" + "0".repeat(DIGITS);
  const value = "0".repeat(Math.min(DIGITS, valueSize)) + "v".repeat(Math.max(0, valueSize - DIGITS));
  const frame = Buffer.from(head + key + mid + value + "\r\n", "latin1");
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / frame.length));
  const chunk = Buffer.alloc(perChunk * frame.length);
  for (let i = 0; i < perChunk; i++) frame.copy(chunk, i * frame.length);
  const keyOffset = head.length;
  const valueOffset = head.length + KEY_SIZE + mid.length;
  return {
    chunk,
    perChunk,
    keyAt: (i: number) => i * frame.length + keyOffset,
    valueAt: (i: number) => i * frame.length + valueOffset,
    fill(first: number, count: number): void {
      for (let i = 0; i < count; i++) {
        writeDigits(chunk, i * frame.length + keyOffset + KEY_SIZE - DIGITS, first + i);
        if (valueSize >= DIGITS) writeDigits(chunk, i * frame.length + valueOffset, first + i);
      }
    },
  };
}

/** Copies values into 1 MiB slabs and hands out views; slabs are never reused. */
class Slab {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;
  store(src: Buffer, start: number, end: number): Buffer {
    const length = end - start;
    if (length > SLAB_BYTES) return Buffer.from(src.subarray(start, end));
    if (this.used + length > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    src.copy(this.slab, this.used, start, end);
    const view = this.slab.subarray(this.used, this.used + length);
    this.used += length;
    return view;
  }
}

// ---------------------------------------------------------------------------
// Child: memory of one variant
// ---------------------------------------------------------------------------


/** Builds the variant's store and returns an insert function plus the store (kept alive by the caller). */
function makeStore(variant: Variant, valueSize: number): { store: unknown; insert: (first: number, count: number) => void } {
  const rb = makeReadBuffer(valueSize);
  const { chunk } = rb;
  const feed = (first: number, count: number, put: (keyPos: number, valuePos: number) => void): void => {
    for (let done = 0; done < count; ) {
      const n = Math.min(rb.perChunk, count - done);
      rb.fill(first + done, n);
      for (let i = 0; i < n; i++) put(rb.keyAt(i), rb.valueAt(i));
      done += n;
    }
  };
  switch (variant) {
    case "latin1-map": {
      const map = new Map<string, string>();
      return {
        store: map,
        insert: (first, count) =>
          feed(first, count, (k, v) => map.set(chunk.latin1Slice(k, k + KEY_SIZE), chunk.latin1Slice(v, v + valueSize))),
      };
    }
    case "buffer-copy-map": {
      const map = new Map<string, Buffer>();
      return {
        store: map,
        insert: (first, count) =>
          feed(first, count, (k, v) => map.set(chunk.latin1Slice(k, k + KEY_SIZE), Buffer.from(chunk.subarray(v, v + valueSize)))),
      };
    }
    case "buffer-slab-map": {
      const map = new Map<string, Buffer>();
      const slab = new Slab();
      return {
        store: map,
        insert: (first, count) => feed(first, count, (k, v) => map.set(chunk.latin1Slice(k, k + KEY_SIZE), slab.store(chunk, v, v + valueSize))),
      };
    }
    case "keyspace": {
      const db = new Keyspace();
      return {
        store: db,
        insert: (first, count) => feed(first, count, (k, v) => db.set(chunk.latin1Slice(k, k + KEY_SIZE), chunk.latin1Slice(v, v + valueSize))),
      };
    }
  }
}

async function measureVariant(variant: Variant, keys: number, valueSize: number): Promise<MemoryResult> {
  // Warm-up on a throwaway store so JIT code and one-off allocations are in the baseline.
  {
    const warm = makeStore(variant, valueSize);
    warm.insert(900_000_000_000, 20_000);
  }
  const target = makeStore(variant, valueSize);
  const baselineRss = await settledRss();
  const heap0 = heapStats();
  const started = performance.now();
  target.insert(0, keys);
  const insertMs = performance.now() - started;
  Bun.gc(true);
  const rssAfterGc = process.memoryUsage.rss();
  const rssSettled = await settledRss();
  const heap1 = heapStats();
  const size = (target.store as { size: number }).size;
  if (size !== keys) throw new Error(`${variant}: expected ${keys} entries, got ${size}`);
  const topTypes = Object.entries(heap1.objectTypeCounts)
    .filter(([, n]) => n >= keys / 2)
    .slice(0, 4);
  return {
    variant,
    keys,
    valueSize,
    baselineRss,
    rssAfterGc,
    rssSettled,
    heapSizeDelta: heap1.heapSize - heap0.heapSize,
    extraMemoryDelta: heap1.extraMemorySize - heap0.extraMemorySize,
    topTypes,
    insertMs,
  };
}


// ---------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------

/** A markdown table; the first `textColumns` columns are left-aligned, the rest right-aligned. */
function table(headers: string[], rows: string[][], textColumns = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |";
  const sep = "|" + widths.map((w, i) => (i < textColumns ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(headers), sep, ...rows.map(line)].join("\n");
}

async function runChild(variant: Variant, keys: number, valueSize: number): Promise<MemoryResult> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "--variant", variant, "--keys", String(keys), "--value-size", String(valueSize)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || line === undefined) throw new Error(`variant ${variant} failed (exit ${code}):\n${out}`);
  return JSON.parse(line.slice("RESULT ".length)) as MemoryResult;
}

function memoryTable(results: MemoryResult[]): string {
  const base = results.find((r) => r.variant === "latin1-map");
  const rows = results.map((r) => {
    const settled = (r.rssSettled - r.baselineRss) / r.keys;
    const baseSettled = base === undefined ? Number.NaN : (base.rssSettled - base.baselineRss) / base.keys;
    return [
      r.variant,
      r.keys.toLocaleString("en-US"),
      String(r.valueSize),
      ((r.rssSettled - r.baselineRss) / 2 ** 20).toFixed(1),
      settled.toFixed(1),
      ((r.rssAfterGc - r.baselineRss) / r.keys).toFixed(1),
      (r.heapSizeDelta / r.keys).toFixed(1),
      (r.extraMemoryDelta / r.keys).toFixed(1),
      Number.isFinite(baseSettled) ? (settled / baseSettled).toFixed(2) + "x" : "",
      (r.insertMs / 1000).toFixed(2),
      r.topTypes.map(([t, n]) => `${t}:${(n / 1e6).toFixed(2)}M`).join(" "),
    ];
  });
  return table(
    ["variant", "keys", "value B", "RSS Δ MiB", "RSS/key settled", "RSS/key after GC", "heap/key", "extra/key", "vs latin1-map", "insert s", "live cells"],
    rows,
  );
}

/** Writes `$<length>\r\n` as bytes, without building a string. */
function writeBulkHeader(out: OutputBuffer, length: number): void {
  out.reserve(24);
  const buf = out.buf;
  let pos = out.length;
  buf[pos++] = 36; // '$'
  if (length === 0) {
    buf[pos++] = 48;
  } else {
    let digits = 0;
    for (let n = length; n > 0; n = Math.floor(n / 10)) digits++;
    for (let n = length, j = pos + digits - 1; j >= pos; j--, n = Math.floor(n / 10)) buf[j] = 48 + (n % 10);
    pos += digits;
  }
  buf[pos++] = 13;
  buf[pos++] = 10;
  out.length = pos;
}

/** mitata timing of value creation and reply writing, for the given value sizes. */
async function timing(sizes: number[]): Promise<void> {
  for (const size of sizes) {
    const rb = makeReadBuffer(size);
    rb.fill(0, rb.perChunk);
    const { chunk, perChunk } = rb;
    const offsets = Array.from({ length: perChunk }, (_, i) => rb.valueAt(i));
    const slab = new Slab();

    // Stored values to write out, one per frame, in each representation.
    const strings = offsets.map((o) => chunk.latin1Slice(o, o + size));
    const buffers = offsets.map((o) => Buffer.from(chunk.subarray(o, o + size)));
    const views = offsets.map((o) => slab.store(chunk, o, o + size));
    const out = new OutputBuffer();
    const reply = new ReplyWriter(out);
    // Sanity: the hand-written frame is byte-identical to ReplyWriter's.
    reply.bulk(strings[0]!);
    const expected = out.buf.latin1Slice(0, out.length);
    out.length = 0;
    writeBulkHeader(out, buffers[0]!.length);
    out.length += buffers[0]!.copy(out.buf, out.length);
    out.write("\r\n");
    if (out.buf.latin1Slice(0, out.length) !== expected) throw new Error("writeBulkHeader frame differs from ReplyWriter.bulk");
    out.length = 0;

    let i = 0;
    const next = (): number => {
      i = i + 1 === perChunk ? 0 : i + 1;
      return i;
    };

    group(`create a ${size} B value from the read buffer`, () => {
      summary(() => {
        steady("latin1Slice -> string", () => {
          const o = offsets[next()]!;
          return chunk.latin1Slice(o, o + size);
        }).baseline(true);
        steady("Buffer.from(subarray) copy", () => {
          const o = offsets[next()]!;
          return Buffer.from(chunk.subarray(o, o + size));
        });
        steady("allocUnsafe + copy", () => {
          const o = offsets[next()]!;
          const b = Buffer.allocUnsafe(size);
          chunk.copy(b, 0, o, o + size);
          return b;
        });
        steady("copy into slab + subarray", () => {
          const o = offsets[next()]!;
          return slab.store(chunk, o, o + size);
        });
      });
    });

    group(`write a ${size} B stored value into the output buffer`, () => {
      summary(() => {
        steady("string: out.latin1Write", () => {
          out.length = 0;
          out.buf.latin1Write(strings[next()]!, 0);
        }).baseline(true);
        steady("Buffer: copy()", () => {
          out.length = 0;
          buffers[next()]!.copy(out.buf, 0);
        });
        steady("Buffer: out.set()", () => {
          out.length = 0;
          out.buf.set(buffers[next()]!, 0);
        });
        steady("slab view: copy()", () => {
          out.length = 0;
          views[next()]!.copy(out.buf, 0);
        });
      });
    });

    // The RESP2 frame around the value. ReplyWriter.bulk builds its header
    // with a string concatenation (a rope the write must flatten); the
    // "bytes" rows write the same header as bytes, for both representations.
    group(`whole RESP2 bulk reply of a ${size} B value`, () => {
      summary(() => {
        steady("string: ReplyWriter.bulk (as in reply.ts)", () => {
          out.length = 0;
          reply.bulk(strings[next()]!);
          do_not_optimize(out.length);
        }).baseline(true);
        steady("string: bytes header + latin1Write + CRLF", () => {
          out.length = 0;
          const s = strings[next()]!;
          writeBulkHeader(out, s.length);
          out.reserve(s.length + 2);
          out.length += out.buf.latin1Write(s, out.length);
          out.buf[out.length++] = 13;
          out.buf[out.length++] = 10;
          do_not_optimize(out.length);
        });
        steady("Buffer: concat header + copy + CRLF", () => {
          out.length = 0;
          const b = buffers[next()]!;
          out.write("$" + b.length + "\r\n");
          out.reserve(b.length + 2);
          out.length += b.copy(out.buf, out.length);
          out.write("\r\n");
          do_not_optimize(out.length);
        });
        steady("Buffer: bytes header + copy + CRLF", () => {
          out.length = 0;
          const b = buffers[next()]!;
          writeBulkHeader(out, b.length);
          out.reserve(b.length + 2);
          out.length += b.copy(out.buf, out.length);
          out.buf[out.length++] = 13;
          out.buf[out.length++] = 10;
          do_not_optimize(out.length);
        });
      });
    });
  }
  const result = (await run({ colors: process.stdout.isTTY === true })) as unknown as {
    benchmarks: (Trial & { group: number })[];
    layout: { name: string | null }[];
  };
  const rows: string[][] = [];
  for (const trial of result.benchmarks) {
    for (const r of trial.runs) {
      if (r.stats === undefined) continue;
      rows.push([result.layout[trial.group]?.name ?? "", r.name, formatNs(r.stats.p50), formatNs(r.stats.avg), formatNs(r.stats.min)]);
    }
  }
  console.log(`\nmedians (load average now ${loadavg().map((l) => l.toFixed(2)).join(" ")}):\n`);
  console.log(table(["operation", "representation", "p50", "avg", "min"], rows, 2));
}

function formatNs(ns: number): string {
  return ns < 1000 ? `${ns.toFixed(1)} ns` : `${(ns / 1000).toFixed(2)} µs`;
}

type Trial = Awaited<ReturnType<typeof run>>["benchmarks"][number];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      variant: { type: "string" },
      keys: { type: "string", default: "1000000" },
      "value-size": { type: "string", default: "32" },
      "timing-sizes": { type: "string", default: "32,1024" },
      "no-timing": { type: "boolean", default: false },
      "no-memory": { type: "boolean", default: false },
      json: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: bun bench/value-representation.ts [--keys N] [--value-size B] [--timing-sizes 32,1024] [--no-timing] [--no-memory] [--json FILE]\n" +
        `       bun bench/value-representation.ts --variant ${VARIANTS.join("|")} [--keys N] [--value-size B]`,
    );
    return;
  }
  const keys = Number(values.keys);
  const valueSize = Number(values["value-size"]);
  if (!Number.isSafeInteger(keys) || keys <= 0) throw new Error(`bad --keys ${values.keys}`);
  if (!Number.isSafeInteger(valueSize) || valueSize <= 0) throw new Error(`bad --value-size ${values["value-size"]}`);

  if (values.variant !== undefined) {
    if (!(VARIANTS as readonly string[]).includes(values.variant)) throw new Error(`unknown variant ${values.variant}; one of ${VARIANTS.join(", ")}`);
    const result = await measureVariant(values.variant as Variant, keys, valueSize);
    console.log("RESULT " + JSON.stringify(result));
    return;
  }

  console.log(`bun ${Bun.version}, ${process.platform}/${process.arch}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const results: MemoryResult[] = [];
  if (!values["no-memory"]) {
    console.log(`memory: ${keys.toLocaleString("en-US")} keys of ${KEY_SIZE} B, values of ${valueSize} B; each variant in a fresh process\n`);
    for (const variant of VARIANTS) {
      process.stdout.write(`running ${variant}... `);
      const r = await runChild(variant, keys, valueSize);
      process.stdout.write(`done\n`);
      results.push(r);
    }
    console.log();
    console.log(memoryTable(results));
    console.log(
      "\nRSS/key settled: growth after Bun.gc(true) once freed pages went back to the OS; after GC: read at once." +
        "\nheap/key: growth of JSC heapSize (includes extraMemorySize: string characters, ArrayBuffer contents, typed arrays).\n",
    );
    if (values.json !== undefined) await Bun.write(values.json, JSON.stringify(results, null, 2));
  }
  if (!values["no-timing"]) {
    const sizes = values["timing-sizes"]!.split(",").map(Number);
    await timing(sizes);
  }
}

await main();

/**
 * Micro-benchmarks of the request path, in process, with mitata:
 *
 *   bun bench/micro.ts [--filter REGEX]
 *
 *  - parse:    RequestParser.feed on a 16-command pipelined RESP buffer of
 *              `SET key:000000000001 <32 B>` and of GETs, and on 16 inline lines;
 *  - reply:    ReplyWriter encoding of a 32 B bulk, +OK, an integer and a
 *              null bulk, for RESP2 and for text (inline) clients;
 *  - keyspace: get hit / miss, set overwriting a key, and set of a new key
 *              at maxmemory under allkeys-lru (each set evicts the LRU tail),
 *              over 100k keys visited in turn (so mostly out of L1/L2);
 *  - random GET: lookup, recency and value copy of random keys over 1M keys,
 *              the key's bytes in a small buffer as the server reads them;
 *  - dispatch: GET and SET through dispatch() with a minimal context, and
 *              the whole per-read path for a 16-command pipeline (parse,
 *              dispatch, encode replies) as the server runs it minus sockets
 *              (the same 16 keys every time, so cache-hot).
 *
 * Keys and values are latin1 strings sliced out of buffers, as the parser
 * produces them (flat, not ropes). Each benchmark is measured in steady state
 * (see warmUp); each section runs in its own mitata run on a heap without the
 * previous sections' data. A closing table gives medians, which are steadier
 * than means on a shared 2-core machine; rows named "16×" are per batch, with
 * the per-command figure alongside.
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { do_not_optimize, group, run, summary } from "mitata";
import { dispatch } from "../src/commands/dispatch.ts";
import { OutputBuffer, ReplyWriter, RESP2, TEXT } from "../src/protocol/reply.ts";
import { RequestParser } from "../src/protocol/request-parser.ts";
import { Keyspace } from "../src/store/keyspace.ts";
import { HashIndex } from "../src/store/hash-index.ts";
import { Entries } from "../src/store/entries.ts";
import { entryBytes } from "../src/store/memory.ts";
import { steady } from "./steady.ts";
import { makeContext } from "../test/helpers/context.ts";

const PIPELINE = 16;
const KEYS = 100_000;
const VALUE_SIZE = 32;

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

const keyName = (i: number): string => "key:" + String(i).padStart(12, "0");
const valueFor = (i: number): string => (String(i).padStart(12, "0") + "v".repeat(VALUE_SIZE)).slice(0, VALUE_SIZE);

/** Flat latin1 strings, as RequestParser makes them (a concatenation would be a rope). */
function flat(s: string): string {
  return Buffer.from(s, "latin1").latin1Slice(0, s.length);
}

const keys = Array.from({ length: 2 * KEYS }, (_, i) => flat(keyName(i)));
const values = Array.from({ length: 2 * KEYS }, (_, i) => flat(valueFor(i)));

function respCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

const respSets = Buffer.from(Array.from({ length: PIPELINE }, (_, i) => respCommand(["SET", keyName(i + 1), valueFor(i + 1)])).join(""), "latin1");
const respGets = Buffer.from(Array.from({ length: PIPELINE }, (_, i) => respCommand(["GET", keyName(i + 1)])).join(""), "latin1");
const inlineSets = Buffer.from(Array.from({ length: PIPELINE }, (_, i) => `SET ${keyName(i + 1)} ${valueFor(i + 1)}\r\n`).join(""), "latin1");
const inlineGets = Buffer.from(Array.from({ length: PIPELINE }, (_, i) => `GET ${keyName(i + 1)}\r\n`).join(""), "latin1");

/** Fills keys[0..n) with their values. */
function fill(db: Keyspace, n: number): void {
  for (let i = 0; i < n; i++) db.set(keys[i]!, values[i]!);
}


// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

function parseBenchmarks(): void {
  const parser = new RequestParser();
  let commands = 0;
  const sink = (argv: string[]): boolean => {
    commands += argv.length;
    return true;
  };
  const onInlineError = (message: string): void => {
    throw new Error(message);
  };
  // Sanity: every buffer holds exactly PIPELINE complete commands.
  for (const buf of [respSets, respGets, inlineSets, inlineGets]) {
    let n = 0;
    parser.feed(buf, () => ++n > 0, onInlineError);
    if (n !== PIPELINE || parser.bufferedBytes !== 0) throw new Error(`parse sanity check: ${n} commands, ${parser.bufferedBytes} bytes left`);
  }

  group(`parse ${PIPELINE}× pipelined (RequestParser.feed)`, () => {
    summary(() => {
      steady(`RESP ${PIPELINE}× SET key <32 B>`, () => {
        parser.feed(respSets, sink, onInlineError);
      }).baseline(true);
      steady(`RESP ${PIPELINE}× GET key`, () => {
        parser.feed(respGets, sink, onInlineError);
      });
      steady(`inline ${PIPELINE}× SET key <32 B>`, () => {
        parser.feed(inlineSets, sink, onInlineError);
      });
      steady(`inline ${PIPELINE}× GET key`, () => {
        parser.feed(inlineGets, sink, onInlineError);
      });
    });
  });
  do_not_optimize(commands);
}

function replyBenchmarks(): void {
  const out = new OutputBuffer();
  const reply = new ReplyWriter(out);
  const value = values[1]!;
  for (const [label, protocol] of [
    ["RESP2", RESP2],
    ["text", TEXT],
  ] as const) {
    group(`reply encoding, ${label}`, () => {
      summary(() => {
        steady(`${label}: bulk 32 B`, () => {
          reply.protocol = protocol;
          out.length = 0;
          reply.bulk(value);
        }).baseline(true);
        steady(`${label}: ok`, () => {
          reply.protocol = protocol;
          out.length = 0;
          reply.ok();
        });
        steady(`${label}: integer`, () => {
          reply.protocol = protocol;
          out.length = 0;
          reply.integer(12345);
        });
        steady(`${label}: nullBulk`, () => {
          reply.protocol = protocol;
          out.length = 0;
          reply.nullBulk();
        });
      });
    });
  }
}

function keyspaceBenchmarks(): void {
  const db = new Keyspace();
  db.now = Date.now();
  fill(db, KEYS);

  // At maxmemory under allkeys-lru: KEYS keys fit. Cycling through 2×KEYS
  // names in order, the name about to be set is always the least recently
  // used one, so it has been evicted: every set adds a key and evicts one.
  const lru = new Keyspace();
  lru.now = db.now;
  lru.policy = "allkeys-lru";
  lru.maxmemory = KEYS * entryBytes(keys[0]!, values[0]!);
  for (let i = 0; i < 2 * KEYS; i++) {
    lru.set(keys[i]!, values[i]!);
    lru.evictIfNeeded();
  }

  let hit = 0;
  let miss = KEYS;
  let write = 0;
  let fresh = 0;
  group(`keyspace (${KEYS.toLocaleString("en-US")} keys, 16 B keys, 32 B values)`, () => {
    summary(() => {
      steady("get hit", () => {
        hit = hit + 1 === KEYS ? 0 : hit + 1;
        return db.get(keys[hit]!);
      }).baseline(true);
      steady("get miss", () => {
        miss = miss + 1 === 2 * KEYS ? KEYS : miss + 1;
        return db.get(keys[miss]!);
      });
      steady("set overwrite", () => {
        write = write + 1 === KEYS ? 0 : write + 1;
        db.set(keys[write]!, values[(write + 1) % KEYS]!);
      });
      steady("set new + evict LRU (allkeys-lru at maxmemory)", () => {
        fresh = fresh + 1 === 2 * KEYS ? 0 : fresh + 1;
        lru.set(keys[fresh]!, values[fresh]!);
        lru.evictIfNeeded();
      });
    });
  });
  if (db.size !== KEYS) throw new Error("get/set benchmarks changed the key count");
  if (lru.size > KEYS || lru.stats.evictedKeys === 0) throw new Error("eviction benchmark did not evict");
}

/**
 * A GET's keyspace work over 1M keys in random order, as the server does it
 * for `redis-benchmark -r 1000000`: the key's bytes in a small buffer (as in
 * a receive buffer, cache-hot), then lookup, recency refresh and value copy.
 * Almost every access misses the caches and the TLB here, so this is mostly
 * the number of cache lines a GET touches (what the per-slot record is for).
 */
function randomReadBenchmarks(): void {
  const n = 1_000_000;
  const db = new Keyspace();
  db.now = Date.now();
  for (let i = 0; i < n; i++) db.set(keyName(i), valueFor(i));
  const received = Buffer.from(keyName(0), "latin1");
  // Writes the 12 digits of key i into `received`: no memory read, unlike taking it from a 16 MB table.
  const receive = (i: number): void => {
    for (let p = 15; p >= 4; p--) {
      received[p] = 48 + (i % 10);
      i = Math.floor(i / 10);
    }
  };
  let x = 2463534242;
  const nextRandom = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  let copied = 0;
  const sink = { bulkBytes: (_source: Buffer, _start: number, length: number) => void (copied += length) };
  receive(n - 1);
  if (!db.readIntoAt(received, 0, 16, sink) || copied !== VALUE_SIZE) throw new Error("the keys are not where the benchmark looks");
  group(`random GET over ${n.toLocaleString("en-US")} keys (key bytes in a receive buffer)`, () => {
    summary(() => {
      steady("key bytes alone", () => {
        receive(nextRandom());
        return received[15];
      }).baseline(true);
      steady("Keyspace.readIntoAt", () => {
        receive(nextRandom());
        return db.readIntoAt(received, 0, 16, sink);
      });
    });
  });
}

/**
 * The key index with keys as the server sees them: a fresh string parsed
 * from the receive buffer per lookup, random order over 100k keys.
 */
function indexBenchmarks(): void {
  const map = new Map<string, number>();
  const entries = new Entries();
  entries.grow(KEYS);
  const hashes = new Int32Array(KEYS);
  const index = new HashIndex(entries, hashes);
  const received = Buffer.alloc(KEYS * 16);
  for (let i = 0; i < KEYS; i++) {
    map.set(keys[i]!, i);
    received.latin1Write(keys[i]!, i * 16);
    entries.store(i, received, i * 16, 16, values[i]!.length);
    entries.writeValue(i, values[i]!);
    index.insert(i, index.hash(received, i * 16, 16));
  }
  const scratch = Buffer.alloc(256);
  let at = 0;
  const next = () => (at = (at + 7919) % KEYS);
  group(`index lookup (${KEYS.toLocaleString("en-US")} keys, key parsed fresh per lookup)`, () => {
    summary(() => {
      steady("latin1Slice alone", () => {
        const i = next();
        return received.latin1Slice(i * 16, i * 16 + 16);
      }).baseline(true);
      steady("Map.get", () => {
        const i = next();
        return map.get(received.latin1Slice(i * 16, i * 16 + 16));
      });
      steady("HashIndex.get (key string written to a scratch buffer)", () => {
        const i = next();
        const key = received.latin1Slice(i * 16, i * 16 + 16);
        scratch.latin1Write(key, 0);
        return index.get(index.hash(scratch, 0, 16), scratch, 0, 16);
      });
      steady("HashIndex.get (key bytes where they arrived)", () => {
        const i = next();
        return index.get(index.hash(received, i * 16, 16), received, i * 16, 16);
      });
    });
  });
  if (index.get(index.hash(received, 123 * 16, 16), received, 123 * 16, 16) !== 123 || map.get(keys[123]!) !== 123) throw new Error("index lookup is wrong");
}

function dispatchBenchmarks(): void {
  const ctx = makeContext();
  fill(ctx.db, KEYS);
  const gets = Array.from({ length: KEYS }, (_, i) => [flat("GET"), keys[i]!]);
  const misses = Array.from({ length: KEYS }, (_, i) => [flat("GET"), keys[KEYS + i]!]);
  const sets = Array.from({ length: KEYS }, (_, i) => [flat("SET"), keys[i]!, values[(i + 7) % KEYS]!]);

  // Sanity: the replies are what a client would get.
  ctx.out.length = 0;
  dispatch(ctx, gets[1]!);
  dispatch(ctx, misses[1]!);
  dispatch(ctx, sets[1]!);
  const got = ctx.out.buf.latin1Slice(0, ctx.out.length);
  if (got !== `$${VALUE_SIZE}\r\n${values[1]}\r\n$-1\r\n+OK\r\n`) throw new Error(`dispatch sanity check: ${JSON.stringify(got)}`);

  // The server's per-read path: parse the chunk, dispatch each command into
  // the shared reply buffer (which would then be written to the socket).
  const parser = new RequestParser();
  const onCommand = (argv: string[], inline: boolean): boolean => {
    ctx.reply.protocol = inline ? TEXT : RESP2;
    dispatch(ctx, argv);
    return true;
  };
  const onInlineError = (message: string): void => {
    throw new Error(message);
  };

  let i = 0;
  const next = (): number => (i = i + 1 === KEYS ? 0 : i + 1);
  group("dispatch() with a minimal context", () => {
    summary(() => {
      steady("GET hit", () => {
        ctx.out.length = 0;
        dispatch(ctx, gets[next()]!);
      }).baseline(true);
      steady("GET miss", () => {
        ctx.out.length = 0;
        dispatch(ctx, misses[next()]!);
      });
      steady("SET overwrite", () => {
        ctx.out.length = 0;
        dispatch(ctx, sets[next()]!);
      });
    });
  });
  group(`per-read path: parse + dispatch + encode, ${PIPELINE}× pipelined`, () => {
    summary(() => {
      steady(`RESP ${PIPELINE}× SET`, () => {
        ctx.out.length = 0;
        parser.feed(respSets, onCommand, onInlineError);
      }).baseline(true);
      steady(`RESP ${PIPELINE}× GET`, () => {
        ctx.out.length = 0;
        parser.feed(respGets, onCommand, onInlineError);
      });
      steady(`inline ${PIPELINE}× SET`, () => {
        ctx.out.length = 0;
        parser.feed(inlineSets, onCommand, onInlineError);
      });
      steady(`inline ${PIPELINE}× GET`, () => {
        ctx.out.length = 0;
        parser.feed(inlineGets, onCommand, onInlineError);
      });
    });
  });
}

function formatNs(ns: number): string {
  return ns < 1000 ? `${ns.toFixed(1)} ns` : `${(ns / 1000).toFixed(2)} µs`;
}

/** A closing table of medians: robust to the odd slow sample on a shared 2-core machine. */
function medianTable(rows: { section: string; name: string; p50: number; avg: number; min: number }[]): string {
  const cells = rows.map((r) => {
    const batch = r.name.includes(`${PIPELINE}×`) ? PIPELINE : 1;
    return [r.section, r.name, formatNs(r.p50), formatNs(r.avg), formatNs(r.min), batch > 1 ? formatNs(r.p50 / batch) : ""];
  });
  const headers = ["section", "benchmark", "p50", "avg", "min", "p50 per command"];
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => "| " + c.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(" | ") + " |";
  const sep = "|" + widths.map((w, i) => (i < 2 ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(headers), sep, ...cells.map(line)].join("\n");
}

type Trial = Awaited<ReturnType<typeof run>>["benchmarks"][number];

const { values: options } = parseArgs({ options: { filter: { type: "string" } } });
const filter = options.filter === undefined ? undefined : new RegExp(options.filter);

console.log(`bun ${Bun.version}, ${process.platform}/${process.arch}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} CPUs`);
// One mitata run per section, each building its own data: what one section
// allocated is garbage (and collected) before the next starts, so a section's
// numbers do not depend on the heap the previous ones left behind.
const medians: { section: string; name: string; p50: number; avg: number; min: number }[] = [];
for (const section of [parseBenchmarks, replyBenchmarks, indexBenchmarks, keyspaceBenchmarks, randomReadBenchmarks, dispatchBenchmarks]) {
  section();
  Bun.gc(true);
  // mitata returns each trial's collection id and the collections' names, though its types omit them.
  const result = (await run({ colors: process.stdout.isTTY === true, ...(filter === undefined ? {} : { filter }) })) as unknown as {
    benchmarks: (Trial & { group: number })[];
    layout: { name: string | null }[];
  };
  for (const trial of result.benchmarks) {
    for (const r of trial.runs) {
      if (r.stats === undefined) continue;
      medians.push({ section: result.layout[trial.group]?.name ?? "", name: r.name, p50: r.stats.p50, avg: r.stats.avg, min: r.stats.min });
    }
  }
  Bun.gc(true);
}
console.log(`\nmedians (load average now ${loadavg().map((l) => l.toFixed(2)).join(" ")}):\n`);
console.log(medianTable(medians));

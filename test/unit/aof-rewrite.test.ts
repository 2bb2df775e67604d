import { describe, expect, test } from "bun:test";
import { encodeRecord } from "../../src/persistence/append-only-file.ts";
import { AofReader } from "../../src/persistence/aof-reader.ts";
import { SetRecords } from "../../src/persistence/aof-rewrite.ts";
import { OutputBuffer } from "../../src/protocol/reply.ts";
import { Keyspace } from "../../src/store/keyspace.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The records an AOF rewrite writes for a snapshot: a key the snapshot reads
 * in place (bytes straight from the arena) must come out byte for byte as
 * encodeRecord writes the same key and value as strings, which is what a key
 * changed during the rewrite (kept as strings) gets; and the whole output
 * must load back as the keyspace at the snapshot's instant.
 */

const NOW = Date.now();

/** Keys and values that exercise the encoding: every byte value, CRLF inside, empty, long, with and without TTL. */
function content(): Map<string, { value: string; expireAt: number }> {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  const entries: [string, string, number][] = [
    ["plain", "value", 0],
    ["bytes:\x00\xff\r\n", all, 0],
    ["empty-value", "", 0],
    ["long", "x".repeat(70_000), 0],
    ["with-ttl", "v", NOW + 60_000],
    ["\r\n", "\r\n$3\r\n", NOW + 1],
  ];
  for (let i = 0; i < 200; i++) entries.push([`k${i}`, `v${i}`.repeat(i % 7), i % 4 === 0 ? NOW + 3_600_000 + i : 0]);
  return new Map(entries.map(([key, value, expireAt]) => [key, { value, expireAt }]));
}

function filledKeyspace(): Keyspace {
  const ks = new Keyspace();
  ks.now = NOW;
  for (const [key, { value, expireAt }] of content()) ks.set(key, value, expireAt);
  return ks;
}

/** Everything `snapshot` visits, through SetRecords, in slices of `slice` slots. */
function rewrite(ks: Keyspace, slice: number, between: () => void = () => {}): { bytes: Buffer; count: number } {
  const out = new OutputBuffer();
  const records = new SetRecords(out);
  const snapshot = ks.beginSnapshot();
  while (!snapshot.done) {
    snapshot.read(slice, records);
    between();
  }
  ks.endSnapshot(snapshot);
  return { bytes: Buffer.from(out.buf.subarray(0, out.length)), count: records.count };
}

/** The records as the AOF loader sees them: key → [value, PXAT or 0]. */
function load(bytes: Buffer): Map<string, { value: string; expireAt: number }> {
  const loaded = new Map<string, { value: string; expireAt: number }>();
  new AofReader().feed(bytes, (argv) => {
    expect(argv[0]).toBe("SET");
    expect(argv.length === 3 || (argv.length === 5 && argv[3] === "PXAT")).toBe(true);
    loaded.set(argv[1]!, { value: argv[2]!, expireAt: argv.length === 5 ? Number(argv[4]) : 0 });
  });
  return loaded;
}

describe("SetRecords", () => {
  test("a key read in place is written byte for byte as encodeRecord writes it", () => {
    const { bytes, count } = rewrite(filledKeyspace(), 1000);
    const expected = new OutputBuffer();
    // A fresh keyspace puts its keys in slots in insertion order, the order a snapshot reads them.
    for (const [key, { value, expireAt }] of content()) {
      encodeRecord(expected, expireAt === 0 ? ["SET", key, value] : ["SET", key, value, "PXAT", String(expireAt)]);
    }
    expect(count).toBe(content().size);
    expect(bytes.equals(expected.buf.subarray(0, expected.length))).toBe(true);
  });

  test("keys changed during the rewrite are written as they were at its instant", () => {
    const ks = filledKeyspace();
    let step = 0;
    const { bytes, count } = rewrite(ks, 7, () => {
      // Overwrite, delete, and add keys ahead of and behind the cursor.
      step++;
      ks.set(`k${(step * 13) % 200}`, `changed${step}`, 0);
      ks.delete(`k${(step * 29) % 200}`);
      ks.set(`new${step}`, "added after the instant", 0);
    });
    expect(load(bytes)).toEqual(content());
    expect(count).toBe(content().size);
  });
});

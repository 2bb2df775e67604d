import { describe, expect, test } from "bun:test";
import { HashIndex } from "../../src/store/hash-index.ts";
import { Entries } from "../../src/store/entries.ts";
import { rng } from "../helpers/random.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** An index over slots the test hands out, checked against a Map model. */
function harness(capacity: number) {
  const entries = new Entries();
  entries.grow(capacity);
  const index = new HashIndex(entries, new Int32Array(capacity));
  /** The slot the index finds for `key`, looked up from bytes at an offset (as in a receive buffer). */
  const find = (key: string): number => {
    const bytes = Buffer.from("##" + key + "##", "latin1");
    return index.get(index.hash(bytes, 2, key.length), bytes, 2, key.length);
  };
  const model = new Map<string, number>();
  const free: number[] = [];
  let next = 0;
  return {
    index,
    model,
    find,
    add(key: string) {
      const slot = free.pop() ?? next++;
      const bytes = Buffer.from(key, "latin1");
      entries.store(slot, bytes, 0, bytes.length, 0);
      index.insert(slot, index.hash(bytes, 0, bytes.length));
      model.set(key, slot);
    },
    /** Gives the key's value `length` bytes; a key that outgrew its block moves to another. */
    resize(key: string, length: number) {
      const slot = model.get(key)!;
      if (entries.resizeValue(slot, length)) index.relocate(slot);
    },
    remove(key: string) {
      const slot = model.get(key)!;
      index.remove(slot);
      entries.remove(slot);
      model.delete(key);
      free.push(slot);
    },
    check() {
      expect(index.size).toBe(model.size);
      for (const [key, slot] of model) expect(find(key)).toBe(slot);
    },
  };
}

describe("HashIndex", () => {
  test("keys whose hashes collide are told apart by length and bytes, a key that is another's prefix included", () => {
    const entries = new Entries();
    entries.grow(8);
    const index = new HashIndex(entries, new Int32Array(8));
    const keys = ["abc", "abcd", "abd"];
    keys.forEach((key, slot) => {
      const bytes = Buffer.from(key, "latin1");
      entries.store(slot, bytes, 0, bytes.length, 0);
      index.insert(slot, 42); // the same hash for all three
    });
    const lookup = (key: string) => index.get(42, Buffer.from(key, "latin1"), 0, key.length);
    expect(keys.map(lookup)).toEqual([0, 1, 2]);
    expect(["ab", "abcde", "abe", ""].map(lookup)).toEqual([-1, -1, -1, -1]);
  });

  test("finds what was inserted and nothing else, across growth", () => {
    const h = harness(20_000);
    for (let i = 0; i < 20_000; i++) h.add(`key:${i}`);
    h.check();
    expect(h.find("key:20000")).toBe(-1);
    expect(h.find("")).toBe(-1);
  });

  test("random inserts and removes match a Map model, probe runs stay unbroken", () => {
    // A small key space forces long probe runs, wrap-around at the table's
    // end and many backward shifts on removal.
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const h = harness(4096);
      for (let op = 0; op < 30_000; op++) {
        const key = `k${(rand() * 3000) | 0}`;
        if (h.model.has(key)) h.remove(key);
        else h.add(key);
        if (op % 1000 === 0) h.check();
      }
      h.check();
      for (const key of [...h.model.keys()]) h.remove(key);
      expect(h.index.size).toBe(0);
      h.check();
    }
  });

  test("while it resizes, entries in both tables are found, removed and re-added correctly", () => {
    // Growth moves a few old entries per insert; every operation here runs
    // with part of the keys in the old table and part in the new one.
    for (const seed of [4, 5, 6]) {
      const rand = rng(seed);
      const h = harness(30_000);
      const live: string[] = [];
      let checkedWhileResizing = 0;
      for (let op = 0; op < 30_000; op++) {
        if (rand() < 0.6 || live.length === 0) {
          h.add(`n${op}`);
          live.push(`n${op}`);
        } else {
          const at = (rand() * live.length) | 0;
          const key = live[at]!;
          h.remove(key);
          if (rand() < 0.5) {
            h.add(key); // back in, now into the new table
          } else {
            live[at] = live[live.length - 1]!;
            live.pop();
          }
        }
        if (h.index.resizing && rand() < 0.005) {
          h.check();
          checkedWhileResizing++;
        }
      }
      h.check();
      expect(checkedWhileResizing).toBeGreaterThan(5);
    }
  });

  test("a key whose block moved is found where it went, in either table, once its old block is reused", () => {
    // The index keeps each key's block beside its slot. A value that outgrows
    // its block moves the key; the freed block goes to the next key of that
    // size, so an entry left pointing at it would compare against another key.
    for (const seed of [7, 8]) {
      const rand = rng(seed);
      const h = harness(30_000);
      let movedWhileResizing = 0;
      for (let i = 0; i < 20_000; i++) {
        h.add(`m${i}`);
        if (rand() < 0.3) {
          const key = `m${(rand() * (i + 1)) | 0}`;
          if (h.index.resizing) movedWhileResizing++;
          h.resize(key, 16 + ((rand() * 200) | 0));
          h.add(`r${i}`); // takes the block just freed (same size, last freed first)
        }
      }
      h.check();
      expect(movedWhileResizing).toBeGreaterThan(10);
    }
  });

  test("binary keys, the empty key and keys that differ only in length", () => {
    const h = harness(16);
    for (const key of ["", "\0", "\0\0", "a", "a\0", "\xff\r\n", "x".repeat(1000)]) h.add(key);
    h.check();
    h.remove("\0");
    h.check();
    expect(h.find("\0")).toBe(-1);
  });

  test("clear empties it and it is usable again", () => {
    const h = harness(5000);
    for (let i = 0; i < 5000; i++) h.add(`a${i}`);
    h.index.clear();
    expect(h.index.size).toBe(0);
    expect(h.find("a1")).toBe(-1);
  });
});

import { describe, expect, test } from "bun:test";
import { Arena } from "../../src/store/arena.ts";
import { FLUSH_RETAIN_MS, KEEP_TTL, Keyspace } from "../../src/store/keyspace.ts";
import { ENTRY_OVERHEAD_BYTES, entryBytes } from "../../src/store/memory.ts";
import { rng } from "../helpers/random.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Unit tests for the structure-of-arrays keyspace. Time is driven through
 * `ks.now`; eviction is driven the way the tests say (set, then evictIfNeeded),
 * so "N keys fit" is exact.
 */

const T0 = Date.now();

/** A keyspace whose clock is fixed at T0. */
function keyspace(): Keyspace {
  const ks = new Keyspace();
  ks.now = T0;
  return ks;
}

/** Keys of equal length and equal value length all cost the same: `N` of them fit exactly. */
const SAME = "v".repeat(8);
function key(i: number): string {
  return `k${String(i).padStart(5, "0")}`;
}
const PER_KEY = entryBytes(key(0), SAME);

function present(ks: Keyspace, keys: string[]): string[] {
  return keys.filter((k) => ks.peek(k) !== undefined);
}

function scanAll(ks: Keyspace, count = 10): string[] {
  const seen: string[] = [];
  let cursor = 0;
  let steps = 0;
  do {
    cursor = ks.scan(cursor, count, (k) => seen.push(k));
    if (++steps > 1_000_000) throw new Error("scan does not terminate");
  } while (cursor !== 0);
  return seen;
}

describe("basic operations", () => {
  test("set / get / peek / has / delete", () => {
    const ks = keyspace();
    expect(ks.get("a")).toBeUndefined();
    expect(ks.stats.misses).toBe(1);
    ks.set("a", "1");
    ks.set("b", "2");
    expect(ks.size).toBe(2);
    expect(ks.get("a")).toBe("1");
    expect(ks.stats.hits).toBe(1);
    expect(ks.peek("b")).toBe("2");
    // peek counts neither a hit nor a miss
    expect(ks.peek("zz")).toBeUndefined();
    expect(ks.stats).toMatchObject({ hits: 1, misses: 1 });
    expect(ks.has("a")).toBe(true);
    expect(ks.has("zz")).toBe(false);
    ks.set("a", "one");
    expect(ks.get("a")).toBe("one");
    expect(ks.size).toBe(2);
    expect(ks.delete("a")).toBe(true);
    expect(ks.delete("a")).toBe(false);
    expect(ks.get("a")).toBeUndefined();
    expect(ks.size).toBe(1);
    expect(ks.touch("b")).toBe(true);
    expect(ks.touch("a")).toBe(false);
  });

  test("binary-safe byte-string keys and values, including the empty string", () => {
    const ks = keyspace();
    const bin = "\x00\xff\r\n\x80";
    ks.set(bin, bin);
    ks.set("", "");
    expect(ks.get(bin)).toBe(bin);
    expect(ks.get("")).toBe("");
    expect(ks.size).toBe(2);
    expect(scanAll(ks).sort()).toEqual(["", bin].sort());
  });

  test("expire bookkeeping: set with TTL, KEEP_TTL, overwrite clears, setExpire / persist", () => {
    const ks = keyspace();
    ks.set("a", "1", T0 + 10_000);
    expect(ks.expireTime("a")).toBe(T0 + 10_000);
    expect(ks.volatileSize).toBe(1);
    ks.set("a", "2", KEEP_TTL);
    expect(ks.expireTime("a")).toBe(T0 + 10_000);
    ks.set("a", "3");
    expect(ks.expireTime("a")).toBe(0);
    expect(ks.volatileSize).toBe(0);
    expect(ks.setExpire("a", T0 + 5000)).toBe(true);
    expect(ks.setExpire("a", T0 + 6000)).toBe(true);
    expect(ks.volatileSize).toBe(1);
    expect(ks.expireTime("a")).toBe(T0 + 6000);
    expect(ks.setExpire("a", 0)).toBe(true);
    expect(ks.volatileSize).toBe(0);
    expect(ks.setExpire("nope", T0 + 1)).toBe(false);
    expect(ks.expireTime("nope")).toBe(-1);
    // KEEP_TTL on a new key means no TTL
    ks.set("fresh", "x", KEEP_TTL);
    expect(ks.expireTime("fresh")).toBe(0);
    expect(ks.volatileSize).toBe(0);
  });

  test("memoryUsage matches entryBytes", () => {
    const ks = keyspace();
    ks.set("key", "x".repeat(100));
    expect(ks.memoryUsage("key")).toBe(entryBytes("key", "x".repeat(100)));
    expect(ks.memoryUsage("key")).toBeGreaterThanOrEqual(ENTRY_OVERHEAD_BYTES + 100);
    expect(ks.memoryUsage("missing")).toBe(-1);
  });
});

describe("memory accounting", () => {
  test("usedMemory follows writes and returns to 0 after deleting everything", () => {
    const ks = keyspace();
    const rand = rng(1);
    let expected = 0;
    const model = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const k = `key:${(rand() * 700) | 0}`;
      const r = rand();
      if (r < 0.6) {
        const v = "x".repeat((rand() * 300) | 0);
        ks.set(k, v, rand() < 0.3 ? T0 + 60_000 : rand() < 0.5 ? KEEP_TTL : 0);
        model.set(k, v);
      } else if (r < 0.8) {
        ks.delete(k);
        model.delete(k);
      } else {
        ks.setExpire(k, rand() < 0.5 ? 0 : T0 + 1000);
      }
    }
    for (const [k, v] of model) expected += entryBytes(k, v);
    expect(ks.usedMemory).toBe(expected);
    expect(ks.size).toBe(model.size);
    for (const k of model.keys()) expect(ks.delete(k)).toBe(true);
    expect(ks.size).toBe(0);
    expect(ks.volatileSize).toBe(0);
    expect(ks.usedMemory).toBe(0);
  });

  test("usedMemory returns to 0 after flush, and the keyspace is usable again", () => {
    const ks = keyspace();
    for (let i = 0; i < 3000; i++) ks.set(`k${i}`, `value-${i}`, i % 3 === 0 ? T0 + 10_000 : 0);
    expect(ks.usedMemory).toBeGreaterThan(0);
    expect(ks.flush()).toBe(3000);
    expect(ks.usedMemory).toBe(0);
    expect(ks.size).toBe(0);
    expect(ks.volatileSize).toBe(0);
    expect(ks.get("k1")).toBeUndefined();
    expect(scanAll(ks)).toEqual([]);
    expect(ks.randomKey()).toBeUndefined();
    // Reuse: everything works as on a fresh keyspace, including growth, TTLs and LRU.
    for (let i = 0; i < 3000; i++) ks.set(`n${i}`, `v${i}`, i % 2 === 0 ? T0 + 10_000 : 0);
    expect(ks.size).toBe(3000);
    expect(ks.volatileSize).toBe(1500);
    for (let i = 0; i < 3000; i++) expect(ks.peek(`n${i}`)).toBe(`v${i}`);
    expect(new Set(scanAll(ks)).size).toBe(3000);
    ks.maxmemory = ks.usedMemory - 1;
    expect(ks.evictIfNeeded()).toBe(true);
    expect(ks.has("n0")).toBe(false); // the least recently used
    expect(ks.has("n1")).toBe(true);
    ks.maxmemory = 0;
    for (let i = 1; i < 3000; i++) ks.delete(`n${i}`);
    expect(ks.usedMemory).toBe(0);
  });

  test("flush keeps the emptied memory for a refill, then lets go of what the refill did not use", () => {
    const ks = keyspace();
    for (let i = 0; i < 100_000; i++) ks.set(`k${i}`, "v".repeat(40));
    const capacity = ks.slotCapacity;
    const pages = ks.arenaPages;
    expect(pages).toBeGreaterThan(4);
    ks.flush();
    expect(ks.slotCapacity).toBe(capacity);
    expect(ks.arenaPages).toBe(pages);
    // A small refill is cut from the kept pages: no new page, no growth.
    for (let i = 0; i < 1000; i++) ks.set(`n${i}`, "w".repeat(40));
    expect(ks.arenaPages).toBe(pages);
    expect(ks.slotCapacity).toBe(capacity);
    ks.now = T0 + FLUSH_RETAIN_MS - 1;
    ks.releaseRetained();
    expect(ks.arenaPages).toBe(pages);
    // The grace is over: the pages the refill did not reach go, its keys stay.
    ks.now = T0 + FLUSH_RETAIN_MS;
    ks.releasedMemory = 0;
    ks.releaseRetained();
    expect(ks.arenaPages).toBe(1);
    // Counted as released, so that the server's idle-time collection frees it.
    expect(ks.releasedMemory).toBe((pages - 1) * 1024 * 1024);
    for (let i = 0; i < 1000; i++) expect(ks.get(`n${i}`)).toBe("w".repeat(40));
    expect(ks.size).toBe(1000);
    // A keyspace still empty when the grace ends gets its first-start size back.
    const initial = keyspace().slotCapacity;
    ks.flush();
    ks.now = T0 + 2 * FLUSH_RETAIN_MS;
    ks.releasedMemory = 0;
    ks.releaseRetained();
    expect(ks.releasedMemory).toBeGreaterThan(capacity * 32);
    expect(ks.slotCapacity).toBe(initial);
    expect(ks.arenaPages).toBe(0);
    ks.set("again", "x");
    expect(ks.get("again")).toBe("x");
  });

  test("a flush during a snapshot drops the storage, counted as released only when the snapshot ends", () => {
    const ks = keyspace();
    for (let i = 0; i < 100_000; i++) ks.set(`k${i}`, "v".repeat(40));
    const pages = ks.arenaPages;
    const snapshot = ks.beginSnapshot();
    const used = ks.usedMemory;
    ks.releasedMemory = 0;
    ks.flush();
    // The snapshot still reads the old storage: a collection now would free nothing of it.
    expect(ks.releasedMemory).toBe(used);
    expect(ks.arenaPages).toBe(0);
    ks.now = T0 + FLUSH_RETAIN_MS;
    ks.releaseRetained(); // nothing was kept for a refill
    expect(ks.releasedMemory).toBe(used);
    ks.endSnapshot(snapshot);
    expect(ks.releasedMemory).toBeGreaterThanOrEqual(used + pages * 1024 * 1024);
    ks.releasedMemory = 0;
    ks.endSnapshot(snapshot); // an abort after the end: nothing twice
    expect(ks.releasedMemory).toBe(0);
  });

  test("after a flush kept its memory, slots read as new: TTLs, LRU order, SCAN and random picks see only the refill", () => {
    const ks = keyspace();
    for (let i = 0; i < 5000; i++) ks.set(`old${i}`, `value-${i}`, i % 2 === 0 ? T0 + 10_000 : 0);
    for (let i = 0; i < 5000; i += 7) ks.delete(`old${i}`); // free slots and free blocks, which must not come back
    ks.flush();
    for (let i = 0; i < 300; i++) ks.set(`new${i}`, `v${i}`, i % 3 === 0 ? T0 + 5000 : 0);
    expect(ks.size).toBe(300);
    expect(ks.volatileSize).toBe(100);
    expect(ks.expireTime("new1")).toBe(0);
    expect(ks.expireTime("new3")).toBe(T0 + 5000);
    expect(ks.get("old1")).toBeUndefined();
    expect(new Set(scanAll(ks))).toEqual(new Set(Array.from({ length: 300 }, (_, i) => `new${i}`)));
    for (let i = 0; i < 50; i++) expect(ks.randomKey()).toStartWith("new");
    ks.now = T0 + 5000;
    expect(ks.removeExpired()).toBe(100);
    expect(ks.size).toBe(200);
    ks.maxmemory = ks.usedMemory - 1;
    expect(ks.evictIfNeeded()).toBe(true);
    expect(ks.has("new1")).toBe(false); // the least recently used of the refill
    expect(ks.has("new2")).toBe(true);
  });

  test("usedMemory returns to 0 when keys leave by expiry and by eviction", () => {
    const ks = keyspace();
    for (let i = 0; i < 500; i++) ks.set(`e${i}`, "x".repeat(i), T0 + 1000);
    for (let i = 0; i < 500; i++) ks.set(`p${i}`, "y".repeat(i));
    ks.now = T0 + 1000;
    while (ks.volatileSize > 0) ks.activeExpireCycle(100);
    ks.maxmemory = 1;
    expect(ks.evictIfNeeded()).toBe(true); // allkeys-lru takes every key to get under 1 byte
    expect(ks.size).toBe(0);
    expect(ks.usedMemory).toBe(0);
  });
  test("releasedMemory counts every byte let go: overwrite, delete, expiry, eviction, flush", () => {
    const ks = keyspace();
    ks.set("a", "x".repeat(100));
    ks.set("b", "y", T0 + 1000);
    ks.set("c", "z");
    ks.set("d", "w");
    expect(ks.releasedMemory).toBe(0);
    let expected = entryBytes("a", "x".repeat(100));
    ks.set("a", "short"); // overwrite releases the old entry
    expect(ks.releasedMemory).toBe(expected);
    ks.delete("c");
    expected += entryBytes("c", "z");
    expect(ks.releasedMemory).toBe(expected);
    ks.now = T0 + 1000;
    expect(ks.get("b")).toBeUndefined();
    expected += entryBytes("b", "y");
    expect(ks.releasedMemory).toBe(expected);
    ks.maxmemory = ks.usedMemory - 1;
    ks.evictIfNeeded(); // evicts "a" (least recently used)
    expected += entryBytes("a", "short");
    expect(ks.releasedMemory).toBe(expected);
    ks.maxmemory = 0;
    ks.set("e", "v");
    expected += ks.usedMemory;
    ks.flush();
    expect(ks.releasedMemory).toBe(expected);
  });
});

describe("exact LRU eviction", () => {
  const N = 10;

  function filled(): { ks: Keyspace; keys: string[] } {
    const ks = keyspace();
    ks.maxmemory = N * PER_KEY;
    const keys: string[] = [];
    for (let i = 0; i < N; i++) {
      keys.push(key(i));
      ks.set(key(i), SAME);
      expect(ks.evictIfNeeded()).toBe(true);
    }
    expect(ks.size).toBe(N);
    expect(ks.stats.evictedKeys).toBe(0);
    return { ks, keys };
  }

  test("N keys fit exactly; the N+1th insert evicts the oldest", () => {
    const { ks } = filled();
    ks.set(key(N), SAME);
    expect(ks.evictIfNeeded()).toBe(true);
    expect(ks.size).toBe(N);
    expect(ks.has(key(0))).toBe(false);
    expect(ks.stats.evictedKeys).toBe(1);
    expect(ks.usedMemory).toBeLessThanOrEqual(ks.maxmemory);
  });

  test("after touching keys in a chosen order, inserts evict exactly in that recency order", () => {
    const { ks, keys } = filled();
    // A permutation: read via get and touch (both count); peek must not.
    const order = [7, 2, 9, 0, 5, 1, 8, 3, 6, 4];
    for (const [n, i] of order.entries()) {
      if (n % 2 === 0) expect(ks.get(keys[i]!)).toBe(SAME);
      else expect(ks.touch(keys[i]!)).toBe(true);
    }
    // peek (and other lookups) in the reverse order: changes nothing
    for (const i of [...order].reverse()) ks.peek(keys[i]!);
    for (const i of [...order].reverse()) ks.has(keys[i]!);
    ks.has(keys[7]!);
    ks.expireTime(keys[7]!);
    ks.memoryUsage(keys[7]!);
    for (let n = 0; n < N; n++) {
      ks.set(key(100 + n), SAME);
      expect(ks.evictIfNeeded()).toBe(true);
      const evicted = keys.filter((k) => !ks.has(k));
      expect(evicted).toEqual(order.slice(0, n + 1).map((i) => keys[i]!).sort());
    }
    expect(ks.stats.evictedKeys).toBe(N);
  });

  test("overwriting a key counts as a use; setExpire does not", () => {
    const { ks, keys } = filled();
    ks.set(keys[0]!, SAME); // now most recent
    ks.setExpire(keys[1]!, T0 + 100_000); // not a use
    ks.set(key(50), SAME);
    ks.evictIfNeeded();
    expect(ks.has(keys[0]!)).toBe(true);
    expect(ks.has(keys[1]!)).toBe(false);
  });

  test("a bigger value evicts as many least recently used keys as needed", () => {
    const { ks, keys } = filled();
    ks.get(keys[0]!);
    // The longest value whose entry costs at most 3 keys' worth (and more than 2).
    let length = 0;
    while (entryBytes("big", "b".repeat(length + 1)) <= PER_KEY * 3) length++;
    expect(entryBytes("big", "b".repeat(length))).toBeGreaterThan(PER_KEY * 2);
    ks.set("big", "b".repeat(length));
    ks.evictIfNeeded();
    expect(ks.usedMemory).toBeLessThanOrEqual(ks.maxmemory);
    expect(present(ks, keys)).toEqual(keys.filter((_, i) => i === 0 || i >= 4));
  });

  test("bursty random workload matches a reference Map-based LRU model exactly", () => {
    // The model: a Map in recency order (oldest first); a use is delete + set.
    for (const seed of [7, 42, 1234]) {
      const rand = rng(seed);
      const ks = keyspace();
      const model = new Map<string, string>();
      let modelBytes = 0;
      const limit = 64 * 200;
      ks.maxmemory = limit;
      const use = (k: string, v: string) => {
        const old = model.get(k);
        if (old !== undefined) modelBytes -= entryBytes(k, old);
        model.delete(k);
        model.set(k, v);
        modelBytes += entryBytes(k, v);
      };
      let modelEvicted = 0;
      const evict = () => {
        while (modelBytes > limit) {
          const oldest = model.keys().next().value as string;
          modelBytes -= entryBytes(oldest, model.get(oldest)!);
          model.delete(oldest);
          modelEvicted++;
        }
      };
      // Track, per key, the op count of its last access, and the sequence of
      // accesses, to check the LRU invariant on every eviction.
      let nextKey = 0;
      for (let op = 0; op < 6000; op++) {
        const r = rand();
        const burst = rand() < 0.05 ? 20 + ((rand() * 200) | 0) : 1;
        for (let b = 0; b < burst; b++) {
          const before = new Set(model.keys());
          if (r < 0.35) {
            // insert a new key (bursts of these)
            const k = `key:${nextKey++}`;
            const v = "v".repeat((rand() * 60) | 0);
            ks.set(k, v);
            use(k, v);
          } else if (r < 0.55 && model.size > 0) {
            // read an existing key (mostly recent ones, sometimes old ones)
            const keys = [...model.keys()];
            const k = keys[rand() < 0.5 ? keys.length - 1 - ((rand() * Math.min(10, keys.length)) | 0) : (rand() * keys.length) | 0]!;
            if (rand() < 0.5) expect(ks.get(k)).toBe(model.get(k)!);
            else expect(ks.touch(k)).toBe(true);
            use(k, model.get(k)!);
          } else if (r < 0.65 && model.size > 0) {
            // peek: must not change recency
            const keys = [...model.keys()];
            const k = keys[(rand() * keys.length) | 0]!;
            expect(ks.peek(k)).toBe(model.get(k)!);
          } else if (r < 0.75 && model.size > 0) {
            // overwrite with another size
            const keys = [...model.keys()];
            const k = keys[(rand() * keys.length) | 0]!;
            const v = "w".repeat((rand() * 120) | 0);
            ks.set(k, v);
            use(k, v);
          } else if (r < 0.85 && model.size > 0) {
            const keys = [...model.keys()];
            const k = keys[(rand() * keys.length) | 0]!;
            expect(ks.delete(k)).toBe(true);
            modelBytes -= entryBytes(k, model.get(k)!);
            model.delete(k);
          } else {
            // read of a missing key: a miss, changes nothing
            expect(ks.get(`missing:${op}`)).toBeUndefined();
          }
          expect(ks.evictIfNeeded()).toBe(true);
          evict();
          expect(ks.usedMemory).toBe(modelBytes);
          expect(ks.size).toBe(model.size);
          // Same contents (read with forEach, which must not touch recency either).
          const actual = new Map<string, string>();
          ks.forEach((k, v) => actual.set(k, v));
          for (const [k, v] of model) if (actual.get(k) !== v) throw new Error(`seed ${seed} op ${op}: ${k} missing or wrong`);
          for (const k of before) if (!model.has(k) && ks.has(k)) throw new Error(`seed ${seed} op ${op}: ${k} should be gone`);
        }
      }
      expect(ks.stats.evictedKeys).toBe(modelEvicted);
      expect(modelEvicted).toBeGreaterThan(500);
    }
  }, 30_000); // ~3.6 s alone: it reads the whole keyspace back after every operation

  test("a key accessed among the last N distinct keys used is never evicted (bursty workload, thousands of ops)", () => {
    // The exact-LRU invariant: with room for N equal-size keys, a key is
    // evicted only once N other distinct keys were used (written or read)
    // after its own last use. In particular a key read since the last N
    // inserts, with no other key read meanwhile, always survives; Redis's
    // sampled LRU cannot promise this.
    const rand = rng(99);
    const ks = keyspace();
    const cap = 100;
    ks.maxmemory = cap * PER_KEY;
    const useLog: string[] = [];
    const used = (k: string) => useLog.push(k);
    let inserted = 0;
    let evictions = 0;
    const insert = () => {
      const k = key(inserted++);
      ks.set(k, SAME);
      used(k);
      const sizeBefore = ks.size;
      expect(ks.evictIfNeeded()).toBe(true);
      evictions += sizeBefore - ks.size;
    };
    const read = (k: string) => {
      if (ks.get(k) !== undefined) used(k);
    };
    const hot = Array.from({ length: 20 }, (_, i) => key(i));
    for (let i = 0; i < 20; i++) insert();
    let ops = 0;
    for (let round = 0; round < 500; round++) {
      // A few reads of random keys, present or long evicted.
      const reads = (rand() * 30) | 0;
      for (let r = 0; r < reads; r++) read(key((rand() * inserted) | 0));
      // The application's hot set, read in a random order.
      for (const k of [...hot].sort(() => rand() - 0.5)) read(k);
      // Then a burst of cold writes: up to cap - |hot| - 10 keys, so a hot key
      // read just before it is still among the last `cap` distinct keys used.
      const burst = 10 + ((rand() * 60) | 0);
      for (let b = 0; b < burst; b++) insert();
      ops += reads + hot.length + burst;
      // Every key among the last `cap` distinct keys used must be present.
      const recent = new Set<string>();
      for (let i = useLog.length - 1; i >= 0 && recent.size < cap; i--) recent.add(useLog[i]!);
      if (inserted >= cap) expect(recent.size).toBe(cap);
      for (const k of recent) if (!ks.has(k)) throw new Error(`round ${round}: ${k}, among the last ${cap} keys used, was evicted`);
      for (const k of hot) if (!ks.has(k)) throw new Error(`round ${round}: hot key ${k} was evicted`);
      if (useLog.length > 50_000) useLog.splice(0, useLog.length - 1000);
    }
    expect(ops).toBeGreaterThan(10_000);
    expect(evictions).toBeGreaterThan(10_000);
    expect(ks.stats.evictedKeys).toBe(evictions);
  });

  test("noeviction: evictIfNeeded returns false over the limit, true under it, and takes nothing", () => {
    const ks = keyspace();
    ks.policy = "noeviction";
    expect(ks.evictIfNeeded()).toBe(true); // maxmemory 0: no limit
    for (let i = 0; i < 20; i++) ks.set(key(i), SAME);
    ks.maxmemory = 20 * PER_KEY;
    expect(ks.overMemoryLimit).toBe(false);
    expect(ks.evictIfNeeded()).toBe(true);
    ks.set("one-more", SAME);
    expect(ks.overMemoryLimit).toBe(true);
    expect(ks.evictIfNeeded()).toBe(false);
    expect(ks.size).toBe(21);
    expect(ks.stats.evictedKeys).toBe(0);
    ks.delete("one-more");
    expect(ks.evictIfNeeded()).toBe(true);
  });

  test("allkeys-lru on an empty keyspace with an impossible limit returns false", () => {
    const ks = keyspace();
    ks.maxmemory = 1;
    expect(ks.evictIfNeeded()).toBe(true); // usage 0 is under the limit
    ks.set("a", "b".repeat(1000));
    expect(ks.evictIfNeeded()).toBe(true); // evicts "a" itself
    expect(ks.size).toBe(0);
  });
});

describe("recency while no LRU policy evicts (access numbers instead of the list)", () => {
  /**
   * Runs a random workload with eviction off, against a model Map in
   * recency order (oldest first), then turns `policy` on with a 1-byte
   * limit and returns the keys in the order they were evicted.
   */
  function workloadThenEvict(ks: Keyspace, model: Map<string, boolean>, rand: () => number, ops: number, policy: "allkeys-lru" | "volatile-lru"): string[] {
    const use = (k: string, volatile: boolean) => {
      model.delete(k);
      model.set(k, volatile);
    };
    const randomKey = () => {
      const keys = [...model.keys()];
      return keys[(rand() * keys.length) | 0]!;
    };
    for (let op = 0; op < ops; op++) {
      const r = rand();
      if (r < 0.3 || model.size === 0) {
        const k = `key:${op}:${(rand() * 1e6) | 0}`;
        const volatile = rand() < 0.4;
        ks.set(k, "v", volatile ? T0 + 1_000_000 : 0);
        use(k, volatile);
      } else if (r < 0.55) {
        const k = randomKey();
        if (rand() < 0.5) expect(ks.get(k)).toBe("v");
        else expect(ks.touch(k)).toBe(true);
        use(k, model.get(k)!);
      } else if (r < 0.7) {
        ks.peek(randomKey()); // not a use
      } else if (r < 0.8) {
        const k = randomKey();
        ks.set(k, "v", KEEP_TTL); // an overwrite is a use
        use(k, model.get(k)!);
      } else if (r < 0.9) {
        const k = randomKey();
        expect(ks.delete(k)).toBe(true);
        model.delete(k);
      } else {
        // Eviction switched off and on without evicting: the order survives both ways.
        ks.maxmemory = 1 << 30;
        if (rand() < 0.5) ks.policy = "noeviction";
        ks.maxmemory = 0;
        ks.policy = "allkeys-lru";
      }
    }
    const evicted: string[] = [];
    ks.onRemoved = (k) => evicted.push(k);
    ks.policy = policy;
    ks.maxmemory = 1;
    ks.evictIfNeeded();
    ks.onRemoved = null;
    return evicted;
  }

  test("turning allkeys-lru on evicts in exact recency order what was used while it was off", () => {
    for (const seed of [3, 99, 2024]) {
      const rand = rng(seed);
      const ks = keyspace();
      const model = new Map<string, boolean>();
      expect(workloadThenEvict(ks, model, rand, 3000, "allkeys-lru")).toEqual([...model.keys()]);
      expect(ks.size).toBe(0);
      expect(ks.usedMemory).toBe(0);
    }
  });

  test("turning volatile-lru on evicts the keys with a TTL in exact recency order, and only them", () => {
    for (const seed of [5, 77]) {
      const rand = rng(seed);
      const ks = keyspace();
      const model = new Map<string, boolean>();
      const evicted = workloadThenEvict(ks, model, rand, 3000, "volatile-lru");
      expect(evicted).toEqual([...model.entries()].filter(([, volatile]) => volatile).map(([k]) => k));
      expect(ks.size).toBe(model.size - evicted.length);
      expect(ks.volatileSize).toBe(0);
    }
  });

  test("recency kept by the list is handed back to access numbers when eviction is turned off", () => {
    const ks = keyspace();
    ks.maxmemory = 1 << 30;
    for (let i = 0; i < 10; i++) ks.set(key(i), SAME);
    for (const i of [4, 0, 7]) ks.get(key(i));
    ks.maxmemory = 0; // from the list to numbers
    ks.touch(key(2));
    const evicted: string[] = [];
    ks.onRemoved = (k) => evicted.push(k);
    ks.maxmemory = 1; // and back
    ks.evictIfNeeded();
    expect(evicted).toEqual([1, 3, 5, 6, 8, 9, 4, 0, 7, 2].map(key));
  });

  test("the access number's low half carries into the high half without losing the order", () => {
    const ks = keyspace();
    // 2^31 accesses take hours; start the counter just below the carry instead.
    (ks as unknown as { accessLow: number }).accessLow = 2 ** 31 - 4;
    for (let i = 0; i < 8; i++) ks.set(key(i), SAME); // numbers straddle the carry
    for (const i of [6, 1, 3]) ks.get(key(i));
    const evicted: string[] = [];
    ks.onRemoved = (k) => evicted.push(k);
    ks.maxmemory = 1;
    ks.evictIfNeeded();
    expect(evicted).toEqual([0, 2, 4, 5, 7, 6, 1, 3].map(key));
  });
});

describe("volatile and random policies only take eligible keys", () => {
  /** 10 persistent keys p*, 10 volatile keys v*, exactly full. */
  function mixed(policy: Keyspace["policy"]): { ks: Keyspace; persistent: string[]; volatile: string[] } {
    const ks = keyspace();
    ks.policy = policy;
    const persistent: string[] = [];
    const volatile: string[] = [];
    for (let i = 0; i < 10; i++) {
      const p = `p${String(i).padStart(5, "0")}`;
      const v = `v${String(i).padStart(5, "0")}`;
      persistent.push(p);
      volatile.push(v);
      ks.set(v, SAME, T0 + 1_000_000 + i * 1000);
      ks.set(p, SAME);
    }
    ks.maxmemory = ks.usedMemory;
    return { ks, persistent, volatile };
  }

  test("volatile-lru evicts only keys with a TTL, in their own recency order", () => {
    const { ks, persistent, volatile } = mixed("volatile-lru");
    // Make the persistent keys the least recently used of all.
    const order = [3, 8, 0, 6, 1, 9, 4, 2, 7, 5];
    for (const i of order) ks.get(volatile[i]!);
    for (const i of order) ks.peek(persistent[i]!);
    for (let n = 0; n < 10; n++) {
      ks.set(`new${n}`, SAME);
      expect(ks.evictIfNeeded()).toBe(true);
      expect(present(ks, persistent)).toEqual(persistent);
      const evicted = volatile.filter((k) => !ks.has(k));
      expect(evicted).toEqual(order.slice(0, n + 1).map((i) => volatile[i]!).sort());
    }
    // Only persistent keys left: nothing to evict.
    ks.set("straw", SAME);
    expect(ks.evictIfNeeded()).toBe(false);
    expect(present(ks, persistent)).toEqual(persistent);
    expect(ks.stats.evictedKeys).toBe(10);
  });

  test("volatile-lru: giving a key a TTL puts it in the volatile list; PERSIST takes it out", () => {
    const { ks, persistent, volatile } = mixed("volatile-lru");
    ks.setExpire(persistent[0]!, T0 + 5_000_000); // now eligible, newest in the volatile list
    for (const k of volatile) ks.touch(k);
    ks.setExpire(volatile[0]!, 0); // no longer eligible
    ks.set("x", SAME);
    ks.evictIfNeeded();
    expect(ks.has(persistent[0]!)).toBe(false);
    expect(ks.has(volatile[0]!)).toBe(true);
    ks.set("y", SAME);
    ks.evictIfNeeded();
    expect(ks.has(volatile[1]!)).toBe(false);
  });

  for (const policy of ["volatile-ttl", "volatile-random"] as const) {
    test(`${policy} evicts only keys with a TTL, then returns false`, () => {
      const { ks, persistent, volatile } = mixed(policy);
      for (let n = 0; n < 10; n++) {
        ks.set(`new${n}`, SAME);
        expect(ks.evictIfNeeded()).toBe(true);
        expect(present(ks, persistent)).toEqual(persistent);
        expect(present(ks, volatile).length).toBe(9 - n);
      }
      expect(ks.volatileSize).toBe(0);
      ks.set("straw", SAME);
      expect(ks.evictIfNeeded()).toBe(false);
      expect(present(ks, persistent)).toEqual(persistent);
      expect(ks.stats.evictedKeys).toBe(10);
    });
  }

  test("volatile-ttl prefers keys that expire soonest", () => {
    const rand = rng(5);
    let rankSum = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const ks = keyspace();
      ks.policy = "volatile-ttl";
      const ranks = new Map<string, number>();
      // 100 volatile keys inserted in random order; rank = TTL order.
      const perm = Array.from({ length: 100 }, (_, i) => i).sort(() => rand() - 0.5);
      for (const r of perm) {
        ks.set(`t${r}`, SAME, T0 + 10_000 + r * 1000);
        ranks.set(`t${r}`, r);
      }
      ks.maxmemory = ks.usedMemory - 1;
      ks.evictIfNeeded();
      const gone = [...ranks.keys()].filter((k) => !ks.has(k));
      expect(gone.length).toBe(1);
      rankSum += ranks.get(gone[0]!)!;
    }
    // Best of 5 random samples of 0..99 averages about 16; uniform would be 49.5.
    expect(rankSum / trials).toBeLessThan(30);
  });

  test("volatile-random picks among all volatile keys", () => {
    const counts = new Map<string, number>();
    for (let t = 0; t < 400; t++) {
      const { ks, volatile } = mixed("volatile-random");
      ks.set("new", SAME);
      ks.evictIfNeeded();
      for (const k of volatile) if (!ks.has(k)) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(10); // each of 10 keys has (9/10)^400 chance of being missed
  });

  test("allkeys-random takes any key, and only as many as needed", () => {
    const counts = new Map<string, number>();
    for (let t = 0; t < 400; t++) {
      const { ks, persistent, volatile } = mixed("allkeys-random");
      ks.set("new", SAME);
      ks.evictIfNeeded();
      const all = [...persistent, ...volatile, "new"];
      const gone = all.filter((k) => !ks.has(k));
      expect(gone.length).toBe(1);
      counts.set(gone[0]!, (counts.get(gone[0]!) ?? 0) + 1);
    }
    expect([...counts.keys()].some((k) => k.startsWith("p"))).toBe(true);
    expect([...counts.keys()].some((k) => k.startsWith("v"))).toBe(true);
    // Also after heavy deletion (sparse slots) it still finds the few live keys.
    const ks = keyspace();
    ks.policy = "allkeys-random";
    for (let i = 0; i < 5000; i++) ks.set(key(i), SAME);
    for (let i = 0; i < 5000; i++) if (i % 1000 !== 0) ks.delete(key(i));
    ks.maxmemory = 2 * PER_KEY;
    expect(ks.evictIfNeeded()).toBe(true);
    expect(ks.size).toBe(2);
    ks.maxmemory = 1;
    expect(ks.evictIfNeeded()).toBe(true);
    expect(ks.size).toBe(0);
  });

  test("volatile policies with no volatile keys return false", () => {
    for (const policy of ["volatile-lru", "volatile-ttl", "volatile-random"] as const) {
      const ks = keyspace();
      ks.policy = policy;
      ks.set("a", SAME);
      ks.maxmemory = 1;
      expect(ks.evictIfNeeded()).toBe(false);
      expect(ks.has("a")).toBe(true);
    }
  });
});

describe("expiry", () => {
  test("lazy expiry: a key past its expireAt is never returned, and counts in expiredKeys", () => {
    const ks = keyspace();
    ks.set("a", "1", T0 + 1000);
    ks.set("b", "2", T0 + 1000);
    ks.set("c", "3", T0 + 1000);
    ks.set("d", "4", T0 + 1000);
    ks.set("live", "5", T0 + 5000);
    ks.set("forever", "6");
    ks.now = T0 + 999;
    expect(ks.get("a")).toBe("1");
    ks.now = T0 + 1001;
    expect(ks.get("a")).toBeUndefined();
    expect(ks.peek("b")).toBeUndefined();
    expect(ks.has("c")).toBe(false);
    expect(ks.touch("d")).toBe(false);
    expect(ks.stats.expiredKeys).toBe(4);
    expect(ks.get("live")).toBe("5");
    expect(ks.get("forever")).toBe("6");
    expect(ks.size).toBe(2);
    expect(ks.volatileSize).toBe(1);
    // Overwriting an expired key creates it afresh, without the old TTL.
    ks.set("e", "x", T0 + 1500);
    ks.now = T0 + 2000;
    ks.set("e", "y", KEEP_TTL);
    expect(ks.expireTime("e")).toBe(0);
    expect(ks.get("e")).toBe("y");
    expect(ks.stats.expiredKeys).toBe(5);
  });

  test("expired keys are skipped by scan, forEach and randomKey", () => {
    const ks = keyspace();
    for (let i = 0; i < 100; i++) ks.set(`x${i}`, "v", T0 + 1000);
    ks.set("live", "v");
    ks.now = T0 + 2000;
    expect(scanAll(ks)).toEqual(["live"]);
    for (let i = 0; i < 100; i++) ks.set(`y${i}`, "v", T0 + 3000);
    ks.now = T0 + 4000;
    const each: string[] = [];
    ks.forEach((k) => each.push(k));
    expect(each).toEqual(["live"]);
    for (let i = 0; i < 100; i++) ks.set(`z${i}`, "v", T0 + 5000);
    ks.now = T0 + 6000;
    // randomKey deletes the expired keys it lands on and never returns one.
    for (let i = 0; i < 50; i++) expect(ks.randomKey()).toBe("live");
    expect(ks.stats.expiredKeys).toBeGreaterThan(200);
    ks.forEach(() => {});
    expect(ks.stats.expiredKeys).toBe(300);
    expect(ks.size).toBe(1);
  });

  test("activeExpireCycle removes expired keys without reads and keeps live ones", () => {
    const ks = keyspace();
    for (let i = 0; i < 20_000; i++) ks.set(`dead${i}`, "x".repeat(i % 50), T0 + 1000);
    for (let i = 0; i < 1000; i++) ks.set(`soon${i}`, "x", T0 + 60_000);
    for (let i = 0; i < 1000; i++) ks.set(`forever${i}`, "x");
    const memoryOfLive = ks.usedMemory - Array.from({ length: 20_000 }, (_, i) => entryBytes(`dead${i}`, "x".repeat(i % 50))).reduce((a, b) => a + b, 0);
    ks.now = T0 + 1000;
    let cycles = 0;
    let deleted = 0;
    while (ks.volatileSize > 1000) {
      deleted += ks.activeExpireCycle(25);
      if (++cycles > 100_000) throw new Error(`active expiry stalled at ${ks.volatileSize} volatile keys`);
    }
    expect(deleted).toBe(20_000);
    expect(ks.size).toBe(2000);
    expect(ks.stats.expiredKeys).toBe(20_000);
    expect(ks.stats.hits + ks.stats.misses).toBe(0);
    expect(ks.usedMemory).toBe(memoryOfLive);
    for (let i = 0; i < 1000; i++) {
      expect(ks.peek(`soon${i}`)).toBe("x");
      expect(ks.peek(`forever${i}`)).toBe("x");
    }
    // With nothing expired, a cycle deletes nothing.
    expect(ks.activeExpireCycle(25)).toBe(0);
    expect(ks.size).toBe(2000);
  });

  test("one activeExpireCycle keeps going while samples are mostly expired (generous budget)", () => {
    const ks = keyspace();
    for (let i = 0; i < 5000; i++) ks.set(`dead${i}`, "x", T0 + 1000);
    for (let i = 0; i < 1000; i++) ks.set(`forever${i}`, "x");
    ks.now = T0 + 1000;
    // Every sample is all expired, so the cycle runs until none are left.
    expect(ks.activeExpireCycle(10_000)).toBe(5000);
    expect(ks.size).toBe(1000);
  });

  test("activeExpireCycle on a keyspace with no TTLs is a no-op", () => {
    const ks = keyspace();
    for (let i = 0; i < 100; i++) ks.set(`k${i}`, "v");
    expect(ks.activeExpireCycle(10)).toBe(0);
    expect(ks.size).toBe(100);
  });
});

describe("SCAN", () => {
  test("a full iteration returns every key exactly once", () => {
    const ks = keyspace();
    const keys = Array.from({ length: 5000 }, (_, i) => `s:${i}`);
    for (const k of keys) ks.set(k, "v");
    for (const count of [1, 7, 10, 1000, 100_000]) {
      const seen = scanAll(ks, count);
      expect(seen.length).toBe(keys.length);
      expect(new Set(seen).size).toBe(keys.length);
    }
    // Scan does not change recency or stats.
    expect(ks.stats.hits + ks.stats.misses).toBe(0);
  });

  test("a step visits at most `count` keys and returns 0 only at the end", () => {
    const ks = keyspace();
    for (let i = 0; i < 100; i++) ks.set(`k${i}`, "v");
    const got: string[] = [];
    const cursor = ks.scan(0, 10, (k) => got.push(k));
    expect(got.length).toBe(10);
    expect(cursor).not.toBe(0);
    expect(ks.scan(1_000_000, 10, () => {})).toBe(0); // a cursor past the end
  });

  test("with random inserts and deletes between steps, every key present throughout is returned", () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const ks = keyspace();
      let n = 0;
      const live = new Set<string>();
      for (; n < 3000; n++) {
        ks.set(`k${n}`, "v");
        live.add(`k${n}`);
      }
      const atStart = new Set(live);
      const removedDuring = new Set<string>();
      const seen = new Set<string>();
      let cursor = 0;
      do {
        cursor = ks.scan(cursor, 1 + ((rand() * 50) | 0), (k) => seen.add(k));
        // Mutate: delete some keys, insert some new ones (reusing freed slots and growing).
        for (let m = 0; m < 40; m++) {
          if (rand() < 0.5 && live.size > 0) {
            const arr = [...live];
            const k = arr[(rand() * arr.length) | 0]!;
            ks.delete(k);
            live.delete(k);
            removedDuring.add(k);
          } else {
            const k = `k${n++}`;
            ks.set(k, "v");
            live.add(k);
          }
        }
      } while (cursor !== 0);
      const throughout = [...atStart].filter((k) => !removedDuring.has(k));
      expect(throughout.length).toBeGreaterThan(500);
      for (const k of throughout) if (!seen.has(k)) throw new Error(`seed ${seed}: ${k} was present throughout but not returned`);
      // Nothing returned that never existed.
      for (const k of seen) expect(Number(k.slice(1))).toBeLessThan(n);
    }
  });

  test("keys present throughout are returned even when others are evicted between steps", () => {
    const ks = keyspace();
    for (let i = 0; i < 2000; i++) ks.set(key(i), SAME);
    // the first 200 are hot: keep them recently used so LRU evicts others
    const hot = Array.from({ length: 200 }, (_, i) => key(i));
    ks.maxmemory = ks.usedMemory;
    const seen = new Set<string>();
    let cursor = 0;
    let next = 2000;
    do {
      for (const k of hot) ks.touch(k);
      cursor = ks.scan(cursor, 20, (k) => seen.add(k));
      for (let m = 0; m < 30; m++) {
        ks.set(key(next++), SAME);
        ks.evictIfNeeded();
      }
    } while (cursor !== 0);
    expect(ks.stats.evictedKeys).toBeGreaterThan(0);
    for (const k of hot) expect(seen.has(k)).toBe(true);
  });
});

describe("prefetch", () => {
  test("noting keys (present, absent, deleted, with values in their own pages, past the limit) and prefetching them, while the index grows, changes no answer", () => {
    const ks = keyspace();
    const big = "B".repeat(10_000); // over the arena's small-block limit: a page of its own
    const expected = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const k = key(i);
      const v = i % 1000 === 0 ? big : `v${i}`;
      ks.set(k, v);
      expected.set(k, v);
      if (i % 7 === 0) {
        ks.delete(key(i - 3));
        expected.delete(key(i - 3));
      }
      if (i % 50 === 0) {
        // A pipeline's worth of keys, more than one prefetch takes: every fifth is absent.
        for (let j = 0; j < 100; j++) {
          const noted = Buffer.from(j % 5 === 0 ? `absent${j}` : key((i * 31 + j * 17) % (i + 1)), "latin1");
          ks.prefetchKey(noted, 0, noted.length);
        }
        ks.prefetch();
      }
    }
    expect(ks.size).toBe(expected.size);
    for (const [k, v] of expected) if (ks.get(k) !== v) throw new Error(`${k}: got ${ks.get(k)?.slice(0, 20)}`);
    for (let i = 0; i < 20_000; i++) if (!expected.has(key(i)) && ks.get(key(i)) !== undefined) throw new Error(`${key(i)} came back`);
  });
});

describe("slots and growth", () => {
  test("slots are reused after delete (the scan range does not grow)", () => {
    const ks = keyspace();
    for (let i = 0; i < 100; i++) ks.set(`a${i}`, "v");
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) ks.delete(`${round === 0 ? "a" : `r${round - 1}-`}${i}`);
      for (let i = 0; i < 100; i++) ks.set(`r${round}-${i}`, "v");
    }
    expect(ks.size).toBe(100);
    // Every slot up to the high-water mark is occupied: a scan with count 100 finishes in one step.
    const seen: string[] = [];
    expect(ks.scan(0, 100, (k) => seen.push(k))).toBe(0);
    expect(seen.length).toBe(100);
    expect(seen.every((k) => k.startsWith("r49-"))).toBe(true);
  });

  test("a reused slot carries nothing over from its previous key", () => {
    const ks = keyspace();
    ks.set("old", "v", T0 + 1000);
    ks.delete("old");
    ks.set("new", "w");
    expect(ks.expireTime("new")).toBe(0);
    expect(ks.volatileSize).toBe(0);
    ks.now = T0 + 2000;
    expect(ks.get("new")).toBe("w");
    expect(ks.stats.expiredKeys).toBe(0);
  });

  test("growth far beyond the initial capacity keeps keys, values, TTLs, LRU order and scan intact (50k keys)", () => {
    const ks = keyspace();
    const total = 50_000;
    for (let i = 0; i < total; i++) ks.set(key(i), `value-${i}`, i % 10 === 0 ? T0 + 100_000 + i : 0);
    expect(ks.size).toBe(total);
    expect(ks.volatileSize).toBe(total / 10);
    for (let i = 0; i < total; i++) {
      if (ks.peek(key(i)) !== `value-${i}`) throw new Error(`${key(i)} lost or wrong after growth`);
      if (ks.expireTime(key(i)) !== (i % 10 === 0 ? T0 + 100_000 + i : 0)) throw new Error(`${key(i)} TTL wrong after growth`);
    }
    const seen = scanAll(ks, 1000);
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    // LRU order survived the array copies: the oldest keys go first, reads protect.
    ks.get(key(0));
    ks.maxmemory = ks.usedMemory - 1;
    ks.evictIfNeeded();
    expect(ks.has(key(0))).toBe(true);
    expect(ks.has(key(1))).toBe(false);
    expect(ks.has(key(2))).toBe(true);
    // volatile-lru order too: key(0) was read, so key(10) is the oldest volatile key.
    ks.policy = "volatile-lru";
    ks.maxmemory = ks.usedMemory - 1;
    ks.evictIfNeeded();
    expect(ks.has(key(10))).toBe(false);
    expect(ks.has(key(0))).toBe(true);
    expect(ks.has(key(20))).toBe(true);
    // Expiry across grown arrays.
    ks.now = T0 + 100_000 + total;
    while (ks.volatileSize > 0) ks.activeExpireCycle(100);
    expect(ks.size).toBe(total - total / 10 - 1);
    ks.maxmemory = 0;
    ks.forEach((k) => ks.delete(k));
    expect(ks.size).toBe(0);
    expect(ks.usedMemory).toBe(0);
  });
});

describe("memory refused", () => {
  test("a set whose block cannot be allocated changes nothing, not even `dirty`, and the keyspace goes on working", () => {
    const ks = keyspace();
    for (let i = 0; i < 100; i++) ks.set(key(i), `value-${i}`);
    const before = { size: ks.size, dirty: ks.dirty, used: ks.usedMemory };
    const allocate = Arena.prototype.allocate;
    Arena.prototype.allocate = function (length: number) {
      if (length > 1000) throw new RangeError("Out of memory");
      return allocate.call(this, length);
    };
    try {
      expect(() => ks.set("new", "x".repeat(2000))).toThrow("Out of memory"); // a new key
      expect(() => ks.set(key(5), "y".repeat(2000))).toThrow("Out of memory"); // an overwrite
    } finally {
      Arena.prototype.allocate = allocate;
    }
    expect({ size: ks.size, dirty: ks.dirty, used: ks.usedMemory }).toEqual(before);
    expect(ks.has("new")).toBe(false);
    expect(ks.peek(key(5))).toBe("value-5");
    // The slot taken for "new" went back; everything is still found and can change.
    ks.set("new", "x".repeat(2000));
    expect(ks.peek("new")).toBe("x".repeat(2000));
    for (let i = 0; i < 100; i++) expect(ks.peek(key(i))).toBe(`value-${i}`);
    expect(ks.size).toBe(101);
  });
});

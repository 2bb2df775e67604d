import { describe, expect, test } from "bun:test";
import { KEEP_TTL, Keyspace } from "../../src/store/keyspace.ts";
import type { Snapshot, SnapshotVisitor } from "../../src/store/snapshot.ts";
import { rng } from "../helpers/random.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The point-in-time view an AOF rewrite writes out a slice at a time while
 * commands keep changing the keyspace. The property: everything a snapshot
 * visits, read to its end, is exactly the keyspace's content (key → value,
 * expireAt) at the instant beginSnapshot was called, minus keys already
 * expired then; whatever was set, deleted, expired, evicted, flushed or grown
 * in between. Also the hooks persistence relies on: `dirty`, `onRemoved`,
 * `expiryPaused` and removeExpired().
 */

const T0 = Date.now();

/** A keyspace whose clock is fixed at T0. */
function keyspace(): Keyspace {
  const ks = new Keyspace();
  ks.now = T0;
  return ks;
}

type Entry = { value: string; expireAt: number };

/**
 * A visitor that hands `visit` every key as strings, whether the snapshot
 * read it in place (as bytes: collected as the byte strings they were stored
 * from) or kept it when it changed.
 */
function strings(visit: (key: string, value: string, expireAt: number) => void): SnapshotVisitor {
  let bytes = "";
  const sink = { bulkBytes: (source: Buffer, start: number, length: number) => void (bytes = source.latin1Slice(start, start + length)) };
  return {
    live(entries, slot, expireAt) {
      entries.readKey(slot, sink);
      const key = bytes;
      entries.readValue(slot, sink);
      visit(key, bytes, expireAt);
    },
    kept(source, start, keyLength, valueLength, expireAt) {
      visit(source.latin1Slice(start, start + keyLength), source.latin1Slice(start + keyLength, start + keyLength + valueLength), expireAt);
    },
  };
}

/**
 * Reads `snapshot` to its end in slices of `slice` slots, calling `between`
 * after each slice, and returns what it visited. A key visited twice fails.
 */
function readAll(snapshot: Snapshot, slice: number, between: (step: number) => void = () => {}): Map<string, Entry> {
  const seen = new Map<string, Entry>();
  const visitor = strings((key, value, expireAt) => {
    if (seen.has(key)) throw new Error(`${JSON.stringify(key)} visited twice`);
    seen.set(key, { value, expireAt });
  });
  for (let step = 0; !snapshot.done; step++) {
    snapshot.read(slice, visitor);
    between(step);
    if (step > 1_000_000) throw new Error("snapshot never done");
  }
  return seen;
}

/** Throws naming the first difference, so a failure says which key went wrong. */
function expectSameContent(actual: Map<string, Entry>, expected: Map<string, Entry>, label: string): void {
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (got === undefined) throw new Error(`${label}: ${JSON.stringify(key)} (${JSON.stringify(want)}) was not visited`);
    if (got.value !== want.value || got.expireAt !== want.expireAt) {
      throw new Error(`${label}: ${JSON.stringify(key)} visited as ${JSON.stringify(got)}, was ${JSON.stringify(want)}`);
    }
  }
  for (const [key, got] of actual) {
    if (!expected.has(key)) throw new Error(`${label}: ${JSON.stringify(key)} (${JSON.stringify(got)}) visited but not in the keyspace at the snapshot's instant`);
  }
}

/** Keys 0..n-1 as `k0000`…; in a fresh keyspace key i sits in slot i. */
function key(i: number): string {
  return `k${String(i).padStart(4, "0")}`;
}

/** n keys, every third with a TTL an hour ahead; returns their content. */
function filled(n: number): { ks: Keyspace; content: Map<string, Entry> } {
  const ks = keyspace();
  const content = new Map<string, Entry>();
  for (let i = 0; i < n; i++) {
    const expireAt = i % 3 === 0 ? T0 + 3_600_000 + i : 0;
    ks.set(key(i), `v${i}`, expireAt);
    content.set(key(i), { value: `v${i}`, expireAt });
  }
  return { ks, content };
}

describe("Snapshot: targeted cases", () => {
  test("with nothing changing, it visits every key once with its value and TTL", () => {
    const { ks, content } = filled(3000);
    for (const slice of [1, 7, 1024, 100_000]) {
      const snapshot = ks.beginSnapshot();
      expectSameContent(readAll(snapshot, slice), content, `slice ${slice}`);
      ks.endSnapshot(snapshot);
    }
  });

  test("an empty keyspace gives a snapshot that is done at once and visits nothing", () => {
    const ks = keyspace();
    const snapshot = ks.beginSnapshot();
    expect(snapshot.done).toBe(true);
    const seen: string[] = [];
    snapshot.read(100, strings((k) => seen.push(k)));
    expect(seen).toEqual([]);
    ks.endSnapshot(snapshot);
  });

  test("cursor advances by the slots read and done turns true only at the end", () => {
    const { ks } = filled(100);
    const snapshot = ks.beginSnapshot();
    const seen: string[] = [];
    snapshot.read(40, strings((k) => seen.push(k)));
    expect(snapshot.cursor).toBe(40);
    expect(snapshot.done).toBe(false);
    expect(seen.length).toBe(40);
    snapshot.read(59, strings((k) => seen.push(k)));
    expect(snapshot.done).toBe(false);
    snapshot.read(1000, strings((k) => seen.push(k)));
    expect(snapshot.done).toBe(true);
    expect(new Set(seen).size).toBe(100);
    // Reading past the end visits nothing more.
    snapshot.read(10, strings((k) => seen.push(k)));
    expect(seen.length).toBe(100);
    ks.endSnapshot(snapshot);
  });

  test("a key deleted ahead of the cursor, its slot reused by a new key: the old key is visited, not the new one", () => {
    const { ks, content } = filled(100);
    const snapshot = ks.beginSnapshot();
    const seen = readAll(snapshot, 10, (step) => {
      if (step !== 0) return;
      // Slot 50 holds k0050; the new key takes the slot it frees.
      expect(ks.delete(key(50))).toBe(true);
      ks.set("newcomer", "fresh");
      // Overwrite, a new TTL, a cleared TTL and a delete, all ahead of the cursor.
      ks.set(key(60), "overwritten", T0 + 5);
      ks.setExpire(key(61), T0 + 123);
      ks.setExpire(key(63), 0);
      ks.delete(key(99));
      // Behind the cursor: delete one and let a new key take its slot.
      ks.delete(key(5));
      ks.set("behind", "x");
    });
    expectSameContent(seen, content, "after changes ahead of the cursor");
    ks.endSnapshot(snapshot);
    // The live keyspace has the new state.
    expect(ks.peek(key(50))).toBeUndefined();
    expect(ks.peek("newcomer")).toBe("fresh");
    expect(ks.peek(key(60))).toBe("overwritten");
    expect(ks.expireTime(key(61))).toBe(T0 + 123);
    expect(ks.expireTime(key(63))).toBe(0);
  });

  test("thousands of slots changed ahead of the cursor, scattered and in scrambled order: each is visited as it was", () => {
    const n = 8000;
    const { ks, content } = filled(n);
    const snapshot = ks.beginSnapshot();
    snapshot.read(100, strings(() => {}));
    // A random ~15% of the slots past the first 100 change (more slots than
    // the snapshot's table of kept slots has entries, so some share one):
    // overwritten (with and without a TTL), expiry changed, or deleted and
    // the slot taken by a newcomer.
    const rand = rng(7);
    const order = Array.from({ length: n - 100 }, (_, i) => 100 + i).filter(() => rand() < 0.15);
    for (let i = order.length - 1; i > 0; i--) {
      const j = (rand() * (i + 1)) | 0;
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) {
      if (i % 4 === 0) ks.set(key(i), `changed${i}`, i % 8 === 0 ? T0 + 99 : 0);
      else if (i % 4 === 1) ks.setExpire(key(i), T0 + 7);
      else if (i % 4 === 2) ks.setExpire(key(i), 0);
      else {
        ks.delete(key(i));
        ks.set(`new${i}`, "fresh");
      }
    }
    const seen = readAll(snapshot, 97);
    expectSameContent(seen, new Map([...content].filter(([k]) => k >= key(100))), "scrambled changes");
    ks.endSnapshot(snapshot);
  });

  test("the same slot reused several times before the cursor reaches it keeps the original key", () => {
    const { ks, content } = filled(50);
    const snapshot = ks.beginSnapshot();
    snapshot.read(5, strings(() => {}));
    for (let round = 0; round < 5; round++) {
      ks.delete(round === 0 ? key(30) : `reuse${round - 1}`);
      ks.set(`reuse${round}`, `r${round}`, round % 2 === 0 ? T0 + 10 : 0);
    }
    const seen = readAll(snapshot, 3);
    const rest = new Map([...content].filter(([k]) => k >= key(5)));
    expectSameContent(seen, rest, "reused slot");
    ks.endSnapshot(snapshot);
  });

  test("keys expired at the snapshot's instant are left out; keys that expire during the read are in, with their TTL", () => {
    const ks = keyspace();
    ks.set("expired-before", "a", T0 - 1);
    ks.set("expires-at-instant", "b", T0); // expireAt <= now: expired
    ks.set("expires-later", "c", T0 + 1);
    ks.set("expires-much-later", "d", T0 + 1000);
    ks.set("forever", "e");
    for (let i = 0; i < 20; i++) ks.set(`pad${i}`, "p", T0 + 500);
    const snapshot = ks.beginSnapshot();
    // Time moves on and lazy lookups, a scan and the active cycle remove keys the snapshot holds.
    ks.now = T0 + 2000;
    expect(ks.get("expires-later")).toBeUndefined();
    expect(ks.peek("pad3")).toBeUndefined();
    ks.activeExpireCycle(100);
    ks.forEach(() => {});
    expect(ks.size).toBe(1);
    const seen = readAll(snapshot, 2);
    const expected = new Map<string, Entry>([
      ["expires-later", { value: "c", expireAt: T0 + 1 }],
      ["expires-much-later", { value: "d", expireAt: T0 + 1000 }],
      ["forever", { value: "e", expireAt: 0 }],
    ]);
    for (let i = 0; i < 20; i++) expected.set(`pad${i}`, { value: "p", expireAt: T0 + 500 });
    expectSameContent(seen, expected, "expiry during the read");
    ks.endSnapshot(snapshot);
  });

  test("evictions during the read do not remove keys from the snapshot", () => {
    const { ks, content } = filled(500);
    const snapshot = ks.beginSnapshot();
    const seen = readAll(snapshot, 20, () => {
      // Insert and evict down to a small limit: the oldest keys, ahead of the cursor, go first.
      for (let i = 0; i < 10; i++) ks.set(`n${ks.stats.evictedKeys}-${i}`, "new");
      ks.maxmemory = Math.floor(ks.usedMemory / 2);
      expect(ks.evictIfNeeded()).toBe(true);
      ks.maxmemory = 0;
    });
    expect(ks.stats.evictedKeys).toBeGreaterThan(500);
    expectSameContent(seen, content, "under eviction");
    ks.endSnapshot(snapshot);
  });

  test("flush() during the read: the snapshot still visits the content from before the flush", () => {
    const { ks, content } = filled(2000);
    const snapshot = ks.beginSnapshot();
    snapshot.read(30, strings(() => {}));
    const afterFirst = new Map([...content].filter(([k]) => k >= key(30)));
    // Changes ahead of the cursor before the flush, then the flush, then a new
    // keyspace that reuses slot numbers from 0 and grows again.
    ks.set(key(100), "changed");
    ks.delete(key(200));
    expect(ks.flush()).toBe(1999);
    for (let i = 0; i < 3000; i++) ks.set(`after-flush-${i}`, "z", i % 2 === 0 ? T0 + 1 : 0);
    ks.delete("after-flush-7");
    ks.now = T0 + 10;
    ks.activeExpireCycle(100);
    const seen = readAll(snapshot, 17, (step) => {
      if (step === 10) ks.flush();
      ks.set(`during-${step}`, "w");
    });
    expectSameContent(seen, afterFirst, "flushed during the read");
    ks.endSnapshot(snapshot);
    // The keyspace after the flush is intact and a new snapshot sees only it.
    const next = ks.beginSnapshot();
    const now = readAll(next, 1000);
    expect(now.size).toBe(ks.size);
    for (const k of now.keys()) expect(k.startsWith("during-")).toBe(true);
    ks.endSnapshot(next);
  });

  test("growth past the 1024-slot capacity during the read: old keys as they were, new slots not visited", () => {
    // 1000 keys fill most of the initial 1024 slots.
    const { ks, content } = filled(1000);
    const snapshot = ks.beginSnapshot();
    snapshot.read(10, strings(() => {}));
    const afterFirst = new Map([...content].filter(([k]) => k >= key(10)));
    // Grow to 8192 slots, then change keys ahead of the cursor: the slot arrays they live in were replaced.
    for (let i = 0; i < 6000; i++) ks.set(`grown${i}`, "g", i % 2 === 0 ? T0 + 50 : 0);
    ks.set(key(500), "after growth", T0 + 7);
    ks.setExpire(key(501), T0 + 9); // no TTL before
    ks.setExpire(key(600), 0); // had a TTL (600 % 3 === 0)
    ks.delete(key(700));
    // Keys ahead of the cursor expire lazily after the growth.
    ks.now = T0 + 10;
    expect(ks.get(key(500))).toBeUndefined();
    expect(ks.get(key(501))).toBeUndefined();
    const seen = readAll(snapshot, 50, (step) => {
      // Grow again while reading.
      for (let i = 0; i < 300; i++) ks.set(`more${step}-${i}`, "m");
      ks.setExpire(key(990), T0 + 11);
    });
    expectSameContent(seen, afterFirst, "grown during the read");
    ks.endSnapshot(snapshot);
    expect(ks.expireTime(key(990))).toBe(T0 + 11);
    expect(ks.peek(key(600))).toBe("v600");
    expect(ks.expireTime(key(600))).toBe(0);
  });

  test("endSnapshot of another (or no) snapshot leaves the current one consistent", () => {
    const { ks, content } = filled(100);
    const snapshot = ks.beginSnapshot();
    snapshot.read(10, strings(() => {}));
    ks.endSnapshot(null); // what an aborted rewrite that never began one passes
    ks.delete(key(50));
    ks.set(key(60), "changed");
    const seen = readAll(snapshot, 10);
    expectSameContent(seen, new Map([...content].filter(([k]) => k >= key(10))), "after endSnapshot(null)");
    ks.endSnapshot(snapshot);
  });

  test("after endSnapshot the keyspace keeps no old contents: a new snapshot sees the present", () => {
    const { ks } = filled(100);
    const first = ks.beginSnapshot();
    readAll(first, 30);
    ks.endSnapshot(first);
    for (let i = 0; i < 50; i++) ks.delete(key(i));
    ks.set(key(70), "new");
    const second = ks.beginSnapshot();
    const seen = readAll(second, 30);
    ks.endSnapshot(second);
    expect(seen.size).toBe(50);
    expect(seen.get(key(70))).toEqual({ value: "new", expireAt: 0 });
    expect(seen.has(key(0))).toBe(false);
  });
});

describe("Snapshot: randomized against a model", () => {
  const POOL = 1500;

  /** How many snapshots were checked, and how many of them were read while each kind of change happened. */
  type Coverage = { snapshots: number; flushed: number; grown: number; evicted: number; expired: number };

  /**
   * Random commands against a keyspace and a model of it (a Map of key →
   * value and expireAt, including keys past their TTL that the keyspace has
   * not removed yet; onRemoved tells the model what expiry and eviction
   * take). Snapshots are taken at random moments and read a few slots at a
   * time between commands; each, once done, must equal the model's live
   * content at its start.
   */
  function run(seed: number, steps: number): Coverage {
    const rand = rng(seed);
    const int = (n: number) => (rand() * n) | 0;
    const ks = keyspace();
    const model = new Map<string, Entry>();
    ks.onRemoved = (k) => {
      if (!model.delete(k)) throw new Error(`seed ${seed}: onRemoved(${JSON.stringify(k)}) for a key the model does not hold`);
    };
    const policies = ["allkeys-lru", "allkeys-random", "volatile-lru", "volatile-random", "volatile-ttl"] as const;

    // The keyspace's slot capacity, as documented: 1024, doubling when a key needs a slot past it.
    let capacity = 1024;
    let highWater = 0;
    let bursts = 0;

    let snapshot: Snapshot | null = null;
    let expected = new Map<string, Entry>();
    let seen = new Map<string, Entry>();
    const coverage: Coverage = { snapshots: 0, flushed: 0, grown: 0, evicted: 0, expired: 0 };
    let during = { flushed: false, grown: false, evicted: false, expired: false };

    const anyKey = (): string => (rand() < 0.8 || bursts === 0 ? `key:${int(POOL)}` : `burst:${int(bursts)}`);
    const expiry = (): number => {
      const r = rand();
      if (r < 0.5) return 0;
      if (r < 0.6) return ks.now - int(100); // already due (including exactly now)
      return ks.now + 1 + int(3000);
    };
    const afterInsert = (): void => {
      if (ks.size > highWater) highWater = ks.size; // slots are reused before new ones are taken
      if (highWater > capacity) {
        capacity *= 2;
        if (snapshot) during.grown = true;
      }
    };
    const set = (k: string, v: string, expireAt: number): void => {
      const before = model.size;
      ks.set(k, v, expireAt);
      // onRemoved has already dropped the old entry if it was past its TTL.
      const old = model.get(k);
      model.set(k, { value: v, expireAt: expireAt === KEEP_TTL ? (old?.expireAt ?? 0) : expireAt });
      if (model.size > before) afterInsert();
    };

    for (let step = 0; step < steps; step++) {
      const label = `seed ${seed}, step ${step}`;
      const r = rand();
      const expiredBefore = ks.stats.expiredKeys;
      const evictedBefore = ks.stats.evictedKeys;
      if (r < 0.3) {
        const e = rand();
        set(anyKey(), `v${step}`, e < 0.2 ? KEEP_TTL : expiry());
      } else if (r < 0.38) {
        const k = anyKey();
        const existed = ks.delete(k);
        if (existed !== model.delete(k)) throw new Error(`${label}: delete(${k}) returned ${existed}`);
      } else if (r < 0.46) {
        const k = anyKey();
        const at = rand() < 0.3 ? 0 : expiry();
        if (ks.setExpire(k, at)) model.get(k)!.expireAt = at;
        else if (model.has(k)) throw new Error(`${label}: setExpire(${k}) found no key`);
      } else if (r < 0.56) {
        const k = anyKey();
        const got = rand() < 0.5 ? ks.get(k) : ks.peek(k);
        if (got !== model.get(k)?.value) throw new Error(`${label}: read ${k} gave ${got}, model ${JSON.stringify(model.get(k))}`);
      } else if (r < 0.61) {
        ks.now += int(400);
      } else if (r < 0.63) {
        ks.activeExpireCycle(1);
      } else if (r < 0.65) {
        ks.policy = policies[int(policies.length)]!;
        ks.maxmemory = Math.max(1, ks.usedMemory - int(40) * 200);
        ks.evictIfNeeded();
        ks.maxmemory = 0;
      } else if (r < 0.651) {
        ks.flush();
        model.clear();
        capacity = 1024;
        highWater = 0;
        if (snapshot) during.flushed = true;
      } else if (r < 0.656) {
        const removed = ks.removeExpired();
        let due = 0;
        for (const [k, e] of model) {
          if (e.expireAt !== 0 && e.expireAt <= ks.now) {
            model.delete(k);
            due++;
          }
        }
        if (removed !== due) throw new Error(`${label}: removeExpired() removed ${removed}, ${due} were due`);
        if (snapshot && removed > 0) during.expired = true;
      } else if (r < 0.664) {
        for (let i = 0; i < 250; i++) set(`burst:${bursts++}`, `b${step}`, rand() < 0.3 ? ks.now + 1 + int(3000) : 0);
      } else if (r < 0.668) {
        ks.forEach(() => {}); // expires every due key lazily
      } else if (snapshot === null) {
        if (rand() < 0.15) {
          snapshot = ks.beginSnapshot();
          expected = new Map([...model].filter(([, e]) => e.expireAt === 0 || e.expireAt > ks.now).map(([k, e]) => [k, { ...e }]));
          seen = new Map();
          during = { flushed: false, grown: false, evicted: false, expired: false };
        }
      } else {
        // A snapshot of an empty keyspace is done before any read.
        if (!snapshot.done) {
          const slice = rand() < 0.9 ? 1 + int(8) : 20 + int(100);
          const cursor = snapshot.cursor;
          snapshot.read(
            slice,
            strings((k, value, expireAt) => {
              if (seen.has(k)) throw new Error(`${label}: ${k} visited twice`);
              seen.set(k, { value, expireAt });
            }),
          );
          if (snapshot.cursor <= cursor) throw new Error(`${label}: read(${slice}) did not advance the cursor from ${cursor}`);
        }
        if (snapshot.done) {
          expectSameContent(seen, expected, `${label}, snapshot ${coverage.snapshots}`);
          ks.endSnapshot(snapshot);
          snapshot = null;
          coverage.snapshots++;
          for (const what of ["flushed", "grown", "evicted", "expired"] as const) if (during[what]) coverage[what]++;
        }
      }
      if (snapshot) {
        if (ks.stats.expiredKeys > expiredBefore) during.expired = true;
        if (ks.stats.evictedKeys > evictedBefore) during.evicted = true;
      }
      if (ks.size !== model.size) throw new Error(`${label}: keyspace has ${ks.size} keys, model ${model.size}`);
    }
    return coverage;
  }

  test.each([1, 2, 3, 4, 5, 6])("seed %d: every snapshot equals the keyspace at its instant", (seed) => {
    const coverage = run(seed, 8000);
    // The run exercised what it claims to: several snapshots, and some read
    // while the keyspace was flushed, grew, evicted and expired keys.
    expect(coverage.snapshots).toBeGreaterThanOrEqual(5);
    expect(coverage.flushed).toBeGreaterThan(0);
    expect(coverage.grown).toBeGreaterThan(0);
    expect(coverage.evicted).toBeGreaterThan(0);
    expect(coverage.expired).toBeGreaterThan(0);
  });
});

describe("Keyspace.removeExpired", () => {
  test("removes exactly the keys whose TTL has passed (expireAt <= now), and says how many", () => {
    const ks = keyspace();
    for (let i = 0; i < 300; i++) ks.set(`past${i}`, "x", T0 - 1 - i);
    ks.set("at-now", "x", T0 + 100);
    for (let i = 0; i < 200; i++) ks.set(`future${i}`, "y", T0 + 101 + i);
    for (let i = 0; i < 200; i++) ks.set(`forever${i}`, "z");
    const memory = ks.usedMemory;
    ks.now = T0 + 100;
    expect(ks.removeExpired()).toBe(301);
    expect(ks.size).toBe(400);
    expect(ks.volatileSize).toBe(200);
    expect(ks.usedMemory).toBeLessThan(memory);
    for (let i = 0; i < 200; i++) {
      expect(ks.peek(`future${i}`)).toBe("y");
      expect(ks.peek(`forever${i}`)).toBe("z");
    }
    // Nothing left to remove; the keys that remain expire later as usual.
    expect(ks.removeExpired()).toBe(0);
    ks.now = T0 + 1000;
    expect(ks.removeExpired()).toBe(200);
    expect(ks.size).toBe(200);
    expect(ks.volatileSize).toBe(0);
  });

  test("does not tell onRemoved: keys dropped after loading are not logged", () => {
    const ks = keyspace();
    const removed: string[] = [];
    ks.onRemoved = (k) => removed.push(k);
    ks.set("a", "1", T0 + 1);
    ks.set("b", "2", T0 + 1);
    ks.now = T0 + 1;
    expect(ks.removeExpired()).toBe(2);
    expect(removed).toEqual([]);
    expect(ks.size).toBe(0);
  });

  test("runs even on keys stored while expiry was paused (the AOF load)", () => {
    const ks = keyspace();
    ks.expiryPaused = true;
    ks.set("old", "v", T0 - 5000);
    expect(ks.peek("old")).toBe("v");
    ks.expiryPaused = false;
    expect(ks.removeExpired()).toBe(1);
    expect(ks.has("old")).toBe(false);
  });
});

describe("Keyspace.dirty counts changes, for deciding what the AOF logs", () => {
  test("increases on set, overwrite, delete, setExpire (set and clear) and flush", () => {
    const ks = keyspace();
    const changes: [string, () => void][] = [
      ["set a new key", () => ks.set("a", "1")],
      ["overwrite with the same value", () => ks.set("a", "1")],
      ["overwrite keeping the TTL", () => ks.set("a", "2", KEEP_TTL)],
      ["set with a TTL", () => ks.set("b", "1", T0 + 1000)],
      ["setExpire", () => ks.setExpire("a", T0 + 500)],
      ["setExpire clearing the TTL", () => ks.setExpire("a", 0)],
      ["delete", () => ks.delete("a")],
      ["flush", () => ks.flush()],
      ["flush of an empty keyspace", () => ks.flush()],
    ];
    for (const [name, change] of changes) {
      const before = ks.dirty;
      change();
      if (!(ks.dirty > before)) throw new Error(`${name} did not increase dirty`);
    }
  });

  test("unchanged by reads, and by writes that find no key", () => {
    const ks = keyspace();
    ks.set("a", "1", T0 + 1000);
    ks.set("b", "2");
    const before = ks.dirty;
    expect(ks.get("a")).toBe("1");
    expect(ks.get("missing")).toBeUndefined();
    expect(ks.peek("b")).toBe("2");
    expect(ks.peek("missing")).toBeUndefined();
    expect(ks.has("a")).toBe(true);
    expect(ks.touch("b")).toBe(true);
    expect(ks.expireTime("a")).toBe(T0 + 1000);
    ks.idleSeconds("a");
    ks.memoryUsage("a");
    ks.scan(0, 10, () => {});
    ks.forEach(() => {});
    ks.randomKey();
    ks.activeExpireCycle(10); // nothing is due
    expect(ks.evictIfNeeded()).toBe(true); // no limit
    expect(ks.delete("missing")).toBe(false);
    expect(ks.setExpire("missing", T0 + 5)).toBe(false);
    expect(ks.removeExpired()).toBe(0);
    const snapshot = ks.beginSnapshot();
    snapshot.read(100, strings(() => {}));
    ks.endSnapshot(snapshot);
    expect(ks.dirty).toBe(before);
  });
});

describe("Keyspace.onRemoved: every key expiry or eviction takes, so the AOF logs a DEL", () => {
  test("lazy expiry on lookups tells it the key", () => {
    const ks = keyspace();
    const removed: string[] = [];
    ks.onRemoved = (k) => removed.push(k);
    for (const k of ["get", "peek", "has", "touch", "expireTime", "set", "setExpire", "delete"]) ks.set(k, "v", T0 + 10);
    ks.set("live", "v", T0 + 1000);
    ks.now = T0 + 10;
    expect(ks.get("get")).toBeUndefined();
    expect(ks.peek("peek")).toBeUndefined();
    expect(ks.has("has")).toBe(false);
    expect(ks.touch("touch")).toBe(false);
    expect(ks.expireTime("expireTime")).toBe(-1);
    ks.set("set", "new"); // the expired key goes first; the new one is a write of its own
    expect(ks.setExpire("setExpire", T0 + 5000)).toBe(false);
    expect(ks.delete("delete")).toBe(false);
    expect(removed).toEqual(["get", "peek", "has", "touch", "expireTime", "set", "setExpire", "delete"]);
    expect(ks.get("live")).toBe("v");
    expect(ks.stats.expiredKeys).toBe(8);
  });

  test("the active expiry cycle tells it each key it deletes", () => {
    const ks = keyspace();
    const removed: string[] = [];
    ks.onRemoved = (k) => removed.push(k);
    for (let i = 0; i < 500; i++) ks.set(`dead${i}`, "v", T0 + 10);
    for (let i = 0; i < 100; i++) ks.set(`alive${i}`, "v", T0 + 10_000);
    ks.now = T0 + 10;
    let deleted = 0;
    while (ks.volatileSize > 100) deleted += ks.activeExpireCycle(100);
    expect(deleted).toBe(500);
    expect(removed.length).toBe(500);
    expect(new Set(removed)).toEqual(new Set(Array.from({ length: 500 }, (_, i) => `dead${i}`)));
  });

  test("eviction tells it each key it evicts, in LRU order", () => {
    const ks = keyspace();
    const removed: string[] = [];
    ks.onRemoved = (k) => removed.push(k);
    for (let i = 0; i < 10; i++) ks.set(key(i), "v");
    ks.get(key(0)); // now the most recently used
    ks.maxmemory = ks.usedMemory - 1;
    ks.set(key(10), "v");
    ks.set(key(11), "v");
    expect(ks.evictIfNeeded()).toBe(true);
    expect(removed).toEqual([key(1), key(2), key(3)]);
    expect(ks.stats.evictedKeys).toBe(3);
  });

  test("explicit deletes, overwrites and flushes are not reported (the command itself is logged)", () => {
    const ks = keyspace();
    const removed: string[] = [];
    ks.onRemoved = (k) => removed.push(k);
    ks.set("a", "1", T0 + 100);
    ks.set("a", "2");
    ks.delete("a");
    ks.set("b", "1");
    ks.flush();
    expect(removed).toEqual([]);
  });
});

describe("Keyspace.expiryPaused: records replay against the state they were logged in", () => {
  test("while paused, a key past its TTL is still there for every lookup and nothing is reported", () => {
    const ks = keyspace();
    const removed: string[] = [];
    ks.onRemoved = (k) => removed.push(k);
    ks.expiryPaused = true;
    ks.set("old", "v", T0 - 1000);
    ks.set("counter", "1", T0 + 10);
    ks.now = T0 + 20;
    expect(ks.get("old")).toBe("v");
    expect(ks.peek("counter")).toBe("1");
    expect(ks.has("old")).toBe(true);
    expect(ks.expireTime("old")).toBe(T0 - 1000);
    const scanned: string[] = [];
    ks.scan(0, 100, (k) => scanned.push(k));
    expect(scanned.sort()).toEqual(["counter", "old"]);
    expect(ks.activeExpireCycle(100)).toBe(0);
    expect(ks.randomKey()).toBeDefined();
    // A replayed write keeps the logged TTL, as it did when it was logged.
    ks.set("counter", "2", KEEP_TTL);
    expect(ks.expireTime("counter")).toBe(T0 + 10);
    expect(ks.setExpire("old", T0 - 500)).toBe(true);
    expect(ks.size).toBe(2);
    expect(removed).toEqual([]);
    expect(ks.stats.expiredKeys).toBe(0);

    ks.expiryPaused = false;
    expect(ks.get("old")).toBeUndefined();
    expect(ks.get("counter")).toBeUndefined();
    expect(removed).toEqual(["old", "counter"]);
    expect(ks.size).toBe(0);
  });
});

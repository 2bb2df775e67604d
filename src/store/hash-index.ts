/**
 * The keyspace's index: key → slot, as an open-addressing hash table of
 * (slot number, hash) pairs in an Int32Array (linear probing, backward-shift
 * deletion, so no tombstones). Each slot's hash is also kept per slot, for
 * removal.
 *
 * Why not a JS Map: a key costs ~40 bytes less resident memory
 * (bench/calibrate-memory.ts: 224 against 265 bytes settled for 16-byte keys
 * and 32-byte values, stable across runs), and a lookup with a key parsed
 * fresh from the socket is no slower (bench/micro.ts, "index lookup":
 * 287-550 ns against the Map's 364-669 ns over three noisy runs). A lookup
 * hashes the key's bytes in JS, reads one table entry (slot and hash in
 * one cache line) and compares the key with the stored bytes only when the
 * hashes agree.
 *
 * The hash is seeded per process so clients cannot precompute keys that
 * collide.
 */

import type { Entries } from "./entries.ts";

const EMPTY = -1;
const MIN_CAPACITY = 1024;

export class HashIndex {
  /** Entry i is table[2i] (a slot number or EMPTY) and table[2i + 1] (its hash); a power of two of entries. */
  private table = emptyTable(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;
  private readonly seed = (Math.random() * 0x100000000) | 0;

  /**
   * @param entries the key stored in each slot (the keyspace's)
   * @param hashes each slot's hash, written by this index, sized by the keyspace
   */
  constructor(
    private entries: Entries,
    private hashes: Int32Array,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The keyspace replaced its per-slot arrays (growth, flush). */
  attach(entries: Entries, hashes: Int32Array): void {
    this.entries = entries;
    this.hashes = hashes;
  }

  /**
   * A SET of a new key looks it up, misses, then inserts it: the last hash
   * is kept so the insert does not hash the key a second time.
   */
  private lastKey: string | undefined = undefined;
  private lastHash = 0;

  hash(key: string): number {
    if (key === this.lastKey) return this.lastHash;
    let h = this.seed ^ key.length;
    for (let i = 0; i < key.length; i++) {
      h = Math.imul(h ^ key.charCodeAt(i), 0x5bd1e995);
      h ^= h >>> 15;
    }
    // murmur3's finaliser: every input bit reaches the low bits the mask keeps.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    this.lastKey = key;
    this.lastHash = h;
    return h;
  }

  /** The slot holding `key`, or -1. */
  get(key: string): number {
    const h = this.hash(key);
    const table = this.table;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const slot = table[2 * i]!;
      if (slot === EMPTY) return -1;
      if (table[2 * i + 1] === h && this.entries.keyEquals(slot, key)) return slot;
    }
  }

  /** Adds `key` (which must be absent) at `slot`. */
  insert(key: string, slot: number): void {
    if ((this.count + 1) * 4 > (this.mask + 1) * 3) this.resize((this.mask + 1) * 2);
    const h = this.hash(key);
    this.hashes[slot] = h;
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    while (table[2 * i] !== EMPTY) i = (i + 1) & mask;
    table[2 * i] = slot;
    table[2 * i + 1] = h;
    this.count++;
  }

  /** Removes the entry for `slot`, shifting later entries of its probe run back. */
  remove(slot: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = this.hashes[slot]! & mask;
    while (table[2 * i] !== slot) i = (i + 1) & mask;
    // Backward-shift deletion: move up any entry whose home position is at
    // or before the hole, so every probe run stays unbroken.
    let hole = i;
    for (let j = (hole + 1) & mask; table[2 * j] !== EMPTY; j = (j + 1) & mask) {
      const home = table[2 * j + 1]! & mask;
      // Does `home` lie cyclically in (hole, j]? Then the entry stays.
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        table[2 * hole] = table[2 * j]!;
        table[2 * hole + 1] = table[2 * j + 1]!;
        hole = j;
      }
    }
    table[2 * hole] = EMPTY;
    this.count--;
  }

  clear(): void {
    this.table = emptyTable(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  private resize(capacity: number): void {
    const old = this.table;
    const table = emptyTable(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < old.length; i += 2) {
      const slot = old[i]!;
      if (slot === EMPTY) continue;
      const h = old[i + 1]!;
      let j = h & mask;
      while (table[2 * j] !== EMPTY) j = (j + 1) & mask;
      table[2 * j] = slot;
      table[2 * j + 1] = h;
    }
    this.table = table;
    this.mask = mask;
  }
}

function emptyTable(entries: number): Int32Array<ArrayBuffer> {
  const table = new Int32Array(2 * entries);
  for (let i = 0; i < table.length; i += 2) table[i] = EMPTY;
  return table;
}

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
 * hashes the key's bytes where they are (a request's receive buffer: no key
 * string is made), reads one table entry (slot and hash in one cache line)
 * and compares the key with the stored bytes only when the hashes agree.
 *
 * Growing does not stop the server: like Redis's incremental rehash, the
 * doubled table is filled a few old entries per insert while both tables
 * answer lookups (rebuilding a table of 786k keys at once took 70-75 ms).
 * Old entries already moved become tombstones, so that probe runs through
 * them stay unbroken; the old table is dropped once emptied.
 *
 * The hash is seeded per process so clients cannot precompute keys that
 * collide.
 */

import type { Entries } from "./entries.ts";

// Tables hold slot + 1, so that a new table, zero-filled by the OS as it is
// first touched, needs no filling: 0 is EMPTY.
const EMPTY = 0;
/** In the old table during a resize: an entry moved to the new table or removed. */
const MOVED = -1;
const MIN_CAPACITY = 1024;
/** Old entries moved per insert while resizing: 2 suffice to finish before the new table fills. */
const MOVES_PER_INSERT = 4;
/** And per lookup, so that a resize started by writes finishes under reads alone (as Redis's dictFind steps its rehash). */
const MOVES_PER_LOOKUP = 1;

export class HashIndex {
  /** Entry i is table[2i] (slot + 1, or EMPTY) and table[2i + 1] (its hash); a power of two of entries. */
  private table = emptyTable(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;
  /** While resizing: the table being emptied into `table`, and how far it was read. */
  private old: Int32Array | null = null;
  private oldMask = 0;
  private moveCursor = 0;
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

  /** The hash of the key key[start, start + length), which get and insert take. */
  hash(key: Buffer, start: number, length: number): number {
    let h = this.seed ^ length;
    for (let i = start; i < start + length; i++) {
      h = Math.imul(h ^ key[i]!, 0x5bd1e995);
      h ^= h >>> 15;
    }
    // murmur3's finaliser: every input bit reaches the low bits the mask keeps.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h;
  }

  /** The slot holding the key key[start, start + length), whose hash is `h`, or -1. */
  get(h: number, key: Buffer, start: number, length: number): number {
    if (this.old !== null) this.moveSome(MOVES_PER_LOOKUP);
    const table = this.table;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const stored = table[2 * i]!;
      if (stored === EMPTY) return this.old === null ? -1 : this.getOld(h, key, start, length);
      if (table[2 * i + 1] === h && this.entries.keyEquals(stored - 1, key, start, length)) return stored - 1;
    }
  }

  private getOld(h: number, key: Buffer, start: number, length: number): number {
    const old = this.old!;
    const mask = this.oldMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const stored = old[2 * i]!;
      if (stored === EMPTY) return -1;
      if (stored !== MOVED && old[2 * i + 1] === h && this.entries.keyEquals(stored - 1, key, start, length)) return stored - 1;
    }
  }

  /** Adds the key stored at `slot` (absent until now), whose hash is `h`. */
  insert(slot: number, h: number): void {
    if (this.old !== null) this.moveSome(MOVES_PER_INSERT);
    else if ((this.count + 1) * 4 > (this.mask + 1) * 3) this.startResize();
    this.hashes[slot] = h;
    this.place(slot + 1, h);
    this.count++;
  }

  /** Removes the entry for `slot`. */
  remove(slot: number): void {
    const h = this.hashes[slot]!;
    const stored = slot + 1;
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    for (; table[2 * i] !== stored; i = (i + 1) & mask) {
      if (table[2 * i] === EMPTY) {
        // Not moved yet: it is in the old table, where a tombstone keeps probe runs whole.
        const old = this.old!;
        let j = h & this.oldMask;
        while (old[2 * j] !== stored) j = (j + 1) & this.oldMask;
        old[2 * j] = MOVED;
        this.count--;
        return;
      }
    }
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
    this.old = null;
  }

  /** Whether a resize is in progress (for tests). */
  get resizing(): boolean {
    return this.old !== null;
  }

  private place(stored: number, h: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    while (table[2 * i] !== EMPTY) i = (i + 1) & mask;
    table[2 * i] = stored;
    table[2 * i + 1] = h;
  }

  private startResize(): void {
    const capacity = (this.mask + 1) * 2;
    const table = emptyTable(capacity); // first: if memory is refused, nothing has changed
    this.old = this.table;
    this.oldMask = this.mask;
    this.moveCursor = 0;
    this.table = table;
    this.mask = capacity - 1;
  }

  /** Moves the old table's next `positions` entries into the new one; drops the old table when done. */
  private moveSome(positions: number): void {
    const old = this.old!;
    const end = Math.min(this.oldMask + 1, this.moveCursor + positions);
    for (let i = this.moveCursor; i < end; i++) {
      const stored = old[2 * i]!;
      if (stored === EMPTY || stored === MOVED) continue;
      this.place(stored, old[2 * i + 1]!);
      old[2 * i] = MOVED;
    }
    this.moveCursor = end;
    if (end > this.oldMask) this.old = null;
  }
}

function emptyTable(entries: number): Int32Array<ArrayBuffer> {
  return new Int32Array(2 * entries);
}

/**
 * The keyspace's index: key → slot, as an open-addressing hash table of
 * (slot number, hash, block page, block offset) entries in an Int32Array
 * (linear probing, backward-shift deletion, so no tombstones). Each slot's
 * hash is also kept per slot, for removal.
 *
 * Why not a JS Map: a key costs ~40 bytes less resident memory
 * (bench/calibrate-memory.ts: 224 against 265 bytes settled for 16-byte keys
 * and 32-byte values, stable across runs), and a lookup with a key parsed
 * fresh from the socket is no slower (bench/micro.ts, "index lookup":
 * 287-550 ns against the Map's 364-669 ns over three noisy runs). A lookup
 * hashes the key's bytes where they are (a request's receive buffer: no key
 * string is made), reads one table entry (16 bytes: never split across
 * cache lines) and compares the key with the stored bytes only when the
 * hashes agree. The entry holds where the key's bytes are, so that over a
 * keyspace larger than the caches that comparison and the slot's record
 * are fetched side by side instead of one after the other; it costs 8
 * bytes per entry, ~17 per key at a million keys.
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

// Entry i is table[4i .. 4i + 3]: the slot + 1 (so that a new table,
// zero-filled by the OS as it is first touched, needs no filling: 0 is
// EMPTY), the key's hash, and its block's page and offset in the arena.
const STRIDE = 4;
const HASH = 1;
const PAGE = 2;
const OFFSET = 3;
const EMPTY = 0;
/** In the old table during a resize: an entry moved to the new table or removed. */
const MOVED = -1;
const MIN_CAPACITY = 1024;
/** Old entries moved per insert while resizing: 2 suffice to finish before the new table fills. */
const MOVES_PER_INSERT = 4;
/** And per lookup, so that a resize started by writes finishes under reads alone (as Redis's dictFind steps its rehash). */
const MOVES_PER_LOOKUP = 1;

export class HashIndex {
  /** A power of two of entries (see STRIDE). */
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
      const e = i * STRIDE;
      const stored = table[e]!;
      if (stored === EMPTY) return this.old === null ? -1 : this.getOld(h, key, start, length);
      if (table[e + HASH] === h && this.entries.keyEqualsAt(stored - 1, table[e + PAGE]!, table[e + OFFSET]!, key, start, length)) return stored - 1;
    }
  }

  private getOld(h: number, key: Buffer, start: number, length: number): number {
    const old = this.old!;
    const mask = this.oldMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = i * STRIDE;
      const stored = old[e]!;
      if (stored === EMPTY) return -1;
      if (stored !== MOVED && old[e + HASH] === h && this.entries.keyEqualsAt(stored - 1, old[e + PAGE]!, old[e + OFFSET]!, key, start, length)) {
        return stored - 1;
      }
    }
  }

  /**
   * For each of the first `n` hashes, the entry at its home position, the
   * one a lookup reads first: out[3i] = slot + 1 (0: none), out[3i + 1] and
   * out[3i + 2] its block's page and offset. One loop of independent loads,
   * for Keyspace.prefetch.
   */
  homeEntries(hashes: Int32Array, n: number, out: Int32Array): void {
    const table = this.table;
    const mask = this.mask;
    for (let i = 0; i < n; i++) {
      const e = (hashes[i]! & mask) * STRIDE;
      out[3 * i] = table[e]!;
      out[3 * i + 1] = table[e + PAGE]!;
      out[3 * i + 2] = table[e + OFFSET]!;
    }
  }

  /** Adds the key stored at `slot` (absent until now), whose hash is `h`. */
  insert(slot: number, h: number): void {
    if (this.old !== null) this.moveSome(MOVES_PER_INSERT);
    else if ((this.count + 1) * 4 > (this.mask + 1) * 3) this.startResize();
    this.hashes[slot] = h;
    place(this.table, this.mask, slot + 1, h, this.entries.blockPage(slot), this.entries.blockOffset(slot));
    this.count++;
  }

  /** The slot's key moved to another block (its value outgrew the old one): the entry follows it. */
  relocate(slot: number): void {
    const e = this.find(slot);
    const table = e >= 0 ? this.table : this.old!;
    const at = e >= 0 ? e : ~e;
    table[at + PAGE] = this.entries.blockPage(slot);
    table[at + OFFSET] = this.entries.blockOffset(slot);
  }

  /** Removes the entry for `slot`. */
  remove(slot: number): void {
    const e = this.find(slot);
    this.count--;
    if (e < 0) {
      // Not moved yet: it is in the old table, where a tombstone keeps probe runs whole.
      this.old![~e] = MOVED;
      return;
    }
    // Backward-shift deletion: move up any entry whose home position is at
    // or before the hole, so every probe run stays unbroken.
    const table = this.table;
    const mask = this.mask;
    let hole = e / STRIDE;
    for (let j = (hole + 1) & mask; table[j * STRIDE] !== EMPTY; j = (j + 1) & mask) {
      const home = table[j * STRIDE + HASH]! & mask;
      // Does `home` lie cyclically in (hole, j]? Then the entry stays.
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        const to = hole * STRIDE;
        const from = j * STRIDE;
        table[to] = table[from]!;
        table[to + HASH] = table[from + HASH]!;
        table[to + PAGE] = table[from + PAGE]!;
        table[to + OFFSET] = table[from + OFFSET]!;
        hole = j;
      }
    }
    table[hole * STRIDE] = EMPTY;
  }

  /** Where `slot`'s entry starts: in the table (>= 0), or, during a resize, in the old one (~position). */
  private find(slot: number): number {
    const h = this.hashes[slot]!;
    const stored = slot + 1;
    const table = this.table;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = i * STRIDE;
      if (table[e] === stored) return e;
      if (table[e] === EMPTY) break;
    }
    const old = this.old!;
    for (let j = h & this.oldMask; ; j = (j + 1) & this.oldMask) {
      if (old[j * STRIDE] === stored) return ~(j * STRIDE);
    }
  }

  /** Empties the index, keeping the table (the new one, if a resize was under way) and its memory for a refill. */
  clearKeepingTable(): void {
    this.old = null;
    this.table.fill(0);
    this.count = 0;
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
      const e = i * STRIDE;
      const stored = old[e]!;
      if (stored === EMPTY || stored === MOVED) continue;
      place(this.table, this.mask, stored, old[e + HASH]!, old[e + PAGE]!, old[e + OFFSET]!);
      old[e] = MOVED;
    }
    this.moveCursor = end;
    if (end > this.oldMask) this.old = null;
  }
}

/** Puts an entry in its probe run's first empty position. */
function place(table: Int32Array, mask: number, stored: number, h: number, page: number, offset: number): void {
  let i = h & mask;
  while (table[i * STRIDE] !== EMPTY) i = (i + 1) & mask;
  const e = i * STRIDE;
  table[e] = stored;
  table[e + HASH] = h;
  table[e + PAGE] = page;
  table[e + OFFSET] = offset;
}

function emptyTable(entries: number): Int32Array<ArrayBuffer> {
  return new Int32Array(STRIDE * entries);
}

import { OutputBuffer } from "../protocol/reply.ts";
import type { Entries } from "./entries.ts";

/** What a snapshot's keys are handed to, one call per key. */
export interface SnapshotVisitor {
  /** A key unchanged since the snapshot's instant: read it from `entries` in place (readKey, readValue). */
  live(entries: Entries, slot: number, expireAt: number): void;
  /**
   * A key that changed after the instant, as preserve() kept it: its key's
   * bytes are source[start, start + keyLength) and its value's follow them.
   * The bytes are valid only during the call.
   */
  kept(source: Buffer, start: number, keyLength: number, valueLength: number, expireAt: number): void;
}

/** A kept slot's record in the byte store: key length, value length (4 bytes each), expiry (8), key, value. */
const KEPT_HEADER = 16;
/** In the kept table: the slot held no key at the snapshot's instant. */
const KEPT_EMPTY = -1;
const KEPT_TABLE_INITIAL = 1024;

/**
 * A point-in-time view of the keyspace that is read a slice at a time while
 * the keyspace keeps changing: what Redis gets from fork()'s copy-on-write,
 * done per slot. The keyspace calls `preserve(slot)` before it changes any
 * slot the snapshot has not read yet, and the snapshot keeps a copy of that
 * slot's old content. Slots it never preserved are read live: they have
 * not changed since the snapshot began.
 *
 * The cost is a copy of each slot changed ahead of the cursor during the
 * read, instead of a copy of the whole keyspace up front (a 1M-key copy
 * took 25-100 ms here, too long a pause for one event-loop turn). The copies
 * are bytes in one growing buffer, found through typed arrays, not an object
 * and two strings each: under a write load a rewrite keeps tens of
 * thousands of them, and as objects every young collection had to visit
 * them (a mixed load beside rewrites: eden collections visited 242 kB on
 * average against 63 kB with rewrites off, worst pause 2.36 against 1.46 ms).
 *
 * Which slots were kept is a bit per slot, and where each record starts is
 * in a small open-addressing table sized to the slots kept. An array with an
 * entry for every slot (8 MB at 1M keys) had every one of its pages touched
 * for the first time in the first turns of a rewrite under random writes:
 * the rewrite's first turns took 5-7 ms with up to ~900 page faults each,
 * and the main thread took 4.6-4.9k faults per rewrite against 0.9-1.7k
 * now (a 1M-key server under the mixed load of bench/compare.ts goal 6).
 */
export class Snapshot {
  /** Slots below this have been read. */
  cursor = 0;
  /** A bit per slot: preserve() ran for it. Made at the first preserve(). */
  private keptBits: Int32Array | null = null;
  /** The kept slots' table: slot + 1 (0: a free entry), and 1 + where its record starts in keptBytes, or KEPT_EMPTY. */
  private keptSlots = new Int32Array(0);
  private keptRecords = new Float64Array(0);
  private keptCount = 0;
  /** 32 - log2(table size): hashSlot's top bits index the table. */
  private keptShift = 32;
  private readonly keptBytes = new OutputBuffer();
  /** Copies the bytes readKey and readValue hand over into keptBytes. */
  private readonly keep = { bulkBytes: (source: Buffer, start: number, length: number) => this.keptBytes.copyFrom(source, start, length) };

  constructor(
    private readonly entries: Entries,
    // Entries and expiry times are changed (and grown) in place, preserve()
    // first; a flush starts new ones, and the old ones still hold every slot
    // the snapshot has not preserved, unchanged.
    private readonly expireAt: Float64Array,
    /** Slots at or past this were never used when the snapshot began. */
    readonly end: number,
    /** The instant, in Unix ms: keys expired by then are left out. */
    readonly at: number,
  ) {}

  get done(): boolean {
    return this.cursor >= this.end;
  }

  /** Whether the keyspace must call `preserve` before changing this slot. */
  covers(slot: number): boolean {
    return slot >= this.cursor && slot < this.end && !this.wasKept(slot);
  }

  /** Keeps the slot's current content (the keyspace is about to change it). */
  preserve(slot: number): void {
    this.keptBits ??= new Int32Array((this.end + 31) >>> 5);
    this.keptBits[slot >>> 5]! |= 1 << (slot & 31);
    const { entries } = this;
    if (!entries.occupied(slot)) {
      this.remember(slot, KEPT_EMPTY);
      return;
    }
    const bytes = this.keptBytes;
    const at = bytes.length;
    this.remember(slot, at + 1);
    bytes.reserve(KEPT_HEADER);
    bytes.length += KEPT_HEADER;
    entries.readKey(slot, this.keep);
    const keyLength = bytes.length - at - KEPT_HEADER;
    entries.readValue(slot, this.keep);
    const buf = bytes.buf; // read after the copies: they may have grown it
    buf.writeUInt32LE(keyLength, at);
    buf.writeUInt32LE(bytes.length - at - KEPT_HEADER - keyLength, at + 4);
    buf.writeDoubleLE(this.expireAt[slot]!, at + 8);
  }

  /**
   * Visits the next `maxSlots` slots' keys as they were at the snapshot's
   * instant. Most were not changed since, and are handed over where they
   * lie in the arena: a rewrite of a million keys makes no string for them.
   */
  read(maxSlots: number, visitor: SnapshotVisitor): void {
    const { entries, expireAt, at } = this;
    const stop = Math.min(this.end, this.cursor + maxSlots);
    for (let slot = this.cursor; slot < stop; slot++) {
      const record = this.wasKept(slot) ? this.recordOf(slot) : 0;
      if (record > 0) {
        const buf = this.keptBytes.buf;
        const start = record - 1;
        const expires = buf.readDoubleLE(start + 8);
        if (expires === 0 || expires > at) visitor.kept(buf, start + KEPT_HEADER, buf.readUInt32LE(start), buf.readUInt32LE(start + 4), expires);
      } else if (record === 0 && entries.occupied(slot)) {
        const expires = expireAt[slot]!;
        if (expires === 0 || expires > at) visitor.live(entries, slot, expires);
      }
    }
    this.cursor = stop;
  }

  private wasKept(slot: number): boolean {
    return this.keptBits !== null && (this.keptBits[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }

  /** Enters a kept slot's record (1 + its start in keptBytes, or KEPT_EMPTY); each slot is entered once. */
  private remember(slot: number, record: number): void {
    if (2 * (this.keptCount + 1) > this.keptSlots.length) this.growTable();
    const mask = this.keptSlots.length - 1;
    let i = hashSlot(slot) >>> this.keptShift;
    while (this.keptSlots[i] !== 0) i = (i + 1) & mask;
    this.keptSlots[i] = slot + 1;
    this.keptRecords[i] = record;
    this.keptCount++;
  }

  /** The record remember() entered for a slot whose kept bit is set. */
  private recordOf(slot: number): number {
    const slots = this.keptSlots;
    const mask = slots.length - 1;
    let i = hashSlot(slot) >>> this.keptShift;
    while (slots[i] !== slot + 1) i = (i + 1) & mask;
    return this.keptRecords[i]!;
  }

  private growTable(): void {
    const oldSlots = this.keptSlots;
    const oldRecords = this.keptRecords;
    const capacity = Math.max(KEPT_TABLE_INITIAL, 2 * oldSlots.length);
    this.keptSlots = new Int32Array(capacity);
    this.keptRecords = new Float64Array(capacity);
    this.keptShift = 32 - Math.log2(capacity);
    this.keptCount = 0;
    for (let i = 0; i < oldSlots.length; i++) {
      if (oldSlots[i] !== 0) this.remember(oldSlots[i]! - 1, oldRecords[i]!);
    }
  }
}

/** Fibonacci hashing: the product's top bits spread consecutive slots over the table. */
function hashSlot(slot: number): number {
  return Math.imul(slot, 0x9e3779b1);
}

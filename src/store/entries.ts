import { Arena, PAGE_BYTES } from "./arena.ts";
import { resizeSlots, slotInt32s } from "./slot-arrays.ts";
import { copyBytes } from "../util/bytes.ts";
import { parseSafeIntAt, writeDecimal } from "../util/numbers.ts";

/**
 * Each slot's key and value, as bytes in one arena block (key, then value),
 * found through four numbers per slot, side by side so that a lookup's
 * comparison reads one cache line for them. Keys come in as bytes (from the
 * receive buffer, or a key string written to a scratch buffer); values go in
 * as bytes or byte strings (one char per byte) and out as either. What stays
 * resident is the bytes and 16 bytes of bookkeeping, not a string cell and
 * header for each (72 bytes for a 16-byte key as a JSC string), and the
 * garbage collector has a few hundred pages to look at instead of two
 * strings per key.
 *
 * A lookup compares the key it was given with the stored bytes in place.
 */

// A slot's record: records[RECORD_FIELDS * slot + field]. KEY_LENGTH holds
// the key's length + 1, so that 0, what a new slot reads, is EMPTY.
const EMPTY = 0;
const KEY_LENGTH = 0;
const VALUE_LENGTH = 1;
const PAGE = 2;
const OFFSET = 3;
/**
 * Fields 4-7 of each record are the keyspace's: recency, last access, and
 * the key's place among keys with a TTL. They sit here, in the 32 bytes
 * (half a cache line) a lookup reads anyway, so that a GET that refreshes
 * recency touches one line for its key instead of five arrays.
 *
 * Recency is the key's neighbours in the keyspace's LRU list (PREV, NEXT)
 * while it keeps one, and otherwise the number of the key's last access in
 * two 31-bit halves (ACCESS_LOW, ACCESS_HIGH) in the same two fields.
 */
export const PREV = 4;
export const NEXT = 5;
export const ACCESS_LOW = PREV;
export const ACCESS_HIGH = NEXT;
export const LAST_ACCESS = 6;
/** Position in the keyspace's array of keys with a TTL, + 1; 0 for a key without one. */
export const VOLATILE = 7;
export const RECORD_FIELDS = 8;
const FIELDS = RECORD_FIELDS;

/** Where key and value bytes are read into (the reply writer, the AOF rewrite). */
export interface ByteSink {
  bulkBytes(source: Buffer, start: number, length: number): void;
}

export class Entries {
  private readonly arena = new Arena();
  /**
   * Per slot: key length + 1 (EMPTY when the slot holds no key), value
   * length, page, offset, then the keyspace's fields (PREV …). Replaced by
   * grow() when it cannot grow in place.
   */
  records = slotInt32s(FIELDS);

  /** Makes room for `capacity` slots, the new ones empty (all fields 0). */
  grow(capacity: number): void {
    this.records = resizeSlots(this.records, capacity, FIELDS);
  }

  /** Empties the slots below `used` (every slot ever used) and forgets every block, keeping the memory for what comes next. */
  clear(used: number): void {
    this.records.fill(0, 0, used * FIELDS);
    this.arena.clear();
  }

  /** Lets go of the arena pages `clear` kept that have not been used again; returns their bytes. */
  dropReusablePages(): number {
    return this.arena.dropReusablePages();
  }

  /** Arena pages held (for tests). */
  get pageCount(): number {
    return this.arena.pageCount;
  }

  occupied(slot: number): boolean {
    return this.records[slot * FIELDS + KEY_LENGTH]! !== EMPTY;
  }

  /**
   * Puts a key in an empty slot, with room for a value of `valueLength`
   * bytes, which writeValue or copyValue then fills.
   */
  store(slot: number, key: Buffer, keyStart: number, keyLength: number, valueLength: number): void {
    this.place(slot, keyLength, valueLength);
    const m = slot * FIELDS;
    copyBytes(key, keyStart, keyLength, this.pageOf(m), this.records[m + OFFSET]!);
  }

  /**
   * Makes an occupied slot's value `valueLength` bytes long, for writeValue
   * or copyValue to fill; the block is reused when the new length fits its
   * size, else the key moves to a new block (allocated before anything
   * changes). Returns whether it moved: the index keeps each block's place.
   */
  resizeValue(slot: number, valueLength: number): boolean {
    const m = slot * FIELDS;
    const keyLength = this.keyLength(m);
    const oldLength = keyLength + this.records[m + VALUE_LENGTH]!;
    const moves = Arena.blockSize(oldLength) !== Arena.blockSize(keyLength + valueLength);
    if (moves) {
      const oldPage = this.pageOf(m);
      const oldAt = this.records[m + OFFSET]!;
      const oldLocation = this.records[m + PAGE]! * PAGE_BYTES + oldAt;
      this.place(slot, keyLength, valueLength);
      copyBytes(oldPage, oldAt, keyLength, this.pageOf(m), this.records[m + OFFSET]!);
      this.arena.free(oldLocation, oldLength);
    }
    this.records[m + VALUE_LENGTH] = valueLength;
    return moves;
  }

  /** Fills the slot's value (its length already set) from a byte string. */
  writeValue(slot: number, value: string): void {
    const m = slot * FIELDS;
    const page = this.pageOf(m);
    const at = this.records[m + OFFSET]! + this.keyLength(m);
    const length = value.length;
    if (length > 64) page.latin1Write(value, at, length);
    else for (let i = 0; i < length; i++) page[at + i] = value.charCodeAt(i);
  }

  /** Fills the slot's value (its length already set) from `source`, e.g. a request in the receive buffer. */
  copyValue(slot: number, source: Buffer, start: number): void {
    const m = slot * FIELDS;
    copyBytes(source, start, this.records[m + VALUE_LENGTH]!, this.pageOf(m), this.records[m + OFFSET]! + this.keyLength(m));
  }

  /** The slot's value as an integer, if it is one in string2ll's syntax within ±MAX_SAFE_INTEGER; else null. */
  integerValue(slot: number): number | null {
    const m = slot * FIELDS;
    const at = this.records[m + OFFSET]! + this.keyLength(m);
    return parseSafeIntAt(this.pageOf(m), at, at + this.records[m + VALUE_LENGTH]!);
  }

  /** Fills the slot's value (its length already set to decimalLength(n)) with the integer `n` in decimal. */
  writeInteger(slot: number, n: number): void {
    const m = slot * FIELDS;
    writeDecimal(this.pageOf(m), this.records[m + OFFSET]! + this.keyLength(m) + this.records[m + VALUE_LENGTH]!, n);
  }

  /** Empties a slot. */
  remove(slot: number): void {
    const m = slot * FIELDS;
    this.arena.free(this.records[m + PAGE]! * PAGE_BYTES + this.records[m + OFFSET]!, this.keyLength(m) + this.records[m + VALUE_LENGTH]!);
    this.records[m + KEY_LENGTH] = EMPTY;
  }

  /** The arena bytes a slot's key and value take. */
  blockBytes(slot: number): number {
    return Arena.blockSize(this.keyLength(slot * FIELDS) + this.records[slot * FIELDS + VALUE_LENGTH]!);
  }

  key(slot: number): string {
    const m = slot * FIELDS;
    const at = this.records[m + OFFSET]!;
    return this.pageOf(m).latin1Slice(at, at + this.keyLength(m));
  }

  value(slot: number): string {
    const m = slot * FIELDS;
    const at = this.records[m + OFFSET]! + this.keyLength(m);
    return this.pageOf(m).latin1Slice(at, at + this.records[m + VALUE_LENGTH]!);
  }

  /** Hands the key's bytes to `sink` where they lie, without making a string of them. */
  readKey(slot: number, sink: ByteSink): void {
    const m = slot * FIELDS;
    sink.bulkBytes(this.pageOf(m), this.records[m + OFFSET]!, this.keyLength(m));
  }

  /** Hands the value's bytes to `sink` where they lie, without making a string of them. */
  readValue(slot: number, sink: ByteSink): void {
    const m = slot * FIELDS;
    sink.bulkBytes(this.pageOf(m), this.records[m + OFFSET]! + this.keyLength(m), this.records[m + VALUE_LENGTH]!);
  }

  /** The arena page number of the slot's block (the index keeps it beside the slot). */
  blockPage(slot: number): number {
    return this.records[slot * FIELDS + PAGE]!;
  }

  /** The offset of the slot's block in its page. */
  blockOffset(slot: number): number {
    return this.records[slot * FIELDS + OFFSET]!;
  }

  /**
   * Whether the slot, whose block is at (`page`, `offset`), holds exactly the
   * key key[start, start + length), compared byte by byte where it is
   * stored. The index passes the block's place along with the slot, so that
   * the key's bytes and the slot's record load side by side: a lookup in a
   * large keyspace waits for two cache misses (index entry, then both), not
   * three in a row (entry, record, block). The length is read first for
   * that: read after the byte loop, the record's load waited for the
   * block's (in the JIT's code the record's miss was the third in a row).
   */
  keyEqualsAt(slot: number, page: number, offset: number, key: Buffer, start: number, length: number): boolean {
    if (this.records[slot * FIELDS + KEY_LENGTH] !== length + 1) return false;
    const bytes = this.arena.pages[page]!;
    const at = offset - start;
    for (let i = start; i < start + length; i++) if (bytes[at + i] !== key[i]) return false;
    return true;
  }

  /**
   * Reads the first byte of each block and the record of each slot that
   * homeEntries() put in `homes`, so that the lookups to come find them in
   * the cache. Returns a sum of what it read, only so that the reads are
   * not optimised away.
   */
  touch(homes: Int32Array, n: number): number {
    const pages = this.arena.pages;
    const records = this.records;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const stored = homes[3 * i]!;
      if (stored !== 0) sum += pages[homes[3 * i + 1]!]![homes[3 * i + 2]!]! + records[(stored - 1) * FIELDS]!;
    }
    return sum;
  }

  /** The key length of the slot whose fields start at records[m]. */
  private keyLength(m: number): number {
    return this.records[m + KEY_LENGTH]! - 1;
  }

  /** The arena page of the slot whose fields start at records[m]. */
  private pageOf(m: number): Buffer {
    return this.arena.pages[this.records[m + PAGE]!]!;
  }

  private place(slot: number, keyLength: number, valueLength: number): void {
    const location = this.arena.allocate(keyLength + valueLength);
    const page = Math.floor(location / PAGE_BYTES);
    const m = slot * FIELDS;
    this.records[m + KEY_LENGTH] = keyLength + 1;
    this.records[m + VALUE_LENGTH] = valueLength;
    this.records[m + PAGE] = page;
    this.records[m + OFFSET] = location - page * PAGE_BYTES;
  }
}

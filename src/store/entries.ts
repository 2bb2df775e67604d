import { Arena, PAGE_BYTES } from "./arena.ts";
import { resizeSlots, slotInt32s } from "./slot-arrays.ts";

/**
 * Each slot's key and value, as bytes in one arena block (key, then value),
 * found through four numbers per slot, side by side so that a lookup's
 * comparison reads one cache line for them. Keys and values go in and out as
 * byte strings (one char per byte), which is what the parser makes and the
 * reply writer takes; what stays resident is the bytes and 16 bytes of
 * bookkeeping, not a string cell and header for each (72 bytes for a
 * 16-byte key as a JSC string), and the garbage collector has a few hundred
 * pages to look at instead of two strings per key.
 *
 * A lookup compares the key it was given with the stored bytes in place.
 */

// A slot's fields in `meta`: meta[4 * slot + field]. KEY_LENGTH holds the
// key's length + 1, so that 0, what a new slot reads, is EMPTY.
const EMPTY = 0;
const KEY_LENGTH = 0;
const VALUE_LENGTH = 1;
const PAGE = 2;
const OFFSET = 3;
const FIELDS = 4;

/** Where value bytes are read into (the reply writer). */
export interface ByteSink {
  bulkBytes(source: Buffer, start: number, length: number): void;
}

export class Entries {
  private readonly arena = new Arena();
  /** Per slot: key length + 1 (EMPTY when the slot holds no key), value length, page, offset. */
  private meta = slotInt32s(FIELDS);

  /** Makes room for `capacity` slots, the new ones empty. */
  grow(capacity: number): void {
    this.meta = resizeSlots(this.meta, capacity, FIELDS);
  }

  occupied(slot: number): boolean {
    return this.meta[slot * FIELDS + KEY_LENGTH]! !== EMPTY;
  }

  /** Puts a key and its value in an empty slot. */
  store(slot: number, key: string, value: string): void {
    this.place(slot, key.length, value.length);
    const m = slot * FIELDS;
    const page = this.pageOf(m);
    const at = this.meta[m + OFFSET]!;
    writeLatin1(page, at, key);
    writeLatin1(page, at + key.length, value);
  }

  /** Replaces the value of an occupied slot; the block is reused when the new value fits its size. */
  setValue(slot: number, value: string): void {
    const m = slot * FIELDS;
    const keyLength = this.keyLength(m);
    const oldLength = keyLength + this.meta[m + VALUE_LENGTH]!;
    let page = this.pageOf(m);
    let at = this.meta[m + OFFSET]!;
    if (Arena.blockSize(oldLength) !== Arena.blockSize(keyLength + value.length)) {
      const oldPage = page;
      const oldAt = at;
      const oldLocation = this.meta[m + PAGE]! * PAGE_BYTES + at;
      this.place(slot, keyLength, value.length);
      page = this.pageOf(m);
      at = this.meta[m + OFFSET]!;
      oldPage.copy(page, at, oldAt, oldAt + keyLength);
      this.arena.free(oldLocation, oldLength);
    }
    this.meta[m + VALUE_LENGTH] = value.length;
    writeLatin1(page, at + keyLength, value);
  }

  /** Empties a slot. */
  remove(slot: number): void {
    const m = slot * FIELDS;
    this.arena.free(this.meta[m + PAGE]! * PAGE_BYTES + this.meta[m + OFFSET]!, this.keyLength(m) + this.meta[m + VALUE_LENGTH]!);
    this.meta[m + KEY_LENGTH] = EMPTY;
  }

  /** The arena bytes a slot's key and value take. */
  blockBytes(slot: number): number {
    return Arena.blockSize(this.keyLength(slot * FIELDS) + this.meta[slot * FIELDS + VALUE_LENGTH]!);
  }

  key(slot: number): string {
    const m = slot * FIELDS;
    const at = this.meta[m + OFFSET]!;
    return this.pageOf(m).latin1Slice(at, at + this.keyLength(m));
  }

  value(slot: number): string {
    const m = slot * FIELDS;
    const at = this.meta[m + OFFSET]! + this.keyLength(m);
    return this.pageOf(m).latin1Slice(at, at + this.meta[m + VALUE_LENGTH]!);
  }

  /** Hands the value's bytes to `sink` where they lie, without making a string of them. */
  readValue(slot: number, sink: ByteSink): void {
    const m = slot * FIELDS;
    sink.bulkBytes(this.pageOf(m), this.meta[m + OFFSET]! + this.keyLength(m), this.meta[m + VALUE_LENGTH]!);
  }

  /** Whether the slot holds exactly `key`, compared byte by byte where it is stored. */
  keyEquals(slot: number, key: string): boolean {
    const m = slot * FIELDS;
    const length = key.length;
    if (this.meta[m + KEY_LENGTH] !== length + 1) return false;
    const page = this.pageOf(m);
    const at = this.meta[m + OFFSET]!;
    for (let i = 0; i < length; i++) if (page[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** The key length of the slot whose fields start at meta[m]. */
  private keyLength(m: number): number {
    return this.meta[m + KEY_LENGTH]! - 1;
  }

  /** The arena page of the slot whose fields start at meta[m]. */
  private pageOf(m: number): Buffer {
    return this.arena.pages[this.meta[m + PAGE]!]!;
  }

  private place(slot: number, keyLength: number, valueLength: number): void {
    const location = this.arena.allocate(keyLength + valueLength);
    const page = Math.floor(location / PAGE_BYTES);
    const m = slot * FIELDS;
    this.meta[m + KEY_LENGTH] = keyLength + 1;
    this.meta[m + VALUE_LENGTH] = valueLength;
    this.meta[m + PAGE] = page;
    this.meta[m + OFFSET] = location - page * PAGE_BYTES;
  }
}

/** Copies a byte string into `page` at `at`; short ones in a loop, which beats the native call. */
function writeLatin1(page: Buffer, at: number, s: string): void {
  const length = s.length;
  if (length > 64) {
    page.latin1Write(s, at, length);
    return;
  }
  for (let i = 0; i < length; i++) page[at + i] = s.charCodeAt(i);
}

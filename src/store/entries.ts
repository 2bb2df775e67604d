import { Arena, PAGE_BYTES } from "./arena.ts";

/**
 * Each slot's key and value, as bytes in one arena block (key, then value),
 * found through three numbers per slot. Keys and values go in and out as
 * byte strings (one char per byte), which is what the parser makes and the
 * reply writer takes; what stays resident is the bytes and 16 bytes of
 * bookkeeping, not a string cell and header for each (72 bytes for a
 * 16-byte key as a JSC string), and the garbage collector has a few hundred
 * pages to look at instead of two strings per key.
 *
 * A lookup compares the key it was given with the stored bytes in place.
 */

const EMPTY = -1;

export class Entries {
  private readonly arena = new Arena();
  /** Key length of each slot, EMPTY when the slot holds no key. */
  private keyLengths = new Int32Array(0);
  private valueLengths = new Int32Array(0);
  private pageOf = new Int32Array(0);
  private offsetOf = new Int32Array(0);

  get capacity(): number {
    return this.keyLengths.length;
  }

  /** Bytes held in arena pages. */
  get reservedBytes(): number {
    return this.arena.reservedBytes;
  }

  /** Makes room for `capacity` slots, the new ones empty. */
  grow(capacity: number): void {
    const old = this.keyLengths.length;
    const extend = (array: Int32Array): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(capacity);
      next.set(array);
      return next;
    };
    this.keyLengths = extend(this.keyLengths);
    this.keyLengths.fill(EMPTY, old);
    this.valueLengths = extend(this.valueLengths);
    this.pageOf = extend(this.pageOf);
    this.offsetOf = extend(this.offsetOf);
  }

  occupied(slot: number): boolean {
    return this.keyLengths[slot]! !== EMPTY;
  }

  /** Puts a key and its value in an empty slot. */
  store(slot: number, key: string, value: string): void {
    this.place(slot, key.length, value.length);
    const page = this.arena.pages[this.pageOf[slot]!]!;
    const at = this.offsetOf[slot]!;
    writeLatin1(page, at, key);
    writeLatin1(page, at + key.length, value);
  }

  /** Replaces the value of an occupied slot; the block is reused when the new value fits its size. */
  setValue(slot: number, value: string): void {
    const keyLength = this.keyLengths[slot]!;
    const oldLength = keyLength + this.valueLengths[slot]!;
    let page = this.arena.pages[this.pageOf[slot]!]!;
    let at = this.offsetOf[slot]!;
    if (Arena.blockSize(oldLength) !== Arena.blockSize(keyLength + value.length)) {
      const oldPage = page;
      const oldAt = at;
      const oldLocation = this.pageOf[slot]! * PAGE_BYTES + at;
      this.place(slot, keyLength, value.length);
      page = this.arena.pages[this.pageOf[slot]!]!;
      at = this.offsetOf[slot]!;
      oldPage.copy(page, at, oldAt, oldAt + keyLength);
      this.arena.free(oldLocation, oldLength);
    }
    this.valueLengths[slot] = value.length;
    writeLatin1(page, at + keyLength, value);
  }

  /** Empties a slot. */
  remove(slot: number): void {
    const length = this.keyLengths[slot]! + this.valueLengths[slot]!;
    this.arena.free(this.pageOf[slot]! * PAGE_BYTES + this.offsetOf[slot]!, length);
    this.keyLengths[slot] = EMPTY;
  }

  keyLength(slot: number): number {
    return this.keyLengths[slot]!;
  }

  valueLength(slot: number): number {
    return this.valueLengths[slot]!;
  }

  /** The arena bytes a slot's key and value take. */
  blockBytes(slot: number): number {
    return Arena.blockSize(this.keyLengths[slot]! + this.valueLengths[slot]!);
  }

  key(slot: number): string {
    const at = this.offsetOf[slot]!;
    return this.arena.pages[this.pageOf[slot]!]!.latin1Slice(at, at + this.keyLengths[slot]!);
  }

  value(slot: number): string {
    const at = this.offsetOf[slot]! + this.keyLengths[slot]!;
    return this.arena.pages[this.pageOf[slot]!]!.latin1Slice(at, at + this.valueLengths[slot]!);
  }

  /** Whether the slot holds exactly `key`, compared byte by byte where it is stored. */
  keyEquals(slot: number, key: string): boolean {
    const length = key.length;
    if (this.keyLengths[slot] !== length) return false;
    const page = this.arena.pages[this.pageOf[slot]!]!;
    const at = this.offsetOf[slot]!;
    for (let i = 0; i < length; i++) if (page[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  private place(slot: number, keyLength: number, valueLength: number): void {
    const location = this.arena.allocate(keyLength + valueLength);
    const page = Math.floor(location / PAGE_BYTES);
    this.pageOf[slot] = page;
    this.offsetOf[slot] = location - page * PAGE_BYTES;
    this.keyLengths[slot] = keyLength;
    this.valueLengths[slot] = valueLength;
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

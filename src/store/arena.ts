/**
 * Byte blocks for the keyspace's keys and values, carved out of large
 * Buffers, so that a million keys are a few hundred pages to the garbage
 * collector instead of two million string cells.
 *
 * Blocks up to SMALL_LIMIT bytes come from shared 1 MiB pages, in sizes
 * rounded up to GRAIN bytes; a freed block goes on its size's free list and
 * is handed out again for the next block of that size (a segregated-fit
 * allocator, as jemalloc's small size classes). Bigger blocks get a page of
 * their own, dropped when the block is freed. Shared pages are never
 * returned: memory freed into one size is reused only by blocks of that size.
 *
 * A block is named by its location, page × PAGE_BYTES + offset: one number,
 * exact in a double far past any page count a process can reach.
 */

export const PAGE_BYTES = 1 << 20;
const GRAIN = 16;
const SMALL_LIMIT = 4096;

export class Arena {
  /** Pages by number; a dropped large page leaves undefined until its number is reused. */
  readonly pages: (Buffer | undefined)[] = [];
  private readonly unusedPageNumbers: number[] = [];
  /** The shared page blocks are cut from, and where its free space starts. */
  private bumpPage = -1;
  private bumpOffset = PAGE_BYTES;
  /** freeBlocks[size / GRAIN]: locations of free blocks of that size. */
  private readonly freeBlocks: number[][] = Array.from({ length: SMALL_LIMIT / GRAIN + 1 }, () => []);

  /** The bytes a block holding `length` bytes takes. */
  static blockSize(length: number): number {
    if (length > SMALL_LIMIT) return length;
    return length <= GRAIN ? GRAIN : (length + GRAIN - 1) & ~(GRAIN - 1);
  }

  /** A block of at least `length` bytes; returns its location. */
  allocate(length: number): number {
    const size = Arena.blockSize(length);
    if (size > SMALL_LIMIT) return this.addPage(Buffer.allocUnsafeSlow(size)) * PAGE_BYTES;
    const free = this.freeBlocks[size / GRAIN]!;
    if (free.length > 0) return free.pop()!;
    if (this.bumpOffset + size > PAGE_BYTES) {
      this.bumpPage = this.addPage(Buffer.allocUnsafeSlow(PAGE_BYTES));
      this.bumpOffset = 0;
    }
    const location = this.bumpPage * PAGE_BYTES + this.bumpOffset;
    this.bumpOffset += size;
    return location;
  }

  /** Gives back the block at `location` that was allocated for `length` bytes. */
  free(location: number, length: number): void {
    const size = Arena.blockSize(length);
    if (size <= SMALL_LIMIT) {
      this.freeBlocks[size / GRAIN]!.push(location);
      return;
    }
    const page = location / PAGE_BYTES;
    this.pages[page] = undefined;
    this.unusedPageNumbers.push(page);
  }

  private addPage(page: Buffer): number {
    const number = this.unusedPageNumbers.pop();
    if (number !== undefined) {
      this.pages[number] = page;
      return number;
    }
    this.pages.push(page);
    return this.pages.length - 1;
  }
}

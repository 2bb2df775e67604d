/**
 * Byte blocks for the keyspace's keys and values, carved out of large
 * Buffers, so that a million keys are a few hundred pages to the garbage
 * collector instead of two million string cells.
 *
 * Blocks up to SMALL_LIMIT bytes come from shared 1 MiB pages, in sizes
 * rounded up to GRAIN bytes; a freed block goes on its size's free list and
 * is handed out again for the next block of that size (a segregated-fit
 * allocator, as jemalloc's small size classes). Bigger blocks get a page of
 * their own, dropped when the block is freed. Shared pages go back only
 * after a flush (clear, then dropReusablePages): memory freed into one size
 * is reused only by blocks of that size.
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
  /** Shared pages below this number that `clear` emptied and the bump has not reached again. */
  private reusablePages = 0;
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
      this.bumpPage = this.bumpPage + 1 < this.reusablePages ? this.bumpPage + 1 : this.addPage(Buffer.allocUnsafeSlow(PAGE_BYTES));
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

  /**
   * Forgets every block but keeps the shared pages, numbered from 0, for
   * the blocks that come next: memory that is resident already, where new
   * pages would be faulted in one 4 KiB page at a time.
   */
  clear(): void {
    const shared = this.pages.filter((page) => page !== undefined && page.length === PAGE_BYTES);
    this.pages.length = 0;
    this.pages.push(...shared);
    this.unusedPageNumbers.length = 0;
    for (const free of this.freeBlocks) free.length = 0;
    this.reusablePages = shared.length;
    this.bumpPage = -1;
    this.bumpOffset = PAGE_BYTES;
  }

  /** Drops the pages `clear` kept that no block has been cut from since; returns their bytes. */
  dropReusablePages(): number {
    let dropped = 0;
    for (let page = this.bumpPage + 1; page < this.reusablePages; page++) {
      this.pages[page] = undefined;
      this.unusedPageNumbers.push(page);
      dropped += PAGE_BYTES;
    }
    this.reusablePages = 0;
    return dropped;
  }

  /** Shared and large pages held (for tests). */
  get pageCount(): number {
    return this.pages.filter((page) => page !== undefined).length;
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

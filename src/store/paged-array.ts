/**
 * An array of references kept in pages of 256 entries: the keyspace's keys
 * and values.
 *
 * JavaScriptCore's young-generation collections rescan every old object a
 * new reference was stored into. With the keys and values in two flat
 * arrays of a million entries, each collection under writes rescanned
 * megabytes and paused the server 35-127 ms (bench/compare.ts, 1M keys);
 * in pages, it rescans the pages written to. A loop of random writes into
 * 1M entries (BENCHMARKS.md, "Profile") paused at most 73-96 ms flat,
 * 17 ms in pages of 1024, 6-10 ms in pages of 256.
 * Growing adds pages; nothing is copied.
 */

const PAGE_BITS = 8;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

export class PagedArray<T> {
  private readonly pages: (T | undefined)[][] = [];

  /** Entries it can hold without growing. */
  get capacity(): number {
    return this.pages.length << PAGE_BITS;
  }

  get(index: number): T | undefined {
    return this.pages[index >>> PAGE_BITS]![index & PAGE_MASK];
  }

  set(index: number, value: T | undefined): void {
    this.pages[index >>> PAGE_BITS]![index & PAGE_MASK] = value;
  }

  /** Makes room for at least `capacity` entries, all undefined until set. */
  grow(capacity: number): void {
    while (this.capacity < capacity) this.pages.push(new Array<T | undefined>(PAGE_SIZE).fill(undefined));
  }
}

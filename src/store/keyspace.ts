import type { EvictionPolicy } from "../config/options.ts";
import { PAGE_BYTES } from "./arena.ts";
import { ACCESS_HIGH, ACCESS_LOW, Entries, LAST_ACCESS, NEXT, PREV, RECORD_FIELDS, VOLATILE, type ByteSink } from "./entries.ts";
import { HashIndex } from "./hash-index.ts";
import { ENTRY_OVERHEAD_BYTES } from "./memory.ts";
import { grownCapacity, resizeSlots, slotFloat64s, slotInt32s } from "./slot-arrays.ts";
import { Snapshot } from "./snapshot.ts";
import { decimalLength } from "../util/numbers.ts";
import { sortByNumber } from "../util/radix-sort.ts";

/**
 * The keyspace: a hash index (HashIndex) from key to slot, with everything
 * else about a key kept in arrays indexed by slot (its hot fields in one
 * record per slot, the rest in parallel arrays). That is the seed's hash
 * map + doubly linked list, laid out so a key costs a few
 * machine words instead of an object per entry, and so the GC has nothing
 * to trace at all: keys and values are bytes in arena pages (Entries).
 *
 * - Recency is exact: while an LRU policy may evict, every access moves
 *   the key to the head of a doubly linked list (PREV/NEXT in the records),
 *   and eviction takes the tail. Redis instead samples keys by a 1-second
 *   clock and can evict a hot key under bursty writes; this cannot. With
 *   no such policy in force, an access only numbers the key (see `linked`).
 * - Keys with a TTL are also kept in a second list in recency order (for
 *   volatile-lru) and in a dense array (for O(1) uniform random picks by the
 *   active expiry cycle, volatile-random and volatile-ttl).
 * - A key never changes slot while it exists, which is what lets a SCAN
 *   cursor be a slot number and still return every key present throughout
 *   an iteration, whatever is added, deleted or evicted meanwhile.
 *
 * Keys and values come in and go out as byte strings (one char per byte,
 * latin1): binary-safe, what the parser makes and the reply writer takes.
 */

export type Value = string;

const NONE = -1;
/** An access number's low half counts to 2^31 (ACCESS_LOW is an int32 field), then carries into ACCESS_HIGH. */
const ACCESS_LOW_LIMIT = 2 ** 31;
/** Keys one prefetch covers: a lookahead's requests (LOOKAHEAD_FRAMES) with a key or two each. */
const PREFETCH_KEYS = 64;
/** Key strings up to this long are looked up through one reused buffer (keyBytes). */
const MAX_KEY_SCRATCH_BYTES = 64 * 1024;
const INITIAL_CAPACITY = 1024;
/** Bytes per slot in the per-slot arrays: the record, vlinks (2), volatileSlots, freeSlots, hashes, expireAt. */
const SLOT_ARRAY_BYTES = 4 * RECORD_FIELDS + 4 * 2 + 4 + 4 + 4 + 8;
/** How long a flush keeps the memory it emptied for a refill (see flush). */
export const FLUSH_RETAIN_MS = 10_000;
/** Keys sampled per round by volatile-ttl eviction, like Redis's maxmemory-samples. */
const TTL_EVICTION_SAMPLES = 5;

export interface KeyspaceStats {
  hits: number;
  misses: number;
  expiredKeys: number;
  evictedKeys: number;
}

export class Keyspace {
  private entries = new Entries();
  /** Each slot's key hash, kept by the index. */
  private hashes = slotInt32s();
  private readonly index = new HashIndex(this.entries, this.hashes);
  /** Hashes of the keys noted by prefetchKey, and their home entries (see prefetch). */
  private readonly prefetchHashes = new Int32Array(PREFETCH_KEYS);
  private readonly prefetchHomes = new Int32Array(3 * PREFETCH_KEYS);
  private prefetchCount = 0;
  /** What prefetch() read, kept so that its reads are not optimised away. */
  private prefetched = 0;
  private capacity = 0;
  /** When the memory a flush kept is let go of, unless used again (0: nothing kept). */
  private retainedUntil = 0;
  /** Slots below this have been used at least once. */
  private highWater = 0;
  private freeSlots = slotInt32s();
  private freeCount = 0;
  private keyScratch = Buffer.allocUnsafeSlow(256);

  /**
   * Each slot's record, shared with Entries (entries.ts lays it out):
   * recency (all keys in a list, most recently used at the head, PREV and
   * NEXT, or the key's access number: see `linked`); the last access in
   * seconds since `epochSeconds` (LAST_ACCESS, for OBJECT IDLETIME); the
   * slot's place in `volatileSlots` + 1 (VOLATILE). In the record, a read's
   * lookup and recency refresh touch the key's cache line (and, with the
   * list, its two neighbours'), not eight arrays (random GETs over 1M keys,
   * `bun bench/micro.ts --filter readIntoAt`: 1.02-1.33 µs before, 0.80-0.84 after).
   */
  private records = this.entries.records;
  private head = NONE;
  private tail = NONE;

  /** Absolute expiry in Unix ms; 0 means no TTL. Read only for keys whose record says VOLATILE. */
  private expireAt = slotFloat64s();
  private readonly epochSeconds = Math.floor(Date.now() / 1000);

  // Keys with a TTL: their own recency list, and a dense array for random picks.
  private vlinks = slotInt32s(2);
  private vhead = NONE;
  private vtail = NONE;
  private volatileSlots = slotInt32s();
  private volatileCount = 0;

  /** Estimated bytes held by keys and values; compared against maxmemory. */
  usedMemory = 0;
  /** Estimated bytes let go (deleted, evicted, expired, overwritten, flushed); the server resets it when it collects. */
  releasedMemory = 0;
  private memoryLimit = 0;
  private evictionPolicy: EvictionPolicy = "allkeys-lru";
  /**
   * Whether the recency lists (PREV/NEXT, vlinks) are kept: only while an
   * LRU policy may evict, the lists' one reader. Otherwise an access writes
   * the next access number into the key's record (ACCESS_LOW/HIGH), a line
   * the lookup has just read, instead of relinking the key and its two
   * neighbours: two cache misses per GET, and GET -P 1's p99 ~0.05 ms
   * higher (BENCHMARKS.md, "Recency without the list"). Recency stays
   * exact: turning such a policy on sorts the keys by their numbers once.
   */
  private linked = false;
  private accessLow = 0;
  private accessHigh = 0;
  /** The time commands run at: set once per batch by the server, as Redis caches mstime. */
  now = Date.now();

  readonly stats: KeyspaceStats = { hits: 0, misses: 0, expiredKeys: 0, evictedKeys: 0 };

  /** Counts changes; a write command that changed nothing is not logged (Redis's server.dirty). */
  dirty = 0;
  /** Told about every key that expiry or eviction removes, so the AOF logs a DEL. */
  onRemoved: ((key: string) => void) | null = null;
  /** Told how long (ms) an eviction that had to remove keys took: LATENCY's `eviction-cycle`. */
  onEvictionCycle: ((ms: number) => void) | null = null;
  /** While the AOF loads, keys are not expired: records replay against the state they were logged in. */
  expiryPaused = false;
  /** The AOF rewrite reading this keyspace as it was when the rewrite began. */
  private snapshot: Snapshot | null = null;
  /** Storage a flush replaced while a rewrite still read it: released once the rewrite ends. */
  private heldBySnapshot = 0;

  constructor() {
    this.grow(INITIAL_CAPACITY);
  }

  get size(): number {
    return this.index.size;
  }

  get volatileSize(): number {
    return this.volatileCount;
  }

  /** Bytes keys and values may take before the policy evicts (0: no limit). */
  get maxmemory(): number {
    return this.memoryLimit;
  }
  set maxmemory(bytes: number) {
    this.memoryLimit = bytes;
    this.keepListsIfEvicting();
  }

  get policy(): EvictionPolicy {
    return this.evictionPolicy;
  }
  set policy(policy: EvictionPolicy) {
    this.evictionPolicy = policy;
    this.keepListsIfEvicting();
  }

  // ---- Reads -------------------------------------------------------------

  /** The value for a read command: counts a hit or miss and refreshes recency. */
  get(key: string): Value | undefined {
    const slot = this.readSlot(this.keyBytes(key), 0, key.length);
    return slot === NONE ? undefined : this.entries.value(slot);
  }

  /**
   * get() for a reply: the value's bytes go to `sink` from where they are
   * stored, without becoming a string. False on a miss (nothing written).
   */
  readInto(key: string, sink: ByteSink): boolean {
    return this.readIntoAt(this.keyBytes(key), 0, key.length, sink);
  }

  /** readInto() for the key key[start, start + length), e.g. where a request arrived. */
  readIntoAt(key: Buffer, start: number, length: number, sink: ByteSink): boolean {
    const slot = this.readSlot(key, start, length);
    if (slot === NONE) return false;
    this.entries.readValue(slot, sink);
    return true;
  }

  /** The value without touching recency or stats (for writes that read first). */
  peek(key: string): Value | undefined {
    const slot = this.liveSlot(key);
    return slot === NONE ? undefined : this.entries.value(slot);
  }

  has(key: string): boolean {
    return this.liveSlot(key) !== NONE;
  }

  /** Marks a key as used (TOUCH); false if it does not exist. */
  touch(key: string): boolean {
    const slot = this.liveSlot(key);
    if (slot === NONE) return false;
    this.touchSlot(slot);
    return true;
  }

  /** Absolute expiry in ms, 0 when the key has none, -1 when there is no key. */
  expireTime(key: string): number {
    const slot = this.liveSlot(key);
    return slot === NONE ? -1 : this.expireAt[slot]!;
  }

  /** Seconds since the key was last accessed, or -1 when there is no key. */
  idleSeconds(key: string): number {
    const slot = this.liveSlot(key);
    if (slot === NONE) return -1;
    return Math.max(0, this.accessStamp() - this.records[slot * RECORD_FIELDS + LAST_ACCESS]!);
  }

  memoryUsage(key: string): number {
    const slot = this.liveSlot(key);
    return slot === NONE ? -1 : this.slotBytes(slot);
  }

  // ---- Writes ------------------------------------------------------------

  /**
   * Stores a value. `expireAt` is absolute Unix ms; 0 clears any TTL and
   * KEEP_TTL keeps the existing one (SET … KEEPTTL, APPEND, INCR…).
   */
  set(key: string, value: Value, expireAt: number = 0): void {
    const slot = this.storeKey(this.keyBytes(key), 0, key.length, value.length, expireAt);
    this.entries.writeValue(slot, value);
  }

  /**
   * set() without a TTL for a key and value that are bytes where they lie
   * (a SET request in the receive buffer): no strings are made.
   */
  setAt(source: Buffer, keyStart: number, keyLength: number, valueStart: number, valueLength: number): void {
    const slot = this.storeKey(source, keyStart, keyLength, valueLength, 0);
    this.entries.copyValue(slot, source, valueStart);
  }

  /**
   * INCRBY's common case for a key where it arrived (a request in the
   * receive buffer): the stored value, or 0 for a missing key, and the
   * result are integers within ±MAX_SAFE_INTEGER, and the result's digits
   * are written in place, its TTL kept. Returns the result, or null, having
   * changed nothing, when the value is not such an integer or the result
   * would leave that range: the caller's general path then answers (an
   * error, or int64 arithmetic).
   */
  incrementAt(key: Buffer, start: number, length: number, delta: number): number | null {
    const h = this.index.hash(key, start, length);
    const slot = this.liveSlotHashed(h, key, start, length);
    const current = slot === NONE ? 0 : this.entries.integerValue(slot);
    if (current === null) return null;
    const result = current + delta;
    if (!Number.isSafeInteger(result)) return null;
    this.entries.writeInteger(this.storeFound(slot, h, key, start, length, decimalLength(result), KEEP_TTL), result);
    return result;
  }

  /** set() but for writing the value: returns the slot, whose value the caller fills. */
  private storeKey(key: Buffer, keyStart: number, keyLength: number, valueLength: number, expireAt: number): number {
    const h = this.index.hash(key, keyStart, keyLength);
    return this.storeFound(this.liveSlotHashed(h, key, keyStart, keyLength), h, key, keyStart, keyLength, valueLength, expireAt);
  }

  /** storeKey() once the key was looked up: `slot` is its live slot or NONE, `h` its hash. */
  private storeFound(slot: number, h: number, key: Buffer, keyStart: number, keyLength: number, valueLength: number, expireAt: number): number {
    if (slot === NONE) {
      slot = this.allocateSlot();
      if (this.snapshot?.covers(slot)) this.snapshot.preserve(slot);
      try {
        this.entries.store(slot, key, keyStart, keyLength, valueLength);
        this.index.insert(slot, h);
      } catch (err) {
        // Memory refused (a huge value, the index growing): the keyspace stays as it was.
        if (this.entries.occupied(slot)) this.entries.remove(slot);
        this.freeSlots[this.freeCount++] = slot;
        throw err;
      }
      this.dirty++;
      this.expireAt[slot] = 0;
      if (this.linked) this.linkHead(slot);
      else this.numberAccess(slot);
      this.records[slot * RECORD_FIELDS + LAST_ACCESS] = this.accessStamp();
      this.usedMemory += this.slotBytes(slot);
    } else {
      if (this.snapshot?.covers(slot)) this.snapshot.preserve(slot);
      const old = this.slotBytes(slot);
      // Allocates before it changes anything; a key that moved to a bigger block takes its index entry along.
      if (this.entries.resizeValue(slot, valueLength)) this.index.relocate(slot);
      this.dirty++;
      this.usedMemory += this.slotBytes(slot) - old;
      this.releasedMemory += old;
      this.touchSlot(slot);
    }
    if (expireAt !== KEEP_TTL) this.setSlotExpire(slot, expireAt);
    return slot;
  }

  delete(key: string): boolean {
    return this.deleteAt(this.keyBytes(key), 0, key.length);
  }

  /** delete() for the key key[start, start + length), e.g. where a request arrived. */
  deleteAt(key: Buffer, start: number, length: number): boolean {
    const slot = this.liveSlotAt(key, start, length);
    if (slot === NONE) return false;
    this.removeSlot(slot);
    return true;
  }

  /** Sets (ms > 0) or clears (0) a key's TTL; false if there is no key. */
  setExpire(key: string, expireAt: number): boolean {
    const slot = this.liveSlot(key);
    if (slot === NONE) return false;
    this.setSlotExpire(slot, expireAt);
    return true;
  }

  /**
   * Removes every key. The arrays, the index table and the arena pages stay
   * for FLUSH_RETAIN_MS, emptied, so that a refill reuses memory already
   * faulted in; then releaseRetained lets go of what the refill has not
   * used. That is what Redis gets from jemalloc, which keeps freed pages
   * ~10 s before returning them. In the SET run after a FLUSHALL
   * (bench/compare.ts's regime) p99 was 8-16% lower than when everything
   * was dropped at once, in 24 and in 12 alternated rounds (BENCHMARKS.md,
   * "Memory kept across FLUSHALL").
   * During an AOF rewrite the snapshot still reads the old contents, so
   * they are dropped for fresh ones, which nothing then changes.
   */
  flush(): number {
    const removed = this.index.size;
    const used = this.highWater;
    this.dirty++;
    this.releasedMemory += this.usedMemory;
    this.highWater = 0;
    this.freeCount = 0;
    this.head = this.tail = this.vhead = this.vtail = NONE;
    this.volatileCount = 0;
    this.usedMemory = 0;
    if (this.snapshot === null) {
      // Of a slot's fields only its record is read before a new key writes it
      // (EMPTY, VOLATILE): those of the slots used are cleared. The other
      // arrays are written first (storeFound, vlinkHead, the index) or read
      // only below their counts.
      this.index.clearKeepingTable();
      this.entries.clear(used);
      this.retainedUntil = this.now + FLUSH_RETAIN_MS;
    } else {
      this.snapshot = null;
      this.heldBySnapshot += this.storageBytes();
      this.replaceStorage();
      this.retainedUntil = 0;
    }
    return removed;
  }

  /**
   * Once FLUSH_RETAIN_MS has passed since a flush (the server's cron asks):
   * if no key came back, the kept memory goes as a whole; otherwise only
   * the arena pages not used again go (the arrays hold the new keys' slots).
   */
  releaseRetained(): void {
    // A rewrite reads the arrays of its start: it is over within the cron periods to come.
    if (this.retainedUntil === 0 || this.now < this.retainedUntil || this.snapshot !== null) return;
    this.retainedUntil = 0;
    // Counted as released, so that the server's idle-time collection frees it.
    if (this.index.size > 0) {
      this.releasedMemory += this.entries.dropReusablePages();
      return;
    }
    this.releasedMemory += this.storageBytes();
    this.replaceStorage();
  }

  /** Fresh, empty arrays, index table and arena in place of the current ones, which go to the GC. */
  private replaceStorage(): void {
    this.index.clear();
    this.entries = new Entries();
    this.capacity = 0;
    this.vlinks = slotInt32s(2);
    this.volatileSlots = slotInt32s();
    this.freeSlots = slotInt32s();
    this.hashes = slotInt32s();
    this.expireAt = slotFloat64s();
    this.index.attach(this.entries, this.hashes);
    this.grow(INITIAL_CAPACITY);
  }

  private storageBytes(): number {
    return this.entries.pageCount * PAGE_BYTES + this.capacity * SLOT_ARRAY_BYTES;
  }

  /** Slots the arrays have room for, and arena pages held (for tests). */
  get slotCapacity(): number {
    return this.capacity;
  }
  get arenaPages(): number {
    return this.entries.pageCount;
  }

  // ---- Iteration ---------------------------------------------------------

  /**
   * One SCAN step from slot `cursor`: visits slots until `count` live keys
   * were seen (or 10×count slots), and returns the next cursor, 0 when done.
   */
  scan(cursor: number, count: number, visit: (key: string, value: Value) => void): number {
    let slot = cursor;
    let seen = 0;
    const maxSlots = count * 10;
    let visited = 0;
    while (slot < this.highWater && seen < count && visited < maxSlots) {
      if (this.entries.occupied(slot) && !this.expireIfDue(slot)) {
        visit(this.entries.key(slot), this.entries.value(slot));
        seen++;
      }
      slot++;
      visited++;
    }
    return slot >= this.highWater ? 0 : slot;
  }

  /** Every live key, for KEYS. */
  forEach(visit: (key: string, value: Value) => void): void {
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.entries.occupied(slot) && !this.expireIfDue(slot)) visit(this.entries.key(slot), this.entries.value(slot));
    }
  }

  randomKey(): string | undefined {
    while (this.index.size > 0) {
      const slot = this.randomOccupiedSlot();
      if (!this.expireIfDue(slot)) return this.entries.key(slot);
    }
    return undefined;
  }

  /**
   * Starts a point-in-time view for the AOF rewrite (see Snapshot); it stays
   * consistent until read to the end, whatever commands do meanwhile.
   */
  beginSnapshot(): Snapshot {
    this.snapshot = new Snapshot(this.entries, this.expireAt, this.highWater, this.now);
    return this.snapshot;
  }

  /** Stops keeping old contents for a snapshot (read to the end, or abandoned). */
  endSnapshot(snapshot: Snapshot | null): void {
    if (this.snapshot === snapshot) this.snapshot = null;
    // Counted as released only now: a collection while the rewrite read it would have freed nothing.
    this.releasedMemory += this.heldBySnapshot;
    this.heldBySnapshot = 0;
  }

  // ---- Memory limit and expiry -------------------------------------------

  /** Deletes every key whose TTL has passed, without logging (after loading the AOF). Returns how many. */
  removeExpired(): number {
    let removed = 0;
    for (let i = this.volatileCount - 1; i >= 0; i--) {
      const slot = this.volatileSlots[i]!;
      if (this.expireAt[slot]! <= this.now) {
        this.removeSlot(slot);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Evicts keys by the policy until usage is under maxmemory. Returns false
   * when it cannot get there (noeviction, or no key the policy may take), so
   * the caller refuses the write with -OOM.
   */
  evictIfNeeded(): boolean {
    if (!this.overMemoryLimit) return true;
    const start = performance.now();
    let ok = true;
    while (this.usedMemory > this.maxmemory) {
      const slot = this.evictionCandidate();
      if (slot === NONE) {
        ok = false;
        break;
      }
      const key = this.entries.key(slot);
      this.removeSlot(slot);
      this.stats.evictedKeys++;
      this.onRemoved?.(key);
    }
    this.onEvictionCycle?.(performance.now() - start);
    return ok;
  }

  /**
   * Average remaining TTL in ms of keys that have one, estimated from up to
   * 64 random ones (INFO keyspace's avg_ttl, which Redis also estimates).
   */
  averageTtl(): number {
    const samples = Math.min(64, this.volatileCount);
    if (samples === 0) return 0;
    let total = 0;
    for (let i = 0; i < samples; i++) {
      const slot = this.volatileSlots[(Math.random() * this.volatileCount) | 0]!;
      total += Math.max(0, this.expireAt[slot]! - this.now);
    }
    return Math.round(total / samples);
  }

  get overMemoryLimit(): boolean {
    return this.maxmemory !== 0 && this.usedMemory > this.maxmemory;
  }

  /**
   * Reclaims expired keys nobody reads, as Redis's active expiry cycle does:
   * sample 20 random keys with a TTL, delete the expired ones, and keep
   * going while more than a tenth of a sample was expired, until the time
   * budget is spent. Returns the number of keys deleted.
   */
  activeExpireCycle(budgetMs: number): number {
    const deadline = performance.now() + budgetMs;
    let deleted = 0;
    for (let round = 0; this.volatileCount > 0; round++) {
      const sample = Math.min(20, this.volatileCount);
      let expired = 0;
      for (let i = 0; i < sample && this.volatileCount > 0; i++) {
        const slot = this.volatileSlots[(Math.random() * this.volatileCount) | 0]!;
        if (this.expireIfDue(slot)) expired++;
      }
      deleted += expired;
      if (expired * 10 <= sample) break;
      if ((round & 15) === 15 && performance.now() > deadline) break;
    }
    return deleted;
  }

  /** Notes a key that a coming command of the pipeline looks up (for prefetch; the first PREFETCH_KEYS count). */
  prefetchKey(key: Buffer, start: number, length: number): void {
    if (this.prefetchCount < PREFETCH_KEYS) this.prefetchHashes[this.prefetchCount++] = this.index.hash(key, start, length);
  }

  /**
   * Brings the noted keys' index entries, then their blocks and records,
   * into the cache, each batch in one loop. Over a keyspace larger than the
   * caches a lookup waits for two misses in a row (index entry, then key
   * bytes and record; perf put a quarter of GET -P 16's samples on those
   * two loads at 100k keys). JS has no prefetch instruction, but
   * independent loads in a tight loop are in flight together: the commands
   * of a pipeline then wait for those misses side by side instead of one
   * after another. A key whose entry is not at its home position, or that
   * is not there, only costs the loads.
   */
  prefetch(): void {
    const n = this.prefetchCount;
    this.prefetchCount = 0;
    this.index.homeEntries(this.prefetchHashes, n, this.prefetchHomes);
    this.prefetched = (this.prefetched + this.entries.touch(this.prefetchHomes, n)) | 0;
  }

  // ---- Internals ---------------------------------------------------------

  /** A read command's lookup: the key's live slot or NONE, counted as a hit or miss, recency refreshed. */
  private readSlot(key: Buffer, start: number, length: number): number {
    const slot = this.liveSlotAt(key, start, length);
    if (slot === NONE) {
      this.stats.misses++;
      return NONE;
    }
    this.stats.hits++;
    this.touchSlot(slot);
    return slot;
  }

  /** The key's slot, deleting it first if its TTL has passed (lazy expiry). */
  private liveSlot(key: string): number {
    return this.liveSlotAt(this.keyBytes(key), 0, key.length);
  }

  /** liveSlot() for the key key[start, start + length). */
  private liveSlotAt(key: Buffer, start: number, length: number): number {
    return this.liveSlotHashed(this.index.hash(key, start, length), key, start, length);
  }

  /** liveSlotAt() with the key's hash already computed (a SET keeps it for the insert). */
  private liveSlotHashed(h: number, key: Buffer, start: number, length: number): number {
    const slot = this.index.get(h, key, start, length);
    if (slot === NONE) return NONE;
    return this.expireIfDue(slot) ? NONE : slot;
  }

  /**
   * A key string's bytes, written at the start of a scratch buffer: lookups
   * work on bytes, which is how keys arrive in requests. Only the next call
   * overwrites them.
   */
  private keyBytes(key: string): Buffer {
    const length = key.length;
    let bytes = this.keyScratch;
    if (length > bytes.length) {
      bytes = Buffer.allocUnsafeSlow(length);
      if (length <= MAX_KEY_SCRATCH_BYTES) this.keyScratch = bytes; // a huge key is not kept
    }
    if (length > 64) bytes.latin1Write(key, 0, length);
    else for (let i = 0; i < length; i++) bytes[i] = key.charCodeAt(i);
    return bytes;
  }

  private expireIfDue(slot: number): boolean {
    if (this.records[slot * RECORD_FIELDS + VOLATILE] === 0) return false;
    const at = this.expireAt[slot]!;
    if (at > this.now || this.expiryPaused) return false;
    const key = this.entries.key(slot);
    this.removeSlot(slot);
    this.stats.expiredKeys++;
    this.onRemoved?.(key);
    return true;
  }

  /** What a slot's key costs, as maxmemory counts it. */
  private slotBytes(slot: number): number {
    return ENTRY_OVERHEAD_BYTES + this.entries.blockBytes(slot);
  }

  /** The current time as LAST_ACCESS stores it. */
  private accessStamp(): number {
    return Math.floor(this.now / 1000) - this.epochSeconds;
  }

  private touchSlot(slot: number): void {
    const r = slot * RECORD_FIELDS;
    this.records[r + LAST_ACCESS] = this.accessStamp();
    if (!this.linked) {
      this.numberAccess(slot);
      return;
    }
    if (this.head !== slot) {
      this.unlink(slot);
      this.linkHead(slot);
    }
    if (this.records[r + VOLATILE] !== 0 && this.vhead !== slot) {
      this.vunlink(slot);
      this.vlinkHead(slot);
    }
  }

  private setSlotExpire(slot: number, expireAt: number): void {
    if (this.snapshot?.covers(slot)) this.snapshot.preserve(slot);
    this.dirty++;
    const wasVolatile = this.records[slot * RECORD_FIELDS + VOLATILE] !== 0;
    this.expireAt[slot] = expireAt;
    if (expireAt !== 0 && !wasVolatile) {
      this.volatileSlots[this.volatileCount++] = slot;
      this.records[slot * RECORD_FIELDS + VOLATILE] = this.volatileCount;
      if (this.linked) this.vlinkHead(slot);
    } else if (expireAt === 0 && wasVolatile) {
      this.removeVolatile(slot);
    }
  }

  private removeVolatile(slot: number): void {
    const pos = this.records[slot * RECORD_FIELDS + VOLATILE]! - 1;
    const last = this.volatileSlots[--this.volatileCount]!;
    this.volatileSlots[pos] = last;
    this.records[last * RECORD_FIELDS + VOLATILE] = pos + 1;
    this.records[slot * RECORD_FIELDS + VOLATILE] = 0;
    if (this.linked) this.vunlink(slot);
  }

  private removeSlot(slot: number): void {
    if (this.snapshot?.covers(slot)) this.snapshot.preserve(slot);
    this.dirty++;
    const bytes = this.slotBytes(slot);
    this.usedMemory -= bytes;
    this.releasedMemory += bytes;
    this.index.remove(slot);
    if (this.linked) this.unlink(slot);
    if (this.records[slot * RECORD_FIELDS + VOLATILE] !== 0) this.removeVolatile(slot);
    this.expireAt[slot] = 0;
    this.entries.remove(slot);
    this.freeSlots[this.freeCount++] = slot;
  }

  private allocateSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount]!;
    if (this.highWater === this.capacity) this.grow(grownCapacity(this.capacity));
    return this.highWater++;
  }

  /** Room for `capacity` slots, grown in place (see slot-arrays.ts). */
  private grow(capacity: number): void {
    this.vlinks = resizeSlots(this.vlinks, capacity, 2);
    this.volatileSlots = resizeSlots(this.volatileSlots, capacity);
    this.freeSlots = resizeSlots(this.freeSlots, capacity);
    this.expireAt = resizeSlots(this.expireAt, capacity);
    this.hashes = resizeSlots(this.hashes, capacity);
    this.entries.grow(capacity);
    this.records = this.entries.records;
    this.index.attach(this.entries, this.hashes);
    this.capacity = capacity;
  }

  /** Gives the key the next access number (while the lists are not kept). */
  private numberAccess(slot: number): void {
    let low = this.accessLow + 1;
    if (low === ACCESS_LOW_LIMIT) {
      low = 0;
      this.accessHigh++;
    }
    this.accessLow = low;
    this.records[slot * RECORD_FIELDS + ACCESS_LOW] = low;
    this.records[slot * RECORD_FIELDS + ACCESS_HIGH] = this.accessHigh;
  }

  /** Keeps the recency lists exactly while an LRU policy may evict, and numbers accesses otherwise. */
  private keepListsIfEvicting(): void {
    const lru = this.evictionPolicy === "allkeys-lru" || this.evictionPolicy === "volatile-lru";
    const wanted = this.memoryLimit !== 0 && lru;
    if (wanted === this.linked) return;
    if (wanted) this.linkByAccessNumber();
    else this.numberByList();
    this.linked = wanted;
  }

  /**
   * Builds both lists from the keys' access numbers, least recent first.
   * Once, when CONFIG SET turns eviction on (a configured policy is in
   * force before the AOF loads, on an empty keyspace), the server not
   * answering meanwhile: a radix sort and the links, 15-26 ms for 100k keys
   * read in a random order and 0.12-0.14 s for 1M on the 2-core machine
   * BENCHMARKS.md describes (a comparator sort took 0.5-0.65 s for 1M).
   */
  private linkByAccessNumber(): void {
    const records = this.records;
    const n = this.index.size;
    const unsorted = new Int32Array(n);
    const low = new Int32Array(n);
    const high = new Int32Array(n);
    for (let slot = 0, i = 0; slot < this.highWater; slot++) {
      if (!this.entries.occupied(slot)) continue;
      unsorted[i] = slot;
      low[i] = records[slot * RECORD_FIELDS + ACCESS_LOW]!;
      high[i++] = records[slot * RECORD_FIELDS + ACCESS_HIGH]!;
    }
    const slots = sortByNumber(unsorted, low, high);
    this.head = this.tail = this.vhead = this.vtail = NONE;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      this.linkHead(slot);
      if (records[slot * RECORD_FIELDS + VOLATILE] !== 0) this.vlinkHead(slot);
    }
  }

  /** Numbers the keys in list order, least recent first, and stops keeping the lists. */
  private numberByList(): void {
    const records = this.records;
    for (let slot = this.tail; slot !== NONE; ) {
      const newer = records[slot * RECORD_FIELDS + PREV]!;
      this.numberAccess(slot);
      slot = newer;
    }
    this.head = this.tail = this.vhead = this.vtail = NONE;
  }

  private linkHead(slot: number): void {
    const records = this.records;
    records[slot * RECORD_FIELDS + PREV] = NONE;
    records[slot * RECORD_FIELDS + NEXT] = this.head;
    if (this.head !== NONE) records[this.head * RECORD_FIELDS + PREV] = slot;
    this.head = slot;
    if (this.tail === NONE) this.tail = slot;
  }

  private unlink(slot: number): void {
    const records = this.records;
    const p = records[slot * RECORD_FIELDS + PREV]!;
    const n = records[slot * RECORD_FIELDS + NEXT]!;
    if (p !== NONE) records[p * RECORD_FIELDS + NEXT] = n;
    else this.head = n;
    if (n !== NONE) records[n * RECORD_FIELDS + PREV] = p;
    else this.tail = p;
  }

  private vlinkHead(slot: number): void {
    const links = this.vlinks;
    links[2 * slot] = NONE;
    links[2 * slot + 1] = this.vhead;
    if (this.vhead !== NONE) links[2 * this.vhead] = slot;
    this.vhead = slot;
    if (this.vtail === NONE) this.vtail = slot;
  }

  private vunlink(slot: number): void {
    const links = this.vlinks;
    const p = links[2 * slot]!;
    const n = links[2 * slot + 1]!;
    if (p !== NONE) links[2 * p + 1] = n;
    else this.vhead = n;
    if (n !== NONE) links[2 * n] = p;
    else this.vtail = p;
  }

  private evictionCandidate(): number {
    switch (this.policy) {
      case "noeviction":
        return NONE;
      case "allkeys-lru":
        return this.tail;
      case "volatile-lru":
        return this.vtail;
      case "allkeys-random":
        return this.index.size === 0 ? NONE : this.randomOccupiedSlot();
      case "volatile-random":
        return this.volatileCount === 0 ? NONE : this.volatileSlots[(Math.random() * this.volatileCount) | 0]!;
      case "volatile-ttl": {
        // Like Redis: the soonest-expiring of a few sampled keys with a TTL.
        if (this.volatileCount === 0) return NONE;
        let best = NONE;
        for (let i = 0; i < TTL_EVICTION_SAMPLES; i++) {
          const slot = this.volatileSlots[(Math.random() * this.volatileCount) | 0]!;
          if (best === NONE || this.expireAt[slot]! < this.expireAt[best]!) best = slot;
        }
        return best;
      }
    }
  }

  /**
   * A uniformly random live slot. Slots are mostly occupied (freed ones are
   * reused first), so a few random probes almost always hit; after mass
   * deletion it falls back to walking from a random point.
   */
  private randomOccupiedSlot(): number {
    for (let i = 0; i < 32; i++) {
      const slot = (Math.random() * this.highWater) | 0;
      if (this.entries.occupied(slot)) return slot;
    }
    const start = (Math.random() * this.highWater) | 0;
    for (let i = 0; i < this.highWater; i++) {
      const slot = (start + i) % this.highWater;
      if (this.entries.occupied(slot)) return slot;
    }
    return NONE;
  }
}

/** Passed as `expireAt` to keep a key's current TTL. */
export const KEEP_TTL = -1;

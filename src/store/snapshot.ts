import type { Entries } from "./entries.ts";
import type { Value } from "./keyspace.ts";

/** A slot's content at the snapshot's instant; null when the slot held no key. */
type Preserved = { key: string; value: Value; expireAt: number } | null;

/** What a snapshot's keys are handed to, one call per key. */
export interface SnapshotVisitor {
  /** A key unchanged since the snapshot's instant: read it from `entries` in place (readKey, readValue). */
  live(entries: Entries, slot: number, expireAt: number): void;
  /** A key that changed after the instant: its content then, as kept by preserve(). */
  kept(key: string, value: Value, expireAt: number): void;
}

/**
 * A point-in-time view of the keyspace that is read a slice at a time while
 * the keyspace keeps changing: what Redis gets from fork()'s copy-on-write,
 * done per slot. The keyspace calls `preserve(slot)` before it changes any
 * slot the snapshot has not read yet, and the snapshot keeps a copy of that
 * slot's old content. Slots it never preserved are read live: they have
 * not changed since the snapshot began.
 *
 * The cost is a map entry per slot changed ahead of the cursor during the
 * read, instead of a copy of the whole keyspace up front (a 1M-key copy
 * took 25-100 ms here, too long a pause for one event-loop turn).
 */
export class Snapshot {
  /** Slots below this have been read. */
  cursor = 0;
  private readonly preserved = new Map<number, Preserved>();

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
    return slot >= this.cursor && slot < this.end && !this.preserved.has(slot);
  }

  /** Keeps the slot's current content (the keyspace is about to change it). */
  preserve(slot: number): void {
    const { entries } = this;
    this.preserved.set(slot, entries.occupied(slot) ? { key: entries.key(slot), value: entries.value(slot), expireAt: this.expireAt[slot]! } : null);
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
      const kept = this.preserved.size === 0 ? undefined : this.preserved.get(slot);
      if (kept !== undefined) {
        this.preserved.delete(slot);
        if (kept !== null && (kept.expireAt === 0 || kept.expireAt > at)) visitor.kept(kept.key, kept.value, kept.expireAt);
      } else if (entries.occupied(slot)) {
        const expires = expireAt[slot]!;
        if (expires === 0 || expires > at) visitor.live(entries, slot, expires);
      }
    }
    this.cursor = stop;
  }
}

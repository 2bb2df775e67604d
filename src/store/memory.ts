import { Arena } from "./arena.ts";

/**
 * What one key costs in resident memory, estimated from its lengths, so
 * that `maxmemory` bounds what the process really holds.
 *
 * A key and its value share one arena block (Arena.blockSize: rounded up to
 * 16 bytes). The rest is the slot's bookkeeping: 60 bytes of per-slot
 * arrays (entry location and lengths, hash, LRU and TTL links, expiry,
 * access time, free list; their memory is touched only as slots are used)
 * plus the index's 16-byte entries (slot, hash and the block's place),
 * 21-43 bytes per key as the table fills (and the old table's while it
 * resizes). bench/calibrate-memory.ts --no-sweep measured 82-94 bytes
 * settled, 87-99 right after a collection (1M keys; the most with a TTL on
 * every key), so the estimate stays at or above resident memory once settled.
 */
export const ENTRY_OVERHEAD_BYTES = 96;

/** What the keyspace counts for `key` holding `value` (both byte strings). */
export function entryBytes(key: string, value: string): number {
  return ENTRY_OVERHEAD_BYTES + Arena.blockSize(key.length + value.length);
}

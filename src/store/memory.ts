import { Arena } from "./arena.ts";

/**
 * What one key costs in resident memory, estimated from its lengths, so
 * that `maxmemory` bounds what the process really holds.
 *
 * A key and its value share one arena block (Arena.blockSize: rounded up to
 * 16 bytes). The rest is the slot's bookkeeping: 76 bytes of per-slot
 * arrays (entry location and lengths, hash, LRU and TTL links, expiry,
 * access time, free list) plus the index's 5-11 bytes, and up to as much
 * again while the arrays, which double, are half full. ENTRY_OVERHEAD_BYTES
 * is checked against resident memory by bench/calibrate-memory.ts.
 */
export const ENTRY_OVERHEAD_BYTES = 96;

/** What the keyspace counts for `key` holding `value` (both byte strings). */
export function entryBytes(key: string, value: string): number {
  return ENTRY_OVERHEAD_BYTES + Arena.blockSize(key.length + value.length);
}

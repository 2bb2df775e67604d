/**
 * What one key costs in resident memory, estimated from its lengths, so
 * that `maxmemory` bounds what the process really holds.
 *
 * Measured with bench/calibrate-memory.ts (1M keys per case, fresh process,
 * RSS after a full GC): a latin1 string costs a 24-byte cell plus a 20-byte
 * header and its characters, rounded up to the allocator's size classes
 * (16-byte steps to 128 bytes, then four classes per power of two), which is
 * why a 1024-byte value costs ~1312 bytes and a 1004-byte one ~1050. The
 * rest of a key (index entry, slot arrays, list links, TTL) is a steady
 * 64-82 bytes settled and 98-117 right after a collection, across key and
 * value sizes; 120 keeps the estimate above resident memory in every case.
 */
export const ENTRY_OVERHEAD_BYTES = 120;

const STRING_CELL_BYTES = 24;
const STRING_HEADER_BYTES = 20;

export function stringBytes(length: number): number {
  const bytes = length + STRING_HEADER_BYTES;
  if (bytes <= 128) return STRING_CELL_BYTES + ((bytes + 15) & ~15);
  const step = 1 << (29 - Math.clz32(bytes - 1)); // four size classes per power of two
  return STRING_CELL_BYTES + Math.ceil(bytes / step) * step;
}

export function entryBytes(key: string, value: string): number {
  return ENTRY_OVERHEAD_BYTES + stringBytes(key.length) + stringBytes(value.length);
}

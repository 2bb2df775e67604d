/**
 * What one key costs in resident memory, estimated from its lengths. The
 * constants come from measurement (bench/calibrate-memory.ts inserts keys
 * and divides the growth of resident memory by their count): the fixed part
 * covers the index entry, the slot arrays and the two string headers.
 */
export const ENTRY_OVERHEAD_BYTES = 120;

/** Strings are allocated in 8-byte steps; 8-bit strings hold a byte per char. */
function stringBytes(length: number): number {
  return (length + 7) & ~7;
}

export function entryBytes(key: string, value: string): number {
  return ENTRY_OVERHEAD_BYTES + stringBytes(key.length) + stringBytes(value.length);
}

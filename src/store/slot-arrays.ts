/**
 * The keyspace's per-slot typed arrays, grown in place.
 *
 * Doubling by copy stalled the server mid-write: ~300 ms at 1M keys, 20-25
 * ms at 64k (a page fault per 4 KiB of fresh memory, ~16 µs each on this
 * VM). These arrays sit on resizable ArrayBuffers instead: the address range
 * is reserved once, a resize moves the end, and nothing is copied; pages are
 * faulted in as slots are first used. Growing from 64k to 128k slots still
 * takes ~9 ms here (the runtime clears small growths at once); past that,
 * growth costs nothing measurable (`bun bench/growth-stalls.ts`, BENCHMARKS.md).
 *
 * New slots read as zero; callers initialise a slot when they first use it.
 */

/** The most slots a keyspace can have: each array reserves address space for this many. */
export const MAX_SLOTS = 1 << 28;

type SlotArray = Int32Array | Uint32Array | Float64Array;

function reserve<T extends SlotArray>(make: (buffer: ArrayBuffer) => T, bytesPerSlot: number): T {
  return make(new ArrayBuffer(0, { maxByteLength: MAX_SLOTS * bytesPerSlot }));
}

/** `perSlot` 32-bit ints per slot. */
export function slotInt32s(perSlot = 1): Int32Array {
  return reserve((b) => new Int32Array(b), 4 * perSlot);
}

export function slotUint32s(): Uint32Array {
  return reserve((b) => new Uint32Array(b), 4);
}

export function slotFloat64s(): Float64Array {
  return reserve((b) => new Float64Array(b), 8);
}

/** Makes `array` hold `capacity` slots of `perSlot` elements; views over it follow. */
export function resizeSlots(array: SlotArray, capacity: number, perSlot = 1): void {
  if (capacity > MAX_SLOTS) throw new Error(`the keyspace is full (${MAX_SLOTS} keys)`);
  (array.buffer as ArrayBuffer).resize(capacity * perSlot * array.BYTES_PER_ELEMENT);
}

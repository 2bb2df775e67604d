import { readFileSync } from "node:fs";
import { totalmem } from "node:os";

/**
 * The keyspace's per-slot typed arrays, grown in place.
 *
 * Doubling by copy stalled the server mid-write: ~300 ms at 1M keys, 20-25
 * ms at 64k (a page fault per 4 KiB of fresh memory, ~16 µs each on this
 * VM). These arrays sit on resizable ArrayBuffers instead: the address range
 * is reserved once, a resize moves the end, and nothing is copied; pages are
 * faulted in as slots are first used. Each growth adds at least 1 MiB to
 * every array (grownCapacity), since the runtime clears smaller growths at
 * once; so growth costs nothing measurable (`bun bench/growth-stalls.ts`,
 * BENCHMARKS.md).
 *
 * The reservation is sized to the machine (see defaultReservation; on this
 * 24 GiB machine 2^28 slots, ~13 GiB of address space for a keyspace, none
 * of it resident until used). Under strict overcommit
 * (`vm.overcommit_memory=2`) a reservation counts as memory, so it is 2^20
 * slots there; where the OS refuses a reservation it is cut by 4 until
 * accepted. An array that outgrows its reservation is copied into one for
 * twice its new size, stalling once then.
 *
 * New slots read as zero; callers initialise a slot when they first use it.
 */

const MAX_RESERVED_SLOTS = 1 << 28;
const MIN_RESERVED_SLOTS = 1 << 16;
/** Under strict overcommit a reservation is charged as memory: keep it small and copy past it. */
const STRICT_OVERCOMMIT_SLOTS = 1 << 20;

/**
 * Slots reserved per new array: no more keys than a 64-byte slot each would
 * fill the machine's memory with (2^28 at most), 2^20 under strict
 * overcommit; lowered further when the OS refuses.
 */
function defaultReservation(): number {
  if (strictOvercommit()) return STRICT_OVERCOMMIT_SLOTS;
  const slots = 2 ** Math.ceil(Math.log2(totalmem() / 64));
  return Math.min(MAX_RESERVED_SLOTS, Math.max(MIN_RESERVED_SLOTS, slots));
}

function strictOvercommit(): boolean {
  try {
    return readFileSync("/proc/sys/vm/overcommit_memory", "latin1").trim() === "2";
  } catch {
    return false;
  }
}

let reservedSlots = defaultReservation();

/**
 * The runtime (Bun 1.4.5) zeroes a growth of a resizable buffer under 1 MiB
 * at once, faulting its pages in: 2.5 ms for 1 MiB less a byte, 5 µs for
 * 1 MiB, whose pages are left untouched until first written. Doubling from
 * 64k to 128k slots grew the 4- and 8-byte arrays by 256-512 KiB each and
 * stalled the server 6-9 ms, so no growth is smaller than this in any array.
 */
const LAZY_GROWTH_BYTES = 1 << 20;
const SMALLEST_SLOT_BYTES = Int32Array.BYTES_PER_ELEMENT;

/** The capacity after `capacity` slots are full: doubled, and at least 1 MiB more in every array. */
export function grownCapacity(capacity: number): number {
  return capacity + Math.max(capacity, LAZY_GROWTH_BYTES / SMALLEST_SLOT_BYTES);
}

type SlotArray = Int32Array | Float64Array;
type Make<T extends SlotArray> = (buffer: ArrayBuffer) => T;

/** An array of `length` slots on a buffer reserved for at least `atLeast` slots (or the default reservation). */
function reserve<T extends SlotArray>(make: Make<T>, bytesPerSlot: number, length: number, atLeast = 0): T {
  let slots = Math.max(reservedSlots, atLeast, length);
  for (;;) {
    try {
      return make(new ArrayBuffer(length * bytesPerSlot, { maxByteLength: slots * bytesPerSlot }));
    } catch (err) {
      // Address space refused: reserve less, down to what is needed now.
      if (!(err instanceof RangeError) || slots <= Math.max(length, MIN_RESERVED_SLOTS)) throw err;
      slots = Math.max(length, MIN_RESERVED_SLOTS, Math.floor(slots / 4));
      reservedSlots = Math.min(reservedSlots, slots);
    }
  }
}

const int32s: Make<Int32Array> = (b) => new Int32Array(b);
const float64s: Make<Float64Array> = (b) => new Float64Array(b);

/** `perSlot` 32-bit ints per slot, for no slots yet. */
export function slotInt32s(perSlot = 1): Int32Array {
  return reserve(int32s, 4 * perSlot, 0);
}

export function slotFloat64s(): Float64Array {
  return reserve(float64s, 8, 0);
}

/**
 * `array` grown to `capacity` slots of `perSlot` elements: the same array,
 * resized in place, or past its reservation a copy in a bigger one.
 */
export function resizeSlots<T extends SlotArray>(array: T, capacity: number, perSlot = 1): T {
  const buffer = array.buffer as ArrayBuffer;
  const bytes = capacity * perSlot * array.BYTES_PER_ELEMENT;
  if (bytes <= buffer.maxByteLength) {
    buffer.resize(bytes);
    return array;
  }
  const make = (array instanceof Float64Array ? float64s : int32s) as unknown as Make<T>;
  const bytesPerSlot = perSlot * array.BYTES_PER_ELEMENT;
  const next = reserve(make, bytesPerSlot, capacity, 2 * capacity);
  next.set(array);
  return next;
}

/** For tests: reserve `slots` per new array (0 restores the default). */
export function limitReservation(slots: number): void {
  reservedSlots = slots === 0 ? defaultReservation() : slots;
}

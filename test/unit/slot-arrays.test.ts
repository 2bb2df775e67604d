import { afterEach, expect, test } from "bun:test";
import { grownCapacity, limitReservation, resizeSlots, slotFloat64s, slotInt32s } from "../../src/store/slot-arrays.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

afterEach(() => limitReservation(0));

test("growing within the reservation keeps the array itself and its contents; new slots read as zero", () => {
  let a = slotInt32s(2);
  a = resizeSlots(a, 1000, 2);
  for (let i = 0; i < 2000; i++) a[i] = i + 1;
  const same = resizeSlots(a, 100_000, 2);
  expect(same).toBe(a);
  expect(same.length).toBe(200_000);
  for (let i = 0; i < 2000; i++) expect(same[i]).toBe(i + 1);
  expect(same[2000]).toBe(0);
  expect(same[199_999]).toBe(0);
});

test("past its reservation an array is copied into a larger one, contents kept", () => {
  limitReservation(1024);
  let f = slotFloat64s();
  f = resizeSlots(f, 1024);
  for (let i = 0; i < 1024; i++) f[i] = i / 2;
  const bigger = resizeSlots(f, 5000);
  expect(bigger).not.toBe(f);
  expect(bigger.length).toBe(5000);
  for (let i = 0; i < 1024; i++) expect(bigger[i]).toBe(i / 2);
  expect(bigger[4999]).toBe(0);
  // The new reservation is larger than what was asked: the next growth is in place.
  expect(resizeSlots(bigger, 6000)).toBe(bigger);
});

test("each growth at least doubles and adds at least 1 MiB to a 4-byte-per-slot array (smaller growths are zeroed at once)", () => {
  const sizes: number[] = [];
  for (let capacity = 1024; capacity < 50_000_000; capacity = grownCapacity(capacity)) sizes.push(capacity);
  for (let i = 1; i < sizes.length; i++) {
    expect(sizes[i]!).toBeGreaterThanOrEqual(2 * sizes[i - 1]!);
    expect((sizes[i]! - sizes[i - 1]!) * Int32Array.BYTES_PER_ELEMENT).toBeGreaterThanOrEqual(1024 * 1024);
  }
  // Growing by that much is still in place, and the new slots read as zero.
  const a = resizeSlots(slotInt32s(), 1024);
  a.fill(7);
  const grown = resizeSlots(a, grownCapacity(1024));
  expect(grown).toBe(a);
  expect(grown[1023]).toBe(7);
  expect(grown[1024]).toBe(0);
  expect(grown[grown.length - 1]).toBe(0);
});

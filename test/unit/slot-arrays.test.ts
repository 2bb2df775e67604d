import { afterEach, expect, test } from "bun:test";
import { limitReservation, resizeSlots, slotFloat64s, slotInt32s } from "../../src/store/slot-arrays.ts";
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

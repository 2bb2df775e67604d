import { describe, expect, test } from "bun:test";
import { sortByNumber } from "../../src/util/radix-sort.ts";
import { rng } from "../helpers/random.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** The reference: a comparator sort by high half, then low half, then original position (a stable sort). */
function reference(items: number[], low: number[], high: number[]): number[] {
  const order = items.map((_, i) => i);
  order.sort((a, b) => high[a]! - high[b]! || low[a]! - low[b]! || a - b);
  return order.map((i) => items[i]!);
}

describe("sortByNumber", () => {
  test("orders items by high * 2^31 + low, equal numbers keeping their order, for every digit pattern", () => {
    const rand = rng(11);
    const shapes: [string, () => [number, number]][] = [
      ["small lows, high 0", () => [(rand() * 1000) | 0, 0]],
      ["lows over the whole 31 bits, high 0", () => [(rand() * 2 ** 31) | 0, 0]],
      ["lows and highs over the whole 31 bits", () => [(rand() * 2 ** 31) | 0, (rand() * 2 ** 31) | 0]],
      ["few distinct numbers (duplicates)", () => [(rand() * 4) | 0, (rand() * 2) | 0]],
      ["lows near the carry, highs 0 or 1", () => [2 ** 31 - 1 - ((rand() * 8) | 0), (rand() * 2) | 0]],
    ];
    for (const [name, make] of shapes) {
      for (const n of [0, 1, 2, 5, 1000, 50_000]) {
        const items: number[] = [];
        const low: number[] = [];
        const high: number[] = [];
        for (let i = 0; i < n; i++) {
          const [l, h] = make();
          items.push((rand() * 2 ** 31) | 0);
          low.push(l);
          high.push(h);
        }
        const sorted = sortByNumber(Int32Array.from(items), Int32Array.from(low), Int32Array.from(high));
        if (!Bun.deepEquals([...sorted], reference(items, low, high))) throw new Error(`${name}, n=${n}: wrong order`);
      }
    }
  });

  test("items already in order and in reverse order", () => {
    const n = 10_000;
    const low = Int32Array.from({ length: n }, (_, i) => i * 1_000);
    const up = sortByNumber(Int32Array.from({ length: n }, (_, i) => i), low.slice(), new Int32Array(n));
    expect([...up]).toEqual(Array.from({ length: n }, (_, i) => i));
    const down = sortByNumber(Int32Array.from({ length: n }, (_, i) => i), low.slice().reverse(), new Int32Array(n));
    expect([...down]).toEqual(Array.from({ length: n }, (_, i) => n - 1 - i));
  });
});

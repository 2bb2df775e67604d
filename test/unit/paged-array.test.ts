import { expect, test } from "bun:test";
import { PagedArray } from "../../src/store/paged-array.ts";

test("PagedArray: entries across page boundaries, undefined until set, growth keeps what is stored", () => {
  const a = new PagedArray<string>();
  expect(a.capacity).toBe(0);
  a.grow(300);
  // Whole pages: at least what was asked, less than a page more.
  expect(a.capacity).toBeGreaterThanOrEqual(300);
  expect(a.capacity).toBeLessThan(300 + 256);
  a.grow(512);
  for (const i of [0, 255, 256, 299, 511]) expect(a.get(i)).toBeUndefined();
  for (let i = 0; i < 512; i++) a.set(i, `v${i}`);
  a.grow(100_000);
  expect(a.capacity).toBeGreaterThanOrEqual(100_000);
  for (let i = 0; i < 512; i++) expect(a.get(i)).toBe(`v${i}`);
  expect(a.get(512)).toBeUndefined();
  a.set(99_999, "last");
  a.set(255, undefined);
  expect([a.get(99_999), a.get(255), a.get(256)]).toEqual(["last", undefined, "v256"]);
});

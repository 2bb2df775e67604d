import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

const TEST_ROOT = resolve(import.meta.dir, "..");

// Without the call a file's tests get bun's 5 s default, which a loaded CI
// machine exceeds now and then (helpers/timeout.ts).
test("every test file sets the suite's per-test timeout", () => {
  const files = readdirSync(TEST_ROOT, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".test.ts"));
  expect(files.length).toBeGreaterThan(40);
  const without = files.filter((f) => !/^useTestTimeout\(\);$/m.test(readFileSync(join(TEST_ROOT, f), "utf8")));
  expect(without).toEqual([]);
});

import { afterAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { rmSync } from "node:fs";
import { rng } from "../helpers/random.ts";
import { makeDataDir, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The keyspace keeps keys and values as bytes in shared arena pages, reuses
 * freed blocks by size and gives big values pages of their own. This drives
 * the real server through thousands of writes, overwrites that change a
 * value's size class, deletes and re-inserts that reuse freed blocks, and
 * values on both sides of the 4 KiB large-value bound, then checks every key
 * byte for byte against a model: live, and again after kill -9 and a reload
 * of the AOF (appendfsync always, so every acknowledged write is on disk).
 */

const dir = makeDataDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A value of `size` bytes whose content depends on `seed`, all byte values included. */
function value(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed * 131 + i * 7) & 0xff;
  return bytes;
}

async function expectModel(r: Redis, model: Map<string, Buffer>, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 200) {
    const batch = keys.slice(i, i + 200);
    const values = await r.mgetBuffer(...batch);
    batch.forEach((key, j) => {
      const expected = model.get(key);
      const actual = values[j] ?? null;
      if (expected === undefined) expect(actual).toBeNull();
      else if (actual === null || Buffer.compare(actual, expected) !== 0) throw new Error(`${key}: expected ${expected.length} bytes, got ${actual?.length ?? "nil"} (or other bytes)`);
    });
  }
  expect(await r.dbsize()).toBe(model.size);
}

test("block reuse across size classes and large values keeps every key's bytes, live and after kill -9 and reload", async () => {
  const rand = rng(7);
  const model = new Map<string, Buffer>();
  const keys = Array.from({ length: 3000 }, (_, i) => `k:${i}:${"x".repeat(i % 40)}`);
  const size = () => (rand() < 0.1 ? 4000 + ((rand() * 300) | 0) : (rand() * 200) | 0); // both sides of 4096 with the key
  let server = await startServer(["--appendonly", "yes", "--appendfsync", "always"], { dir });
  let r = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
  try {
    let n = 0;
    for (let round = 0; round < 4; round++) {
      const pipeline = r.pipeline();
      for (let op = 0; op < 3000; op++) {
        const key = keys[(rand() * keys.length) | 0]!;
        if (rand() < 0.2 && model.has(key)) {
          pipeline.del(key);
          model.delete(key);
        } else {
          const v = value(size(), n++);
          pipeline.set(key, v);
          model.set(key, v);
        }
      }
      const results = await pipeline.exec();
      for (const [err] of results!) expect(err).toBeNull();
      await expectModel(r, model, keys);
    }
    await r.quit();
    await server.kill("SIGKILL");
    server = await startServer(["--appendonly", "yes"], { dir });
    r = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
    await expectModel(r, model, keys);
  } finally {
    await r.quit();
    await server.stop();
  }
}, 60_000);

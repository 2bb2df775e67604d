import { expect, test } from "bun:test";
import Redis from "ioredis";
import { fuzzLiveServer } from "../fuzz/live.ts";
import { startServer, withDataDir } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

const FUZZ_INPUTS = Number(process.env.FUZZ_LIVE_INPUTS ?? 300);

// A short budget for CI; bench/fuzz.ts runs the long one and SECURITY.md has its figures.
test("hostile connections never crash the server, disturb a good client, or grow its memory", async () => {
  const server = await startServer([]);
  const report = await fuzzLiveServer(server.port, server.proc.pid, FUZZ_INPUTS, Date.now() % 100_000);
  expect(report.serverDied).toBe(false);
  expect(report.wrongAnswers).toEqual([]);
  expect(report.goodChecks).toBeGreaterThan(0);
  expect(report.rssMaxBytes - report.rssStartBytes).toBeLessThan(128 * 1024 * 1024);
  expect(server.logs()).not.toMatch(/threw|reading from .* failed/); // a handler or parser bug would be logged so
  expect(await server.stop()).toBe(0);
});

/** Every key (binary-safe, as hex) with its value and absolute expiry (PEXPIRETIME, -1 for none). */
async function dataset(port: number): Promise<Map<string, { value: string; expiresAt: number }>> {
  const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const keys = await client.keysBuffer("*");
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.getBuffer(key).call("PEXPIRETIME", key);
    const replies = (await pipeline.exec())!;
    const out = new Map<string, { value: string; expiresAt: number }>();
    keys.forEach((key, i) => {
      const value = replies[2 * i]![1] as Buffer | null;
      if (value !== null) out.set(key.toString("hex"), { value: value.toString("hex"), expiresAt: replies[2 * i + 1]![1] as number });
    });
    return out;
  } finally {
    client.disconnect();
  }
}

// The hostile streams run transactions, RENAME/COPY, SETRANGE, INCRBYFLOAT and
// expiries on keys they share, here while an AOF rewrite (slowed to ~0.5 s)
// copies the keyspace; whatever they did, the AOF must replay to it.
test("after hostile connections during a rewrite and a kill -9, the AOF loads the dataset they left", async () => {
  await withDataDir(async (dir) => {
    const first = await startServer(["--rdb-key-save-delay", "500"], { dir });
    const client = new Redis({ port: first.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => client.set(`fuzz:pre:${i}`, String(i))));
    const fuzzing = fuzzLiveServer(first.port, first.proc.pid, FUZZ_INPUTS, Date.now() % 100_000);
    await Bun.sleep(50);
    await client.bgrewriteaof();
    const report = await fuzzing;
    expect(report.serverDied).toBe(false);
    while ((await client.info("persistence")).includes("aof_rewrite_in_progress:1")) await Bun.sleep(50);
    client.disconnect();
    expect(first.logs()).toContain("Background AOF rewrite finished successfully");
    const before = await dataset(first.port);
    await first.kill("SIGKILL");

    const second = await startServer([], { dir });
    try {
      const after = await dataset(second.port);
      const soon = Date.now() + 60_000; // keys due to expire by now may be gone either way
      const lasting = (keys: Map<string, { value: string; expiresAt: number }>) =>
        [...keys].filter(([, k]) => k.expiresAt === -1 || k.expiresAt > soon).sort(([a], [b]) => a.localeCompare(b));
      expect(before.size).toBeGreaterThan(1000);
      expect(lasting(after)).toEqual(lasting(before));
      for (const key of after.keys()) expect(before.has(key)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});

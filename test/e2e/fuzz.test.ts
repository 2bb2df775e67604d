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
// expiries on keys they share; whatever they did, the AOF must replay to it.
test("after hostile connections and a kill -9, the AOF loads the dataset they left", async () => {
  await withDataDir(async (dir) => {
    const first = await startServer([], { dir });
    const report = await fuzzLiveServer(first.port, first.proc.pid, FUZZ_INPUTS, Date.now() % 100_000);
    expect(report.serverDied).toBe(false);
    const before = await dataset(first.port);
    await first.kill("SIGKILL");

    const second = await startServer([], { dir });
    try {
      const after = await dataset(second.port);
      const soon = Date.now() + 60_000; // keys due to expire by now may be gone either way
      const lasting = (keys: Map<string, { value: string; expiresAt: number }>) =>
        [...keys].filter(([, k]) => k.expiresAt === -1 || k.expiresAt > soon).sort(([a], [b]) => a.localeCompare(b));
      expect(before.size).toBeGreaterThan(0);
      expect(lasting(after)).toEqual(lasting(before));
      for (const key of after.keys()) expect(before.has(key)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});

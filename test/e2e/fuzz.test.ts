import { expect, test } from "bun:test";
import { fuzzLiveServer } from "../fuzz/live.ts";
import { startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

// A short budget for CI; bench/fuzz.ts runs the long one and SECURITY.md has its figures.
test("hostile connections never crash the server, disturb a good client, or grow its memory", async () => {
  const server = await startServer([]);
  const report = await fuzzLiveServer(server.port, server.proc.pid, Number(process.env.FUZZ_LIVE_INPUTS ?? 300), Date.now() % 100_000);
  expect(report.serverDied).toBe(false);
  expect(report.wrongAnswers).toEqual([]);
  expect(report.goodChecks).toBeGreaterThan(0);
  expect(report.rssMaxBytes - report.rssStartBytes).toBeLessThan(128 * 1024 * 1024);
  expect(server.logs()).not.toMatch(/threw|reading from .* failed/); // a handler or parser bug would be logged so
  expect(await server.stop()).toBe(0);
});

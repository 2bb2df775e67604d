import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { LatencyMonitor } from "../../src/stats/latency-monitor.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** LATENCY's store, against Redis's latency.c (latencyAddSample, LATENCY_TS_LEN 160). */

afterEach(() => setSystemTime());

const T0 = Date.UTC(2030, 0, 1) / 1000;

/** Sets the clock to `T0 + seconds` (plus `ms` within that second). */
function at(seconds: number, ms = 0): void {
  setSystemTime(new Date((T0 + seconds) * 1000 + ms));
}

describe("LatencyMonitor", () => {
  test("nothing is recorded below the threshold, or at all with threshold 0", () => {
    const off = new LatencyMonitor(0);
    off.record("command", 5000);
    expect(off.all()).toEqual([]);
    const monitor = new LatencyMonitor(10);
    monitor.record("command", 9.99);
    expect(monitor.all()).toEqual([]);
    at(0);
    monitor.record("command", 10);
    expect(monitor.get("command")).toEqual({ name: "command", latest: { time: T0, ms: 10 }, maxMs: 10, history: [{ time: T0, ms: 10 }] });
  });

  test("milliseconds are truncated to whole ones, as Redis's duration/1000", () => {
    const monitor = new LatencyMonitor(1);
    at(0);
    monitor.record("aof-write", 1.99);
    expect(monitor.get("aof-write")!.latest.ms).toBe(1);
  });

  test("one sample per second: a later one in the same second keeps the larger value", () => {
    const monitor = new LatencyMonitor(1);
    at(0, 100);
    monitor.record("expire-cycle", 5);
    at(0, 500);
    monitor.record("expire-cycle", 9);
    at(0, 900);
    monitor.record("expire-cycle", 3);
    expect(monitor.get("expire-cycle")!.history).toEqual([{ time: T0, ms: 9 }]);
    at(1);
    monitor.record("expire-cycle", 2);
    const event = monitor.get("expire-cycle")!;
    expect(event.history).toEqual([
      { time: T0, ms: 9 },
      { time: T0 + 1, ms: 2 },
    ]);
    // LATEST: the latest sample and the all-time maximum.
    expect(event.latest).toEqual({ time: T0 + 1, ms: 2 });
    expect(event.maxMs).toBe(9);
  });

  test("the history keeps the last 160 samples, oldest first; the maximum outlives them", () => {
    const monitor = new LatencyMonitor(1);
    at(0);
    monitor.record("command", 1000);
    for (let s = 1; s <= 200; s++) {
      at(s);
      monitor.record("command", s);
    }
    const event = monitor.get("command")!;
    expect(event.history).toHaveLength(160);
    expect(event.history[0]).toEqual({ time: T0 + 41, ms: 41 });
    expect(event.history[159]).toEqual({ time: T0 + 200, ms: 200 });
    expect(event.maxMs).toBe(1000);
    expect(event.latest).toEqual({ time: T0 + 200, ms: 200 });
  });

  test("events are kept apart; reset forgets the named ones (or all) and counts what it forgot", () => {
    const monitor = new LatencyMonitor(1);
    at(0);
    for (const name of ["command", "fast-command", "aof-write"]) monitor.record(name, 3);
    expect(monitor.all().map((e) => e.name)).toEqual(["command", "fast-command", "aof-write"]);
    expect(monitor.reset(["command", "command", "nope"])).toBe(1);
    expect(monitor.get("command")).toBeUndefined();
    expect(monitor.reset([])).toBe(2);
    expect(monitor.all()).toEqual([]);
    expect(monitor.reset([])).toBe(0);
    // An event starts afresh after a reset: its old maximum is gone.
    monitor.record("command", 2);
    expect(monitor.get("command")!.maxMs).toBe(2);
  });
});

import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { SlowLog } from "../../src/stats/slowlog.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** SLOWLOG's store, against Redis's slowlog.c (SLOWLOG_ENTRY_MAX_ARGC 32, SLOWLOG_ENTRY_MAX_STRING 128). */

afterEach(() => setSystemTime());

function args(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `a${i}`);
}

describe("SlowLog", () => {
  test("an entry keeps id, unix time, rounded µs, the arguments, the client's address and name", () => {
    setSystemTime(new Date("2030-01-02T03:04:05.678Z"));
    const log = new SlowLog(128);
    log.add(["SET", "k", "v"], 1234.6, "127.0.0.1:5000", "worker");
    expect(log.newest(10)).toEqual([
      { id: 0, time: Date.UTC(2030, 0, 2, 3, 4, 5) / 1000, durationUs: 1235, args: ["SET", "k", "v"], clientAddress: "127.0.0.1:5000", clientName: "worker" },
    ]);
  });

  test("32 arguments are kept whole; from 33 on, the 32nd says how many more there were", () => {
    const log = new SlowLog(128);
    log.add(args(32), 1, "a", "");
    expect(log.newest(1)[0]!.args).toEqual(args(32));
    // Redis's test: SADD set 3 … 33 (33 arguments) shows 31 of them and "... (2 more arguments)".
    log.add(args(33), 1, "a", "");
    expect(log.newest(1)[0]!.args).toEqual([...args(31), "... (2 more arguments)"]);
    log.add(args(1000), 1, "a", "");
    const kept = log.newest(1)[0]!.args;
    expect(kept).toHaveLength(32);
    expect(kept[31]).toBe("... (969 more arguments)");
  });

  test("an argument over 128 bytes is cut to 128 and says how many bytes more", () => {
    const log = new SlowLog(128);
    const exact = "A".repeat(128);
    const long = "B".repeat(129);
    const binary = "\x00\xff".repeat(100);
    log.add(["SET", exact, long, binary], 1, "a", "");
    expect(log.newest(1)[0]!.args).toEqual(["SET", exact, `${"B".repeat(128)}... (1 more bytes)`, `${binary.slice(0, 128)}... (72 more bytes)`]);
  });

  test("both cuts at once: the arguments kept are also cut to 128 bytes", () => {
    const log = new SlowLog(128);
    const argv = Array.from({ length: 40 }, () => "x".repeat(200));
    log.add(argv, 1, "a", "");
    const kept = log.newest(1)[0]!.args;
    expect(kept.slice(0, 31).every((a) => a === `${"x".repeat(128)}... (72 more bytes)`)).toBe(true);
    expect(kept[31]).toBe("... (9 more arguments)");
  });

  test("newest first, ids counting up from 0; newest(n) is capped at n, newest(0) is empty", () => {
    const log = new SlowLog(128);
    for (let i = 0; i < 5; i++) log.add(["PING", String(i)], i, "a", "");
    expect(log.newest(10).map((e) => e.id)).toEqual([4, 3, 2, 1, 0]);
    expect(log.newest(2).map((e) => e.args[1])).toEqual(["4", "3"]);
    expect(log.newest(0)).toEqual([]);
    expect(log.length).toBe(5);
  });

  test("past maxLen the oldest go; lowering maxLen at runtime trims to the newest", () => {
    const log = new SlowLog(5);
    for (let i = 0; i < 10; i++) log.add(["PING"], 1, "a", "");
    expect(log.length).toBe(5);
    expect(log.newest(10).map((e) => e.id)).toEqual([9, 8, 7, 6, 5]);
    log.maxLen = 2;
    log.trim();
    expect(log.newest(10).map((e) => e.id)).toEqual([9, 8]);
    // Raising it keeps what is there and lets it grow again.
    log.maxLen = 4;
    log.trim();
    log.add(["PING"], 1, "a", "");
    expect(log.newest(10).map((e) => e.id)).toEqual([10, 9, 8]);
  });

  test("maxLen 0 keeps nothing; reset empties it but ids go on, as Redis's slowlog_entry_id", () => {
    const log = new SlowLog(0);
    log.add(["PING"], 1, "a", "");
    expect(log.length).toBe(0);
    log.maxLen = 10;
    log.add(["PING"], 1, "a", "");
    log.add(["PING"], 1, "a", "");
    log.reset();
    expect(log.length).toBe(0);
    expect(log.newest(10)).toEqual([]);
    log.add(["PING"], 1, "a", "");
    expect(log.newest(1)[0]!.id).toBe(2);
  });
});

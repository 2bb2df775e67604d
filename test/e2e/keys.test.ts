import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { SYNTAX, NOT_INTEGER, invalidExpire, arity, errorOf } from "../helpers/replies.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Generic key commands end to end, against Redis 7's replies and error texts
 * (src/db.c, src/expire.c, src/object.c; tests/unit/keyspace.tcl,
 * expire.tcl, scan.tcl).
 */

let server: RunningServer;
let r: Redis;

beforeAll(async () => {
  server = await startServer();
  r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await r?.quit();
  await server?.stop();
});

beforeEach(async () => {
  await r.call("FLUSHALL");
});


async function ttl(key: string): Promise<number> {
  return (await r.call("TTL", key)) as number;
}
async function pttl(key: string): Promise<number> {
  return (await r.call("PTTL", key)) as number;
}
/** The TTL is `seconds`, less what a slow machine may have spent since it was set. */
async function expectTtl(key: string, seconds: number): Promise<void> {
  const left = await ttl(key);
  expect([key, left >= seconds - 3 && left <= seconds]).toEqual([key, true]);
}
const sorted = (value: unknown) => [...(value as string[])].sort();

/** Sets many keys at once. */
async function fill(keys: string[], value = "v"): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    const args = keys.slice(i, i + 500).flatMap((k) => [k, value]);
    await r.call("MSET", ...args);
  }
}

describe("DEL, UNLINK, EXISTS, TYPE, TOUCH", () => {
  test("DEL and UNLINK count the keys actually removed", async () => {
    await fill(["a", "b", "c"]);
    expect(await r.call("DEL", "a", "b", "nope")).toBe(2);
    expect(await r.call("DEL", "a")).toBe(0);
    expect(await r.call("DEL", "c", "c", "c")).toBe(1);
    await fill(["x", "y"]);
    expect(await r.call("UNLINK", "x", "y", "z", "x")).toBe(2);
    expect(await r.call("DBSIZE")).toBe(0);
    expect(await errorOf(r.call("DEL"))).toBe(arity("del"));
    expect(await errorOf(r.call("UNLINK"))).toBe(arity("unlink"));
  });

  test("EXISTS counts duplicates", async () => {
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXISTS", "foo")).toBe(1);
    expect(await r.call("EXISTS", "foo", "foo", "foo")).toBe(3);
    expect(await r.call("EXISTS", "foo", "nope", "foo")).toBe(2);
    expect(await r.call("EXISTS", "nope")).toBe(0);
    await r.call("SET", "empty", "");
    expect(await r.call("EXISTS", "empty")).toBe(1);
    expect(await errorOf(r.call("EXISTS"))).toBe(arity("exists"));
  });

  test("TYPE", async () => {
    await r.call("SET", "s", "v");
    await r.call("INCR", "n");
    expect(await r.call("TYPE", "s")).toBe("string");
    expect(await r.call("TYPE", "n")).toBe("string");
    expect(await r.call("TYPE", "nope")).toBe("none");
    expect(await errorOf(r.call("TYPE"))).toBe(arity("type"));
  });

  test("TOUCH counts existing keys", async () => {
    await fill(["a", "b"]);
    expect(await r.call("TOUCH", "a", "b", "c", "a")).toBe(3);
    expect(await r.call("TOUCH", "zzz")).toBe(0);
    expect(await r.call("GET", "a")).toBe("v");
  });
});

describe("RENAME, RENAMENX, COPY", () => {
  test("RENAME moves the value, replacing the destination", async () => {
    await r.call("SET", "mykey", "a");
    await r.call("SET", "dst", "old", "EX", "100");
    expect(await r.call("RENAME", "mykey", "dst")).toBe("OK");
    expect(await r.call("GET", "dst")).toBe("a");
    expect(await r.call("EXISTS", "mykey")).toBe(0);
    // The destination's TTL goes with its old value.
    expect(await ttl("dst")).toBe(-1);
  });

  test("RENAME carries the TTL over", async () => {
    await r.call("SET", "src", "v", "PX", "100000");
    expect(await r.call("RENAME", "src", "dst")).toBe("OK");
    expect(await ttl("src")).toBe(-2);
    const left = await pttl("dst");
    expect(left).toBeGreaterThan(90000);
    expect(left).toBeLessThanOrEqual(100000);
  });

  test("RENAME errors and the same-key case", async () => {
    expect(await errorOf(r.call("RENAME", "nokey", "dst"))).toBe("ERR no such key");
    expect(await errorOf(r.call("RENAME", "nokey", "nokey"))).toBe("ERR no such key");
    await r.call("SET", "mykey", "a", "EX", "100");
    expect(await r.call("RENAME", "mykey", "mykey")).toBe("OK");
    expect(await r.call("GET", "mykey")).toBe("a");
    expect(await ttl("mykey")).toBeGreaterThan(90);
    expect(await errorOf(r.call("RENAME", "mykey"))).toBe(arity("rename"));
  });

  test("RENAMENX", async () => {
    await r.call("SET", "mykey", "foo", "EX", "100");
    await r.call("SET", "mykey2", "bar");
    expect(await r.call("RENAMENX", "mykey", "mykey2")).toBe(0);
    expect(await r.call("MGET", "mykey", "mykey2")).toEqual(["foo", "bar"]);
    expect(await r.call("RENAMENX", "mykey", "mykey")).toBe(0);
    expect(await r.call("RENAMENX", "mykey", "fresh")).toBe(1);
    expect(await r.call("GET", "fresh")).toBe("foo");
    expect(await r.call("EXISTS", "mykey")).toBe(0);
    expect(await ttl("fresh")).toBeGreaterThan(90);
    expect(await errorOf(r.call("RENAMENX", "nokey", "x"))).toBe("ERR no such key");
    expect(await errorOf(r.call("RENAMENX", "nokey", "nokey"))).toBe("ERR no such key");
  });

  test("COPY copies value and TTL and keeps the source", async () => {
    await r.call("SET", "src", "value", "EX", "100");
    expect(await r.call("COPY", "src", "dst")).toBe(1);
    expect(await r.call("MGET", "src", "dst")).toEqual(["value", "value"]);
    expect(await ttl("dst")).toBeGreaterThan(90);
    // Independent values afterwards.
    await r.call("APPEND", "dst", "!");
    expect(await r.call("MGET", "src", "dst")).toEqual(["value", "value!"]);
  });

  test("COPY onto an existing key needs REPLACE", async () => {
    await r.call("SET", "src", "one");
    await r.call("SET", "dst", "two", "EX", "100");
    expect(await r.call("COPY", "src", "dst")).toBe(0);
    expect(await r.call("GET", "dst")).toBe("two");
    expect(await r.call("COPY", "src", "dst", "REPLACE")).toBe(1);
    expect(await r.call("GET", "dst")).toBe("one");
    expect(await ttl("dst")).toBe(-1);
    expect(await r.call("COPY", "nokey", "dst", "replace")).toBe(0);
    expect(await r.call("GET", "dst")).toBe("one");
  });

  test("COPY with DB: 0 is this database, others do not exist", async () => {
    await r.call("SET", "src", "v");
    expect(await r.call("COPY", "src", "d0", "DB", "0")).toBe(1);
    expect(await r.call("GET", "d0")).toBe("v");
    expect(await r.call("COPY", "src", "d0", "db", "0", "REPLACE")).toBe(1);
    expect(await errorOf(r.call("COPY", "src", "d1", "DB", "1"))).toBe("ERR DB index is out of range");
    expect(await errorOf(r.call("COPY", "src", "d1", "DB", "-1"))).toBe("ERR DB index is out of range");
    expect(await errorOf(r.call("COPY", "src", "d1", "DB", "one"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("COPY", "src", "d1", "DB", "2147483648"))).toBe(
      "ERR value is out of range, value must between -2147483648 and 2147483647",
    );
    expect(await r.call("EXISTS", "d1")).toBe(0);
  });

  test("COPY errors", async () => {
    await r.call("SET", "src", "v");
    expect(await errorOf(r.call("COPY", "src", "src"))).toBe("ERR source and destination objects are the same");
    expect(await errorOf(r.call("COPY", "src", "src", "REPLACE"))).toBe("ERR source and destination objects are the same");
    expect(await errorOf(r.call("COPY", "nokey", "nokey"))).toBe("ERR source and destination objects are the same");
    expect(await errorOf(r.call("COPY", "src", "dst", "BOGUS"))).toBe(SYNTAX);
    expect(await errorOf(r.call("COPY", "src", "dst", "DB"))).toBe(SYNTAX);
    expect(await errorOf(r.call("COPY", "src"))).toBe(arity("copy"));
    expect(await r.call("COPY", "nokey", "dst")).toBe(0);
  });
});

describe("KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB", () => {
  test("KEYS with glob patterns", async () => {
    await fill(["hello", "hallo", "hxllo", "hllo", "heeeello", "foo_a", "foo_b", "foo_c", "a*b", "a?b", "[x]"]);
    expect(sorted(await r.call("KEYS", "*"))).toEqual(
      ["[x]", "a*b", "a?b", "foo_a", "foo_b", "foo_c", "hallo", "heeeello", "hello", "hllo", "hxllo"].sort(),
    );
    expect(sorted(await r.call("KEYS", "foo*"))).toEqual(["foo_a", "foo_b", "foo_c"]);
    expect(sorted(await r.call("KEYS", "h?llo"))).toEqual(["hallo", "hello", "hxllo"]);
    expect(sorted(await r.call("KEYS", "h*llo"))).toEqual(["hallo", "heeeello", "hello", "hllo", "hxllo"]);
    expect(sorted(await r.call("KEYS", "h[ae]llo"))).toEqual(["hallo", "hello"]);
    expect(sorted(await r.call("KEYS", "h[^e]llo"))).toEqual(["hallo", "hxllo"]);
    expect(sorted(await r.call("KEYS", "h[a-b]llo"))).toEqual(["hallo"]);
    expect(sorted(await r.call("KEYS", "a\\*b"))).toEqual(["a*b"]);
    expect(sorted(await r.call("KEYS", "a\\?b"))).toEqual(["a?b"]);
    expect(sorted(await r.call("KEYS", "a?b"))).toEqual(["a*b", "a?b"]);
    expect(sorted(await r.call("KEYS", "\\[x\\]"))).toEqual(["[x]"]);
    expect(await r.call("KEYS", "hello")).toEqual(["hello"]);
    expect(await r.call("KEYS", "nothing")).toEqual([]);
    expect(await r.call("KEYS", "FOO*")).toEqual([]);
    expect(await r.call("DBSIZE")).toBe(11);
  });

  test("KEYS * includes the empty key", async () => {
    await r.call("SET", "", "empty");
    await r.call("SET", "x", "1");
    expect(sorted(await r.call("KEYS", "*"))).toEqual(["", "x"]);
    expect(await r.call("GET", "")).toBe("empty");
  });

  test("SCAN iterates the whole keyspace", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
    await fill(keys);
    for (const count of [undefined, "1", "7", "100", "5000"]) {
      const seen = new Map<string, number>();
      let cursor = "0";
      let calls = 0;
      do {
        const reply = (await (count === undefined ? r.call("SCAN", cursor) : r.call("SCAN", cursor, "COUNT", count))) as [string, string[]];
        expect(typeof reply[0]).toBe("string");
        cursor = reply[0];
        for (const key of reply[1]) seen.set(key, (seen.get(key) ?? 0) + 1);
        calls++;
        expect(calls).toBeLessThan(5000);
      } while (cursor !== "0");
      expect([...seen.keys()].sort()).toEqual([...keys].sort());
    }
  });

  test("SCAN MATCH and TYPE", async () => {
    await fill(Array.from({ length: 300 }, (_, i) => `user:${i}`));
    await fill(Array.from({ length: 300 }, (_, i) => `item:${i}`));
    const collect = async (...options: string[]): Promise<string[]> => {
      const found = new Set<string>();
      let cursor = "0";
      do {
        const [next, keys] = (await r.call("SCAN", cursor, ...options)) as [string, string[]];
        cursor = next;
        for (const key of keys) found.add(key);
      } while (cursor !== "0");
      return [...found].sort();
    };
    expect(await collect("MATCH", "user:*")).toEqual(Array.from({ length: 300 }, (_, i) => `user:${i}`).sort());
    expect(await collect("MATCH", "item:1?", "COUNT", "50")).toEqual(Array.from({ length: 10 }, (_, i) => `item:1${i}`).sort());
    expect(await collect("match", "*")).toHaveLength(600);
    expect(await collect("TYPE", "string")).toHaveLength(600);
    expect(await collect("TYPE", "STRING", "MATCH", "user:2*")).toHaveLength(111);
    expect(await collect("TYPE", "list")).toEqual([]);
    expect(await collect("TYPE", "hash", "COUNT", "1000")).toEqual([]);
    // Any positive int64 count is accepted.
    const [cursor, all] = (await r.call("SCAN", "0", "COUNT", "9007199254740993")) as [string, string[]];
    expect(cursor).toBe("0");
    expect(all).toHaveLength(600);
  });

  test("SCAN errors", async () => {
    await r.call("SET", "a", "1");
    expect(await errorOf(r.call("SCAN", "abc"))).toBe("ERR invalid cursor");
    expect(await errorOf(r.call("SCAN", "1.5"))).toBe("ERR invalid cursor");
    expect(await errorOf(r.call("SCAN", "0", "COUNT", "0"))).toBe(SYNTAX);
    expect(await errorOf(r.call("SCAN", "0", "COUNT", "-1"))).toBe(SYNTAX);
    expect(await errorOf(r.call("SCAN", "0", "COUNT", "ten"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("SCAN", "0", "COUNT"))).toBe(SYNTAX);
    expect(await errorOf(r.call("SCAN", "0", "MATCH"))).toBe(SYNTAX);
    expect(await errorOf(r.call("SCAN", "0", "BOGUS", "x"))).toBe(SYNTAX);
    expect(await errorOf(r.call("SCAN"))).toBe(arity("scan"));
  });

  test("SCAN returns every key present throughout, whatever changes in between", async () => {
    const stable = Array.from({ length: 1000 }, (_, i) => `stable:${i}`);
    const churn = Array.from({ length: 1000 }, (_, i) => `churn:${i}`);
    await fill(stable);
    await fill(churn);
    const seen = new Set<string>();
    let cursor = "0";
    let round = 0;
    let added = 0;
    do {
      const [next, keys] = (await r.call("SCAN", cursor, "COUNT", "20")) as [string, string[]];
      cursor = next;
      for (const key of keys) seen.add(key);
      // Between calls: delete some of the other keys and add new ones.
      const doomed = churn.slice(round * 10, round * 10 + 10);
      if (doomed.length > 0) await r.call("DEL", ...doomed);
      const fresh = Array.from({ length: 15 }, () => `new:${added++}`);
      await fill(fresh);
      if (round % 5 === 0) await r.call("EXPIRE", `new:${added - 1}`, "-1");
      round++;
      expect(round).toBeLessThan(2000);
    } while (cursor !== "0");
    const missing = stable.filter((key) => !seen.has(key));
    expect(missing).toEqual([]);
    // Nothing that never existed is returned.
    for (const key of seen) expect(/^(stable|churn|new):\d+$/.test(key)).toBe(true);
  });

  test("RANDOMKEY", async () => {
    expect(await r.call("RANDOMKEY")).toBeNull();
    await fill(["a", "b", "c"]);
    const found = new Set<string>();
    for (let i = 0; i < 60; i++) found.add((await r.call("RANDOMKEY")) as string);
    for (const key of found) expect(["a", "b", "c"]).toContain(key);
    expect(found.size).toBeGreaterThan(1);
    await r.call("DEL", "a", "b");
    expect(await r.call("RANDOMKEY")).toBe("c");
    expect(await errorOf(r.call("RANDOMKEY", "x"))).toBe(arity("randomkey"));
  });

  test("RANDOMKEY never returns an expired key", async () => {
    await r.call("SET", "gone", "v", "PX", "20");
    await r.call("SET", "here", "v");
    await Bun.sleep(60);
    for (let i = 0; i < 20; i++) expect(await r.call("RANDOMKEY")).toBe("here");
  });

  test("DBSIZE, FLUSHDB and FLUSHALL", async () => {
    expect(await r.call("DBSIZE")).toBe(0);
    await fill(["a", "b", "c"]);
    expect(await r.call("DBSIZE")).toBe(3);
    expect(await r.call("FLUSHDB")).toBe("OK");
    expect(await r.call("DBSIZE")).toBe(0);
    await fill(["a", "b"]);
    expect(await r.call("FLUSHALL", "ASYNC")).toBe("OK");
    expect(await r.call("DBSIZE")).toBe(0);
    await fill(["a"]);
    expect(await r.call("FLUSHDB", "sync")).toBe("OK");
    expect(await r.call("KEYS", "*")).toEqual([]);
    expect(await errorOf(r.call("FLUSHALL", "bogus"))).toBe(SYNTAX);
    expect(await errorOf(r.call("FLUSHDB", "ASYNC", "SYNC"))).toBe(SYNTAX);
    // The keyspace works normally after a flush.
    await r.call("SET", "after", "1", "EX", "100");
    expect(await r.call("GET", "after")).toBe("1");
    expect(await ttl("after")).toBeGreaterThan(90);
  });
});

describe("EXPIRE family", () => {
  test("EXPIRE sets and resets timeouts", async () => {
    await r.call("SET", "x", "foobar");
    expect(await r.call("EXPIRE", "x", "5")).toBe(1);
    await expectTtl("x", 5);
    expect(await r.call("EXPIRE", "x", "10")).toBe(1);
    await expectTtl("x", 10);
    expect(await r.call("GET", "x")).toBe("foobar");
    expect(await r.call("EXPIRE", "nokey", "10")).toBe(0);
    expect(await r.call("PEXPIRE", "nokey", "10")).toBe(0);
    expect(await r.call("EXPIREAT", "nokey", "2000000000")).toBe(0);
    expect(await r.call("PEXPIREAT", "nokey", "2000000000000")).toBe(0);
  });

  test("EXPIREAT / PEXPIREAT and EXPIRETIME / PEXPIRETIME", async () => {
    await r.call("SET", "x", "foo");
    const at = Math.floor(Date.now() / 1000) + 15;
    expect(await r.call("EXPIREAT", "x", String(at))).toBe(1);
    await expectTtl("x", 15);
    expect(await r.call("EXPIRETIME", "x")).toBe(at);
    expect(await r.call("PEXPIRETIME", "x")).toBe(at * 1000);

    const atMs = Date.now() + 20_000;
    expect(await r.call("PEXPIREAT", "x", String(atMs))).toBe(1);
    expect(await r.call("PEXPIRETIME", "x")).toBe(atMs);
    // EXPIRETIME rounds to the nearest second, like TTL.
    expect(await r.call("EXPIRETIME", "x")).toBe(Math.floor((atMs + 500) / 1000));
    const far = 2_000_000_000_999;
    await r.call("PEXPIREAT", "x", String(far));
    expect(await r.call("EXPIRETIME", "x")).toBe(2_000_000_001);
    await r.call("PEXPIREAT", "x", "2000000000499");
    expect(await r.call("EXPIRETIME", "x")).toBe(2_000_000_000);

    await r.call("SET", "plain", "v");
    expect(await r.call("EXPIRETIME", "plain")).toBe(-1);
    expect(await r.call("PEXPIRETIME", "plain")).toBe(-1);
    expect(await r.call("EXPIRETIME", "nokey")).toBe(-2);
    expect(await r.call("PEXPIRETIME", "nokey")).toBe(-2);
  });

  test("PEXPIRE sets a millisecond TTL", async () => {
    await r.call("SET", "x", "v");
    expect(await r.call("PEXPIRE", "x", "100000")).toBe(1);
    const left = await pttl("x");
    expect(left).toBeGreaterThan(90000);
    expect(left).toBeLessThanOrEqual(100000);
    await expectTtl("x", 100);
  });

  test("TTL / PTTL: -1 without a TTL, -2 without a key", async () => {
    await r.call("SET", "x", "hello");
    expect(await ttl("x")).toBe(-1);
    expect(await pttl("x")).toBe(-1);
    expect(await ttl("nokey")).toBe(-2);
    expect(await pttl("nokey")).toBe(-2);
  });

  test("PERSIST", async () => {
    await r.call("SET", "x", "foo");
    await r.call("EXPIRE", "x", "50");
    await expectTtl("x", 50);
    expect(await r.call("PERSIST", "x")).toBe(1);
    expect(await ttl("x")).toBe(-1);
    expect(await r.call("GET", "x")).toBe("foo");
    expect(await r.call("PERSIST", "x")).toBe(0);
    expect(await r.call("PERSIST", "nokeyatall")).toBe(0);
  });

  test("a negative or past time deletes the key", async () => {
    for (const [command, time] of [
      ["EXPIRE", "-10"],
      ["EXPIRE", "0"],
      ["PEXPIRE", "-1"],
      ["PEXPIRE", "0"],
      ["EXPIREAT", "1"],
      ["EXPIREAT", "0"],
      ["PEXPIREAT", String(Date.now() - 1000)],
      ["EXPIREAT", "-9223372036854775"],
      ["PEXPIREAT", "-9223372036854770000"],
    ] as const) {
      await r.call("SET", "foo", "bar");
      expect([command, time, await r.call(command, "foo", time)]).toEqual([command, time, 1]);
      expect([command, time, await ttl("foo")]).toEqual([command, time, -2]);
      expect(await r.call("EXISTS", "foo")).toBe(0);
    }
  });

  test("NX / XX / GT / LT", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("EXPIRE", "foo", "200", "NX")).toBe(0);
    await expectTtl("foo", 100);
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXPIRE", "foo", "200", "nx")).toBe(1);
    await expectTtl("foo", 200);

    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("EXPIRE", "foo", "200", "XX")).toBe(1);
    await expectTtl("foo", 200);
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXPIRE", "foo", "200", "XX")).toBe(0);
    expect(await ttl("foo")).toBe(-1);

    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("EXPIRE", "foo", "200", "GT")).toBe(1);
    await expectTtl("foo", 200);
    expect(await r.call("EXPIRE", "foo", "100", "GT")).toBe(0);
    // An equal time is neither greater nor less.
    const current = String(await r.call("PEXPIRETIME", "foo"));
    expect(await r.call("PEXPIREAT", "foo", current, "GT")).toBe(0);
    expect(await r.call("PEXPIREAT", "foo", current, "LT")).toBe(0);
    expect(String(await r.call("PEXPIRETIME", "foo"))).toBe(current);
    await expectTtl("foo", 200);
    // No TTL counts as infinite: GT never wins against it...
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXPIRE", "foo", "200", "GT")).toBe(0);
    expect(await ttl("foo")).toBe(-1);

    await r.call("SET", "foo", "bar", "EX", "200");
    expect(await r.call("EXPIRE", "foo", "100", "LT")).toBe(1);
    await expectTtl("foo", 100);
    expect(await r.call("EXPIRE", "foo", "200", "LT")).toBe(0);
    expect(await r.call("EXPIRE", "foo", "100", "lt")).toBe(0);
    await expectTtl("foo", 100);
    // ...and LT always does.
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXPIRE", "foo", "100", "LT")).toBe(1);
    await expectTtl("foo", 100);

    await r.call("SET", "foo", "bar", "EX", "200");
    expect(await r.call("EXPIRE", "foo", "100", "LT", "XX")).toBe(1);
    await expectTtl("foo", 100);
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXPIRE", "foo", "100", "LT", "XX")).toBe(0);
    expect(await ttl("foo")).toBe(-1);
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("EXPIRE", "foo", "200", "GT", "XX")).toBe(1);
    await expectTtl("foo", 200);

    // The same flags on the other three commands.
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("PEXPIRE", "foo", "50000", "GT")).toBe(0);
    expect(await r.call("PEXPIRE", "foo", "50000", "LT")).toBe(1);
    const at = Math.floor(Date.now() / 1000) + 300;
    expect(await r.call("EXPIREAT", "foo", String(at), "NX")).toBe(0);
    expect(await r.call("EXPIREAT", "foo", String(at), "GT")).toBe(1);
    expect(await r.call("EXPIRETIME", "foo")).toBe(at);
    expect(await r.call("PEXPIREAT", "foo", String(at * 1000 + 1), "LT")).toBe(0);
    expect(await r.call("PEXPIREAT", "foo", String(at * 1000 - 1), "LT")).toBe(1);
    expect(await r.call("PEXPIRETIME", "foo")).toBe(at * 1000 - 1);
  });

  test("a negative time with LT deletes, on volatile and persistent keys", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("EXPIRE", "foo", "-10", "LT")).toBe(1);
    expect(await ttl("foo")).toBe(-2);
    await r.call("SET", "foo", "bar");
    expect(await r.call("EXPIRE", "foo", "-10", "LT")).toBe(1);
    expect(await ttl("foo")).toBe(-2);
  });

  test("flags on a missing key reply 0", async () => {
    for (const flag of ["NX", "XX", "GT", "LT"]) expect(await r.call("EXPIRE", "none", "100", flag)).toBe(0);
  });

  test("incompatible and unsupported options", async () => {
    await r.call("SET", "foo", "bar");
    const nxAnd = "ERR NX and XX, GT or LT options at the same time are not compatible";
    expect(await errorOf(r.call("EXPIRE", "foo", "200", "NX", "XX"))).toBe(nxAnd);
    expect(await errorOf(r.call("EXPIRE", "foo", "200", "XX", "NX"))).toBe(nxAnd);
    expect(await errorOf(r.call("EXPIRE", "foo", "200", "NX", "GT"))).toBe(nxAnd);
    expect(await errorOf(r.call("PEXPIRE", "foo", "200", "LT", "NX"))).toBe(nxAnd);
    const gtLt = "ERR GT and LT options at the same time are not compatible";
    expect(await errorOf(r.call("EXPIRE", "foo", "200", "GT", "LT"))).toBe(gtLt);
    expect(await errorOf(r.call("EXPIREAT", "foo", "200", "lt", "XX", "gt"))).toBe(gtLt);
    expect(await errorOf(r.call("EXPIRE", "foo", "200", "AB"))).toBe("ERR Unsupported option AB");
    expect(await errorOf(r.call("EXPIRE", "foo", "200", "XX", "ab"))).toBe("ERR Unsupported option ab");
    // Options are checked before the time.
    expect(await errorOf(r.call("EXPIRE", "foo", "abc", "AB"))).toBe("ERR Unsupported option AB");
    expect(await errorOf(r.call("EXPIRE", "foo", "abc", "NX", "XX"))).toBe(nxAnd);
    // Repeating the same flag is fine.
    expect(await r.call("EXPIRE", "foo", "100", "NX", "NX")).toBe(1);
    await expectTtl("foo", 100);
  });

  test("time argument errors", async () => {
    await r.call("SET", "foo", "bar");
    expect(await errorOf(r.call("EXPIRE", "foo", ""))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("EXPIRE", "foo", "1.5"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("PEXPIRE", "foo", "10s"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("EXPIRE", "foo", "9223372036854775808"))).toBe(NOT_INTEGER);
    // Overflow by the unit conversion or by adding the current time.
    expect(await errorOf(r.call("EXPIRE", "foo", "9223370399119966"))).toBe(invalidExpire("expire"));
    expect(await errorOf(r.call("EXPIRE", "foo", "-9999999999999999"))).toBe(invalidExpire("expire"));
    expect(await errorOf(r.call("EXPIREAT", "foo", "9223372036854776"))).toBe(invalidExpire("expireat"));
    expect(await errorOf(r.call("PEXPIRE", "foo", "9223372036854775807"))).toBe(invalidExpire("pexpire"));
    // The time is checked before the key is looked up.
    expect(await errorOf(r.call("EXPIRE", "nokey", "9223370399119966"))).toBe(invalidExpire("expire"));
    expect(await ttl("foo")).toBe(-1);
    expect(await errorOf(r.call("EXPIRE", "foo"))).toBe(arity("expire"));
    expect(await errorOf(r.call("TTL"))).toBe(arity("ttl"));
  });

  test("big but valid times", async () => {
    await r.call("SET", "foo", "bar");
    expect(await r.call("PEXPIREAT", "foo", "9223372036854770000")).toBe(1);
    expect(await ttl("foo")).toBeGreaterThan(1e15);
    expect(await r.call("GET", "foo")).toBe("bar");
    expect(await r.call("EXPIRE", "foo", "9000000000000000")).toBe(1);
    expect(await ttl("foo")).toBeGreaterThan(8e15);
    expect(await r.call("PEXPIRE", "foo", "-9000000000000000000")).toBe(1);
    expect(await r.call("EXISTS", "foo")).toBe(0);
  });

  test("a key past its TTL is never returned", async () => {
    await r.call("SET", "foo", "bar", "PX", "50");
    await r.call("SET", "other", "x");
    await Bun.sleep(120);
    expect(await r.call("GET", "foo")).toBeNull();
    expect(await r.call("EXISTS", "foo")).toBe(0);
    expect(await r.call("KEYS", "*")).toEqual(["other"]);
    expect(await r.call("TTL", "foo")).toBe(-2);

    // The same through every other read path, each on a fresh expired key.
    const expired = Array.from({ length: 12 }, (_, i) => `exp:${i}`);
    for (const key of expired) await r.call("SET", key, "v", "PX", "30");
    await Bun.sleep(100);
    expect(await r.call("KEYS", "exp:*")).toEqual([]);
    const [, scanned] = (await r.call("SCAN", "0", "COUNT", "1000")) as [string, string[]];
    expect(scanned).toEqual(["other"]);
    expect(await r.call("MGET", "exp:0", "exp:1")).toEqual([null, null]);
    expect(await r.call("EXISTS", "exp:2")).toBe(0);
    expect(await r.call("TYPE", "exp:3")).toBe("none");
    expect(await r.call("STRLEN", "exp:4")).toBe(0);
    expect(await r.call("PTTL", "exp:5")).toBe(-2);
    expect(await r.call("PERSIST", "exp:6")).toBe(0);
    expect(await r.call("EXPIRE", "exp:7", "100")).toBe(0);
    expect(await r.call("INCR", "exp:8")).toBe(1);
    expect(await r.call("APPEND", "exp:9", "x")).toBe(1);
    expect(await errorOf(r.call("RENAME", "exp:10", "new"))).toBe("ERR no such key");
    expect(await r.call("OBJECT", "ENCODING", "exp:11")).toBeNull();
    expect(await r.call("DBSIZE")).toBe(3);
  });

  test("EXPIRE does not resurrect an expired key", async () => {
    await r.call("SET", "foo", "bar");
    await r.call("PEXPIRE", "foo", "30");
    await Bun.sleep(100);
    expect(await r.call("EXPIRE", "foo", "10")).toBe(0);
    expect(await r.call("EXISTS", "foo")).toBe(0);
  });

  test("the active expiry cycle reclaims keys nobody reads", async () => {
    for (let i = 0; i < 3; i++) await r.call("PSETEX", `key${i}`, "100", "a");
    expect(await r.call("DBSIZE")).toBe(3);
    let size = 3;
    for (let i = 0; i < 40 && size > 0; i++) {
      await Bun.sleep(100);
      size = (await r.call("DBSIZE")) as number;
    }
    expect(size).toBe(0);
  });
});

describe("OBJECT and MEMORY", () => {
  test("OBJECT ENCODING: int, embstr, raw", async () => {
    const cases: [string, string][] = [
      ["12", "int"],
      ["-555", "int"],
      ["0", "int"],
      ["9223372036854775807", "int"],
      ["-9223372036854775808", "int"],
      ["9223372036854775808", "embstr"],
      ["01", "embstr"],
      ["+1", "embstr"],
      ["1.5", "embstr"],
      ["foo", "embstr"],
      ["", "embstr"],
      ["x".repeat(44), "embstr"],
      ["x".repeat(45), "raw"],
      ["x".repeat(1000), "raw"],
    ];
    for (const [value, encoding] of cases) {
      await r.call("SET", "k", value);
      expect([value.slice(0, 50), await r.call("OBJECT", "ENCODING", "k")]).toEqual([value.slice(0, 50), encoding]);
    }
    await r.call("SET", "n", "41");
    await r.call("INCR", "n");
    expect(await r.call("OBJECT", "encoding", "n")).toBe("int");
    expect(await r.call("OBJECT", "ENCODING", "nokey")).toBeNull();
  });

  test("OBJECT IDLETIME, REFCOUNT and FREQ", async () => {
    await r.call("SET", "k", "v");
    expect(await r.call("OBJECT", "IDLETIME", "k")).toBe(0);
    expect(await r.call("OBJECT", "IDLETIME", "nokey")).toBeNull();
    expect(await r.call("OBJECT", "REFCOUNT", "k")).toBe(1);
    expect(await r.call("OBJECT", "REFCOUNT", "nokey")).toBeNull();
    expect(await errorOf(r.call("OBJECT", "FREQ", "k"))).toBe(
      "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    expect(await r.call("OBJECT", "FREQ", "nokey")).toBeNull();
  });

  test("OBJECT HELP, unknown subcommands and arity", async () => {
    const help = (await r.call("OBJECT", "HELP")) as string[];
    expect(help[0]).toBe("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help).toContain("ENCODING <key>");
    expect(help).toContain("FREQ <key>");
    expect(help).toContain("IDLETIME <key>");
    expect(help).toContain("REFCOUNT <key>");
    expect(help.slice(-2)).toEqual(["HELP", "    Print this help."]);
    expect(await r.call("OBJECT", "help")).toEqual(help);

    await r.call("SET", "k", "v");
    expect(await errorOf(r.call("OBJECT", "FOO", "k"))).toBe("ERR unknown subcommand 'FOO'. Try OBJECT HELP.");
    expect(await errorOf(r.call("object", "foo"))).toBe("ERR unknown subcommand 'foo'. Try OBJECT HELP.");
    expect(await errorOf(r.call("OBJECT", "ENCODING"))).toBe(arity("object|encoding"));
    expect(await errorOf(r.call("OBJECT", "ENCODING", "k", "extra"))).toBe(arity("object|encoding"));
    expect(await errorOf(r.call("OBJECT", "IDLETIME"))).toBe(arity("object|idletime"));
    expect(await errorOf(r.call("OBJECT", "HELP", "extra"))).toBe(arity("object|help"));
    expect(await errorOf(r.call("OBJECT"))).toBe(arity("object"));
  });

  test("MEMORY USAGE", async () => {
    await r.call("SET", "small", "v");
    await r.call("SET", "big", "x".repeat(100_000));
    const small = (await r.call("MEMORY", "USAGE", "small")) as number;
    const big = (await r.call("MEMORY", "usage", "big")) as number;
    expect(small).toBeGreaterThanOrEqual("small".length + 1);
    expect(big).toBeGreaterThanOrEqual(100_000 + 3);
    expect(big).toBeGreaterThan(small);
    expect(big).toBeLessThan(2 * 100_000);
    expect(await r.call("MEMORY", "USAGE", "big", "SAMPLES", "5")).toBe(big);
    expect(await r.call("MEMORY", "USAGE", "big", "SAMPLES", "0")).toBe(big);
    expect(await r.call("MEMORY", "USAGE", "nokey")).toBeNull();
    expect(await errorOf(r.call("MEMORY", "USAGE", "big", "SAMPLES", "many"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("MEMORY", "USAGE", "big", "SAMPLES", "-1"))).toBe(SYNTAX);
    expect(await errorOf(r.call("MEMORY", "USAGE", "big", "BOGUS"))).toBe(SYNTAX);
    expect(await errorOf(r.call("MEMORY", "USAGE"))).toBe(arity("memory|usage"));
    expect(await errorOf(r.call("MEMORY", "NOPE"))).toBe("ERR unknown subcommand 'NOPE'. Try MEMORY HELP.");
    const help = (await r.call("MEMORY", "HELP")) as string[];
    expect(help[0]).toBe("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help).toContain("USAGE <key> [SAMPLES <count>]");
    expect(await errorOf(r.call("MEMORY", "HELP", "x"))).toBe(arity("memory|help"));
  });
});

describe("raw protocol", () => {
  test("integer and null replies are byte exact", async () => {
    const raw = await RawClient.connect(server.port);
    try {
      raw.write(resp("SET", "a", "1") + resp("EXISTS", "a", "a", "b") + resp("TTL", "a") + resp("TTL", "zz") + resp("RANDOMKEY") + resp("TYPE", "a"));
      expect(await raw.lines(6)).toEqual(["+OK", ":2", ":-1", ":-2", "$1", "a"]);
      expect(await raw.lines(1)).toEqual(["+string"]);
      raw.write(resp("FLUSHALL") + resp("RANDOMKEY") + resp("SCAN", "0"));
      expect(await raw.lines(5)).toEqual(["+OK", "$-1", "*2", "$1", "0"]);
      expect(await raw.lines(1)).toEqual(["*0"]);
    } finally {
      raw.close();
    }
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { SYNTAX, NOT_INTEGER, NOT_FLOAT, invalidExpire, arity, errorOf } from "../helpers/replies.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * String commands end to end, against Redis 7's replies and error texts
 * (src/t_string.c, tests/unit/type/string.tcl and incr.tcl).
 */

let server: RunningServer;
let r: Redis;
/** Same server, integer replies as exact decimal strings (int64 beyond 2^53). */
let exact: Redis;

beforeAll(async () => {
  server = await startServer();
  r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 });
  exact = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1, stringNumbers: true });
});

afterAll(async () => {
  await r?.quit();
  await exact?.quit();
  await server?.stop();
});

beforeEach(async () => {
  await r.call("FLUSHALL");
});


const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("SET and GET", () => {
  test("SET then GET, empty values, overwrite", async () => {
    expect(await r.call("SET", "x", "foobar")).toBe("OK");
    expect(await r.call("GET", "x")).toBe("foobar");
    expect(await r.call("SET", "x", "")).toBe("OK");
    expect(await r.call("GET", "x")).toBe("");
    expect(await r.call("EXISTS", "x")).toBe(1);
    expect(await r.call("GET", "missing")).toBeNull();
  });

  test("arity errors use Redis's text", async () => {
    expect(await errorOf(r.call("GET"))).toBe(arity("get"));
    expect(await errorOf(r.call("GET", "a", "b"))).toBe(arity("get"));
    expect(await errorOf(r.call("SET", "k"))).toBe(arity("set"));
    expect(await errorOf(r.call("GETEX"))).toBe(arity("getex"));
    expect(await errorOf(r.call("SETEX", "k", "10"))).toBe(arity("setex"));
    expect(await errorOf(r.call("APPEND", "k"))).toBe(arity("append"));
    expect(await errorOf(r.call("MGET"))).toBe(arity("mget"));
  });

  test("NX sets only a missing key", async () => {
    expect(await r.call("SET", "foo", "1", "NX")).toBe("OK");
    expect(await r.call("SET", "foo", "2", "nx")).toBeNull();
    expect(await r.call("GET", "foo")).toBe("1");
  });

  test("XX sets only an existing key", async () => {
    expect(await r.call("SET", "foo", "1", "XX")).toBeNull();
    expect(await r.call("EXISTS", "foo")).toBe(0);
    await r.call("SET", "foo", "bar");
    expect(await r.call("SET", "foo", "2", "xx")).toBe("OK");
    expect(await r.call("GET", "foo")).toBe("2");
  });

  test("GET returns the old value, or nil", async () => {
    expect(await r.call("SET", "foo", "bar", "GET")).toBeNull();
    expect(await r.call("GET", "foo")).toBe("bar");
    expect(await r.call("SET", "foo", "bar2", "get")).toBe("bar");
    expect(await r.call("GET", "foo")).toBe("bar2");
  });

  test("GET with XX and NX (Redis 7 allows NX GET)", async () => {
    expect(await r.call("SET", "foo", "bar", "GET", "XX")).toBeNull();
    expect(await r.call("EXISTS", "foo")).toBe(0);
    await r.call("SET", "foo", "bar");
    expect(await r.call("SET", "foo", "baz", "GET", "XX")).toBe("bar");
    expect(await r.call("GET", "foo")).toBe("baz");

    await r.call("DEL", "foo");
    expect(await r.call("SET", "foo", "bar", "GET", "NX")).toBeNull();
    expect(await r.call("GET", "foo")).toBe("bar");
    expect(await r.call("SET", "foo", "baz", "NX", "GET")).toBe("bar");
    expect(await r.call("GET", "foo")).toBe("bar");
  });

  test("EX and PX set a relative TTL", async () => {
    await r.call("SET", "foo", "bar", "EX", "10");
    const ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBeGreaterThan(5);
    expect(ttl).toBeLessThanOrEqual(10);
    await r.call("SET", "foo", "bar", "px", "10000");
    const pttl = (await r.call("PTTL", "foo")) as number;
    expect(pttl).toBeGreaterThan(5000);
    expect(pttl).toBeLessThanOrEqual(10000);
  });

  test("EXAT and PXAT set an absolute expiry", async () => {
    const at = nowSeconds() + 10;
    await r.call("SET", "foo", "bar", "EXAT", String(at));
    expect(await r.call("EXPIRETIME", "foo")).toBe(at);
    const ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBeGreaterThanOrEqual(5);
    expect(ttl).toBeLessThanOrEqual(10);

    const atMs = Date.now() + 10_000;
    await r.call("SET", "foo", "bar", "pxat", String(atMs));
    expect(await r.call("PEXPIRETIME", "foo")).toBe(atMs);
    const pttl = (await r.call("PTTL", "foo")) as number;
    expect(pttl).toBeGreaterThan(5000);
    expect(pttl).toBeLessThanOrEqual(10000);
  });

  test("a plain SET removes the TTL, KEEPTTL keeps it", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    await r.call("SET", "foo", "bar");
    expect(await r.call("TTL", "foo")).toBe(-1);

    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("SET", "foo", "bar2", "KEEPTTL")).toBe("OK");
    expect(await r.call("GET", "foo")).toBe("bar2");
    const ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);

    // KEEPTTL on a key without a TTL, or a missing key, leaves it without one.
    await r.call("SET", "plain", "v");
    await r.call("SET", "plain", "w", "KEEPTTL");
    expect(await r.call("TTL", "plain")).toBe(-1);
    await r.call("SET", "fresh", "v", "keepttl");
    expect(await r.call("TTL", "fresh")).toBe(-1);
  });

  test("options combine in any order", async () => {
    await r.call("SET", "foo", "val");
    expect(await r.call("SET", "foo", "bar", "XX", "PX", "10000")).toBe("OK");
    const ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBeGreaterThan(5);
    expect(ttl).toBeLessThanOrEqual(10);

    expect(await r.call("SET", "foo", "baz", "EX", "100", "GET", "XX")).toBe("bar");
    expect(await r.call("GET", "foo")).toBe("baz");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(90);

    expect(await r.call("SET", "new", "v", "GET", "NX", "PX", "50000")).toBeNull();
    expect((await r.call("PTTL", "new")) as number).toBeGreaterThan(40000);

    expect(await r.call("SET", "foo", "qux", "KEEPTTL", "XX", "GET")).toBe("baz");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(90);
  });

  test("a failed NX/XX leaves value and TTL untouched", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("SET", "foo", "new", "NX", "EX", "5")).toBeNull();
    expect(await r.call("GET", "foo")).toBe("bar");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(90);
  });

  test("syntax errors", async () => {
    const bad: string[][] = [
      ["NX", "XX"],
      ["XX", "NX"],
      ["EX", "10", "PX", "100"],
      ["PX", "100", "EX", "10"],
      ["EX", "10", "EXAT", "2000000000"],
      ["EXAT", "2000000000", "PXAT", "2000000000000"],
      ["EX", "10", "KEEPTTL"],
      ["KEEPTTL", "EX", "10"],
      ["KEEPTTL", "PXAT", "2000000000000"],
      ["EX"],
      ["PX"],
      ["NX", "EX"],
      ["non-existing-option"],
      ["PERSIST"],
      ["GET", "KEEPTTL", "foo"],
    ];
    await r.call("SET", "foo", "old");
    for (const options of bad) {
      expect([options, await errorOf(r.call("SET", "foo", "bar", ...options))]).toEqual([options, SYNTAX]);
    }
    expect(await r.call("GET", "foo")).toBe("old");
  });

  test("repeating an option is allowed, as in Redis (the last expire wins)", async () => {
    expect(await r.call("SET", "foo", "1", "NX", "NX")).toBe("OK");
    expect(await r.call("SET", "foo", "2", "XX", "xx")).toBe("OK");
    expect(await r.call("SET", "foo", "3", "GET", "GET")).toBe("2");
    expect(await r.call("SET", "foo", "4", "EX", "100", "EX", "1000")).toBe("OK");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(990);
    expect(await r.call("SET", "foo", "5", "KEEPTTL", "KEEPTTL")).toBe("OK");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(990);
    expect(await r.call("SET", "foo", "6", "PX", "100000", "PX", "200000")).toBe("OK");
    expect((await r.call("PTTL", "foo")) as number).toBeGreaterThan(190000);
  });

  test("invalid expire times", async () => {
    await r.call("SET", "foo", "old");
    for (const [option, value] of [
      ["EX", "0"],
      ["EX", "-1"],
      ["PX", "0"],
      ["PX", "-100"],
      ["EXAT", "0"],
      ["PXAT", "-5"],
      ["EX", "-9999999999999999"],
      // Would overflow int64 once converted to ms (Redis: > LLONG_MAX / 1000).
      ["EX", "10000000000000000"],
      ["EXAT", "9223372036854776"],
      // Overflows int64 when the current time is added.
      ["PX", "9223372036854775807"],
      ["EX", "9223372036854775"],
    ] as const) {
      expect([option, value, await errorOf(r.call("SET", "foo", "bar", option, value))]).toEqual([option, value, invalidExpire("set")]);
    }
    for (const value of ["abc", "1.5", "", " 10", "9223372036854775808"]) {
      expect([value, await errorOf(r.call("SET", "foo", "bar", "EX", value))]).toEqual([value, NOT_INTEGER]);
    }
    // The expire is checked before NX/XX and GET.
    expect(await errorOf(r.call("SET", "foo", "bar", "NX", "GET", "EX", "0"))).toBe(invalidExpire("set"));
    expect(await r.call("GET", "foo")).toBe("old");
    expect(await r.call("TTL", "foo")).toBe(-1);
  });

  test("large but valid expire times are accepted", async () => {
    // Absolute times up to LLONG_MAX are valid (nothing is added to them).
    expect(await r.call("SET", "foo", "bar", "PXAT", "9223372036854775807")).toBe("OK");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(1e15);
    expect(await r.call("SET", "foo", "bar", "EXAT", "9223372036854775")).toBe("OK");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(1e15);
    // Beyond 2^53 ms but far from overflowing.
    expect(await r.call("SET", "foo", "bar", "PX", "9007199254740993")).toBe("OK");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(9e12);
    expect(await r.call("GET", "foo")).toBe("bar");
  });

  test("an EXAT/PXAT in the past stores nothing", async () => {
    await r.call("SET", "foo", "old");
    expect(await r.call("SET", "foo", "bar", "EXAT", "1")).toBe("OK");
    expect(await r.call("GET", "foo")).toBeNull();
    expect(await r.call("EXISTS", "foo")).toBe(0);
    expect(await r.call("DBSIZE")).toBe(0);

    await r.call("SET", "foo", "old");
    expect(await r.call("SET", "foo", "bar", "PXAT", String(Date.now() - 1000), "GET")).toBe("old");
    expect(await r.call("EXISTS", "foo")).toBe(0);

    expect(await r.call("SET", "foo", "bar", "EXAT", String(nowSeconds() - 10), "NX")).toBe("OK");
    expect(await r.call("EXISTS", "foo")).toBe(0);
  });

  test("the seed's SET key value <seconds> sets a TTL", async () => {
    expect(await r.call("SET", "k", "v", "20")).toBe("OK");
    expect(await r.call("GET", "k")).toBe("v");
    const ttl = (await r.call("TTL", "k")) as number;
    expect(ttl).toBeGreaterThanOrEqual(18);
    expect(ttl).toBeLessThanOrEqual(20);
    // The same in the seed's text protocol.
    const raw = await RawClient.connect(server.port);
    try {
      expect(await raw.command("SET seed hello 20")).toBe("OK");
      expect(await raw.command("GET seed")).toBe("hello");
      const t = Number(await raw.command("TTL seed"));
      expect(t).toBeGreaterThanOrEqual(18);
      expect(t).toBeLessThanOrEqual(20);
    } finally {
      raw.close();
    }
  });

  test("an expired key is gone", async () => {
    await r.call("SET", "foo", "bar", "PX", "50");
    await Bun.sleep(120);
    expect(await r.call("GET", "foo")).toBeNull();
    expect(await r.call("EXISTS", "foo")).toBe(0);
    expect(await r.call("SET", "foo", "again", "NX")).toBe("OK");
  });
});

describe("GETDEL, GETEX, GETSET, SETNX", () => {
  test("GETDEL returns and deletes", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("GETDEL", "foo")).toBe("bar");
    expect(await r.call("GETDEL", "foo")).toBeNull();
    expect(await r.call("EXISTS", "foo")).toBe(0);
    expect(await r.call("TTL", "foo")).toBe(-2);
  });

  test("GETEX without options is GET and keeps the TTL", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("GETEX", "foo")).toBe("bar");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(90);
    expect(await r.call("GETEX", "missing")).toBeNull();
  });

  test("GETEX EX / PX / EXAT / PXAT / PERSIST", async () => {
    await r.call("SET", "foo", "bar");
    expect(await r.call("GETEX", "foo", "EX", "10")).toBe("bar");
    let ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBeGreaterThanOrEqual(5);
    expect(ttl).toBeLessThanOrEqual(10);

    expect(await r.call("GETEX", "foo", "px", "20000")).toBe("bar");
    const pttl = (await r.call("PTTL", "foo")) as number;
    expect(pttl).toBeGreaterThan(15000);
    expect(pttl).toBeLessThanOrEqual(20000);

    const at = nowSeconds() + 30;
    expect(await r.call("GETEX", "foo", "EXAT", String(at))).toBe("bar");
    expect(await r.call("EXPIRETIME", "foo")).toBe(at);

    const atMs = Date.now() + 40_000;
    expect(await r.call("GETEX", "foo", "PXAT", String(atMs))).toBe("bar");
    expect(await r.call("PEXPIRETIME", "foo")).toBe(atMs);

    expect(await r.call("GETEX", "foo", "PERSIST")).toBe("bar");
    expect(await r.call("TTL", "foo")).toBe(-1);
    ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBe(-1);
  });

  test("GETEX with a past EXAT/PXAT returns the value and deletes the key", async () => {
    await r.call("SET", "foo", "bar");
    expect(await r.call("GETEX", "foo", "EXAT", "1")).toBe("bar");
    expect(await r.call("EXISTS", "foo")).toBe(0);
    await r.call("SET", "foo", "bar");
    expect(await r.call("GETEX", "foo", "PXAT", String(Date.now() - 1))).toBe("bar");
    expect(await r.call("GET", "foo")).toBeNull();
  });

  test("GETEX on a missing key leaves it missing", async () => {
    expect(await r.call("GETEX", "nokey", "EX", "100")).toBeNull();
    expect(await r.call("GETEX", "nokey", "PERSIST")).toBeNull();
    expect(await r.call("EXISTS", "nokey")).toBe(0);
  });

  test("GETEX syntax errors", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    for (const options of [
      ["non-existent-option"],
      ["EX"],
      ["EX", "10", "PX", "100"],
      ["EX", "10", "PERSIST"],
      ["PERSIST", "EX", "10"],
      ["PXAT", "2000000000000", "EXAT", "2000000000"],
      ["KEEPTTL"],
      ["NX"],
      ["GET"],
      ["PERSIST", "foo"],
    ]) {
      expect([options, await errorOf(r.call("GETEX", "foo", ...options))]).toEqual([options, SYNTAX]);
    }
    // Syntax is checked before the key is looked up.
    expect(await errorOf(r.call("GETEX", "nokey", "bogus"))).toBe(SYNTAX);
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(90);
  });

  test("GETEX accepts a repeated option, as in Redis", async () => {
    await r.call("SET", "foo", "bar");
    expect(await r.call("GETEX", "foo", "EX", "100", "EX", "1000")).toBe("bar");
    expect((await r.call("TTL", "foo")) as number).toBeGreaterThan(990);
    expect(await r.call("GETEX", "foo", "PERSIST", "PERSIST")).toBe("bar");
    expect(await r.call("TTL", "foo")).toBe(-1);
  });

  test("GETEX invalid expire times", async () => {
    await r.call("SET", "foo", "bar");
    for (const [option, value] of [
      ["EX", "0"],
      ["EX", "-1"],
      ["PX", "0"],
      ["EXAT", "-1"],
      ["PXAT", "0"],
      ["EX", "10000000000000000"],
      ["EX", "-9999999999999999"],
    ] as const) {
      expect([option, value, await errorOf(r.call("GETEX", "foo", option, value))]).toEqual([option, value, invalidExpire("getex")]);
    }
    expect(await errorOf(r.call("GETEX", "foo", "EX", "ten"))).toBe(NOT_INTEGER);
    expect(await r.call("TTL", "foo")).toBe(-1);
    // Redis looks the key up before validating the time: a missing key is just nil.
    expect(await r.call("GETEX", "nokey", "EX", "0")).toBeNull();
    expect(await r.call("GETEX", "nokey", "PX", "abc")).toBeNull();
  });

  test("GETSET returns the old value and removes the TTL", async () => {
    expect(await r.call("GETSET", "foo", "xyz")).toBeNull();
    expect(await r.call("GET", "foo")).toBe("xyz");
    await r.call("SET", "foo", "bar", "EX", "100");
    expect(await r.call("GETSET", "foo", "xyz")).toBe("bar");
    expect(await r.call("GET", "foo")).toBe("xyz");
    expect(await r.call("TTL", "foo")).toBe(-1);
  });

  test("SETNX", async () => {
    expect(await r.call("SETNX", "novar", "foobared")).toBe(1);
    expect(await r.call("GET", "novar")).toBe("foobared");
    expect(await r.call("SETNX", "novar", "blabla")).toBe(0);
    expect(await r.call("GET", "novar")).toBe("foobared");
  });

  test("SETNX against a volatile key, expired and not", async () => {
    await r.call("SET", "x", "10");
    await r.call("EXPIRE", "x", "10000");
    expect(await r.call("SETNX", "x", "20")).toBe(0);
    expect(await r.call("GET", "x")).toBe("10");
    await r.call("SET", "y", "10", "PX", "30");
    await Bun.sleep(100);
    expect(await r.call("SETNX", "y", "20")).toBe(1);
    expect(await r.call("GET", "y")).toBe("20");
    expect(await r.call("TTL", "y")).toBe(-1);
  });
});

describe("SETEX and PSETEX", () => {
  test("set the value and a TTL, replacing both", async () => {
    expect(await r.call("SETEX", "x", "12", "test")).toBe("OK");
    expect(await r.call("GET", "x")).toBe("test");
    const ttl = (await r.call("TTL", "x")) as number;
    expect(ttl).toBeGreaterThanOrEqual(10);
    expect(ttl).toBeLessThanOrEqual(12);
    expect(await r.call("PSETEX", "x", "100000", "other")).toBe("OK");
    expect(await r.call("GET", "x")).toBe("other");
    const pttl = (await r.call("PTTL", "x")) as number;
    expect(pttl).toBeGreaterThan(90000);
    expect(pttl).toBeLessThanOrEqual(100000);
  });

  test("sub-second PSETEX expires", async () => {
    await r.call("PSETEX", "x", "50", "somevalue");
    expect(await r.call("GET", "x")).toBe("somevalue");
    await Bun.sleep(120);
    expect(await r.call("GET", "x")).toBeNull();
  });

  test("invalid expire times", async () => {
    await r.call("SET", "z", "keep");
    for (const value of ["0", "-10", "10000000000000000"]) {
      expect(await errorOf(r.call("SETEX", "z", value, "foo"))).toBe(invalidExpire("setex"));
    }
    for (const value of ["0", "-10", "9223372036854775807"]) {
      expect(await errorOf(r.call("PSETEX", "z", value, "foo"))).toBe(invalidExpire("psetex"));
    }
    expect(await errorOf(r.call("SETEX", "z", "ten", "foo"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("PSETEX", "z", "1.5", "foo"))).toBe(NOT_INTEGER);
    expect(await r.call("GET", "z")).toBe("keep");
    expect(await r.call("TTL", "z")).toBe(-1);
  });
});

describe("MGET, MSET, MSETNX", () => {
  test("MGET returns nil for missing keys", async () => {
    await r.call("SET", "foo", "BAR");
    await r.call("SET", "bar", "FOO");
    expect(await r.call("MGET", "foo", "bar")).toEqual(["BAR", "FOO"]);
    expect(await r.call("MGET", "foo", "baazz", "bar")).toEqual(["BAR", null, "FOO"]);
    expect(await r.call("MGET", "nope")).toEqual([null]);
  });

  test("MSET sets every pair, the last of a repeated key wins, TTLs are cleared", async () => {
    await r.call("SET", "x", "old", "EX", "100");
    expect(await r.call("MSET", "x", "10", "y", "foo bar", "z", "x x x x x x x\n\n\r\n")).toBe("OK");
    expect(await r.call("MGET", "x", "y", "z")).toEqual(["10", "foo bar", "x x x x x x x\n\n\r\n"]);
    expect(await r.call("TTL", "x")).toBe(-1);
    expect(await r.call("MSET", "x", "xxx", "x", "yyy")).toBe("OK");
    expect(await r.call("GET", "x")).toBe("yyy");
  });

  test("MSET / MSETNX with an odd number of arguments", async () => {
    expect(await errorOf(r.call("MSET", "x", "10", "y", "foo bar", "z"))).toBe(arity("mset"));
    expect(await errorOf(r.call("MSETNX", "x", "20", "y", "foo bar", "z"))).toBe(arity("msetnx"));
    expect(await errorOf(r.call("MSET", "x"))).toBe(arity("mset"));
    expect(await errorOf(r.call("MSETNX", "x"))).toBe(arity("msetnx"));
    expect(await r.call("DBSIZE")).toBe(0);
  });

  test("MSETNX is all or nothing", async () => {
    await r.call("SET", "x", "x");
    expect(await r.call("MSETNX", "x1", "xxx", "y2", "yyy", "x", "20")).toBe(0);
    expect(await r.call("EXISTS", "x1", "y2")).toBe(0);
    expect(await r.call("GET", "x")).toBe("x");
    expect(await r.call("MSETNX", "x1", "xxx", "y2", "yyy")).toBe(1);
    expect(await r.call("MGET", "x1", "y2")).toEqual(["xxx", "yyy"]);
    await r.call("DEL", "x1");
    expect(await r.call("MSETNX", "x1", "xxx", "x1", "yyy")).toBe(1);
    expect(await r.call("GET", "x1")).toBe("yyy");
    expect(await r.call("MSETNX", "x1", "aaa", "x1", "zzz")).toBe(0);
    expect(await r.call("GET", "x1")).toBe("yyy");
  });
});

describe("APPEND and STRLEN", () => {
  test("APPEND creates and extends, and returns the new length", async () => {
    expect(await r.call("APPEND", "foo", "bar")).toBe(3);
    expect(await r.call("APPEND", "foo", "100")).toBe(6);
    expect(await r.call("GET", "foo")).toBe("bar100");
    expect(await r.call("APPEND", "foo", "")).toBe(6);
    expect(await r.call("APPEND", "empty", "")).toBe(0);
    expect(await r.call("EXISTS", "empty")).toBe(1);
    await r.call("SET", "n", "1");
    expect(await r.call("APPEND", "n", "2")).toBe(2);
    expect(await r.call("GET", "n")).toBe("12");
  });

  test("APPEND keeps the TTL", async () => {
    await r.call("SET", "foo", "bar", "EX", "100");
    await r.call("APPEND", "foo", "baz");
    expect(await r.call("GET", "foo")).toBe("barbaz");
    const ttl = (await r.call("TTL", "foo")) as number;
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
  });

  test("STRLEN", async () => {
    expect(await r.call("STRLEN", "notakey")).toBe(0);
    await r.call("SET", "myinteger", "-555");
    expect(await r.call("STRLEN", "myinteger")).toBe(4);
    await r.call("SET", "mystring", "foozzz0123456789 baz");
    expect(await r.call("STRLEN", "mystring")).toBe(20);
    await r.set("utf8", "héllo wörld");
    expect(await r.call("STRLEN", "utf8")).toBe(Buffer.byteLength("héllo wörld"));
  });
});

describe("GETRANGE and SETRANGE", () => {
  test("GETRANGE against a missing key", async () => {
    expect(await r.call("GETRANGE", "mykey", "0", "-1")).toBe("");
    expect(await r.call("GETRANGE", "mykey", "5", "10")).toBe("");
  });

  test("GETRANGE against a string value", async () => {
    await r.call("SET", "mykey", "Hello World");
    const cases: [string, string, string][] = [
      ["0", "3", "Hell"],
      ["0", "-1", "Hello World"],
      ["-4", "-1", "orld"],
      ["5", "3", ""],
      ["5", "5000", " World"],
      ["-5000", "10000", "Hello World"],
      ["0", "-100", "H"],
      ["1", "-100", ""],
      ["-1", "-100", ""],
      ["-100", "-99", "H"],
      ["-100", "-100", "H"],
      ["-100", "-101", ""],
      ["11", "20", ""],
      ["10", "10", "d"],
    ];
    for (const [start, end, expected] of cases) {
      expect([start, end, await r.call("GETRANGE", "mykey", start, end)]).toEqual([start, end, expected]);
    }
  });

  test("GETRANGE against an integer value and with huge ranges", async () => {
    await r.call("SET", "mykey", "1234");
    expect(await r.call("GETRANGE", "mykey", "0", "2")).toBe("123");
    expect(await r.call("GETRANGE", "mykey", "-3", "-1")).toBe("234");
    expect(await r.call("GETRANGE", "mykey", "3", "5000")).toBe("4");
    await r.call("SET", "foo", "bar");
    expect(await r.call("GETRANGE", "foo", "0", "4294967297")).toBe("bar");
    expect(await r.call("GETRANGE", "foo", "-9223372036854775808", "9223372036854775807")).toBe("bar");
    await r.call("SET", "empty", "");
    expect(await r.call("GETRANGE", "empty", "0", "-1")).toBe("");
  });

  test("GETRANGE with non-integer indexes", async () => {
    await r.call("SET", "foo", "bar");
    expect(await errorOf(r.call("GETRANGE", "foo", "a", "1"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("GETRANGE", "foo", "0", "1.5"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("GETRANGE", "foo", "0", "9223372036854775808"))).toBe(NOT_INTEGER);
  });

  test("SETRANGE against a missing key", async () => {
    expect(await r.call("SETRANGE", "mykey", "0", "foo")).toBe(3);
    expect(await r.call("GET", "mykey")).toBe("foo");
    await r.call("DEL", "mykey");
    expect(await r.call("SETRANGE", "mykey", "0", "")).toBe(0);
    expect(await r.call("EXISTS", "mykey")).toBe(0);
    expect(await r.call("SETRANGE", "mykey", "5", "")).toBe(0);
    expect(await r.call("EXISTS", "mykey")).toBe(0);
    expect(await r.call("SETRANGE", "mykey", "1", "foo")).toBe(4);
    expect(await r.call("GET", "mykey")).toBe("\0foo");
  });

  test("SETRANGE against an existing string pads with zero bytes", async () => {
    await r.call("SET", "mykey", "foo");
    expect(await r.call("SETRANGE", "mykey", "0", "b")).toBe(3);
    expect(await r.call("GET", "mykey")).toBe("boo");
    await r.call("SET", "mykey", "foo");
    expect(await r.call("SETRANGE", "mykey", "0", "")).toBe(3);
    expect(await r.call("GET", "mykey")).toBe("foo");
    await r.call("SET", "mykey", "foo");
    expect(await r.call("SETRANGE", "mykey", "1", "b")).toBe(3);
    expect(await r.call("GET", "mykey")).toBe("fbo");
    await r.call("SET", "mykey", "foo");
    expect(await r.call("SETRANGE", "mykey", "4", "bar")).toBe(7);
    expect(await r.call("GET", "mykey")).toBe("foo\0bar");
    await r.call("SET", "mykey", "1234");
    expect(await r.call("SETRANGE", "mykey", "5", "2")).toBe(6);
    expect(await r.call("GET", "mykey")).toBe("1234\x002");
    const bytes = await r.getBuffer("mykey");
    expect([...bytes!]).toEqual([0x31, 0x32, 0x33, 0x34, 0, 0x32]);
  });

  test("SETRANGE keeps the TTL", async () => {
    await r.call("SET", "mykey", "hello", "EX", "100");
    expect(await r.call("SETRANGE", "mykey", "0", "J")).toBe(5);
    expect(await r.call("GET", "mykey")).toBe("Jello");
    expect((await r.call("TTL", "mykey")) as number).toBeGreaterThan(90);
  });

  test("SETRANGE offset errors", async () => {
    expect(await errorOf(r.call("SETRANGE", "mykey", String(512 * 1024 * 1024 - 4), "world"))).toBe(
      "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
    );
    expect(await r.call("EXISTS", "mykey")).toBe(0);
    await r.call("SET", "mykey", "hello");
    expect(await errorOf(r.call("SETRANGE", "mykey", "-1", "world"))).toBe("ERR offset is out of range");
    expect(await errorOf(r.call("SETRANGE", "mykey", String(512 * 1024 * 1024 - 4), "world"))).toBe(
      "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
    );
    expect(await errorOf(r.call("SETRANGE", "mykey", "9223372036854775807", "A"))).toBe(
      "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
    );
    expect(await errorOf(r.call("SETRANGE", "mykey", "abc", "A"))).toBe(NOT_INTEGER);
    expect(await r.call("GET", "mykey")).toBe("hello");
  });
});

describe("INCR, DECR, INCRBY, DECRBY", () => {
  test("INCR against a missing key, its own key, and a SET value", async () => {
    expect(await r.call("INCR", "novar")).toBe(1);
    expect(await r.call("GET", "novar")).toBe("1");
    expect(await r.call("INCR", "novar")).toBe(2);
    await r.call("SET", "novar", "100");
    expect(await r.call("INCR", "novar")).toBe(101);
    expect(await r.call("DECR", "novar")).toBe(100);
    expect(await r.call("DECR", "fresh")).toBe(-1);
    expect(await r.call("DECRBY", "fresh", "10")).toBe(-11);
    expect(await r.call("INCRBY", "fresh", "-4")).toBe(-15);
    expect(await r.call("GET", "fresh")).toBe("-15");
  });

  test("values over 32 bits", async () => {
    await r.call("SET", "novar", "17179869184");
    expect(await r.call("INCR", "novar")).toBe(17179869185);
    await r.call("SET", "novar", "17179869184");
    expect(await r.call("INCRBY", "novar", "17179869184")).toBe(34359738368);
    await r.call("SET", "novar", "17179869184");
    expect(await r.call("DECRBY", "novar", "17179869185")).toBe(-1);
  });

  test("values that are not canonical integers are refused", async () => {
    for (const value of ["    11", "11    ", "    11    ", "abc", "1.5", "", "01", "+1", "-0", "1e3", "0x10", "99999999999999999999"]) {
      await r.call("SET", "novar", value);
      expect([value, await errorOf(r.call("INCR", "novar"))]).toEqual([value, NOT_INTEGER]);
      expect(await r.call("GET", "novar")).toBe(value);
    }
    await r.call("SET", "n", "5");
    for (const delta of ["abc", "1.0", " 1", "9223372036854775808", "-9223372036854775809", ""]) {
      expect([delta, await errorOf(r.call("INCRBY", "n", delta))]).toEqual([delta, NOT_INTEGER]);
      expect([delta, await errorOf(r.call("DECRBY", "n", delta))]).toEqual([delta, NOT_INTEGER]);
    }
    expect(await r.call("GET", "n")).toBe("5");
  });

  test("int64 overflow", async () => {
    await r.call("SET", "big", "9223372036854775807");
    expect(await errorOf(r.call("INCR", "big"))).toBe("ERR increment or decrement would overflow");
    expect(await errorOf(r.call("INCRBY", "big", "1"))).toBe("ERR increment or decrement would overflow");
    expect(await errorOf(r.call("DECRBY", "big", "-1"))).toBe("ERR increment or decrement would overflow");
    expect(await exact.call("GET", "big")).toBe("9223372036854775807");
    await r.call("SET", "small", "-9223372036854775808");
    expect(await errorOf(r.call("DECR", "small"))).toBe("ERR increment or decrement would overflow");
    expect(await errorOf(r.call("INCRBY", "small", "-1"))).toBe("ERR increment or decrement would overflow");
    await r.call("SET", "one", "1");
    expect(await errorOf(r.call("INCRBY", "one", "9223372036854775807"))).toBe("ERR increment or decrement would overflow");
    // Negating LLONG_MIN has its own message.
    await r.call("SET", "x", "0");
    expect(await errorOf(r.call("DECRBY", "x", "-9223372036854775808"))).toBe("ERR decrement would overflow");
    expect(await r.call("GET", "x")).toBe("0");
  });

  test("values beyond 2^53 are exact", async () => {
    await r.call("SET", "n", "9007199254740992");
    expect(await exact.call("INCR", "n")).toBe("9007199254740993");
    expect(await exact.call("INCR", "n")).toBe("9007199254740994");
    expect(await exact.call("GET", "n")).toBe("9007199254740994");
    expect(await exact.call("INCRBY", "m", "9223372036854775806")).toBe("9223372036854775806");
    expect(await exact.call("INCR", "m")).toBe("9223372036854775807");
    expect(await exact.call("DECRBY", "m", "9223372036854775807")).toBe("0");
    expect(await exact.call("DECRBY", "m", "9223372036854775807")).toBe("-9223372036854775807");
    expect(await exact.call("DECR", "m")).toBe("-9223372036854775808");
    expect(await exact.call("GET", "m")).toBe("-9223372036854775808");
    expect(await exact.call("INCRBY", "m", "9223372036854775807")).toBe("-1");
    await r.call("SET", "p", "-9007199254740993");
    expect(await exact.call("DECR", "p")).toBe("-9007199254740994");
    expect(await exact.call("INCRBY", "p", "18014398509481988")).toBe("9007199254740994");
  });

  test("INCR and friends keep the TTL", async () => {
    await r.call("SET", "n", "1", "EX", "100");
    await r.call("INCR", "n");
    await r.call("DECRBY", "n", "5");
    expect(await r.call("GET", "n")).toBe("-3");
    const ttl = (await r.call("TTL", "n")) as number;
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
  });
});

describe("INCRBYFLOAT", () => {
  test("against a missing key and a SET value", async () => {
    expect(await r.call("INCRBYFLOAT", "novar", "1")).toBe("1");
    expect(await r.call("GET", "novar")).toBe("1");
    expect(await r.call("INCRBYFLOAT", "novar", "0.25")).toBe("1.25");
    expect(await r.call("GET", "novar")).toBe("1.25");
    await r.call("SET", "novar", "1.5");
    expect(await r.call("INCRBYFLOAT", "novar", "1.5")).toBe("3");
    expect(await r.call("INCRBYFLOAT", "fresh", "10.5")).toBe("10.5");
  });

  test("formats like Redis (%.17Lf, trailing zeros dropped, no exponent)", async () => {
    const cases: [string, string, string][] = [
      ["10.50", "0.1", "10.6"],
      ["5.0e3", "2.0e2", "5200"],
      ["5.0e3", "0", "5000"],
      ["0.1", "0.2", "0.3"],
      ["1", "-1.1", "-0.1"],
      ["3.0", "1.1", "4.1"],
      ["17179869184", "1.5", "17179869185.5"],
      ["17179869184", "17179869184", "34359738368"],
      ["1", "1e-20", "1"],
      ["0", "3e-5", "0.00003"],
      ["1.5", "-1.5", "0"],
      ["-1", "0.5", "-0.5"],
      // A long double holds 1e17 + 1 exactly (a double would not); 1e20 + 1 it cannot.
      ["1e17", "1", "100000000000000001"],
      ["1e20", "1", "100000000000000000000"],
      ["1", "+2", "3"],
      ["inf", "-1", "inf"],
    ];
    for (const [start, delta, expected] of cases) {
      await r.call("SET", "f", start);
      if (expected === "inf") {
        expect(await errorOf(r.call("INCRBYFLOAT", "f", delta))).toBe("ERR increment would produce NaN or Infinity");
        continue;
      }
      expect([start, delta, await r.call("INCRBYFLOAT", "f", delta)]).toEqual([start, delta, expected]);
      expect(await r.call("GET", "f")).toBe(expected);
    }
  });

  test("no negative zero", async () => {
    await r.call("INCRBYFLOAT", "foo", String(1 / 41));
    expect(await r.call("INCRBYFLOAT", "foo", String(-1 / 41))).toBe("0");
    expect(await r.call("GET", "foo")).toBe("0");
    await r.call("SET", "z", "-0");
    expect(await r.call("INCRBYFLOAT", "z", "0")).toBe("0");
  });

  test("errors on values and increments that are not floats", async () => {
    for (const value of ["    11", "11    ", " 11 ", "abc", "1.2.3", "nan", "0x10", ""]) {
      await r.call("SET", "novar", value);
      expect([value, await errorOf(r.call("INCRBYFLOAT", "novar", "1.0"))]).toEqual([value, NOT_FLOAT]);
      expect(await r.call("GET", "novar")).toBe(value);
    }
    await r.call("SET", "n", "1");
    for (const delta of ["abc", " 1", "1 ", "nan", "", "1,5"]) {
      expect([delta, await errorOf(r.call("INCRBYFLOAT", "n", delta))]).toEqual([delta, NOT_FLOAT]);
    }
    // A value with an embedded NUL (SETRANGE past the end) is not a float.
    await r.call("SET", "foo", "1");
    await r.call("SETRANGE", "foo", "2", "2");
    expect(await errorOf(r.call("INCRBYFLOAT", "foo", "1"))).toBe(NOT_FLOAT);
    expect(await r.call("GET", "n")).toBe("1");
  });

  test("NaN or Infinity are refused", async () => {
    await r.call("SET", "foo", "0");
    expect(await errorOf(r.call("INCRBYFLOAT", "foo", "+inf"))).toBe("ERR increment would produce NaN or Infinity");
    expect(await errorOf(r.call("INCRBYFLOAT", "foo", "-inf"))).toBe("ERR increment would produce NaN or Infinity");
    expect(await r.call("GET", "foo")).toBe("0");
  });

  test("keeps the TTL", async () => {
    await r.call("SET", "f", "1.5", "EX", "100");
    expect(await r.call("INCRBYFLOAT", "f", "1")).toBe("2.5");
    const ttl = (await r.call("TTL", "f")) as number;
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
  });
});

describe("binary safety and large values", () => {
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

  test("a value with all 256 byte values round-trips", async () => {
    expect(await r.set("bin", allBytes)).toBe("OK");
    const back = await r.getBuffer("bin");
    expect(back).not.toBeNull();
    expect(Buffer.compare(back!, allBytes)).toBe(0);
    expect(await r.call("STRLEN", "bin")).toBe(256);
    const range = await r.getrangeBuffer("bin", 250, -1);
    expect([...range]).toEqual([250, 251, 252, 253, 254, 255]);
    expect(await r.append("bin", Buffer.from([0, 255, 13, 10]))).toBe(260);
    const appended = await r.getBuffer("bin");
    expect(Buffer.compare(appended!, Buffer.concat([allBytes, Buffer.from([0, 255, 13, 10])]))).toBe(0);
  });

  test("binary keys, and values through MSET/MGET and GETSET", async () => {
    const key = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0d, 0x0a]);
    await r.set(key, allBytes);
    expect(Buffer.compare((await r.getBuffer(key))!, allBytes)).toBe(0);
    expect(await r.exists(key)).toBe(1);
    await r.mset(Buffer.from("a\0b"), Buffer.from([0xc3, 0x28]), "plain", allBytes);
    const [first, second] = await r.mgetBuffer(Buffer.from("a\0b"), "plain");
    expect([...first!]).toEqual([0xc3, 0x28]);
    expect(Buffer.compare(second!, allBytes)).toBe(0);
    const old = await r.getsetBuffer("plain", Buffer.from([0x80]));
    expect(Buffer.compare(old!, allBytes)).toBe(0);
    expect([...(await r.getBuffer("plain"))!]).toEqual([0x80]);
    // Invalid UTF-8 is counted in bytes.
    expect(await r.call("STRLEN", Buffer.from("a\0b"))).toBe(2);
  });

  test("a 5 MiB value round-trips", async () => {
    const size = 5 * 1024 * 1024;
    const big = Buffer.alloc(size);
    for (let i = 0; i < size; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
    expect(await r.set("big", big)).toBe("OK");
    expect(await r.call("STRLEN", "big")).toBe(size);
    const back = await r.getBuffer("big");
    expect(back!.length).toBe(size);
    expect(Buffer.compare(back!, big)).toBe(0);
    const tail = await r.getrangeBuffer("big", size - 3, -1);
    expect(Buffer.compare(tail, big.subarray(size - 3))).toBe(0);
    expect(await r.append("big", "xyz")).toBe(size + 3);
  });

  test("raw RESP: replies are byte exact", async () => {
    const raw = await RawClient.connect(server.port);
    try {
      raw.write(resp("SET", "rk", "a\r\nb") + resp("GET", "rk") + resp("GET", "nothing") + resp("SET", "rk", "x", "NX", "GET"));
      expect(await raw.lines(1)).toEqual(["+OK"]);
      expect(await raw.bytes(10)).toBe("$4\r\na\r\nb\r\n");
      expect(await raw.lines(1)).toEqual(["$-1"]);
      expect(await raw.bytes(10)).toBe("$4\r\na\r\nb\r\n");
      raw.write(resp("SET", "rk", "x", "XX", "NX"));
      expect(await raw.lines(1)).toEqual(["-ERR syntax error"]);
      raw.write(resp("INCR", "counter") + resp("INCRBYFLOAT", "fl", "1.5") + resp("SETEX", "e", "0", "v"));
      expect(await raw.lines(4)).toEqual([":1", "$3", "1.5", "-ERR invalid expire time in 'setex' command"]);
    } finally {
      raw.close();
    }
  });
});

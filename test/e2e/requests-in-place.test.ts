import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { aofBytes, aofCommands } from "../helpers/aof.ts";
import { RawClient, bulk, resp } from "../helpers/raw.ts";
import { makeDataDir, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * GET, SET, MGET, MSET, DEL and INCR/DECR/INCRBY/DECRBY run on requests where they arrived (the receive buffer), with
 * no argument strings, when a request is whole in one read; everything else
 * takes the strings path. These check that a user cannot tell the two apart:
 * replies, binary safety, the AOF (a plain SET, MSET or DEL is logged as the
 * request's own bytes), reload after kill -9, the stats, and rename-command.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = makeDataDir();
  dirs.push(dir);
  return dir;
}

const BINARY_KEY = "k\r\n\0\xff*1\r\n$3";
const BINARY_VALUE = "v\r\n$-1\r\n\0" + Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
const LARGE_VALUE = "x".repeat(70_000); // past the 64-byte copy loop and the 4 KiB arena bound

test("whole GET and SET requests: binary-safe replies, the request bytes in the AOF, the same after kill -9 and reload", async () => {
  const dir = dataDir();
  const server = await startServer(["--appendonly", "yes", "--appendfsync", "always"], { dir });
  const c = await RawClient.connect(server.port);
  const requests = [
    resp("SET", BINARY_KEY, BINARY_VALUE),
    resp("get", BINARY_KEY),
    resp("set", "a", "1"),
    resp("SET", "a", "a longer value than the first, in another size class"),
    resp("GET", "a"),
    resp("GET", "missing"),
    resp("SET", "empty", ""),
    resp("GET", "empty"),
    resp("SET", "large", LARGE_VALUE),
    resp("GET", "large"),
    resp("SET", "ttl", "v", "EX", "100"), // options: the strings path, logged as PXAT
    resp("GET", "a", "extra"), // arity: refused as ever
  ];
  const reply = (value: string) => `$${value.length}\r\n${value}\r\n`;
  const expected = [
    "+OK\r\n",
    reply(BINARY_VALUE),
    "+OK\r\n",
    "+OK\r\n",
    reply("a longer value than the first, in another size class"),
    "$-1\r\n",
    "+OK\r\n",
    "$0\r\n\r\n",
    "+OK\r\n",
    reply(LARGE_VALUE),
    "+OK\r\n",
    "-ERR wrong number of arguments for 'get' command\r\n",
  ].join("");
  c.write(Buffer.from(requests.join(""), "latin1"));
  expect(await c.bytes(expected.length)).toBe(expected);

  // Plain SETs are logged byte for byte as they arrived (the name's case included).
  const aof = aofBytes(dir).toString("latin1");
  expect(aof.startsWith(requests[0]! + requests[2]! + requests[3]! + requests[6]! + requests[8]!)).toBe(true);
  const records = aofCommands(aofBytes(dir));
  expect(records.length).toBe(6);
  expect(records[5]!.slice(0, 4)).toEqual(["SET", "ttl", "v", "PXAT"]);

  c.write(resp("INFO", "commandstats"));
  const stats = await c.waitFor((text) => text.includes("cmdstat_set"));
  expect(stats).toMatch(/cmdstat_get:calls=5,.*rejected_calls=1,/);
  expect(stats).toMatch(/cmdstat_set:calls=6,/);
  c.close();

  await server.kill("SIGKILL");
  const again = await startServer(["--appendonly", "yes"], { dir });
  const r = await RawClient.connect(again.port);
  r.write(Buffer.from(resp("GET", BINARY_KEY) + resp("GET", "a") + resp("GET", "large") + resp("GET", "empty") + resp("TTL", "ttl"), "latin1"));
  const reloaded = reply(BINARY_VALUE) + reply("a longer value than the first, in another size class") + reply(LARGE_VALUE) + "$0\r\n\r\n";
  expect(await r.bytes(reloaded.length)).toBe(reloaded);
  expect(Number((await r.lines(1))[0]!.slice(1))).toBeGreaterThan(90);
  r.close();
  await again.stop();
});

test("MSET, MGET and DEL on whole requests: up to the frame's 32 arguments and past them, logged as they arrived", async () => {
  const dir = dataDir();
  const server = await startServer(["--appendonly", "yes", "--appendfsync", "always"], { dir });
  const c = await RawClient.connect(server.port);
  const pairs = Array.from({ length: 10 }, (_, i) => [`m${i}\r\n`, `${BINARY_VALUE.slice(0, i * 20)}#${i}`]);
  const many = Array.from({ length: 20 }, (_, i) => [`n${i}`, `v${i}`]); // 41 arguments: the strings path
  const requests = [
    resp("MSET", ...pairs.flat()),
    resp("mget", "missing", ...pairs.map(([k]) => k!), "missing"),
    resp("MSET", ...many.flat()),
    resp("MSET", "a", "1", "b"), // arity: refused on either path
    resp("DEL", "m0\r\n", "m1\r\n", "missing", "n3"),
    resp("MGET", "m0\r\n", "m2\r\n", "n3", "n4"),
  ];
  const expected = [
    "+OK\r\n",
    `*12\r\n$-1\r\n${pairs.map(([, v]) => bulk(v!)).join("")}$-1\r\n`,
    "+OK\r\n",
    "-ERR wrong number of arguments for 'mset' command\r\n",
    ":3\r\n",
    `*4\r\n$-1\r\n${bulk(pairs[2]![1]!)}$-1\r\n${bulk("v4")}`,
  ].join("");
  c.write(Buffer.from(requests.join(""), "latin1"));
  expect(await c.bytes(expected.length)).toBe(expected);
  const aof = aofBytes(dir).toString("latin1");
  expect(aof).toBe(requests[0]! + requests[2]! + requests[4]!);
  c.close();

  await server.kill("SIGKILL");
  const again = await startServer(["--appendonly", "yes"], { dir });
  const r = await RawClient.connect(again.port);
  r.write(Buffer.from(requests[5]! + resp("DBSIZE"), "latin1"));
  expect(await r.bytes(expected.length - expected.indexOf("*4"))).toBe(expected.slice(expected.indexOf("*4")));
  expect(await r.lines(1)).toEqual([":27"]); // 30 keys set, 3 deleted
  r.close();
  await again.stop();
});

test("INCR, DECR, INCRBY and DECRBY on whole requests: Redis's replies at every edge, digits in place, TTL kept, logged as they arrived", async () => {
  const dir = dataDir();
  const server = await startServer(["--appendonly", "yes", "--appendfsync", "always"], { dir });
  const c = await RawClient.connect(server.port);
  const notInteger = "-ERR value is not an integer or out of range";
  // [request, reply]: the fast path (integers within 2^53, written in place)
  // and every case it hands to the general path must answer alike.
  const steps: [string, string][] = [
    [resp("INCR", "n"), ":1"],
    [resp("incrby", "n", "9"), ":10"], // one digit to two
    [resp("DECRBY", "n", "20"), ":-10"],
    [resp("DECR", "n"), ":-11"],
    [resp("INCRBY", "n", "11"), ":0"],
    [resp("DECRBY", "n", "-0"), notInteger], // "-0" is not an integer to string2ll
    [resp("INCRBY", "n", "abc"), notInteger],
    [resp("INCRBY", "n", "01"), notInteger],
    [resp("DECRBY", "n", "-9223372036854775808"), "-ERR decrement would overflow"],
    [resp("SET", "big", "9007199254740990"), "+OK"],
    [resp("INCRBY", "big", "1"), ":9007199254740991"], // the largest the fast path writes
    [resp("INCR", "big"), ":9007199254740992"], // past 2^53: int64 arithmetic
    [resp("INCR", "big"), ":9007199254740993"],
    [resp("DECR", "big"), ":9007199254740992"],
    [resp("SET", "max", "9223372036854775807"), "+OK"],
    [resp("INCR", "max"), "-ERR increment or decrement would overflow"],
    [resp("INCRBY", "fresh", "9223372036854775807"), ":9223372036854775807"],
    [resp("SET", "s", "abc"), "+OK"],
    [resp("INCR", "s"), notInteger],
    [resp("SET", "z", "-0"), "+OK"],
    [resp("INCR", "z"), notInteger],
    [resp("SET", "lead", "01"), "+OK"],
    [resp("INCR", "lead"), notInteger],
    [resp("SET", "space", " 1"), "+OK"],
    [resp("DECR", "space"), notInteger],
    [resp("SET", "g", "999999999999999"), "+OK"], // key + value: 16 bytes, one arena block
    [resp("INCR", "g"), ":1000000000000000"], // 17 bytes: moves to a bigger block
    [resp("SET", "t", "5", "EX", "100"), "+OK"],
    [resp("INCR", "t"), ":6"],
    [resp("INCR", BINARY_KEY), ":1"],
    [resp("INCR", "n", "extra"), "-ERR wrong number of arguments for 'incr' command"],
  ];
  c.write(Buffer.from(steps.map(([request]) => request).join(""), "latin1"));
  expect(await c.lines(steps.length)).toEqual(steps.map(([, reply]) => reply));

  c.write(Buffer.from(resp("MGET", "n", "big", "g", "t", "s", BINARY_KEY) + resp("TTL", "t") + resp("INFO", "commandstats"), "latin1"));
  const values = ["0", "9007199254740992", "1000000000000000", "6", "abc", "1"];
  const expected = `*6\r\n${values.map((v) => `$${v.length}\r\n${v}\r\n`).join("")}`;
  expect(await c.bytes(expected.length)).toBe(expected);
  expect(Number((await c.lines(1))[0]!.slice(1))).toBeGreaterThan(90);
  const stats = await c.waitFor((text) => text.includes("cmdstat_incr:"));
  expect(stats).toMatch(/cmdstat_incr:calls=10,.*rejected_calls=1,failed_calls=4\r\n/);
  c.close();

  // Every change is logged as the request that made it, byte for byte (but
  // SET with EX, which the strings path logs as PXAT).
  const changes = steps.filter(([, reply]) => !reply.startsWith("-")).map(([request]) => request);
  const setWithTtl = changes.indexOf(resp("SET", "t", "5", "EX", "100"));
  const aof = aofBytes(dir).toString("latin1");
  expect(aof.startsWith(changes.slice(0, setWithTtl).join(""))).toBe(true);
  expect(aof.endsWith(changes.slice(setWithTtl + 1).join(""))).toBe(true);
  expect(aofCommands(aofBytes(dir)).length).toBe(changes.length);

  await server.kill("SIGKILL");
  const again = await startServer(["--appendonly", "yes"], { dir });
  const r = await RawClient.connect(again.port);
  r.write(Buffer.from(resp("MGET", "n", "big", "g", "t", "s", BINARY_KEY), "latin1"));
  expect(await r.bytes(expected.length)).toBe(expected);
  r.close();
  await again.stop();
});

test("a request split across reads gives the same reply as a whole one", async () => {
  const server = await startServer();
  const c = await RawClient.connect(server.port);
  const set = Buffer.from(resp("SET", BINARY_KEY, BINARY_VALUE), "latin1");
  for (const cut of [1, 5, 20, set.length - 1]) {
    c.write(set.subarray(0, cut));
    await Bun.sleep(20); // the first part is read on its own
    c.write(set.subarray(cut));
    expect(await c.lines(1)).toEqual(["+OK"]);
  }
  const get = Buffer.from(resp("GET", BINARY_KEY), "latin1");
  c.write(get.subarray(0, 10));
  await Bun.sleep(20);
  c.write(get.subarray(10));
  const expected = `$${BINARY_VALUE.length}\r\n${BINARY_VALUE}\r\n`;
  expect(await c.bytes(expected.length)).toBe(expected);
  c.close();
  await server.stop();
});

test("renamed GET and SET answer only to their new names, and the AOF logs the real name", async () => {
  const dir = dataDir();
  // SET takes a name that is another command's (freed by disabling it): its requests are logged as `set`, never as `flushall`.
  const renames = ["--rename-command", "FLUSHALL", "", "--rename-command", "SET", "flushall", "--rename-command", "GET", "fetch"];
  const server = await startServer(["--appendonly", "yes", "--appendfsync", "always", ...renames], { dir });
  const c = await RawClient.connect(server.port);
  c.write(resp("SET", "k", "v") + resp("get", "k") + resp("flushall", "k", "v") + resp("fetch", "k"));
  const lines = await c.lines(5);
  expect(lines[0]).toStartWith("-ERR unknown command 'SET'");
  expect(lines[1]).toStartWith("-ERR unknown command 'get'");
  expect(lines.slice(2)).toEqual(["+OK", "$1", "v"]);
  expect(aofCommands(aofBytes(dir))).toEqual([["set", "k", "v"]]);
  c.close();
  await server.stop();
});

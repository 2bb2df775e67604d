import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import Redis from "ioredis";
import { createClient, RESP_TYPES } from "redis";
import { COMPAT_REDIS_VERSION } from "../../src/commands/info.ts";
import { ensureCommand } from "../helpers/debian.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Real client libraries against a real server: Bun's RedisClient (RESP3,
 * it starts with HELLO 3), ioredis (RESP2) and node-redis (RESP2 and 3,
 * it sends CLIENT SETINFO on connect), plus HELLO's protocol
 * switching and RESP3 types checked byte for byte on a raw socket.
 */

let server: RunningServer;
const bunClients: RedisClient[] = [];
const ioClients: Redis[] = [];
const rawClients: RawClient[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const c of bunClients) c.close();
  await Promise.all(ioClients.map((c) => c.quit().catch(() => c.disconnect())));
  for (const c of rawClients) c.close();
  await server.stop();
});

function bunClient(): RedisClient {
  const c = new RedisClient(`redis://127.0.0.1:${server.port}`, { autoReconnect: false });
  bunClients.push(c);
  return c;
}

async function ioClient(): Promise<Redis> {
  const c = new Redis({ host: "127.0.0.1", port: server.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on("error", () => {}); // surfaced through the rejected commands instead
  ioClients.push(c);
  await c.connect();
  return c;
}

async function raw(): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  rawClients.push(c);
  return c;
}

function bulk(s: string): string {
  return `$${s.length}\r\n${s}\r\n`;
}

const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i).concat([13, 10, 0, 13, 10]));

describe("Bun RedisClient (RESP3)", () => {
  test("negotiates RESP3 with HELLO 3", async () => {
    const c = bunClient();
    const info = String(await c.send("CLIENT", ["INFO"]));
    expect(info).toContain(" resp=3 ");
  });

  test("set / get / del / exists / mget through the helpers", async () => {
    const c = bunClient();
    expect(await c.set("bun:a", "alpha")).toBe("OK");
    expect(await c.get("bun:a")).toBe("alpha");
    expect(await c.get("bun:missing")).toBeNull();
    expect(await c.exists("bun:a")).toBe(true);
    expect(await c.exists("bun:missing")).toBe(false);
    expect(await c.set("bun:b", "beta")).toBe("OK");
    expect(await c.mget("bun:a", "bun:missing", "bun:b")).toEqual(["alpha", null, "beta"]);
    expect(await c.del("bun:a")).toBe(1);
    expect(await c.del("bun:a")).toBe(0);
    expect(await c.get("bun:a")).toBeNull();
  });

  test("incr / expire / ttl through the helpers", async () => {
    const c = bunClient();
    expect(await c.incr("bun:n")).toBe(1);
    expect(await c.incr("bun:n")).toBe(2);
    expect(await c.ttl("bun:n")).toBe(-1);
    expect(await c.expire("bun:n", 100)).toBe(1);
    const ttl = await c.ttl("bun:n");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await c.ttl("bun:nothing")).toBe(-2);
    expect(await c.expire("bun:nothing", 100)).toBe(0);
  });

  test("the same commands through send(cmd, args)", async () => {
    const c = bunClient();
    expect(await c.send("SET", ["bun:s", "v1"])).toBe("OK");
    expect(await c.send("GET", ["bun:s"])).toBe("v1");
    expect(await c.send("GET", ["bun:s:missing"])).toBeNull();
    expect(await c.send("EXISTS", ["bun:s", "bun:s", "bun:s:missing"])).toBe(2);
    expect(await c.send("INCR", ["bun:s:n"])).toBe(1);
    expect(await c.send("INCRBY", ["bun:s:n", "41"])).toBe(42);
    expect(await c.send("EXPIRE", ["bun:s:n", "50"])).toBe(1);
    const ttl = (await c.send("TTL", ["bun:s:n"])) as number;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(50);
    expect(await c.send("MGET", ["bun:s", "bun:s:missing", "bun:s:n"])).toEqual(["v1", null, "42"]);
    expect(await c.send("DEL", ["bun:s", "bun:s:n", "bun:s:missing"])).toBe(2);
    expect(await c.send("MGET", ["bun:s", "bun:s:n"])).toEqual([null, null]);
  });

  test("the seed's positional TTL (SET key value seconds)", async () => {
    const c = bunClient();
    expect(await c.send("SET", ["bun:value2", "10", "20"])).toBe("OK");
    expect(await c.get("bun:value2")).toBe("10");
    const ttl = await c.ttl("bun:value2");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(20);
  });

  test("errors reject with the server's message; the connection stays usable", async () => {
    const c = bunClient();
    await c.set("bun:text", "abc");
    await expect(c.incr("bun:text")).rejects.toThrow("ERR value is not an integer or out of range");
    await expect(c.send("NOSUCHCMD", [])).rejects.toThrow("ERR unknown command 'NOSUCHCMD'");
    expect(await c.get("bun:text")).toBe("abc");
  });

  test("binary values round-trip", async () => {
    const c = bunClient();
    expect(await c.set("bun:bin", BINARY)).toBe("OK");
    const back = await c.getBuffer("bun:bin");
    expect(back).not.toBeNull();
    expect(Buffer.compare(Buffer.from(back!), BINARY)).toBe(0);
    expect(await c.send("STRLEN", ["bun:bin"])).toBe(BINARY.length);
    // And a value with CR LF in it, through send().
    expect(await c.send("SET", ["bun:crlf", "line1\r\nline2\r\n"])).toBe("OK");
    expect(await c.get("bun:crlf")).toBe("line1\r\nline2\r\n");
  });

  test("HELLO through the client returns the map as an object", async () => {
    const c = bunClient();
    const hello = (await c.send("HELLO", ["3"])) as Record<string, unknown>;
    expect(hello).toMatchObject({ server: "redis", version: COMPAT_REDIS_VERSION, proto: 3, mode: "standalone", role: "master", modules: [] });
    expect(typeof hello.id).toBe("number");
    await expect(c.send("HELLO", ["4"])).rejects.toThrow("NOPROTO unsupported protocol version");
    expect(await c.ping()).toBe("PONG");
  });

  test("reads INFO (a RESP3 verbatim string) as text", async () => {
    const c = bunClient();
    const info = String(await c.send("INFO", []));
    expect(info.startsWith("# Server\r\n")).toBe(true);
    expect(info).not.toContain("txt:");
    expect(info).toContain(`redis_version:${COMPAT_REDIS_VERSION}\r\n`);
    const section = String(await c.send("INFO", ["server"]));
    expect(section).toContain("redis_mode:standalone");
    expect(section).not.toContain("# Keyspace");
  });

  test("many concurrent commands on one client resolve in order", async () => {
    const c = bunClient();
    const writes = Array.from({ length: 300 }, (_, i) => c.set(`bun:many:${i}`, String(i)));
    expect(new Set(await Promise.all(writes))).toEqual(new Set(["OK"]));
    const reads = await Promise.all(Array.from({ length: 300 }, (_, i) => c.get(`bun:many:${i}`)));
    expect(reads).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
  });
});

describe("ioredis (RESP2)", () => {
  test("speaks RESP2", async () => {
    const c = await ioClient();
    const info = String(await c.call("CLIENT", "INFO"));
    expect(info).toContain(" resp=2 ");
  });

  test("set / get / del / incr / expire / ttl / exists / mget", async () => {
    const c = await ioClient();
    expect(await c.set("io:a", "alpha")).toBe("OK");
    expect(await c.get("io:a")).toBe("alpha");
    expect(await c.get("io:missing")).toBeNull();
    expect(await c.exists("io:a", "io:missing")).toBe(1);
    expect(await c.incr("io:n")).toBe(1);
    expect(await c.incrby("io:n", 9)).toBe(10);
    expect(await c.ttl("io:n")).toBe(-1);
    expect(await c.expire("io:n", 60)).toBe(1);
    const ttl = await c.ttl("io:n");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await c.mget("io:a", "io:missing", "io:n")).toEqual(["alpha", null, "10"]);
    expect(await c.del("io:a", "io:n", "io:missing")).toBe(2);
    expect(await c.exists("io:a")).toBe(0);
    expect(await c.set("io:ex", "v", "EX", 30)).toBe("OK");
    expect(await c.set("io:ex", "w", "NX")).toBeNull();
  });

  test("errors reject with the server's message", async () => {
    const c = await ioClient();
    await c.set("io:text", "abc");
    await expect(c.incr("io:text")).rejects.toThrow("ERR value is not an integer or out of range");
    await expect(c.call("NOSUCHCMD")).rejects.toThrow("ERR unknown command 'NOSUCHCMD'");
    expect(await c.get("io:text")).toBe("abc");
  });

  test("binary values round-trip", async () => {
    const c = await ioClient();
    expect(await c.set(Buffer.from("io:bin\r\n\0"), BINARY)).toBe("OK");
    const back = await c.getBuffer(Buffer.from("io:bin\r\n\0"));
    expect(back).not.toBeNull();
    expect(Buffer.compare(back!, BINARY)).toBe(0);
    expect(await c.strlen(Buffer.from("io:bin\r\n\0"))).toBe(BINARY.length);
    expect(await c.exists("io:bin")).toBe(0);
  });

  test("a pipeline of 500 commands", async () => {
    const c = await ioClient();
    const p = c.pipeline();
    for (let i = 0; i < 200; i++) p.set(`io:pipe:${i}`, `v${i}`);
    for (let i = 0; i < 200; i++) p.get(`io:pipe:${i}`);
    for (let i = 0; i < 99; i++) p.incr("io:pipe:counter");
    p.mget("io:pipe:0", "io:pipe:199", "io:pipe:none");
    expect(p.length).toBe(500);
    const results = (await p.exec())!;
    expect(results.length).toBe(500);
    for (const [err] of results) expect(err).toBeNull();
    const values = results.map(([, v]) => v);
    expect(values.slice(0, 200)).toEqual(Array(200).fill("OK"));
    expect(values.slice(200, 400)).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
    expect(values.slice(400, 499)).toEqual(Array.from({ length: 99 }, (_, i) => i + 1));
    expect(values[499]).toEqual(["v0", "v199", null]);
  });

  test("HELLO 2 reply shape: the map as a flat array of 14", async () => {
    const c = await ioClient();
    const hello2 = (await c.call("HELLO", "2")) as unknown[];
    expect(hello2.length).toBe(14);
    expect(hello2.filter((_, i) => i % 2 === 0)).toEqual(["server", "version", "proto", "id", "mode", "role", "modules"]);
    expect(hello2.slice(0, 6)).toEqual(["server", "redis", "version", COMPAT_REDIS_VERSION, "proto", 2]);
    expect(typeof hello2[7]).toBe("number");
    expect(hello2.slice(8)).toEqual(["mode", "standalone", "role", "master", "modules", []]);
    expect(await c.call("HELLO", "4").catch((e: Error) => e.message)).toBe("NOPROTO unsupported protocol version");
    expect(await c.get("io:hello:missing")).toBeNull();
  });

  test("HELLO 3: ioredis 5's RESP2 parser rejects the %7 map, as against Redis, then reconnects in RESP2", async () => {
    // Default reconnection this time: ioredis drops the connection on a parser error and dials again.
    const c = new Redis({ host: "127.0.0.1", port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    const errors: Error[] = [];
    c.on("error", (e: Error) => errors.push(e));
    ioClients.push(c);
    await c.connect();
    const idBefore = await c.call("CLIENT", "ID");
    const err = (await c.call("HELLO", "3").then(
      () => null,
      (e: Error) => e,
    )) as Error | null;
    expect(err).not.toBeNull();
    expect(err!.message).toContain('Protocol error, got "%" as reply type byte');
    // The server answered with the map the parser could not read: the bytes were the RESP3 map.
    // redis-parser's ParserError keeps the unreadable input as JSON of a Buffer.
    const input = Buffer.from((JSON.parse((err as Error & { buffer: string }).buffer) as { data: number[] }).data).toString("latin1");
    expect(input.startsWith("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")).toBe(true);
    expect(input).toContain("$5\r\nproto\r\n:3\r\n");
    // The new connection is RESP2 again and works.
    expect(await c.set("io:hello3", "after")).toBe("OK");
    expect(await c.get("io:hello3")).toBe("after");
    expect(await c.get("io:hello3:missing")).toBeNull();
    const idAfter = await c.call("CLIENT", "ID");
    expect(idAfter).not.toBe(idBefore);
    expect(String(await c.call("CLIENT", "INFO"))).toContain(" resp=2 ");
  });
});

describe("node-redis", () => {
  for (const RESP of [2, 3] as const) {
    test(`RESP${RESP}: strings, TTLs, counters, binary values, pipelining, errors`, async () => {
      const client = createClient({ url: `redis://127.0.0.1:${server.port}`, RESP });
      client.on("error", () => {});
      await client.connect();
      try {
        expect(await client.set(`nr${RESP}`, "v", { EX: 100 })).toBe("OK");
        expect(await client.get(`nr${RESP}`)).toBe("v");
        expect(await client.ttl(`nr${RESP}`)).toBeGreaterThan(90);
        expect(await client.incrBy(`nr${RESP}:n`, 5)).toBe(5);
        expect(await client.get(`nr${RESP}:missing`)).toBeNull();
        const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        await client.set(`nr${RESP}:bin`, bytes);
        const back = await client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(`nr${RESP}:bin`);
        expect(Buffer.compare(back as Buffer, bytes)).toBe(0);
        const replies = await client.multi().set(`nr${RESP}:a`, "1").incr(`nr${RESP}:a`).get(`nr${RESP}:a`).execAsPipeline();
        expect(replies as unknown[]).toEqual(["OK", 2, "2"]);
        await expect(client.sendCommand(["NOSUCH"])).rejects.toThrow("ERR unknown command 'NOSUCH'");
        // It announced itself with CLIENT SETINFO when it connected.
        const me = String(await client.sendCommand(["CLIENT", "INFO"]));
        expect(me).toContain("lib-name=node-redis");
        expect(me).toContain(`resp=${RESP}`);
      } finally {
        await client.quit();
      }
    });
  }
});

describe("redis-benchmark", () => {
  test("its string tests run, PING_INLINE included, and leave what they wrote", async () => {
    const missing = ensureCommand("redis-benchmark", "redis-tools");
    if (missing !== null) {
      console.warn(`skipped: ${missing}`);
      return;
    }
    const requests = 2000;
    const run = Bun.spawn(
      ["redis-benchmark", "-p", String(server.port), "-n", String(requests), "-c", "10", "-q", "-t", "ping,set,get,incr,mset"],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [code, out, err] = await Promise.all([run.exited, new Response(run.stdout).text(), new Response(run.stderr).text()]);
    expect(err).toBe("");
    expect(code).toBe(0);
    // -q prints each test's final line after progress lines ended in \r.
    const finals = out.split(/[\r\n]/).filter((line) => line.includes("requests per second, p50="));
    expect(finals.map((line) => line.split(":")[0])).toEqual(["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]);
    const c = await ioClient();
    expect(await c.get("counter:__rand_int__")).toBe(String(requests));
    expect(await c.get("key:__rand_int__")).toBe("VXK"); // its 3-byte value
  });
});

describe("HELLO and RESP3 on a raw socket", () => {
  function helloMap(proto: 2 | 3, id: string): string {
    const header = proto === 3 ? "%7\r\n" : "*14\r\n";
    return (
      header +
      bulk("server") +
      bulk("redis") +
      bulk("version") +
      bulk(COMPAT_REDIS_VERSION) +
      bulk("proto") +
      `:${proto}\r\n` +
      bulk("id") +
      `:${id}\r\n` +
      bulk("mode") +
      bulk("standalone") +
      bulk("role") +
      bulk("master") +
      bulk("modules") +
      "*0\r\n"
    );
  }

  test("HELLO 3 returns a %7 map; then a missing key is _; HELLO 2 switches back to $-1", async () => {
    const c = await raw();
    c.write(resp("CLIENT", "ID"));
    const id = (await c.lines(1))[0]!.slice(1);
    expect(id).toMatch(/^\d+$/);

    c.write(resp("GET", "hello:missing"));
    expect(await c.bytes(5)).toBe("$-1\r\n");

    c.write(resp("HELLO", "3"));
    const map3 = helloMap(3, id);
    expect(await c.bytes(map3.length)).toBe(map3);
    c.write(resp("GET", "hello:missing"));
    expect(await c.bytes(3)).toBe("_\r\n");
    c.write(resp("MGET", "hello:missing", "hello:missing"));
    expect(await c.bytes("*2\r\n_\r\n_\r\n".length)).toBe("*2\r\n_\r\n_\r\n");

    c.write(resp("HELLO", "2"));
    const map2 = helloMap(2, id);
    expect(await c.bytes(map2.length)).toBe(map2);
    c.write(resp("GET", "hello:missing"));
    expect(await c.bytes(5)).toBe("$-1\r\n");
    expect(c.pending).toBe("");
  });

  test("HELLO with no version reports the current protocol and changes nothing", async () => {
    const c = await raw();
    c.write(resp("HELLO"));
    const first = await c.lines(1);
    expect(first).toEqual(["*14"]);
    await c.waitFor((r) => r.endsWith("$7\r\nmodules\r\n*0\r\n"));
    expect(c.pending).toContain("$5\r\nproto\r\n:2\r\n");
  });

  test("HELLO 4 is -NOPROTO and leaves the protocol alone", async () => {
    const c = await raw();
    c.write(resp("HELLO", "4"));
    expect(await c.lines(1)).toEqual(["-NOPROTO unsupported protocol version"]);
    c.write(resp("GET", "hello:missing"));
    expect(await c.bytes(5)).toBe("$-1\r\n");
    c.write(resp("HELLO", "3"));
    await c.waitFor((r) => r.endsWith("$7\r\nmodules\r\n*0\r\n"));
    expect(c.pending.startsWith("%7\r\n")).toBe(true);
    await c.bytes(c.pending.length);
    c.write(resp("HELLO", "4") + resp("GET", "hello:missing"));
    expect(await c.bytes("-NOPROTO unsupported protocol version\r\n_\r\n".length)).toBe("-NOPROTO unsupported protocol version\r\n_\r\n");
    c.write(resp("HELLO", "abc"));
    expect(await c.lines(1)).toEqual(["-ERR Protocol version is not an integer or out of range"]);
  });

  test("INFO is a verbatim string (=len\\r\\ntxt:...) in RESP3 and a bulk string in RESP2", async () => {
    const c = await raw();
    c.write(resp("INFO", "server"));
    const [bulkHeader] = await c.lines(1);
    expect(bulkHeader).toMatch(/^\$\d+$/);
    const bulkBody = await c.bytes(Number(bulkHeader!.slice(1)) + 2);
    expect(bulkBody.startsWith("# Server\r\n")).toBe(true);
    expect(bulkBody.endsWith("\r\n")).toBe(true);

    await c.resp3();

    c.write(resp("INFO", "server"));
    const [verbatimHeader] = await c.lines(1);
    expect(verbatimHeader).toMatch(/^=\d+$/);
    const length = Number(verbatimHeader!.slice(1));
    const body = await c.bytes(length + 2);
    expect(body.startsWith("txt:# Server\r\n")).toBe(true);
    expect(body.endsWith("\r\n")).toBe(true);
    expect(body).toContain(`redis_version:${COMPAT_REDIS_VERSION}\r\n`);
    // The declared length covers "txt:" and the text exactly.
    expect(body.length - 2).toBe(length);
    c.write(resp("PING"));
    expect(await c.bytes(7)).toBe("+PONG\r\n");
  });

  test("the protocol is per connection", async () => {
    const a = await raw();
    const b = await raw();
    await a.resp3();
    a.write(resp("GET", "hello:missing"));
    b.write(resp("GET", "hello:missing"));
    expect(await a.bytes(3)).toBe("_\r\n");
    expect(await b.bytes(5)).toBe("$-1\r\n");
  });

  test("inline requests still get text replies after HELLO 3", async () => {
    const c = await raw();
    await c.resp3();
    expect(await c.command("GET hello:missing")).toBe("(nil)");
    c.write(resp("GET", "hello:missing"));
    expect(await c.bytes(3)).toBe("_\r\n");
  });
});

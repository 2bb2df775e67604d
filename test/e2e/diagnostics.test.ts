import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { arity, errorOf } from "../helpers/replies.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * SLOWLOG, LATENCY and MONITOR against a real server, with Redis 7's reply
 * shapes and error texts (slowlog.c, latency.c, replication.c; Redis's
 * tests/unit/slowlog.tcl, latency-monitor.tcl, introspection.tcl).
 */

type SlowlogEntry = [id: number, time: number, us: number, args: string[], address: string, name: string];
type LatencyLatest = [event: string, time: number, latestMs: number, maxMs: number];

let server: RunningServer;
let r: Redis;
const clients: Redis[] = [];
const raws: RawClient[] = [];

function connect(port = server.port, options: Record<string, unknown> = {}): Redis {
  const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, ...options });
  clients.push(client);
  return client;
}

async function raw(port = server.port): Promise<RawClient> {
  const client = await RawClient.connect(port);
  raws.push(client);
  return client;
}

/** A field of CLIENT INFO, e.g. the client's `addr` as the server sees it. */
async function clientField(client: Redis, field: string): Promise<string> {
  const info = (await client.call("CLIENT", "INFO")) as string;
  return new RegExp(`(?:^| )${field}=(\\S*)`).exec(info)![1]!;
}

async function slowlog(client: Redis, ...args: string[]): Promise<SlowlogEntry[]> {
  return (await client.call("SLOWLOG", "GET", ...args)) as SlowlogEntry[];
}

async function latest(client: Redis = r): Promise<LatencyLatest[]> {
  return (await client.call("LATENCY", "LATEST")) as LatencyLatest[];
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

/** Reads lines from a monitoring RawClient until one contains `marker`; returns them all. */
async function linesUntil(mon: RawClient, marker: string): Promise<string[]> {
  const lines: string[] = [];
  while (!lines.some((line) => line.includes(marker))) lines.push(...(await mon.lines(1)));
  return lines;
}

/** Loads `n` keys (`prefix<i>` = `value`) in MSETs of 1000, pipelined. */
async function load(client: Redis, n: number, prefix = "key:", value = "v"): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < n; i += 1000) {
    const args: string[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) args.push(`${prefix}${j}`, value);
    pipeline.mset(...args);
  }
  await pipeline.exec();
}

beforeAll(async () => {
  server = await startServer();
  r = connect();
});

afterAll(async () => {
  for (const client of raws) client.close();
  for (const client of clients) client.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await r.call(
    "CONFIG", "SET",
    "slowlog-log-slower-than", "10000", "slowlog-max-len", "128", "latency-monitor-threshold", "0",
    "appendfsync", "everysec", "maxmemory", "0",
  );
  await r.call("FLUSHALL");
  await r.call("SLOWLOG", "RESET");
  await r.call("LATENCY", "RESET");
});

describe("SLOWLOG", () => {
  test("GET: id, unix time, µs, the arguments, the client's address and name, newest first", async () => {
    const writer = connect();
    await writer.call("CLIENT", "SETNAME", "diag-writer");
    const address = await clientField(writer, "addr");
    const before = Math.floor(Date.now() / 1000);
    await r.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    await writer.call("SET", "greeting", "hello world");
    const after = Math.ceil(Date.now() / 1000);
    const entries = await slowlog(r, "-1");
    // The CONFIG SET is logged too: the threshold is read after the command ran, as in Redis.
    expect(entries.map((e) => e[3])).toEqual([
      ["SET", "greeting", "hello world"],
      ["CONFIG", "SET", "slowlog-log-slower-than", "0"],
    ]);
    const [set, config] = entries;
    expect(set![0]).toBe(config![0] + 1);
    expect(set![4]).toBe(address);
    expect(set![5]).toBe("diag-writer");
    expect(config![4]).toBe(await clientField(r, "addr"));
    expect(config![5]).toBe("");
    for (const entry of entries) {
      expect(entry).toHaveLength(6);
      expect(entry[1]).toBeGreaterThanOrEqual(before);
      expect(entry[1]).toBeLessThanOrEqual(after);
      expect(Number.isInteger(entry[2])).toBe(true);
      expect(entry[2]).toBeGreaterThanOrEqual(0);
      expect(entry[2]).toBeLessThan(1_000_000);
    }
  });

  test("GET count (default 10, -1 all), LEN, RESET, HELP and Redis's errors", async () => {
    await r.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    for (let i = 0; i < 15; i++) await r.call("PING", String(i));
    expect(await r.call("SLOWLOG", "LEN")).toBe(16); // CONFIG SET and 15 PINGs
    const ten = await slowlog(r);
    expect(ten).toHaveLength(10);
    expect(ten[0]![3]).toEqual(["SLOWLOG", "LEN"]);
    expect(ten[1]![3]).toEqual(["PING", "14"]);
    expect(ten.map((e) => e[0])).toEqual([...ten.map((e) => e[0])].sort((a, b) => b - a));
    expect(await slowlog(r, "2")).toHaveLength(2);
    expect(await slowlog(r, "0")).toEqual([]);
    const all = await slowlog(r, "-1");
    expect(all).toHaveLength(20); // 16, SLOWLOG LEN, GET, GET 2, GET 0
    expect(await slowlog(r, "1000")).toHaveLength(21);

    const count = "ERR count should be greater than or equal to -1";
    expect(await errorOf(r.call("SLOWLOG", "GET", "-2"))).toBe(count);
    expect(await errorOf(r.call("SLOWLOG", "GET", "ten"))).toBe(count);
    expect(await errorOf(r.call("SLOWLOG", "GET", "1.5"))).toBe(count);
    expect(await errorOf(r.call("SLOWLOG", "GET", "1", "2"))).toBe("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.");
    expect(await errorOf(r.call("SLOWLOG", "LEN", "x"))).toBe(arity("slowlog|len"));
    expect(await errorOf(r.call("SLOWLOG", "RESET", "x"))).toBe(arity("slowlog|reset"));
    expect(await errorOf(r.call("SLOWLOG"))).toBe(arity("slowlog"));
    expect(await errorOf(r.call("SLOWLOG", "nope"))).toBe("ERR unknown subcommand 'nope'. Try SLOWLOG HELP.");
    const help = (await r.call("SLOWLOG", "HELP")) as string[];
    expect(help[0]).toBe("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help).toContain("GET [<count>]");
    expect(help.at(-1)).toBe("    Print this help.");

    expect(await r.call("SLOWLOG", "RESET")).toBe("OK");
    // RESET is logged after it ran, as in Redis.
    expect(await r.call("SLOWLOG", "LEN")).toBe(1);
    expect((await slowlog(r)).map((e) => e[3])).toEqual([["SLOWLOG", "LEN"], ["SLOWLOG", "RESET"]]);

    // -1 turns it off.
    await r.call("CONFIG", "SET", "slowlog-log-slower-than", "-1");
    const length = (await r.call("SLOWLOG", "LEN")) as number;
    for (let i = 0; i < 5; i++) await r.call("PING");
    expect(await r.call("SLOWLOG", "LEN")).toBe(length);
  });

  test("long commands are cut as Redis cuts them: 32 arguments, 128 bytes each", async () => {
    await r.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    const pairs: string[] = [];
    for (let i = 0; i < 20; i++) pairs.push(`k${i}`, `v${i}`);
    await r.call("MSET", ...pairs); // 41 arguments
    await r.call("SET", "big", "x".repeat(200));
    const [set, mset] = await slowlog(r, "2");
    expect(mset![3]).toEqual(["MSET", ...pairs.slice(0, 30), "... (10 more arguments)"]);
    expect(set![3]).toEqual(["SET", "big", `${"x".repeat(128)}... (72 more bytes)`]);
  });

  test("slowlog-max-len keeps the newest; lowering it trims at once", async () => {
    await r.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    for (let i = 0; i < 10; i++) await r.call("PING", String(i));
    expect(await r.call("SLOWLOG", "LEN")).toBe(11);
    await r.call("CONFIG", "SET", "slowlog-max-len", "3");
    expect(await r.call("SLOWLOG", "LEN")).toBe(3);
    // The newest three: this LEN, the CONFIG SET, the LEN before it.
    expect((await slowlog(r, "-1")).map((e) => e[3])).toEqual([
      ["SLOWLOG", "LEN"],
      ["CONFIG", "SET", "slowlog-max-len", "3"],
      ["SLOWLOG", "LEN"],
    ]);
    for (let i = 0; i < 10; i++) await r.call("PING");
    expect(await r.call("SLOWLOG", "LEN")).toBe(3);
    // 0 keeps nothing (Redis would keep the old entries until the next one is logged).
    await r.call("CONFIG", "SET", "slowlog-max-len", "0");
    expect(await r.call("SLOWLOG", "LEN")).toBe(0);
  });

  test("a really slow command is logged with an honest duration", async () => {
    await load(r, 200_000);
    await r.call("CONFIG", "SET", "slowlog-log-slower-than", "1000");
    await r.call("SLOWLOG", "RESET");
    const start = performance.now();
    const keys = (await r.call("KEYS", "*")) as string[];
    const roundTripUs = (performance.now() - start) * 1000;
    expect(keys).toHaveLength(200_000);
    const entries = await slowlog(r, "-1");
    const keysEntry = entries.find((e) => e[3][0] === "KEYS");
    expect(keysEntry).toBeDefined();
    expect(keysEntry![3]).toEqual(["KEYS", "*"]);
    // At least the threshold, and no more than the client saw from outside.
    expect(keysEntry![2]).toBeGreaterThanOrEqual(1000);
    expect(keysEntry![2]).toBeLessThanOrEqual(roundTripUs);
    // (Fast commands are not asserted absent: a garbage collection pause can really make one slow.)
  });

  test("passwords never reach the slow log or monitors: AUTH, HELLO … AUTH, CONFIG SET requirepass", async () => {
    const password = "s3cret-pw";
    const guarded = await startServer(["--requirepass", password]);
    try {
      const admin = connect(guarded.port, { password });
      await admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
      const mon = await raw(guarded.port);
      mon.write(resp("AUTH", password) + resp("MONITOR"));
      expect(await mon.lines(2)).toEqual(["+OK", "+OK"]);

      const other = await raw(guarded.port);
      other.write(resp("AUTH", "wrong-pw"));
      expect(await other.lines(1)).toEqual(["-WRONGPASS invalid username-password pair or user is disabled."]);
      other.write(resp("AUTH", "default", password));
      expect(await other.lines(1)).toEqual(["+OK"]);
      other.write(resp("CONFIG", "SET", "requirepass", password));
      expect(await other.lines(1)).toEqual(["+OK"]);
      other.write(resp("HELLO", "2", "AUTH", "default", password) + resp("PING", "done"));
      await other.waitFor((text) => text.includes("$4\r\ndone\r\n"));

      const lines = await linesUntil(mon, '"done"');
      const shown = lines.map((line) => line.replace(/^\+\d+\.\d{6} \[0 [^\]]+\] /, ""));
      // CONFIG is an admin command: Redis 7 does not show those to monitors at all.
      expect(shown).toEqual([
        '"AUTH" "(redacted)"',
        '"AUTH" "(redacted)" "(redacted)"',
        '"HELLO" "2" "AUTH" "(redacted)" "(redacted)"',
        '"PING" "done"',
      ]);

      const args = (await slowlog(admin, "-1")).map((e) => e[3]);
      expect(args).toContainEqual(["AUTH", "(redacted)"]);
      expect(args).toContainEqual(["AUTH", "(redacted)", "(redacted)"]);
      expect(args).toContainEqual(["CONFIG", "SET", "requirepass", "(redacted)"]);
      expect(args).toContainEqual(["HELLO", "2", "AUTH", "(redacted)", "(redacted)"]);
      const everything = JSON.stringify(args) + lines.join("\n");
      expect(everything).not.toContain(password);
      expect(everything).not.toContain("wrong-pw");
      admin.disconnect();
    } finally {
      await guarded.stop();
    }
  });
});

describe("LATENCY", () => {
  test("a command over the threshold: LATEST, HISTORY, RESET", async () => {
    await load(r, 200_000);
    await r.call("CONFIG", "SET", "latency-monitor-threshold", "1");
    await r.call("LATENCY", "RESET");
    const before = Math.floor(Date.now() / 1000);
    const start = performance.now();
    await r.call("KEYS", "*");
    const roundTripMs = performance.now() - start;
    // Stop recording: with a 1 ms threshold on a loaded machine, any call
    // below (or the cron's expire cycle) can take a millisecond and add an
    // event. Recorded events stay readable.
    await r.call("CONFIG", "SET", "latency-monitor-threshold", "0");
    const events = await latest();
    const command = events.find((e) => e[0] === "command");
    expect(command).toBeDefined();
    const [, time, ms, max] = command!;
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(ms).toBeGreaterThanOrEqual(1);
    expect(ms).toBeLessThanOrEqual(roundTripMs);
    expect(max).toBe(ms);

    // KEYS's sample is the last (the LATENCY RESET before it may have taken 1 ms too).
    expect(((await r.call("LATENCY", "HISTORY", "command")) as unknown[]).at(-1)).toEqual([time, ms]);
    expect(await r.call("LATENCY", "HISTORY", "no-such-event")).toEqual([]);
    expect(await r.call("LATENCY", "RESET", "command", "no-such-event")).toBe(1);
    expect((await latest()).find((e) => e[0] === "command")).toBeUndefined();
    expect(await r.call("LATENCY", "HISTORY", "command")).toEqual([]);
    const others = (await latest()).length;
    expect(await r.call("LATENCY", "RESET")).toBe(others);
    expect(await latest()).toEqual([]);
  });

  test("threshold 0 records nothing", async () => {
    await load(r, 200_000);
    await r.call("KEYS", "*");
    expect(await latest()).toEqual([]);
  });

  test("expire-cycle: the cron's active expiry over many keys expiring at once", async () => {
    await r.call("CONFIG", "SET", "latency-monitor-threshold", "1");
    const at = Date.now() + 3000;
    const writer = await raw();
    const n = 100_000;
    const requests: string[] = [];
    for (let i = 0; i < n; i++) requests.push(resp("SET", `ttl:${i}`, "v", "PXAT", String(at)));
    writer.write(requests.join(""));
    await writer.waitFor((text) => text.length >= n * "+OK\r\n".length, 20_000);
    expect(Date.now()).toBeLessThan(at); // all set before any expired
    expect(await r.dbsize()).toBe(n);
    await waitUntil(async () => (await r.dbsize()) === 0);
    const event = (await latest()).find((e) => e[0] === "expire-cycle");
    expect(event).toBeDefined();
    expect(event![2]).toBeGreaterThanOrEqual(1);
    const history = (await r.call("LATENCY", "HISTORY", "expire-cycle")) as [number, number][];
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(history.at(-1)).toEqual([event![1], event![2]]);
    expect(Math.max(...history.map(([, ms]) => ms))).toBe(event![3]);
  });

  test("eviction-cycle: a write over maxmemory evicting many keys first", async () => {
    await r.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    await load(r, 100_000);
    const used = Number(/used_memory:(\d+)/.exec((await r.call("INFO", "memory")) as string)![1]);
    await r.call("CONFIG", "SET", "maxmemory", String(used + 4096), "latency-monitor-threshold", "1");
    await r.call("LATENCY", "RESET");
    // Under the limit when it starts, so it runs; the next write finds the server over and evicts.
    await r.call("SET", "big", "b".repeat(Math.floor(used / 2)));
    await r.call("SET", "small", "s");
    expect(await r.dbsize()).toBeLessThan(100_000);
    const event = (await latest()).find((e) => e[0] === "eviction-cycle");
    expect(event).toBeDefined();
    expect(event![2]).toBeGreaterThanOrEqual(1);
  });

  test("aof-write and aof-fsync-always: a 32 MiB write under appendfsync always", async () => {
    await r.call("CONFIG", "SET", "appendfsync", "always", "latency-monitor-threshold", "1");
    await r.call("SET", "huge", "h".repeat(32 * 1024 * 1024));
    const names = (await latest()).map((e) => e[0]);
    expect(names).toContain("aof-write");
    expect(names).toContain("aof-fsync-always");
    await r.call("DEL", "huge");
  });

  test("HELP and Redis's errors; DOCTOR, GRAPH and HISTOGRAM are not implemented", async () => {
    const help = (await r.call("LATENCY", "HELP")) as string[];
    expect(help[0]).toBe("LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help).toContain("HISTORY <event>");
    expect(help).toContain("LATEST");
    expect(help).toContain("RESET [<event> ...]");
    expect(help.some((line) => /DOCTOR|GRAPH|HISTOGRAM/.test(line))).toBe(false);
    expect(await errorOf(r.call("LATENCY"))).toBe(arity("latency"));
    expect(await errorOf(r.call("LATENCY", "HISTORY"))).toBe(arity("latency|history"));
    expect(await errorOf(r.call("LATENCY", "LATEST", "x"))).toBe(arity("latency|latest"));
    for (const sub of ["DOCTOR", "graph", "HISTOGRAM"]) {
      expect(await errorOf(r.call("LATENCY", sub, "command"))).toBe(`ERR unknown subcommand '${sub}'. Try LATENCY HELP.`);
    }
  });
});

describe("MONITOR", () => {
  const LINE = /^\+(\d+)\.(\d{6}) \[0 (127\.0\.0\.1:\d+)\] (.*)$/;

  test("lines for other clients' commands: quoted, escaped, binary-safe, from their address", async () => {
    const writer = connect();
    const address = await clientField(writer, "addr");
    const mon = await raw();
    mon.write(resp("MONITOR"));
    expect(await mon.lines(1)).toEqual(["+OK"]);

    const before = Date.now() / 1000;
    await writer.call("SET", "key with space", 'say "hi" \\ bye');
    const [line] = await mon.lines(1);
    const match = LINE.exec(line!);
    expect(match).not.toBeNull();
    expect(Number(`${match![1]}.${match![2]}`)).toBeGreaterThanOrEqual(before - 1);
    expect(Number(`${match![1]}.${match![2]}`)).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(match![3]).toBe(address);
    expect(match![4]).toBe('"SET" "key with space" "say \\"hi\\" \\\\ bye"');

    const binary = await raw();
    binary.write(resp("SET", "bin\x00key", "\x01\xff\r\n\t\x7f"));
    expect(await binary.lines(1)).toEqual(["+OK"]);
    expect(LINE.exec((await mon.lines(1))[0]!)![4]).toBe('"SET" "bin\\x00key" "\\x01\\xff\\r\\n\\t\\x7f"');

    // Admin commands (CONFIG here) are not shown, as in Redis 7; a refused command is not either.
    await writer.call("CONFIG", "GET", "maxmemory");
    await errorOf(writer.call("GET"));
    await writer.call("ECHO", "marker");
    expect(LINE.exec((await mon.lines(1))[0]!)![4]).toBe('"ECHO" "marker"');
    expect(mon.pending).toBe("");
  });

  test("a monitor may PING and QUIT but not touch keys; MONITOR twice is ignored; CLIENT LIST says flags=O", async () => {
    await r.set("k", "v");
    const mon = await raw();
    mon.write(resp("MONITOR"));
    expect(await mon.lines(1)).toEqual(["+OK"]);
    mon.write(resp("GET", "k"));
    expect(await mon.lines(1)).toEqual(["-ERR Replica can't interact with the keyspace"]);
    mon.write(resp("SET", "k", "changed"));
    expect(await mon.lines(1)).toEqual(["-ERR Replica can't interact with the keyspace"]);
    expect(await r.get("k")).toBe("v");
    expect(LINE.exec((await mon.lines(1))[0]!)![4]).toBe('"get" "k"'); // that GET, from the other client
    // Its own command: the reply first, then its line, as Redis orders them.
    mon.write(resp("MONITOR") + resp("PING"));
    const [pong, own] = await mon.lines(2);
    expect(pong).toBe("+PONG");
    expect(LINE.exec(own!)![4]).toBe('"PING"');
    const list = (await r.call("CLIENT", "LIST")) as string;
    expect(list).toMatch(/ flags=O /);
    await linesUntil(mon, '"CLIENT" "LIST"');
    mon.write(resp("QUIT"));
    expect((await mon.lines(1))[0]).toBe("+OK");
    await mon.waitClosed();
  });

  test("a monitor that disconnects is dropped without errors", async () => {
    const mon = await raw();
    mon.write(resp("CLIENT", "ID") + resp("MONITOR"));
    const [id, ok] = await mon.lines(2);
    expect(ok).toBe("+OK");
    const listed = async () => ((await r.call("CLIENT", "LIST")) as string).split("\n").find((l) => l.startsWith(`id=${id!.slice(1)} `));
    expect(await listed()).toContain(" flags=O ");
    await r.set("a", "1");
    await linesUntil(mon, '"a"');
    mon.close();
    await waitUntil(async () => (await listed()) === undefined);
    for (let i = 0; i < 100; i++) await r.set(`after:${i}`, "x");
    expect(await r.dbsize()).toBe(101);
    expect(server.logs()).not.toMatch(/threw|internal error|TypeError|RangeError/);
  });

  test("a monitor that stops reading is cut off past 32 MiB unsent; the writer is served throughout", async () => {
    // A monitor whose socket is paused after +OK: the kernel buffers fill, then the server's queue grows.
    let monitorClosed = false;
    let received = "";
    const mon = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data(socket, chunk) {
          received += chunk.toString("latin1");
          if (received.includes("+OK\r\n")) socket.pause();
        },
        close() {
          monitorClosed = true;
        },
      },
    });
    mon.write(resp("CLIENT", "ID") + resp("MONITOR"));
    await waitUntil(async () => received.includes("+OK\r\n"));
    const id = received.match(/^:(\d+)\r\n/)![1];
    const writer = connect();
    const value = "v".repeat(1024 * 1024);
    for (let i = 0; i < 48 && !monitorClosed; i++) expect(await writer.set(`big:${i % 4}`, value)).toBe("OK");
    await waitUntil(async () => monitorClosed, 10_000);
    expect(server.logs()).toMatch(/# MONITOR client id=\d+ addr=127\.0\.0\.1:\d+ closed: \d+ bytes unsent/);
    expect(await writer.get("big:0")).toBe(value);
    expect(((await r.call("CLIENT", "LIST")) as string).split("\n").some((l) => l.startsWith(`id=${id} `))).toBe(false);
  }, 60_000);

  test("redis-cli monitor prints the lines as Redis's does", async () => {
    const writer = connect();
    await writer.ping();
    const address = await clientField(writer, "addr");
    const cli = Bun.spawn(["redis-cli", "-p", String(server.port), "monitor"], { stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => cli.kill("SIGKILL"), 15_000);
    let output = "";
    const reader = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of cli.stdout as ReadableStream<Uint8Array>) output += decoder.decode(chunk);
    })();
    try {
      await waitUntil(async () => output.startsWith("OK\n"));
      await writer.call("SET", "cli-key", "cli value\n");
      await waitUntil(async () => output.includes("cli-key"));
      const line = output.split("\n").find((l) => l.includes("cli-key"))!;
      expect(line).toMatch(/^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "cli-key" "cli value\\n"$/);
      expect(line).toContain(`[0 ${address}]`);
    } finally {
      cli.kill();
      await cli.exited;
      clearTimeout(killer);
      await reader;
    }
  });

  test("ioredis monitor(): its `monitor` event gets time, arguments, source and database", async () => {
    const writer = connect();
    await writer.ping();
    const address = await clientField(writer, "addr");
    const monitor = await r.monitor();
    try {
      const seen = new Promise<[string, string[], string, string]>((resolve) => {
        monitor.on("monitor", (time: string, args: string[], source: string, database: string) => {
          if (args[1] === "io-key") resolve([time, args, source, database]);
        });
      });
      await writer.set("io-key", 'io "value"');
      const [time, args, source, database] = await seen;
      expect(time).toMatch(/^\d+\.\d{6}$/);
      expect(args).toEqual(["set", "io-key", 'io "value"']);
      expect(source).toBe(address);
      expect(database).toBe("0");
    } finally {
      monitor.disconnect();
    }
  });
});

describe("command table", () => {
  test("COMMAND INFO and DOCS list SLOWLOG, LATENCY and MONITOR with Redis's arity and flags", async () => {
    const info = (await r.call("COMMAND", "INFO", "slowlog", "latency", "monitor")) as unknown[][];
    expect(info.map((c) => [c[0], c[1], c[2]])).toEqual([
      ["slowlog", -2, ["admin", "loading", "stale"]],
      ["latency", -2, ["admin", "noscript", "loading", "stale"]],
      ["monitor", 1, ["admin", "noscript", "loading", "stale"]],
    ]);
    expect((info[0]![9] as unknown[][]).map((s) => s[0])).toEqual(["slowlog|get", "slowlog|help", "slowlog|len", "slowlog|reset"]);
    expect((info[1]![9] as unknown[][]).map((s) => s[0])).toEqual(["latency|help", "latency|history", "latency|latest", "latency|reset"]);
    const docs = (await r.call("COMMAND", "DOCS", "monitor")) as unknown[];
    expect(docs[0]).toBe("monitor");
    expect(docs[1]).toContain("Listens for all requests received by the server in real-time.");
  });
});

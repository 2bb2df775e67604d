import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import Redis from "ioredis";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "redis";
import { aofBytes, aofCommands, aofRecords, connectOnce, ready } from "../helpers/aof.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { runToExit, startServer, withDataDir, type RunningServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** MULTI / EXEC / DISCARD / WATCH / UNWATCH through real clients, raw sockets and the AOF. */

let server: RunningServer;
const opened: { close(): void }[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const c of opened) c.close();
  await server.stop();
});

async function io(): Promise<Redis> {
  const c = await ready(connectOnce(server.port));
  opened.push({ close: () => c.disconnect() });
  return c;
}

async function raw(): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  opened.push(c);
  return c;
}

describe("MULTI and EXEC", () => {
  test("ioredis multi(): the commands are queued, then run in order, and EXEC returns their replies", async () => {
    const c = await io();
    await c.del("tx:a");
    const replies = await c.multi().set("tx:a", "1").incr("tx:a").get("tx:a").exec();
    expect(replies).toEqual([
      [null, "OK"],
      [null, 2],
      [null, "2"],
    ]);
  });

  test("node-redis multi().exec() in RESP2 and RESP3, and Bun's RedisClient", async () => {
    for (const RESP of [2, 3] as const) {
      const client = createClient({ url: `redis://127.0.0.1:${server.port}`, RESP });
      client.on("error", () => {});
      await client.connect();
      try {
        const replies = await client.multi().set(`tx:nr${RESP}`, "x").append(`tx:nr${RESP}`, "y").get(`tx:nr${RESP}`).exec();
        expect(replies as unknown[]).toEqual(["OK", 2, "xy"]);
      } finally {
        await client.quit();
      }
    }
    const bun = new RedisClient(`redis://127.0.0.1:${server.port}`, { autoReconnect: false });
    try {
      expect(await bun.send("MULTI", [])).toBe("OK");
      expect(await bun.send("SET", ["tx:bun", "1"])).toBe("QUEUED");
      expect(await bun.send("INCRBY", ["tx:bun", "41"])).toBe("QUEUED");
      expect(await bun.send("EXEC", [])).toEqual(["OK", 42]);
    } finally {
      bun.close();
    }
  });

  test("nothing runs before EXEC, and DISCARD drops the queue", async () => {
    const c = await raw();
    const other = await io();
    c.write(resp("MULTI") + resp("SET", "tx:later", "1"));
    expect(await c.bytes("+OK\r\n+QUEUED\r\n".length)).toBe("+OK\r\n+QUEUED\r\n");
    expect(await other.exists("tx:later")).toBe(0);
    // CLIENT LIST says so, as Redis does: flag x and the queued count.
    const line = (await other.client("LIST")) as string;
    expect(line).toMatch(/ flags=x db=0 .* multi=1 /);
    c.write(resp("DISCARD") + resp("EXEC"));
    expect(await c.bytes("+OK\r\n-ERR EXEC without MULTI\r\n".length)).toBe("+OK\r\n-ERR EXEC without MULTI\r\n");
    expect(await other.exists("tx:later")).toBe(0);
  });

  test("a command refused while queuing makes EXEC refuse the whole transaction", async () => {
    const c = await raw();
    c.write(resp("MULTI") + resp("SET", "tx:abort", "1") + resp("SET", "tx:abort") + resp("NOSUCH") + resp("EXEC"));
    const expected =
      "+OK\r\n+QUEUED\r\n-ERR wrong number of arguments for 'set' command\r\n" +
      "-ERR unknown command 'NOSUCH', with args beginning with: \r\n" +
      "-EXECABORT Transaction discarded because of previous errors.\r\n";
    expect(await c.bytes(expected.length)).toBe(expected);
    c.write(resp("EXISTS", "tx:abort"));
    expect(await c.bytes(4)).toBe(":0\r\n");
  });

  test("an error while running is that command's reply; the others still run", async () => {
    const c = await io();
    await c.set("tx:text", "abc");
    const replies = await c.multi().incr("tx:text").set("tx:after", "ok").exec();
    expect(replies![0]![0]).toBeInstanceOf(Error);
    expect((replies![0]![0] as Error).message).toBe("ERR value is not an integer or out of range");
    expect(replies![1]).toEqual([null, "OK"]);
    expect(await c.get("tx:after")).toBe("ok");
  });

  test("misuse: nested MULTI, WATCH inside MULTI, EXEC and DISCARD without MULTI", async () => {
    const c = await raw();
    c.write(resp("EXEC") + resp("DISCARD") + resp("MULTI") + resp("MULTI") + resp("WATCH", "k") + resp("EXEC"));
    const expected =
      "-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n" +
      "-ERR WATCH inside MULTI is not allowed\r\n*0\r\n";
    expect(await c.bytes(expected.length)).toBe(expected);
  });

  test("the seed's text protocol: QUEUED lines, then one line per reply", async () => {
    const c = await raw();
    expect(await c.command("MULTI")).toBe("OK");
    expect(await c.command("SET tx:text2 5")).toBe("QUEUED");
    expect(await c.command("INCR tx:text2")).toBe("QUEUED");
    c.write("EXEC\n");
    expect(await c.lines(2)).toEqual(["OK", "6"]);
  });

  test("a client that disconnects inside MULTI runs nothing", async () => {
    const c = await raw();
    c.write(resp("MULTI") + resp("SET", "tx:gone", "1"));
    await c.bytes("+OK\r\n+QUEUED\r\n".length);
    c.close();
    await Bun.sleep(50);
    expect(await (await io()).exists("tx:gone")).toBe(0);
  });
});

describe("WATCH", () => {
  test("a watched key changed by another client makes EXEC return null and run nothing", async () => {
    const c = await io();
    const other = await io();
    await c.set("tx:w", "1");
    expect(await c.watch("tx:w")).toBe("OK");
    await other.set("tx:w", "2");
    expect(await c.multi().set("tx:w", "3").set("tx:w:side", "1").exec()).toBeNull();
    expect(await c.get("tx:w")).toBe("2");
    expect(await c.exists("tx:w:side")).toBe(0);
    // EXEC forgot the watch: the next transaction runs.
    expect(await c.multi().set("tx:w", "4").exec()).toEqual([[null, "OK"]]);
  });

  test("unchanged watched keys let EXEC run; UNWATCH and DISCARD forget the watch", async () => {
    const c = await io();
    const other = await io();
    await c.watch("tx:u1", "tx:u2");
    await other.set("tx:elsewhere", "1"); // another key: no effect
    expect(await c.multi().set("tx:u1", "a").exec()).toEqual([[null, "OK"]]);
    await c.watch("tx:u1");
    await c.unwatch();
    await other.set("tx:u1", "b");
    expect(await c.multi().set("tx:u1", "c").exec()).toEqual([[null, "OK"]]);
    const r = await raw();
    r.write(resp("WATCH", "tx:u1") + resp("MULTI") + resp("DISCARD"));
    expect(await r.bytes(15)).toBe("+OK\r\n+OK\r\n+OK\r\n");
    await other.set("tx:u1", "d");
    r.write(resp("MULTI") + resp("GET", "tx:u1") + resp("EXEC"));
    expect(await r.bytes("+OK\r\n+QUEUED\r\n*1\r\n$1\r\nd\r\n".length)).toBe("+OK\r\n+QUEUED\r\n*1\r\n$1\r\nd\r\n");
  });

  test("every kind of change counts: the client's own write, DEL, RENAME, expiry, FLUSHALL", async () => {
    const c = await io();
    const other = await io();
    const aborted = async (prepare: () => Promise<unknown>, key: string) => {
      await c.watch(key);
      await prepare();
      return (await c.multi().ping().exec()) === null;
    };
    await c.set("tx:own", "1");
    expect(await aborted(() => c.set("tx:own", "2"), "tx:own")).toBe(true);
    await c.set("tx:del", "1");
    expect(await aborted(() => other.del("tx:del"), "tx:del")).toBe(true);
    await c.set("tx:from", "1");
    expect(await aborted(() => other.rename("tx:from", "tx:to"), "tx:to")).toBe(true);
    await c.set("tx:exp", "1", "PX", 50);
    expect(await aborted(() => Bun.sleep(200).then(() => other.get("tx:exp")), "tx:exp")).toBe(true);
    // Expired with nobody reading it: unless the active cycle (every 100 ms) removed it first, EXEC must notice.
    await c.set("tx:exp2", "1", "PX", 30);
    expect(await aborted(() => Bun.sleep(60), "tx:exp2")).toBe(true);
    await c.set("tx:flushed", "1");
    expect(await aborted(() => other.flushall(), "tx:flushed")).toBe(true);
    // A flush does not change a watched key that did not exist, nor does a write that changed nothing.
    expect(await aborted(() => other.flushall(), "tx:never")).toBe(false);
    await c.set("tx:same", "1");
    expect(await aborted(() => other.set("tx:same", "2", "NX"), "tx:same")).toBe(false);
  });

  test("RESP3 gets the null EXEC reply as _", async () => {
    const c = await raw();
    const other = await io();
    await c.resp3();
    c.write(resp("WATCH", "tx:r3"));
    expect(await c.bytes(5)).toBe("+OK\r\n");
    await other.set("tx:r3", "1");
    c.write(resp("MULTI") + resp("GET", "tx:r3") + resp("EXEC"));
    expect(await c.bytes("+OK\r\n+QUEUED\r\n_\r\n".length)).toBe("+OK\r\n+QUEUED\r\n_\r\n");
  });
});

describe("transactions in the AOF", () => {
  test("EXEC's writes are logged as one MULTI … EXEC block and survive kill -9", async () => {
    await withDataDir(async (dir) => {
      const first = await startServer([], { dir });
      const c = await ready(connectOnce(first.port));
      await c.multi().get("nothing").exec(); // changed nothing: logs nothing
      await c.multi().set("a", "1").incr("a").del("missing").exec();
      c.disconnect();
      // Each request as it arrived (ioredis writes names in lower case), between the block's records.
      expect(aofCommands(aofBytes(dir))).toEqual([["MULTI"], ["set", "a", "1"], ["incr", "a"], ["EXEC"]]);
      await first.kill();
      const second = await startServer([], { dir });
      const r = await ready(connectOnce(second.port));
      expect(await r.get("a")).toBe("2");
      r.disconnect();
      await second.stop();
    });
  });

  test("a file that ends inside a transaction loses the whole transaction, and is truncated at its MULTI", async () => {
    await withDataDir(async (dir) => {
      const path = join(dir, "appendonly.aof");
      const whole = aofRecords(["SET", "kept", "1"], ["MULTI"], ["SET", "both", "1"], ["EXEC"]);
      appendFileSync(path, Buffer.concat([whole, aofRecords(["MULTI"], ["SET", "half", "1"], ["INCR", "kept"])]));
      const check = await runToExit(["--check-aof", path]);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(`torn last record at offset ${whole.length}`);
      expect(check.stdout).toContain("the file ends inside a MULTI/EXEC transaction");

      const server = await startServer([], { dir });
      const r = await ready(connectOnce(server.port));
      expect(await r.mget("kept", "both", "half")).toEqual(["1", "1", null]);
      expect(server.logs()).toContain(`Truncating the AOF at offset ${whole.length}`);
      expect(aofBytes(dir).length).toBe(whole.length);
      // What comes next is appended after the last whole transaction.
      await r.set("next", "1");
      r.disconnect();
      await server.stop();
      expect(aofCommands(aofBytes(dir)).slice(-1)).toEqual([["set", "next", "1"]]);
    });
  });
});

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aofBytes, aofCommands, aofRecords, connectOnce, logContains, persistenceInfo, ready, waitUntil } from "../helpers/aof.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { freePort, runToExit, serverCommand, startServer, withDataDir } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The append-only file end to end: what is logged, restarts, torn and
 * corrupt files, --check-aof, loading, rewrites, runtime configuration.
 * Crashes under load are in crash.test.ts, a full disk in disk-full.test.ts.
 */

describe("what the AOF records", () => {
  test("effects, not requests: absolute TTLs, INCRBYFLOAT's result, DEL for past expiries", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer([], { dir });
      const c = await ready(connectOnce(server.port));
      const before = Date.now();
      await c.set("plain", "v");
      await c.set("ex", "v", "EX", 100);
      await c.setex("setex", 100, "v");
      await c.psetex("psetex", 100_000, "v");
      await c.set("seed", "v"); // then the seed's positional TTL, over the text protocol
      const raw = await RawClient.connect(server.port);
      expect(await raw.command("SET seedttl v 100")).toBe("OK");
      raw.close();
      await c.incrbyfloat("f", "1.1");
      await c.incrbyfloat("f", "2");
      await c.expire("plain", 50);
      await c.set("gone", "v");
      await c.expire("gone", -1);
      await c.set("getdel", "v");
      await c.getdel("getdel");
      await c.call("GETEX", "ex", "PERSIST");
      await c.call("GETEX", "seed", "EX", "30");
      await c.set("nx", "v", "NX"); // logged as sent: replays the same way
      await c.set("nx", "w", "NX"); // changed nothing: not logged
      await c.del("nothing-here"); // changed nothing: not logged
      await c.get("plain"); // reads are never logged
      const after = Date.now();
      c.disconnect();
      await server.kill("SIGTERM");

      const commands = aofCommands(aofBytes(dir));
      const inWindow = (ms: string, offset: number) => Number(ms) >= before + offset && Number(ms) <= after + offset;
      const find = (key: string) => commands.filter((argv) => argv[1] === key);
      expect(find("plain")[0]).toEqual(["set", "plain", "v"]);
      const [ex] = find("ex");
      expect(ex!.slice(0, 4)).toEqual(["SET", "ex", "v", "PXAT"]);
      expect(inWindow(ex![4]!, 100_000)).toBe(true);
      expect(find("setex")[0]!.slice(0, 4)).toEqual(["SET", "setex", "v", "PXAT"]);
      expect(inWindow(find("psetex")[0]![4]!, 100_000)).toBe(true);
      expect(find("seedttl")[0]!.slice(0, 4)).toEqual(["SET", "seedttl", "v", "PXAT"]);
      expect(find("f")).toEqual([
        ["SET", "f", "1.1", "KEEPTTL"],
        ["SET", "f", "3.1", "KEEPTTL"],
      ]);
      expect(find("plain")[1]!.slice(0, 2)).toEqual(["PEXPIREAT", "plain"]);
      expect(inWindow(find("plain")[1]![2]!, 50_000)).toBe(true);
      expect(find("gone")).toEqual([["set", "gone", "v"], ["DEL", "gone"]]);
      expect(find("getdel")).toEqual([["set", "getdel", "v"], ["DEL", "getdel"]]);
      expect(find("ex")[1]).toEqual(["PERSIST", "ex"]);
      expect(find("seed")[1]!.slice(0, 2)).toEqual(["PEXPIREAT", "seed"]);
      expect(find("nx")).toEqual([["set", "nx", "v", "NX"]]);
      expect(commands.some((argv) => argv[1] === "nothing-here")).toBe(false);
      expect(commands.some((argv) => argv[0]!.toLowerCase() === "get")).toBe(false);
    });
  });

  test("active expiry and eviction are logged as DEL", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer(["--maxmemory", "200kb", "--maxmemory-policy", "allkeys-lru"], { dir });
      const c = await ready(connectOnce(server.port));
      await c.set("short", "v", "PX", 20);
      await waitUntil(async () => (await persistenceInfo(c)) !== null && (await c.dbsize()) === 0, 5000, "active expiry");
      for (let i = 0; i < 300; i++) await c.set(`big:${i}`, "x".repeat(1000));
      const evicted = Number(/evicted_keys:(\d+)/.exec(await c.info("stats"))![1]);
      expect(evicted).toBeGreaterThan(0);
      c.disconnect();
      await server.kill("SIGTERM");
      const commands = aofCommands(aofBytes(dir));
      expect(commands).toContainEqual(["DEL", "short"]);
      const dels = commands.filter((argv) => argv[0] === "DEL" && argv[1]!.startsWith("big:"));
      expect(dels.length).toBe(evicted);
      // Replaying the file gives the same keyspace.
      const restarted = await startServer(["--maxmemory", "200kb"], { dir });
      const r = await ready(connectOnce(restarted.port));
      expect(await r.dbsize()).toBe(300 - evicted);
      expect(await r.exists("big:0")).toBe(0);
      expect(await r.get("big:299")).toBe("x".repeat(1000));
      r.disconnect();
      await restarted.stop();
    });
  });

  test("redis-cli --pipe replays the file into a server", async () => {
    if (!Bun.which("redis-cli")) {
      console.warn("skipped: redis-cli is not installed (apt-get install redis-tools)");
      return;
    }
    await withDataDir(async (dir) => {
      const source = await startServer([], { dir });
      const c = await ready(connectOnce(source.port));
      await c.mset({ a: "1", b: "two", "bin\r\nkey": "v\x00\xff" });
      await c.incr("a");
      await c.set("ttl", "v", "EX", 1000);
      c.disconnect();
      await source.kill("SIGTERM");

      const target = await startServer(["--appendonly", "no"]);
      const proc = Bun.spawn(["redis-cli", "-p", String(target.port), "--pipe"], { stdin: Bun.file(join(dir, "appendonly.aof")), stdout: "pipe" });
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stdout).text()).toContain("errors: 0, replies: 3");
      const t = await ready(connectOnce(target.port));
      expect(await t.mget("a", "b", "bin\r\nkey")).toEqual(["2", "two", "v\x00\xff"]);
      expect(await t.ttl("ttl")).toBeGreaterThan(990);
      t.disconnect();
      await target.stop();
    });
  });
});

// A client that counts a value's characters instead of its bytes sends a
// bulk string longer than its header says. Redis reads past that unchecked;
// here the request's bytes would have gone to the AOF as they came, a record
// no restart could read. The request is refused instead, and nothing logged.
test("a request with a miscounted bulk string is refused and never reaches the AOF", async () => {
  await withDataDir(async (dir) => {
    const server = await startServer([], { dir });
    const good = await RawClient.connect(server.port);
    good.write(resp("SET", "before", "1"));
    expect(await good.lines(1)).toEqual(["+OK"]);
    const miscounted = await RawClient.connect(server.port);
    miscounted.write("*3\r\n$3\r\nSET\r\n$9\r\nmiscount1\r\n$2\r\nabc\r\n");
    await miscounted.waitClosed();
    expect(miscounted.pending).toBe("-ERR Protocol error: expected '\\r\\n' after a bulk string of 2 bytes\r\n");
    const bareCR = await RawClient.connect(server.port);
    bareCR.write("*3\r$3\r\nSET\r\n$9\r\nmiscount2\r\n$1\r\nv\r\n");
    await bareCR.waitClosed();
    expect(bareCR.pending).toBe("-ERR Protocol error: expected '\\n' after '\\r'\r\n");
    good.write(resp("SET", "after", "2"));
    expect(await good.lines(1)).toEqual(["+OK"]);
    good.close();
    await server.kill("SIGKILL");

    expect(aofCommands(aofBytes(dir))).toEqual([
      ["SET", "before", "1"],
      ["SET", "after", "2"],
    ]);
    const restarted = await startServer([], { dir });
    const c = await RawClient.connect(restarted.port);
    c.write(resp("MGET", "before", "after", "miscount1", "miscount2"));
    expect(await c.lines(7)).toEqual(["*4", "$1", "1", "$1", "2", "$-1", "$-1"]);
    c.close();
    await restarted.stop();
  });
});

describe("restarts", () => {
  test("data survives SIGTERM, SHUTDOWN and SIGINT, even with appendfsync no", async () => {
    await withDataDir(async (dir) => {
      for (const [i, how] of (["SIGTERM", "SHUTDOWN", "SIGINT"] as const).entries()) {
        const server = await startServer(["--appendfsync", "no"], { dir });
        const c = await ready(connectOnce(server.port));
        for (let j = 0; j < i; j++) expect(await c.get(`k${j}`)).toBe(`v${j}`);
        await c.set(`k${i}`, `v${i}`);
        if (how === "SHUTDOWN") await c.call("SHUTDOWN").catch(() => {});
        else server.proc.kill(how);
        c.disconnect();
        expect(await server.proc.exited).toBe(0);
        expect(server.logs()).toContain("The AOF was flushed and fsynced.");
      }
    });
  });

  test("a restart never extends a TTL, and keys that expired while down are dropped", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer([], { dir });
      const c = await ready(connectOnce(server.port));
      await c.set("long", "v", "PX", 3000);
      await c.set("short", "v", "PX", 300);
      await c.set("counter", "5", "PX", 400);
      await c.incr("counter"); // logged after the TTL: must not resurrect the key on replay
      await c.set("forever", "v");
      c.disconnect();
      await server.kill("SIGTERM");
      await Bun.sleep(600);

      const restarted = await startServer([], { dir });
      const r = await ready(connectOnce(restarted.port));
      const pttl = await r.pttl("long");
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(2400);
      expect(await r.exists("short", "counter")).toBe(0);
      expect(await r.get("forever")).toBe("v");
      expect(restarted.logs()).toContain("2 expired while the server was down were dropped");
      r.disconnect();
      await restarted.stop();
    });
  });

  test("appendonly no neither writes nor loads a file", async () => {
    await withDataDir(async (dir) => {
      writeFileSync(join(dir, "appendonly.aof"), aofRecords(["SET", "old", "1"]));
      const server = await startServer(["--appendonly", "no"], { dir });
      const c = await ready(connectOnce(server.port));
      expect(await c.get("old")).toBeNull();
      await c.set("new", "1");
      expect((await persistenceInfo(c)).aof_enabled).toBe("0");
      c.disconnect();
      await server.kill("SIGTERM");
      expect(aofCommands(aofBytes(dir))).toEqual([["SET", "old", "1"]]);
    });
  });

  test("--appendfilename names the file inside --dir", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer(["--appendfilename", "mine.aof"], { dir });
      const c = await ready(connectOnce(server.port));
      await c.set("k", "v");
      c.disconnect();
      await server.kill("SIGTERM");
      expect(aofCommands(aofBytes(dir, "mine.aof"))).toEqual([["set", "k", "v"]]);
      expect(existsSync(join(dir, "appendonly.aof"))).toBe(false);
    });
  });
});

describe("damaged files", () => {
  const records = [
    ["SET", "a", "1"],
    ["SET", "b", "2"],
    ["SET", "c", "three"],
  ];
  const whole = aofRecords(...records);
  const lastStart = aofRecords(...records.slice(0, 2)).length;

  // Cut inside the array header, a bulk header, the value, and before the final CRLF.
  for (const cut of [1, 5, lastStart + 1, lastStart + 13, lastStart + 24, whole.length - 1]) {
    test(`a torn last record (file cut to ${cut} of ${whole.length} bytes) is cut off with a warning naming the offset`, async () => {
      await withDataDir(async (dir) => {
        const path = join(dir, "appendonly.aof");
        writeFileSync(path, whole.subarray(0, cut));
        const tornAt = cut > lastStart ? lastStart : 0;
        const server = await startServer([], { dir });
        expect(server.logs()).toContain(`torn record at offset ${tornAt}`);
        expect(statSync(path).size).toBe(tornAt);
        const c = await ready(connectOnce(server.port));
        expect(await c.mget("a", "b", "c")).toEqual(tornAt === 0 ? [null, null, null] : ["1", "2", null]);
        // New writes land after the last whole record, and the file loads again.
        await c.set("d", "4");
        c.disconnect();
        await server.kill("SIGTERM");
        const again = await startServer([], { dir });
        const r = await ready(connectOnce(again.port));
        expect(await r.get("d")).toBe("4");
        expect(again.logs()).not.toContain("torn");
        r.disconnect();
        await again.stop();
      });
    });
  }

  test("a tail of NUL bytes (a power loss on some filesystems) counts as torn", async () => {
    await withDataDir(async (dir) => {
      writeFileSync(join(dir, "appendonly.aof"), Buffer.concat([whole, Buffer.alloc(4096)]));
      const server = await startServer([], { dir });
      expect(server.logs()).toContain(`torn record at offset ${whole.length}`);
      expect(server.logs()).toContain("NUL");
      const c = await ready(connectOnce(server.port));
      expect(await c.get("c")).toBe("three");
      c.disconnect();
      await server.stop();
    });
  });

  test("aof-load-truncated no refuses a torn tail", async () => {
    await withDataDir(async (dir) => {
      writeFileSync(join(dir, "appendonly.aof"), whole.subarray(0, whole.length - 3));
      const port = await freePort();
      const { code, stderr } = await runToExit(["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--aof-load-truncated", "no"]);
      expect(code).toBe(1);
      expect(stderr).toContain(`torn record at offset ${lastStart}`);
      expect(stderr).toContain("--check-aof --fix");
    });
  });

  test("corruption before the tail stops startup with the offset and what was found; --check-aof --fix repairs it", async () => {
    await withDataDir(async (dir) => {
      const path = join(dir, "appendonly.aof");
      const bytes = Buffer.from(whole);
      const secondStart = aofRecords(records[0]!).length;
      bytes[secondStart + 4] = "#".charCodeAt(0); // the '$' before b's command name
      writeFileSync(path, bytes);
      const port = await freePort();
      const run = await runToExit(["--port", String(port), "--bind", "127.0.0.1", "--dir", dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`expected '$' (a bulk string), found '#' at offset ${secondStart + 4}`);
      expect(run.stderr).toContain(`last whole record ends at offset ${secondStart}`);

      const check = await runToExit(["--check-aof", path]);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(`corrupt at offset ${secondStart + 4}`);
      expect(readFileSync(path)).toEqual(bytes); // checking changes nothing

      const fix = await runToExit(["--check-aof", "--fix", path]);
      expect(fix.code).toBe(0);
      expect(fix.stdout).toContain(`truncated ${path} to ${secondStart} bytes`);
      expect(readFileSync(`${path}.bak`)).toEqual(bytes);
      expect(statSync(path).size).toBe(secondStart);
      expect((await runToExit(["--check-aof", path])).stdout).toContain("is valid: 1 records");

      const server = await startServer([], { dir });
      const c = await ready(connectOnce(server.port));
      expect(await c.mget("a", "b")).toEqual(["1", null]);
      c.disconnect();
      await server.stop();
    });
  });

  test("an unknown command in the file is corruption, reported at its record", async () => {
    await withDataDir(async (dir) => {
      const good = aofRecords(["SET", "a", "1"]);
      writeFileSync(join(dir, "appendonly.aof"), Buffer.concat([good, aofRecords(["NOSUCH", "x"]), good]));
      const run = await runToExit(["--port", String(await freePort()), "--bind", "127.0.0.1", "--dir", dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`unknown command 'NOSUCH' at offset ${good.length}`);
    });
  });

  test("a command that is not a write (SHUTDOWN, CONFIG…) is not replayed: the file did not come from a server", async () => {
    await withDataDir(async (dir) => {
      const good = aofRecords(["SET", "a", "1"]);
      writeFileSync(join(dir, "appendonly.aof"), Buffer.concat([good, aofRecords(["CONFIG", "SET", "dir", "/"])]));
      const run = await runToExit(["--port", String(await freePort()), "--bind", "127.0.0.1", "--dir", dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`'config' is not a write command at offset ${good.length}`);
    });
  });

  test("--check-aof on a good file and on a torn one", async () => {
    await withDataDir(async (dir) => {
      const path = join(dir, "x.aof");
      writeFileSync(path, whole);
      const ok = await runToExit(["--check-aof", path]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`is valid: 3 records, ${whole.length} bytes`);
      truncateSync(path, whole.length - 2);
      const torn = await runToExit(["--check-aof", path]);
      expect(torn.code).toBe(1);
      expect(torn.stdout).toContain(`torn last record at offset ${lastStart}`);
      const missing = await runToExit(["--check-aof", join(dir, "nope.aof")]);
      expect(missing.code).toBe(2);
    });
  });
});

describe("loading", () => {
  test("clients get -LOADING while the AOF loads, INFO says loading:1, --ping fails until it is done", async () => {
    await withDataDir(async (dir) => {
      // About 60 MB of records: long enough to be seen loading.
      const value = "v".repeat(200);
      const chunks: Buffer[] = [];
      for (let i = 0; i < 250_000; i++) chunks.push(aofRecords(["SET", `key:${i}`, value]));
      writeFileSync(join(dir, "appendonly.aof"), Buffer.concat(chunks));
      const port = await freePort();
      const proc = Bun.spawn([...serverCommand(), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir], { stdout: "ignore", stderr: "pipe" });
      try {
        let client: RawClient | null = null;
        const deadline = Date.now() + 10_000;
        while (client === null && Date.now() < deadline) {
          client = await RawClient.connect(port).catch(() => null);
          if (client === null) await Bun.sleep(5);
        }
        expect(client).not.toBeNull();
        const c = client!;
        const ping = async () => {
          c.write(resp("PING"));
          return (await c.lines(1, 15_000))[0]!;
        };
        expect(await ping()).toBe("-LOADING Redis is loading the dataset in memory");
        c.write(resp("INFO", "persistence"));
        const header = (await c.lines(1, 15_000))[0]!;
        const info = await c.bytes(Number(header.slice(1)) + 2, 15_000);
        expect(info).toContain("loading:1");
        expect(info).toContain("aof_enabled:1");
        // The healthcheck mode says unhealthy while loading, healthy once done.
        const healthcheck = await runToExit(["--ping", "--port", String(port)]);
        expect(healthcheck.code).toBe(1);
        expect(healthcheck.stderr).toBe("atomic_server --ping: LOADING Redis is loading the dataset in memory\n");
        while ((await ping()) !== "+PONG") await Bun.sleep(20);
        expect(await runToExit(["--ping", "--port", String(port)])).toEqual({ code: 0, stdout: "PONG\n", stderr: "" });
        c.write(resp("DBSIZE"));
        expect((await c.lines(1))[0]).toBe(":250000");
        c.close();
      } finally {
        proc.kill("SIGTERM");
        await proc.exited;
      }
      const logs = await new Response(proc.stderr).text();
      expect(logs).toMatch(/Loading AOF: \d+% \(/);
      expect(logs).toContain("250000 records");
    });
  });
});

describe("rewrites", () => {
  test("BGREWRITEAOF compacts the file; writes during the rewrite are kept", async () => {
    await withDataDir(async (dir) => {
      // rdb-key-save-delay slows the rewrite (Redis's testing knob), so writes land during it.
      const server = await startServer(["--rdb-key-save-delay", "200"], { dir });
      const c = await ready(connectOnce(server.port));
      for (let round = 0; round < 5; round++) for (let i = 0; i < 200; i++) await c.set(`k${i}`, `r${round}`);
      for (let i = 0; i < 50; i++) await c.incr("counter");
      await c.set("ttl", "v", "EX", 1000);
      const sizeBefore = statSync(join(dir, "appendonly.aof")).size;
      expect(await c.bgrewriteaof()).toBe("Background append only file rewriting started");
      expect(await c.bgrewriteaof().catch((e: Error) => e.message)).toBe("ERR Background append only file rewriting already in progress");
      expect((await persistenceInfo(c)).aof_rewrite_in_progress).toBe("1");
      // During the rewrite: overwrite keys on both sides of its cursor, delete, create, count.
      for (let i = 0; i < 200; i += 7) await c.set(`k${i}`, "during");
      await c.del("k3", "k199");
      for (let i = 0; i < 25; i++) await c.incr("counter");
      await c.set("new", "during");
      await waitUntil(async () => (await persistenceInfo(c)).aof_rewrite_in_progress === "0", 10_000, "the rewrite");
      const info = await persistenceInfo(c);
      expect(info.aof_last_bgrewrite_status).toBe("ok");
      expect(Number(info.aof_current_size)).toBeLessThan(sizeBefore);
      expect(info.aof_base_size).toBe(info.aof_current_size);
      await c.set("after", "1");
      const expected = new Map<string, string | null>();
      for (let i = 0; i < 200; i++) expected.set(`k${i}`, await c.get(`k${i}`));
      c.disconnect();
      expect(server.logs()).toContain("Background AOF rewrite finished successfully");
      await server.kill("SIGTERM");
      expect(readdirSync(dir).filter((f) => f.startsWith("temp-"))).toEqual([]);

      const restarted = await startServer([], { dir });
      const r = await ready(connectOnce(restarted.port));
      for (const [key, value] of expected) expect(await r.get(key)).toBe(value);
      expect(await r.get("k3")).toBeNull();
      expect(await r.get("k7")).toBe("during");
      expect(await r.get("counter")).toBe("75");
      expect(await r.get("new")).toBe("during");
      expect(await r.get("after")).toBe("1");
      expect(await r.ttl("ttl")).toBeGreaterThan(990);
      r.disconnect();
      await restarted.stop();
    });
  });

  for (const when of ["before", "after"] as const) {
    test(`a crash ${when} the rewrite's rename loses no acknowledged write`, async () => {
      await withDataDir(async (dir) => {
        const server = await startServer(["--rdb-key-save-delay", when === "before" ? "20000" : "0"], { dir });
        const c = await ready(connectOnce(server.port));
        for (let i = 0; i < 300; i++) await c.set(`k${i}`, `v${i}`);
        await c.bgrewriteaof();
        if (when === "after") await logContains(server, "rewrite finished successfully");
        let acked = 0;
        const writer = (async () => {
          for (let n = 0; ; n++) {
            try {
              await c.set(`w${n}`, String(n));
            } catch {
              return;
            }
            acked = n + 1;
          }
        })();
        await Bun.sleep(300);
        if (when === "before") {
          const observer = await ready(connectOnce(server.port));
          expect((await persistenceInfo(observer)).aof_rewrite_in_progress).toBe("1");
          observer.disconnect();
        }
        await server.kill("SIGKILL");
        await writer;
        c.disconnect();
        expect(acked).toBeGreaterThan(10);
        if (when === "before") expect(readdirSync(dir).some((f) => f.startsWith("temp-rewriteaof-"))).toBe(true);

        const restarted = await startServer([], { dir });
        const r = await ready(connectOnce(restarted.port));
        expect(await r.get("k299")).toBe("v299");
        const values = await r.mget(Array.from({ length: acked }, (_, n) => `w${n}`));
        expect(values.filter((v, n) => v !== String(n))).toEqual([]);
        if (when === "before") expect(restarted.logs()).toContain("left by an AOF rewrite that did not finish");
        expect(readdirSync(dir).filter((f) => f.startsWith("temp-"))).toEqual([]);
        r.disconnect();
        await restarted.stop();
      });
    });
  }

  test("the AOF is rewritten by itself once it doubles past auto-aof-rewrite-min-size", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer(["--auto-aof-rewrite-min-size", "64kb"], { dir });
      const c = await ready(connectOnce(server.port));
      const value = "x".repeat(100);
      for (let i = 0; i < 1000; i++) await c.set(`k${i % 10}`, value);
      await logContains(server, /Background append only file rewriting started \(automatic, the AOF reached \d+ bytes and was never rewritten\)/);
      await waitUntil(async () => (await persistenceInfo(c)).aof_rewrite_in_progress === "0", 5000, "the rewrite");
      const info = await persistenceInfo(c);
      expect(Number(info.aof_rewrites)).toBeGreaterThanOrEqual(1);
      expect(Number(info.aof_current_size)).toBeLessThan(64 * 1024);
      // The next one is measured against what the first left.
      for (let i = 0; i < 1000; i++) await c.set(`k${i % 10}`, value);
      await logContains(server, /rewriting started \(automatic, the AOF grew by \d+%\)/);
      const growth = Number(/the AOF grew by (\d+)%/.exec(server.logs())![1]);
      expect(growth).toBeGreaterThanOrEqual(100);
      c.disconnect();
      await server.stop();
    });
  });
});

describe("appendfsync always", () => {
  test("pipelined writes from several clients, arriving while earlier ones wait for an fsync, are answered in order and survive kill -9", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer(["--appendfsync", "always"], { dir });
      const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.port)));
      // Requests keep arriving while earlier ones wait for their fsync: they are set aside, then answered in order.
      for (let burst = 0; burst < 10; burst++) {
        for (const [i, c] of clients.entries()) c.write(Array.from({ length: 50 }, () => resp("INCR", `counter${i}`)).join(""));
        await Bun.sleep(2);
      }
      for (const c of clients) {
        const replies = await c.lines(500, 15_000);
        expect(replies).toEqual(Array.from({ length: 500 }, (_, n) => `:${n + 1}`));
      }
      await server.kill("SIGKILL");
      const restarted = await startServer([], { dir });
      const r = await ready(connectOnce(restarted.port));
      expect(await r.mget("counter0", "counter1", "counter2")).toEqual(["500", "500", "500"]);
      r.disconnect();
      await restarted.stop();
    });
  });
});

describe("appendfsync always, traced", () => {
  // The order of system calls is the guarantee itself: record written, fdatasync, then the reply.
  test("each reply is sent after its record was written and fsynced (strace)", async () => {
    if (!Bun.which("strace")) {
      console.warn("skipped: strace is not installed (apt-get install strace); the fsync-before-reply order was not traced");
      return;
    }
    await withDataDir(async (dir) => {
      const port = await freePort();
      const trace = join(dir, "trace");
      const proc = Bun.spawn(
        ["strace", "-f", "-e", "trace=write,fdatasync,fsync,sendto", "-o", trace, ...serverCommand(), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendfsync", "always"],
        { stdout: "ignore", stderr: "ignore" },
      );
      try {
        await waitUntil(async () => (await RawClient.connect(port).then((c) => (c.close(), true)).catch(() => false)), 15_000, "the traced server");
        const c = await RawClient.connect(port);
        for (let i = 0; i < 5; i++) {
          c.write(resp("SET", `traced${i}`, "v"));
          expect((await c.lines(1))[0]).toBe("+OK");
        }
        c.write(resp("SHUTDOWN")); // strace exits with the server it traces
        await c.waitClosed();
        expect(await proc.exited).toBe(0);
      } finally {
        proc.kill("SIGKILL");
      }
      const lines = readFileSync(trace, "latin1").split("\n");
      for (let i = 0; i < 5; i++) {
        const record = lines.findIndex((l) => /\bwrite\(/.test(l) && l.includes(`traced${i}`));
        const reply = lines.findIndex((l, n) => n > record && /sendto\(.*\+OK/.test(l));
        const sync = lines.findIndex((l, n) => n > record && /\bf(data)?sync\(\d+\) += 0/.test(l));
        expect(record).toBeGreaterThanOrEqual(0);
        expect(sync).toBeGreaterThan(record);
        expect(reply).toBeGreaterThan(sync);
      }
    });
  });
});

describe("configuration at runtime", () => {
  test("CONFIG SET appendfsync and appendonly; INFO persistence follows", async () => {
    await withDataDir(async (dir) => {
      const server = await startServer(["--appendonly", "no"], { dir });
      const c = await ready(connectOnce(server.port));
      await c.set("before", "1");
      expect((await persistenceInfo(c)).aof_enabled).toBe("0");
      expect(existsSync(join(dir, "appendonly.aof"))).toBe(false);

      // Switching on writes the whole keyspace as the AOF first.
      expect(await c.config("SET", "appendonly", "yes")).toBe("OK");
      await waitUntil(async () => (await persistenceInfo(c)).aof_rewrite_in_progress === "0", 5000, "the first rewrite");
      await c.set("while-on", "2");
      expect(await c.config("SET", "appendfsync", "always")).toBe("OK");
      expect(await c.config("GET", "appendfsync")).toEqual(["appendfsync", "always"]);
      await c.set("always", "3");
      const info = await persistenceInfo(c);
      expect(info.aof_enabled).toBe("1");
      expect(info.aof_fsync_policy).toBe("always");
      expect(Number(info.aof_current_size)).toBe(statSync(join(dir, "appendonly.aof")).size);
      expect(await c.config("SET", "appendfsync", "sometimes").catch((e: Error) => e.message)).toContain("appendfsync");

      expect(await c.config("SET", "appendonly", "no")).toBe("OK");
      await c.set("after-off", "4");
      c.disconnect();
      await server.kill("SIGKILL");

      const restarted = await startServer([], { dir });
      const r = await ready(connectOnce(restarted.port));
      expect(await r.mget("before", "while-on", "always", "after-off")).toEqual(["1", "2", "3", null]);
      r.disconnect();
      await restarted.stop();
    });
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dispatch } from "../../src/commands/dispatch.ts";
import type { ClientState } from "../../src/commands/types.ts";
import { AofRewrite } from "../../src/persistence/aof-rewrite.ts";
import { AppendOnlyFile } from "../../src/persistence/append-only-file.ts";
import { Keyspace } from "../../src/store/keyspace.ts";
import { Logger } from "../../src/util/log.ts";
import { makeContext } from "../helpers/context.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Where SLOWLOG, LATENCY and MONITOR get their data: dispatch (slow
 * commands, what monitors are fed, what they may run) and the AOF (its
 * write, fsync and rewrite steps). The end-to-end side is in
 * test/e2e/diagnostics.test.ts.
 */

/** A context whose server's diagnostics settings can be changed (they are readonly to commands). */
function context() {
  const ctx = makeContext();
  const server = ctx.server as unknown as {
    slowCommandUs: number;
    slowlogThresholdUs: number;
    monitorCount: number;
    commandClock: number;
    feedMonitors: (client: ClientState, argv: readonly string[]) => void;
  };
  const fed: string[][] = [];
  server.feedMonitors = (_client, argv) => void fed.push([...argv]);
  const run = (...argv: string[]): string => {
    server.commandClock = Bun.nanoseconds();
    const start = ctx.out.length;
    dispatch(ctx, argv);
    const text = ctx.out.buf.latin1Slice(start, ctx.out.length);
    ctx.out.length = 0;
    return text;
  };
  return { ctx, server, fed, run };
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("dispatch: slow commands", () => {
  test("a command at or over the threshold is logged with its arguments, client address and name", () => {
    const { ctx, server, run } = context();
    server.slowCommandUs = server.slowlogThresholdUs = 0;
    ctx.client.name = "worker";
    run("SET", "k", "v");
    const [entry] = ctx.server.slowlog.newest(1);
    expect(entry).toMatchObject({ args: ["SET", "k", "v"], clientAddress: "127.0.0.1:50000", clientName: "worker" });
  });

  test("nothing is logged under the threshold", () => {
    const { ctx, server, run } = context();
    server.slowCommandUs = server.slowlogThresholdUs = 1_000_000;
    run("SET", "k", "v");
    expect(ctx.server.slowlog.length).toBe(0);
  });

  test("passwords are redacted: AUTH, HELLO … AUTH, CONFIG SET requirepass", () => {
    const { ctx, server, run } = context();
    server.slowCommandUs = server.slowlogThresholdUs = 0;
    run("AUTH", "s3cret");
    run("AUTH", "default", "s3cret");
    run("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "n");
    run("CONFIG", "SET", "maxmemory", "0", "requirepass", "s3cret");
    expect(ctx.server.slowlog.newest(10).map((e) => e.args).reverse()).toEqual([
      ["AUTH", "(redacted)"],
      ["AUTH", "(redacted)", "(redacted)"],
      ["HELLO", "2", "AUTH", "(redacted)", "(redacted)", "SETNAME", "n"],
      ["CONFIG", "SET", "maxmemory", "0", "requirepass", "(redacted)"],
    ]);
  });

  test("LATENCY: a fast command is filed under fast-command, any other under command, in whole ms", () => {
    const { ctx, server, run } = context();
    ctx.server.latency.thresholdMs = 2;
    server.slowCommandUs = 2000;
    server.slowlogThresholdUs = -1;
    run("SET", "k", "hello");
    const realGet = ctx.db.get.bind(ctx.db);
    ctx.db.get = (key: string) => {
      busyWait(3);
      return realGet(key);
    };
    const realRead = ctx.db.readInto.bind(ctx.db);
    ctx.db.readInto = (key, sink) => {
      busyWait(3);
      return realRead(key, sink);
    };
    expect(run("GET", "k")).toBe("$5\r\nhello\r\n"); // GET is flagged fast
    expect(ctx.server.latency.all().map((e) => e.name)).toEqual(["fast-command"]);
    expect(run("GETRANGE", "k", "0", "1")).toBe("$2\r\nhe\r\n"); // GETRANGE is not
    expect(ctx.server.latency.all().map((e) => e.name)).toEqual(["fast-command", "command"]);
    const fast = ctx.server.latency.get("fast-command")!;
    const slow = ctx.server.latency.get("command")!;
    for (const event of [fast, slow]) {
      expect(event.latest.ms).toBeGreaterThanOrEqual(3);
      expect(event.latest.ms).toBeLessThan(1000);
      expect(Number.isInteger(event.latest.ms)).toBe(true);
    }
    // SLOWLOG was off (-1): latency alone does not fill it.
    expect(ctx.server.slowlog.length).toBe(0);
  });
});

describe("dispatch: MONITOR", () => {
  test("monitors are fed each command after it ran, redacted; admin commands are not shown", () => {
    const { server, fed, run } = context();
    server.monitorCount = 1;
    run("SET", "k", "v");
    run("AUTH", "default", "s3cret");
    run("CONFIG", "SET", "requirepass", "s3cret");
    run("CONFIG", "SET", "requirepass", "");
    run("GET", "k");
    // Refused before running: not shown (Redis feeds from call()).
    run("GET");
    expect(fed).toEqual([
      ["SET", "k", "v"],
      ["AUTH", "(redacted)", "(redacted)"],
      ["GET", "k"],
    ]);
  });

  test("nothing is fed while nobody monitors", () => {
    const { fed, run } = context();
    run("SET", "k", "v");
    expect(fed).toEqual([]);
  });

  test("a client in MONITOR mode may not touch keys, but may PING, QUIT, CLIENT …", () => {
    const { ctx, run } = context();
    (ctx.client as { monitor: boolean }).monitor = true;
    const refused = "-ERR Replica can't interact with the keyspace\r\n";
    expect(run("GET", "k")).toBe(refused);
    expect(run("SET", "k", "v")).toBe(refused);
    expect(run("DBSIZE")).toBe(refused);
    expect(run("KEYS", "*")).toBe(refused);
    expect(ctx.db.size).toBe(0);
    expect(run("PING")).toBe("+PONG\r\n");
    expect(run("ECHO", "x")).toBe("$1\r\nx\r\n");
    expect(run("CLIENT", "ID")).toBe(":1\r\n");
    // MONITOR again: ignored, no reply at all (replication.c monitorCommand).
    expect(run("MONITOR")).toBe("");
    expect(run("QUIT")).toBe("+OK\r\n");
  });
});

describe("AOF latency events", () => {
  const dir = mkdtempSync(join(tmpdir(), "atomickv-aof-latency-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the turn's write is aof-write; the fsync under appendfsync always is aof-fsync-always", () => {
    const aof = new AppendOnlyFile("always", new Logger());
    const events: [string, number][] = [];
    aof.onLatency = (event, ms) => void events.push([event, ms]);
    aof.open(join(dir, "always.aof"));
    expect(aof.write()).toBe(true); // nothing buffered: no write, no event
    expect(events).toEqual([]);
    aof.append(["SET", "k", "v"]);
    expect(aof.write()).toBe(true);
    expect(aof.fsyncNow()).toBe(true);
    expect(events.map(([event]) => event)).toEqual(["aof-write", "aof-fsync-always"]);
    for (const [, ms] of events) expect(ms).toBeGreaterThanOrEqual(0);
    // Under everysec the fsync is not the always policy's: no event.
    aof.policy = "everysec";
    aof.append(["SET", "k", "v"]);
    aof.write();
    aof.fsyncNow();
    expect(events.map(([event]) => event)).toEqual(["aof-write", "aof-fsync-always", "aof-write"]);
    aof.close();
  });

  test("a rewrite reports its final steps: aof-rewrite-diff-write, aof-rewrite-done-fsync, aof-rename", async () => {
    const cwd = process.cwd();
    process.chdir(dir); // the rewrite's temp file and directory fsync are relative to the working directory
    try {
      const db = new Keyspace();
      db.now = Date.now();
      db.set("a", "1");
      const aof = new AppendOnlyFile("everysec", new Logger());
      aof.open("rewrite.aof");
      aof.append(["SET", "a", "1"]);
      aof.write();
      const events: string[] = [];
      aof.onLatency = (event) => void events.push(event);
      const rewrite = new AofRewrite(db, aof, "rewrite.aof", true, () => 0, new Logger());
      const done = rewrite.run();
      // A write made while the rewrite runs is in the diff it copies at the end.
      aof.append(["SET", "b", "2"]);
      aof.write();
      await done;
      expect(events).toEqual(["aof-write", "aof-rewrite-diff-write", "aof-rewrite-done-fsync", "aof-rename"]);
      aof.close();
    } finally {
      process.chdir(cwd);
    }
  });
});

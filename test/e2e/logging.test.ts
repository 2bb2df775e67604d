import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logContains, waitUntil } from "../helpers/aof.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { freePort, runToExit, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * What the operator reads: the startup banner, warnings about risky
 * configuration, connection events at verbose level, the log file and the
 * JSON format, and progress lines for long work.
 */

const tmp = mkdtempSync(join(tmpdir(), "atomickv-logging-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** redis-server's layout: `pid:M 25 Nov 2026 02:23:48.123 * message`. */
const REDIS_LINE = /^(\d+):M \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.\-*#]) (.+)$/;

async function ping(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  c.write(resp("PING"));
  await c.lines(1);
  c.close();
}

describe("the log", () => {
  test("startup banner: version, commit, pid, port, data dir, fsync policy, maxmemory; then ready", async () => {
    const server = await startServer(["--maxmemory", "100mb", "--appendfsync", "always"]);
    try {
      const logs = await logContains(server, "Ready to accept connections");
      const banner = logs.split("\n").find((l) => l.includes("AtomicKV "))!;
      expect(banner).toMatch(REDIS_LINE);
      expect(banner).toMatch(/AtomicKV \d+\.\d+\.\d+ \(commit \S+, bun \S+\)/);
      expect(banner).toContain(`pid=${server.proc.pid}`);
      expect(banner).toContain(`port=${server.port}`);
      expect(banner).toContain(`dir=${server.dir}`);
      expect(banner).toContain("maxmemory=100.00M");
      expect(banner).toContain("appendfsync=always");
    } finally {
      await server.stop();
    }
  });

  test("risky configuration is said at startup: no password with protected mode off, persistence off", async () => {
    const server = await startServer(["--bind", "0.0.0.0", "--protected-mode", "no", "--appendonly", "no"]);
    try {
      const logs = await logContains(server, "Ready to accept connections");
      expect(logs).toMatch(/# no password and protected mode off on 0\.0\.0\.0 port \d+: anyone who can reach it/);
      expect(logs).toContain("# appendonly is off: nothing is persisted");
    } finally {
      await server.stop();
    }
    const quiet = await startServer();
    try {
      const logs = await logContains(quiet, "Ready to accept connections");
      expect(logs).not.toContain("protected mode off");
      expect(logs).not.toContain("appendonly is off");
    } finally {
      await quiet.stop();
    }
  });

  test("--logfile takes the log; verbose shows connections opening and closing; loglevel changes at runtime", async () => {
    const logfile = join(tmp, "server.log");
    const server = await startServer(["--logfile", logfile]);
    try {
      await waitUntil(() => readFileSync(logfile, "utf8").includes("Ready to accept connections"), 10_000, "the ready line in the log file");
      await ping(server.port);
      expect(server.logs()).toBe("");
      expect(readFileSync(logfile, "utf8")).not.toContain("Accepted");

      const admin = await RawClient.connect(server.port);
      admin.write(resp("CONFIG", "SET", "loglevel", "verbose"));
      expect(await admin.lines(1)).toEqual(["+OK"]);
      const c = await RawClient.connect(server.port);
      c.write(resp("PING"));
      await c.lines(1);
      c.close();
      await waitUntil(() => readFileSync(logfile, "utf8").includes("Client closed connection"), 5000, "the close line");
      const lines = readFileSync(logfile, "utf8").trimEnd().split("\n");
      for (const line of lines) expect(line).toMatch(REDIS_LINE);
      const accepted = lines.filter((l) => / - Accepted 127\.0\.0\.1:\d+ \(id \d+\)$/.test(l));
      expect(accepted).toHaveLength(1);
      expect(lines.some((l) => / - Client closed connection id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+$/.test(l))).toBe(true);
      admin.close();
    } finally {
      await server.stop();
    }
    expect(readFileSync(logfile, "utf8")).toContain("ready to exit");
  });

  test("--log-format json: one JSON object per line with time, level, pid and message", async () => {
    const server = await startServer(["--log-format", "json", "--loglevel", "verbose", "--appendonly", "no"]);
    try {
      await logContains(server, "Ready to accept connections");
      await ping(server.port);
      await logContains(server, "Client closed connection");
    } finally {
      await server.stop();
    }
    const lines = server.logs().trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const event = JSON.parse(line) as { time: string; level: string; pid: number; msg: string };
      expect(Object.keys(event)).toEqual(["time", "level", "pid", "msg"]);
      expect(new Date(event.time).toISOString()).toBe(event.time);
      expect(["debug", "verbose", "notice", "warning"]).toContain(event.level);
      expect(event.pid).toBe(server.proc.pid);
    }
    const levels = new Map(lines.map((l) => JSON.parse(l) as { level: string; msg: string }).map((e) => [e.msg.split(" ")[0], e.level]));
    expect(levels.get("appendonly")).toBe("warning");
    expect(levels.get("Accepted")).toBe("verbose");
    expect(levels.get("Ready")).toBe("notice");
  });

  test("a log file that cannot be opened stops startup with one line naming 'logfile'", async () => {
    const { code, stderr } = await runToExit(["--logfile", "/nonexistent-dir/x.log", "--port", String(await freePort()), "--dir", tmp]);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("for 'logfile'");
  });
});

describe("progress of long work", () => {
  test("an AOF rewrite that runs over a second logs each tenth: percent, keys, keys/s, time left", async () => {
    // 20,000 keys at 100 µs each: a two-second rewrite.
    const server = await startServer(["--rdb-key-save-delay", "100"]);
    const c = await RawClient.connect(server.port);
    try {
      for (let i = 0; i < 20_000; i += 1000) {
        let batch = "";
        for (let j = i; j < i + 1000; j++) batch += resp("SET", `key:${j}`, "value");
        c.write(batch);
        await c.lines(1000);
      }
      c.write(resp("BGREWRITEAOF"));
      expect((await c.lines(1))[0]).toStartWith("+Background append only file rewriting");
      const logs = await logContains(server, "Background AOF rewrite finished successfully", 30_000);
      const progress = logs.split("\n").filter((l) => l.includes("Rewriting AOF:"));
      expect(progress.length).toBeGreaterThanOrEqual(3);
      let last = 0;
      for (const line of progress) {
        const m = line.match(/Rewriting AOF: (\d+)% \((\d+) keys written, (\d+) keys\/s, about (\d+) s left\)$/);
        expect(m).not.toBeNull();
        const percent = Number(m![1]);
        expect(percent).toBeGreaterThan(last);
        last = percent;
        expect(Number(m![3])).toBeGreaterThan(0);
      }
    } finally {
      c.close();
      await server.stop();
    }
  }, 60_000);
});

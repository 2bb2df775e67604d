import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OPTIONS, OPTION_NAMES } from "../../src/config/options.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { freePort, runToExit, serverCommand, startServer, waitForPing } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The server's configuration end to end: --help/--version, startup failures
 * (exit 1, one line on stderr naming the option), environment variables and
 * config files taking effect, precedence, and the limits that options set
 * (maxclients, timeout).
 */


const ROOT = resolve(import.meta.dir, "../..");
const tmp = mkdtempSync(join(tmpdir(), "atomickv-config-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function writeConfig(lines: string[]): string {
  const path = join(tmp, `server-${fileNo++}.conf`);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** PING as a RESP request without its final CRLF (RawClient.command appends it). */
const RESP_PING = resp("PING").slice(0, -2);

function envName(name: string): string {
  return `ATOMICKV_${name.toUpperCase().replace(/-/g, "_")}`;
}

/** Asserts a refused start: exit 1, nothing on stdout, exactly one line on stderr, containing every `needle`. */
async function expectStartupFailure(args: string[], env: Record<string, string>, ...needles: (string | RegExp)[]): Promise<string> {
  const { code, stdout, stderr } = await runToExit(args, env);
  const lines = stderr.split("\n").filter((l) => l !== "");
  if (code !== 1 || lines.length !== 1) {
    throw new Error(`expected exit 1 with one stderr line for ${JSON.stringify(args)} ${JSON.stringify(env)}; got ${code}: ${JSON.stringify(stderr)}`);
  }
  expect(stdout).toBe("");
  expect(stderr.endsWith("\n")).toBe(true);
  for (const needle of needles) {
    if (typeof needle === "string") expect(lines[0]).toContain(needle);
    else expect(lines[0]).toMatch(needle);
  }
  return lines[0]!;
}

/**
 * Starts a server with exactly `argv` (the test chooses where a config file
 * and --port go; startServer always puts its flags first), waits for PING on
 * `port`, and returns a stop function.
 */
async function spawnServer(argv: string[], port: number, env: Record<string, string> = {}): Promise<{ proc: Subprocess; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmp, "data-"));
  const proc = Bun.spawn([...serverCommand(), ...argv, "--dir", dir], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = new Response(proc.stderr).text();
  try {
    await Promise.race([
      waitForPing(port),
      proc.exited.then(async (code) => {
        throw new Error(`server exited with ${code}: ${await stderr}`);
      }),
    ]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return {
    proc,
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

function client(port: number): Redis {
  return new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: false });
}

/** CONFIG GET for several names at once, as an object. */
async function configGet(redis: Redis, ...names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const reply = (await redis.config("GET", name)) as string[];
    for (let i = 0; i < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
  }
  return out;
}

describe("--help and --version", () => {
  test("--help lists every option with its env variable and exits 0", async () => {
    const { code, stdout, stderr } = await runToExit(["--help"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toContain("Usage:");
    expect(stdout).toContain("flag > env > file > default");
    for (const name of OPTION_NAMES) {
      expect(stdout).toMatch(new RegExp(`^  --${name.replace(/-/g, "\\-")} `, "m"));
      expect(stdout).toContain(envName(name));
      expect(stdout).toContain(OPTIONS[name].accepts);
    }
    // -h is the same; --help wins over other flags and does not start a server.
    const short = await runToExit(["-h"]);
    expect(short.code).toBe(0);
    expect(short.stdout).toBe(stdout);
    const withFlags = await runToExit(["--port", "1", "--help"]);
    expect(withFlags.code).toBe(0);
    expect(withFlags.stdout).toBe(stdout);
  });

  test("--version prints one line: version, git commit, Bun version and build target", async () => {
    const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as { version: string; packageManager: string };
    const { code, stdout, stderr } = await runToExit(["--version"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    const match = stdout.match(/^AtomicKV (\S+) commit=(\S+) bun=(\S+) target=(\S+) \((\S+)\)\n$/);
    expect(match).not.toBeNull();
    const [, version, commit, bun, target, platform] = match!;
    expect(version).toBe(pkg.version);
    expect(bun).toBe(pkg.packageManager.split("@")[1]);
    expect(platform).toBe(`${process.platform}-${process.arch}`);
    if (process.env.ATOMICKV_BINARY) {
      // A built binary names the commit it came from and the target it was compiled for.
      const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
      if (head !== "") expect(commit).toStartWith(head);
      expect(target).toBe(`bun-${process.platform}-${process.arch}`);
    } else {
      expect([commit, target]).toEqual(["source", "source"]);
    }
    expect((await runToExit(["-v"])).stdout).toBe(stdout);
  });
});

describe("--ping: the healthcheck mode", () => {
  test("exits 0 printing PONG when the configured server answers, with the password from the environment", async () => {
    const server = await startServer(["--requirepass", "hunter2"]);
    try {
      const ok = await runToExit(["--ping", "--port", String(server.port)], { ATOMICKV_REQUIREPASS: "hunter2" });
      expect(ok).toEqual({ code: 0, stdout: "PONG\n", stderr: "" });
      // The same options in another order, from a config file: the server's own configuration sources.
      const file = writeConfig([`port ${server.port}`, "requirepass hunter2"]);
      expect((await runToExit([file, "--ping"])).code).toBe(0);

      const noPassword = await runToExit(["--ping", "--port", String(server.port)], { ATOMICKV_REQUIREPASS: "" });
      expect(noPassword.code).toBe(1);
      expect(noPassword.stderr).toBe("atomic_server --ping: NOAUTH Authentication required.\n");
      const wrong = await runToExit(["--ping", "--port", String(server.port)], { ATOMICKV_REQUIREPASS: "wrong" });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toStartWith("atomic_server --ping: WRONGPASS");
    } finally {
      await server.stop();
    }
    // Nothing listens there any more.
    const down = await runToExit(["--ping", "--port", String(server.port)], { ATOMICKV_REQUIREPASS: "" });
    expect(down.code).toBe(1);
    expect(down.stderr).toStartWith(`atomic_server --ping: cannot connect to 127.0.0.1:${server.port}`);
  });
});

describe("startup failures: exit 1, one line on stderr naming the option", () => {
  test("bad flag values", async () => {
    await Promise.all([
      expectStartupFailure(["--port", "abc"], {}, "'port'", "abc", "--port"),
      expectStartupFailure(["--port", "70000"], {}, "'port'"),
      expectStartupFailure(["--maxmemory", "lots"], {}, "'maxmemory'", "lots"),
      expectStartupFailure(["--maxmemory-policy", "foo"], {}, "'maxmemory-policy'", "foo"),
      expectStartupFailure(["--maxclients", "0"], {}, "'maxclients'"),
      expectStartupFailure(["--bind", "cafe"], {}, "'bind'", "cafe"),
      expectStartupFailure(["--timeout", "-1"], {}, "'timeout'"),
      expectStartupFailure(["--hz", "0"], {}, "'hz'"),
      expectStartupFailure(["--loglevel", "loud"], {}, "'loglevel'"),
      expectStartupFailure(["--bind", "not-an-address"], {}, "'bind'"),
      expectStartupFailure(["--save", "900 1"], {}, "'save'"),
      expectStartupFailure(["--appendonly", "maybe"], {}, "'appendonly'"),
      expectStartupFailure(["--appendfsync", "sometimes"], {}, "'appendfsync'"),
      expectStartupFailure(["--appendfilename", "a/b.aof"], {}, "'appendfilename'"),
      expectStartupFailure(["--port"], {}, "'port'"),
    ]);
  });

  test("unknown option", async () => {
    await expectStartupFailure(["--nope"], {}, "'nope'", "unknown option");
    await expectStartupFailure(["--nope", "1", "--port", "1234"], {}, "'nope'");
  });

  test("bad environment variables name both the option and the variable", async () => {
    await Promise.all([
      expectStartupFailure([], { ATOMICKV_MAXCLIENTS: "0" }, "'maxclients'", "ATOMICKV_MAXCLIENTS"),
      expectStartupFailure([], { ATOMICKV_PORT: "http" }, "'port'", "ATOMICKV_PORT"),
      expectStartupFailure([], { ATOMICKV_MAXMEMORY_POLICY: "lfu" }, "'maxmemory-policy'", "ATOMICKV_MAXMEMORY_POLICY"),
    ]);
  });

  test("a bad line in a config file names the option and the file", async () => {
    const bad = writeConfig(["# fine so far", "port 6390", "maxmemory lots", "hz 10"]);
    await expectStartupFailure([bad], {}, "'maxmemory'", "lots", bad);
    const unknown = writeConfig(["port 6390", "maxmemroy 1mb"]);
    await expectStartupFailure([unknown], {}, "'maxmemroy'", unknown);
    const quotes = writeConfig(["port 6390", 'dir "unterminated']);
    await expectStartupFailure([quotes], {}, `${quotes}:2`);
    await expectStartupFailure([join(tmp, "missing.conf")], {}, "missing.conf");
  });

  test("a bad dir names 'dir'", async () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "not a directory");
    await expectStartupFailure(["--port", String(await freePort()), "--dir", file], {}, "'dir'");
  });

  test("a port already in use: exit 1 with a clear line", async () => {
    const server = await startServer();
    try {
      const line = await expectStartupFailure(["--port", String(server.port), "--bind", "127.0.0.1", "--dir", tmp], {}, String(server.port));
      expect(line).toMatch(/in use|EADDRINUSE/i);
      // The running server is unaffected.
      const redis = client(server.port);
      expect(await redis.ping()).toBe("PONG");
      redis.disconnect();
    } finally {
      await server.stop();
    }
  });
});

describe("environment variables and config files take effect", () => {
  test("ATOMICKV_* variables", async () => {
    const server = await startServer([], {
      env: { ATOMICKV_MAXMEMORY: "3mb", ATOMICKV_MAXMEMORY_POLICY: "volatile-ttl", ATOMICKV_HZ: "42", ATOMICKV_MAXCLIENTS: "77" },
    });
    const redis = client(server.port);
    try {
      expect(await configGet(redis, "maxmemory", "maxmemory-policy", "hz", "maxclients", "timeout")).toEqual({
        maxmemory: String(3 * 1024 * 1024),
        "maxmemory-policy": "volatile-ttl",
        hz: "42",
        maxclients: "77",
        timeout: "0",
      });
      const info = await redis.info("memory");
      expect(info).toContain(`maxmemory:${3 * 1024 * 1024}`);
      expect(info).toContain("maxmemory_policy:volatile-ttl");
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  test("a config file (first argument), with comments and quotes", async () => {
    const port = await freePort();
    const path = writeConfig([
      "# AtomicKV test config",
      `port ${port}`,
      'bind "127.0.0.1"',
      "",
      "maxmemory 5mb",
      "maxmemory-policy allkeys-random",
      "  # indented comment",
      "timeout 300",
      'save ""',
      "loglevel warning",
    ]);
    const server = await spawnServer([path], port);
    const redis = client(port);
    try {
      expect(await configGet(redis, "maxmemory*", "timeout", "save", "loglevel", "bind", "port")).toEqual({
        maxmemory: String(5 * 1024 * 1024),
        "maxmemory-policy": "allkeys-random",
        timeout: "300",
        save: "",
        loglevel: "warning",
        bind: "127.0.0.1",
        port: String(port),
      });
      expect(await redis.info("server")).toContain(`config_file:${path}`);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  test("precedence end to end: flag > env > file > default", async () => {
    const filePort = await freePort();
    const flagPort = await freePort();
    const path = writeConfig([`port ${filePort}`, "bind 127.0.0.1", "maxmemory 1mb", "maxclients 11", "hz 11", "timeout 11"]);
    const server = await spawnServer([path, "--port", String(flagPort), "--hz", "33"], flagPort, {
      ATOMICKV_MAXMEMORY: "2mb",
      ATOMICKV_HZ: "22",
      ATOMICKV_TIMEOUT: "22",
    });
    const redis = client(flagPort);
    try {
      expect(await configGet(redis, "port", "hz", "timeout", "maxmemory", "maxclients", "maxmemory-policy")).toEqual({
        port: String(flagPort), // flag over file
        hz: "33", // flag over env over file
        timeout: "22", // env over file
        maxmemory: String(2 * 1024 * 1024), // env over file
        maxclients: "11", // file over default
        "maxmemory-policy": "allkeys-lru", // default
      });
      // Nothing listens on the file's port.
      const refused = await Bun.connect({ hostname: "127.0.0.1", port: filePort, socket: { data() {} } }).then(
        (s) => {
          s.end();
          return false;
        },
        () => true,
      );
      expect(refused).toBe(true);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});

describe("limits set by options", () => {
  test("--maxclients 2: the third connection gets -ERR max number of clients reached", async () => {
    const server = await startServer(["--maxclients", "2"]);
    const clients: RawClient[] = [];
    try {
      // waitForPing's probe connections may still be closing: retry until two are in.
      for (let i = 0; i < 2; i++) {
        const c = await RawClient.connect(server.port);
        clients.push(c);
        expect(await c.command(RESP_PING)).toBe("+PONG");
      }
      const third = await RawClient.connect(server.port);
      await third.waitClosed(5000);
      expect(third.pending).toBe("-ERR max number of clients reached\r\n");
      // The first two still work; after one leaves, a new client is accepted.
      expect(await clients[0]!.command(RESP_PING)).toBe("+PONG");
      clients[1]!.close();
      await clients[1]!.waitClosed();
      const deadline = Date.now() + 5000;
      let accepted: RawClient | null = null;
      while (accepted === null && Date.now() < deadline) {
        const c = await RawClient.connect(server.port);
        c.write(resp("PING"));
        const reply = await c.waitFor((r) => r.includes("\n"), 2000).catch(() => c.pending);
        if (reply.startsWith("+PONG")) accepted = c;
        else {
          c.close();
          await Bun.sleep(50);
        }
      }
      expect(accepted).not.toBeNull();
      clients.push(accepted!);
    } finally {
      for (const c of clients) c.close();
      await server.stop();
    }
  });

  test("--timeout 1 closes an idle client within a few seconds, but not an active one", async () => {
    const server = await startServer(["--timeout", "1"]);
    try {
      const idle = await RawClient.connect(server.port);
      const active = await RawClient.connect(server.port);
      expect(await idle.command(RESP_PING)).toBe("+PONG");
      expect(await active.command(RESP_PING)).toBe("+PONG");
      const started = Date.now();
      let idleClosedAt = 0;
      const idleClosed = idle.waitClosed(8000).then(() => (idleClosedAt = Date.now()));
      // Keep the other client busy, 4 commands a second, until well past the
      // first deadline (Bun's socket timers tick every ~4 s and do not restart
      // on traffic, so a naive socket.timeout() would close it too).
      while (Date.now() - started < 5500 || !idle.closed) {
        if (Date.now() - started > 9000) break;
        expect(await active.command(RESP_PING)).toBe("+PONG");
        await Bun.sleep(250);
      }
      await idleClosed;
      expect(idle.closed).toBe(true);
      expect(idleClosedAt - started).toBeLessThan(8000);
      expect(active.closed).toBe(false);
      expect(await active.command(RESP_PING)).toBe("+PONG");
      active.close();
    } finally {
      await server.stop();
    }
  }, 20_000);

  test("--timeout 0 (the default) never closes idle clients", async () => {
    const server = await startServer([]);
    try {
      const idle = await RawClient.connect(server.port);
      await Bun.sleep(4500); // past Bun's ~4 s socket timer tick
      expect(idle.closed).toBe(false);
      expect(await idle.command(RESP_PING)).toBe("+PONG");
      idle.close();
    } finally {
      await server.stop();
    }
  }, 20_000);
});

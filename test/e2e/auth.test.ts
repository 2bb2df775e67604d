import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import Redis from "ioredis";
import { makeNetworkNamespace } from "../helpers/netns.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, makeDataDir, runToExit, startServer, type RunningServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * requirepass, AUTH, HELLO … AUTH and protected mode. Protected mode is
 * tested from a peer host: a network namespace joined to this one by a veth
 * pair, never the machine's own external address.
 */

const PASSWORD = "correct horse battery staple";

describe("requirepass and AUTH", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(["--requirepass", PASSWORD]);
  });
  afterAll(async () => {
    await server.stop();
  });

  test("before AUTH every command but AUTH, HELLO and QUIT gets -NOAUTH; AUTH pw and AUTH default pw work", async () => {
    const c = await RawClient.connect(server.port);
    c.write(resp("GET", "k"));
    expect((await c.lines(1))[0]).toBe("-NOAUTH Authentication required.");
    c.write(resp("PING"));
    expect((await c.lines(1))[0]).toBe("-NOAUTH Authentication required.");
    c.write(resp("NOSUCHCOMMAND"));
    expect((await c.lines(1))[0]).toStartWith("-ERR unknown command 'NOSUCHCOMMAND'");
    c.write(resp("AUTH", "wrong"));
    expect((await c.lines(1))[0]).toBe("-WRONGPASS invalid username-password pair or user is disabled.");
    c.write(resp("AUTH", "someone", PASSWORD));
    expect((await c.lines(1))[0]).toBe("-WRONGPASS invalid username-password pair or user is disabled.");
    c.write(resp("AUTH", PASSWORD));
    expect((await c.lines(1))[0]).toBe("+OK");
    c.write(resp("SET", "k", "v"));
    expect((await c.lines(1))[0]).toBe("+OK");
    c.close();

    const d = await RawClient.connect(server.port);
    d.write(resp("AUTH", "default", PASSWORD) + resp("GET", "k"));
    expect(await d.lines(3)).toEqual(["+OK", "$1", "v"]);
    d.close();
  });

  test("failed attempts are counted in INFO and logged with the peer's address", async () => {
    const c = await RawClient.connect(server.port);
    c.write(resp("AUTH", "nope"));
    await c.lines(1);
    c.write(resp("AUTH", PASSWORD) + resp("INFO", "stats"));
    await c.waitFor((r) => r.includes("acl_access_denied_auth:"));
    expect(Number(/acl_access_denied_auth:(\d+)/.exec(c.pending)![1])).toBeGreaterThanOrEqual(1);
    c.close();
    expect(server.logs()).toMatch(/failed AUTH from 127\.0\.0\.1:\d+/);
    expect(server.logs()).not.toContain("nope");
  });

  test("before AUTH, Redis's tighter request limits apply: 10 arguments, 16 KiB bulks", async () => {
    const many = await RawClient.connect(server.port);
    many.write(resp("MSET", ...Array.from({ length: 12 }, (_, i) => `k${i}`)));
    expect((await many.lines(1))[0]).toBe("-ERR Protocol error: unauthenticated multibulk length");
    await many.waitClosed();
    const big = await RawClient.connect(server.port);
    big.write(`*2\r\n$4\r\nAUTH\r\n$20000\r\n`);
    expect((await big.lines(1))[0]).toBe("-ERR Protocol error: unauthenticated bulk length");
    await big.waitClosed();
    const authed = await RawClient.connect(server.port);
    authed.write(resp("AUTH", PASSWORD) + resp("MSET", ...Array.from({ length: 12 }, (_, i) => `k${i}`)));
    expect(await authed.lines(2)).toEqual(["+OK", "+OK"]);
    authed.close();
  });

  test("the seed's text protocol asks for AUTH too", async () => {
    const c = await RawClient.connect(server.port);
    expect(await c.command("GET k")).toBe("NOAUTH Authentication required.");
    expect(await c.command(`AUTH "${PASSWORD}"`)).toBe("OK");
    expect(await c.command("GET k")).toBe("v");
    c.close();
  });

  test("HELLO needs AUTH in it before authentication; HELLO 3 AUTH default pw authenticates", async () => {
    const c = await RawClient.connect(server.port);
    c.write(resp("HELLO", "3"));
    expect((await c.lines(1))[0]).toStartWith("-NOAUTH HELLO must be called with the client already authenticated");
    c.write(resp("HELLO", "3", "AUTH", "default", "bad"));
    expect((await c.lines(1))[0]).toBe("-WRONGPASS invalid username-password pair or user is disabled.");
    c.write(resp("HELLO", "3", "AUTH", "default", PASSWORD));
    expect((await c.lines(1))[0]).toBe("%7");
    c.close();
  });

  test("Bun's RedisClient and ioredis authenticate with the password", async () => {
    const bun = new RedisClient(`redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`);
    await bun.set("from-bun", "1");
    expect(await bun.get("from-bun")).toBe("1");
    bun.close();
    const io = new Redis({ port: server.port, host: "127.0.0.1", password: PASSWORD });
    expect(await io.get("from-bun")).toBe("1");
    io.disconnect();
    const wrong = new Redis({ port: server.port, host: "127.0.0.1", password: "wrong", maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    const errors: string[] = [];
    wrong.on("error", (e: Error) => errors.push(e.message));
    await wrong.connect().catch(() => {});
    await Bun.sleep(50);
    expect(errors.join(" ")).toContain("WRONGPASS");
    wrong.disconnect();
  });
});

describe("requirepass from the environment and at runtime", () => {
  test("ATOMICKV_REQUIREPASS, and CONFIG SET requirepass applies to new connections", async () => {
    const server = await startServer([], { env: { ATOMICKV_REQUIREPASS: "first" } });
    const c = await RawClient.connect(server.port);
    c.write(resp("AUTH", "first") + resp("CONFIG", "SET", "requirepass", "second"));
    expect(await c.lines(2)).toEqual(["+OK", "+OK"]);
    c.write(resp("PING"));
    expect((await c.lines(1))[0]).toBe("+PONG"); // an authenticated connection stays so
    const d = await RawClient.connect(server.port);
    d.write(resp("AUTH", "first") + resp("AUTH", "second") + resp("PING"));
    expect(await d.lines(3)).toEqual(["-WRONGPASS invalid username-password pair or user is disabled.", "+OK", "+PONG"]);
    c.write(resp("CONFIG", "SET", "requirepass", ""));
    expect((await c.lines(1))[0]).toBe("+OK");
    const e = await RawClient.connect(server.port);
    e.write(resp("PING"));
    expect((await e.lines(1))[0]).toBe("+PONG");
    for (const x of [c, d, e]) x.close();
    await server.stop();
  });
});

/** A peer host: a network namespace with a veth pair to this one. Null where it cannot be made (not root). */
function makePeer(): { hostAddress: string; run(args: string[]): Promise<string>; remove(): void } | null {
  const netns = makeNetworkNamespace("peer", "10.231");
  if (typeof netns === "string") return null;
  const { name: ns, hostAddress, remove } = netns;
  return {
    hostAddress,
    remove,
    // Sends RESP commands from inside the namespace; prints what came back before the server closed or 1 s passed.
    async run(commands: string[]) {
      const script = `
        const { PEER_HOST: host, PEER_PORT: port, PEER_PAYLOAD: payload } = process.env;
        let out = "";
        const s = await Bun.connect({ hostname: host, port: Number(port), socket: {
          data(_s, d) { out += Buffer.from(d).toString("latin1"); },
          close() { process.stdout.write(out); process.exit(0); },
        } });
        s.write(payload);
        setTimeout(() => { process.stdout.write(out); process.exit(0); }, 1000);`;
      const proc = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, "-e", script], {
        stdout: "pipe",
        env: { ...process.env, PEER_HOST: hostAddress, PEER_PORT: commands[0]!, PEER_PAYLOAD: commands[1]! },
      });
      const text = await new Response(proc.stdout).text();
      await proc.exited;
      return text;
    },
  };
}

describe("protected mode, from a peer host", () => {
  const peer = makePeer();
  afterAll(() => peer?.remove());

  test("without a password, a non-loopback peer gets one line saying how to fix it and is closed; loopback is served", async () => {
    if (peer === null) {
      console.warn("skipped: cannot create a network namespace here (needs root and ip netns)");
      return;
    }
    const server = await startServer(["--bind", "127.0.0.1", peer.hostAddress]);
    const reply = await peer.run([String(server.port), resp("PING")]);
    expect(reply).toStartWith("-DENIED AtomicKV is running in protected mode");
    expect(reply).toContain("--requirepass");
    expect(reply).toContain("--protected-mode no");
    expect(reply.split("\r\n").length).toBe(2); // one line, then the connection closed
    const local = await RawClient.connect(server.port);
    local.write(resp("PING"));
    expect((await local.lines(1))[0]).toBe("+PONG");
    local.close();
    await server.stop();
  });

  test("with a password the peer may connect and must AUTH; with protected-mode no it is served", async () => {
    if (peer === null) return;
    const withPassword = await startServer(["--bind", "127.0.0.1", peer.hostAddress, "--requirepass", PASSWORD]);
    expect(await peer.run([String(withPassword.port), resp("PING") + resp("AUTH", PASSWORD) + resp("PING")])).toBe(
      "-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n",
    );
    await withPassword.stop();
    const open = await startServer(["--bind", "127.0.0.1", peer.hostAddress, "--protected-mode", "no"]);
    expect(await peer.run([String(open.port), resp("PING")])).toBe("+PONG\r\n");
    await open.stop();
  });
});

describe("rename-command", () => {
  test("a disabled command is unknown, a renamed one answers to its new name only, and the AOF logs the real name", async () => {
    const dir = makeDataDir();
    try {
      const args = ["--rename-command", "FLUSHALL", "", "--rename-command", "CONFIG", "admin-config"];
      const server = await startServer(args, { dir, env: { ATOMICKV_RENAME_COMMAND: "KEYS;FLUSHDB wipe" } });
      const c = await RawClient.connect(server.port);
      c.write(resp("FLUSHALL") + resp("CONFIG", "GET", "port") + resp("KEYS", "*"));
      const [flushall, config, keys] = await c.lines(3);
      expect(flushall).toStartWith("-ERR unknown command 'FLUSHALL'");
      expect(config).toStartWith("-ERR unknown command 'CONFIG'");
      expect(keys).toStartWith("-ERR unknown command 'KEYS'");
      c.write(resp("ADMIN-CONFIG", "GET", "port"));
      expect(await c.lines(5)).toEqual(["*2", "$4", "port", `$${String(server.port).length}`, String(server.port)]);
      c.write(resp("SET", "k", "v") + resp("WIPE") + resp("SET", "after", "1"));
      expect(await c.lines(3)).toEqual(["+OK", "+OK", "+OK"]);
      c.close();
      await server.stop();
      expect(readFileSync(join(dir, "appendonly.aof"), "latin1")).toContain("$7\r\nflushdb\r\n");
      // Replayed with the same renames: the file names the real command.
      const again = await startServer(args, { dir, env: { ATOMICKV_RENAME_COMMAND: "KEYS;FLUSHDB wipe" } });
      const r = await RawClient.connect(again.port);
      r.write(resp("MGET", "k", "after"));
      expect(await r.lines(4)).toEqual(["*2", "$-1", "$1", "1"]);
      r.close();
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("renaming a command that does not exist stops startup naming the option", async () => {
    const run = await runToExit(["--port", String(await freePort()), "--bind", "127.0.0.1", "--rename-command", "NOSUCH", "x"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("'rename-command': no such command");
  });
});

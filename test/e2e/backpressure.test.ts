import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { RawClient, bulk, resp } from "../helpers/raw.ts";
import { startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * A client that sends requests and never reads the replies. Redis with
 * default settings buffers every reply (about 1 GiB for 1,000 GETs of a
 * 1 MiB value); AtomicKV stops reading from that client instead, so its
 * memory stays put and other clients are not slowed.
 */

function residentBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
  return Number(kb) * 1024;
}

const MIB = 1024 * 1024;

describe("a client that never reads", () => {
  test("1,000 pipelined GETs of a 1 MiB value: memory stays bounded, others are served, and every reply arrives once it reads", async () => {
    const server = await startServer(["--appendonly", "no"]);
    const setup = await RawClient.connect(server.port);
    setup.write(resp("SET", "big", "x".repeat(MIB)));
    expect((await setup.lines(1))[0]).toBe("+OK");
    setup.write(resp("PING"));
    await setup.lines(1);
    Bun.gc(true);
    await Bun.sleep(200);
    const before = residentBytes(server.proc.pid);

    let received = 0;
    const greedy = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data(_s, chunk) {
          received += chunk.length;
        },
      },
    });
    greedy.pause(); // it does not read
    greedy.write(Buffer.from(Array.from({ length: 1000 }, () => resp("GET", "big")).join(""), "latin1"));
    await Bun.sleep(1500);
    const during = residentBytes(server.proc.pid);

    // Another client is answered at once.
    const started = performance.now();
    setup.write(resp("GET", "small-missing"));
    expect((await setup.lines(1))[0]).toBe("$-1");
    expect(performance.now() - started).toBeLessThan(1000);
    // Within a few MiB of where it started, not the ~1 GiB of replies.
    console.log(`resident growth while not reading: ${((during - before) / MIB).toFixed(1)} MiB`);
    expect(during - before).toBeLessThan(64 * MIB);

    greedy.resume();
    const expected = 1000 * (MIB + `$${MIB}\r\n`.length + 2);
    const deadline = Date.now() + 20_000;
    while (received < expected && Date.now() < deadline) await Bun.sleep(20);
    expect(received).toBe(expected);
    greedy.end();
    setup.close();
    await server.stop();
  });
});

describe("a connection flood", () => {
  test("2,000 connections opened at once: an existing client is served throughout, and every one of them is accepted and answered", async () => {
    const server = await startServer(["--appendonly", "no"]);
    const existing = await RawClient.connect(server.port);
    let answered = 0;
    const flood = Array.from({ length: 2000 }, () =>
      Bun.connect({
        hostname: "127.0.0.1",
        port: server.port,
        socket: {
          data(_s, chunk) {
            if (chunk.toString("latin1") === "+PONG\r\n") answered++;
          },
        },
      }).catch(() => null),
    );
    // While they connect, the existing client keeps getting answers.
    const waits: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      existing.write(resp("INCR", "n"));
      expect((await existing.lines(1))[0]).toBe(`:${i + 1}`);
      waits.push(performance.now() - started);
    }
    expect(Math.max(...waits)).toBeLessThan(2000);
    const sockets = await Promise.all(flood);
    expect(sockets.filter((s) => s !== null).length).toBe(2000);
    // A burst past the listen backlog (511 in Redis, 512 here) overflows the
    // kernel's accept queue: the client sees its connection open while the
    // server has not accepted it yet, and the kernel completes it on a
    // SYN-ACK retransmit about a second later. So: every connection is
    // answered, not necessarily at once.
    for (const s of sockets) s!.write("*1\r\n$4\r\nPING\r\n");
    const deadline = Date.now() + 15_000;
    while (answered < 2000 && Date.now() < deadline) await Bun.sleep(20);
    expect(answered).toBe(2000);
    existing.write(resp("INFO", "clients"));
    await existing.waitFor((r) => r.includes("connected_clients:"));
    expect(Number(/connected_clients:(\d+)/.exec(existing.pending)![1])).toBe(2001);
    for (const s of sockets) s?.end();
    existing.close();
    await server.stop();
  });
});

describe("request limits", () => {
  test("proto-max-bulk-len and client-query-buffer-limit, set at runtime, refuse and disconnect as Redis does", async () => {
    const server = await startServer(["--appendonly", "no"]);
    const admin = await RawClient.connect(server.port);
    admin.write(resp("CONFIG", "SET", "proto-max-bulk-len", "1kb") + resp("CONFIG", "SET", "client-query-buffer-limit", "1mb"));
    expect(await admin.lines(2)).toEqual(["+OK", "+OK"]);

    const big = await RawClient.connect(server.port);
    big.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n`);
    expect((await big.lines(1))[0]).toBe("-ERR Protocol error: invalid bulk length");
    await big.waitClosed();

    // A declared 10 MB bulk is within proto-max-bulk-len once raised, but the
    // client's unparsed input passes 1 MiB: it is dropped.
    admin.write(resp("CONFIG", "SET", "proto-max-bulk-len", "512mb"));
    await admin.lines(1);
    const hog = await RawClient.connect(server.port);
    hog.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n`);
    for (let i = 0; i < 20 && !hog.closed; i++) {
      hog.write("x".repeat(128 * 1024));
      await Bun.sleep(5);
    }
    await hog.waitClosed();
    expect(server.logs()).toContain("reached max query buffer length");
    admin.write(resp("PING"));
    expect((await admin.lines(1))[0]).toBe("+PONG");
    admin.close();
    await server.stop();
  });
});

describe("client-output-buffer-limit", () => {
  test("a client whose unsent replies pass the hard limit is disconnected; others go on; INFO counts output bytes", async () => {
    const server = await startServer(["--appendonly", "no", "--client-output-buffer-limit", "normal 4mb 0 0"]);
    const admin = await RawClient.connect(server.port);
    admin.write(resp("SETRANGE", "huge", String(16 * MIB - 1), "y")); // a 16 MiB value without sending one
    expect((await admin.lines(1))[0]).toBe(`:${16 * MIB}`);
    let closed = false;
    const reader = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data() {},
        close() {
          closed = true;
        },
      },
    });
    reader.pause();
    reader.write(resp("GET", "huge"));
    const deadline = Date.now() + 5000;
    while (!server.logs().includes("closed for overcoming of output buffer limits") && Date.now() < deadline) await Bun.sleep(20);
    expect(server.logs()).toContain("closed for overcoming of output buffer limits");
    reader.resume();
    while (!closed && Date.now() < deadline) await Bun.sleep(20);
    expect(closed).toBe(true);
    admin.write(resp("INFO", "stats"));
    await admin.waitFor((r) => r.includes("total_net_output_bytes:"));
    expect(Number(/total_net_output_bytes:(\d+)/.exec(admin.pending)![1])).toBeGreaterThan(16 * MIB);
    admin.close();
    await server.stop();
  });
});

describe("replies held for the AOF while a client pauses", () => {
  test("with the AOF on, a pipeline whose replies pass the pause mark mid-turn: the writes parsed after it still get their replies, whole and in order", async () => {
    // The first turn logs a write, so its replies are held for the AOF
    // write; they pass the 1 MiB pause mark, parsing stops, and the commit
    // that sends them lets the client parse the rest at once, which logs
    // another write while that commit is still releasing.
    const server = await startServer(["--appendonly", "yes", "--appendfsync", "everysec"]);
    const c = await RawClient.connect(server.port);
    const value = "v".repeat(512 * 1024);
    const requests = [
      resp("SET", "big", value),
      resp("GET", "big"),
      resp("GET", "big"),
      resp("GET", "big"),
      resp("SET", "after", "1"),
      resp("GET", "after"),
      resp("INCR", "counter"),
      resp("PING"),
    ];
    const expected = "+OK\r\n" + bulk(value).repeat(3) + "+OK\r\n" + bulk("1") + ":1\r\n+PONG\r\n";
    for (let round = 0; round < 3; round++) {
      c.write(requests.join(""));
      expect(await c.bytes(expected.length)).toBe(expected);
      c.write(resp("DEL", "counter"));
      expect(await c.lines(1)).toEqual([":1"]);
    }
    c.close();
    await server.stop();
  });
});

describe("replies of pipelined reads, held to the end of the turn", () => {
  for (const appendonly of ["no", "yes"]) {
    test(`appendonly ${appendonly}: clients pipelining at once and one sending a request at a time each get their own replies, whole and in order`, async () => {
      // A read that carries several commands has its replies held and sent
      // with the turn's others, from one buffer the clients share; a lone
      // request's reply goes out at once unless something was held first.
      const server = await startServer(["--appendonly", appendonly]);
      const setup = await RawClient.connect(server.port);
      const values = ["a", "b", "c"].map((letter, i) => letter.repeat(1000 * (i + 1)));
      for (let i = 0; i < values.length; i++) {
        setup.write(resp("SET", `k${i}`, values[i]!));
        expect(await setup.lines(1)).toEqual(["+OK"]);
      }
      const pipeliners = await Promise.all(values.map(() => RawClient.connect(server.port)));
      const lone = await RawClient.connect(server.port);
      for (let round = 0; round < 20; round++) {
        const pipelines = pipeliners.map((_, i) => {
          const requests = [resp("GET", `k${i}`), resp("INCR", `n${i}`), resp("GET", `k${i}`), resp("GET", "missing"), resp("PING")];
          const expected = bulk(values[i]!) + `:${round + 1}\r\n` + bulk(values[i]!) + "$-1\r\n+PONG\r\n";
          return { requests: requests.join(""), expected };
        });
        pipeliners.forEach((c, i) => c.write(pipelines[i]!.requests));
        lone.write(resp("GET", "k0"));
        const replies = await Promise.all(pipeliners.map((c, i) => c.bytes(pipelines[i]!.expected.length)));
        expect(replies).toEqual(pipelines.map((p) => p.expected));
        expect(await lone.bytes(bulk(values[0]!).length)).toBe(bulk(values[0]!));
      }
      for (const c of [...pipeliners, lone, setup]) {
        c.write(resp("PING"));
        expect(await c.lines(1)).toEqual(["+PONG"]);
        expect(c.pending).toBe("");
        c.close();
      }
      await server.stop();
    });
  }
});

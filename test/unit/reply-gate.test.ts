import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import type { AppendOnlyFile } from "../../src/persistence/append-only-file.ts";
import { Client } from "../../src/server/client.ts";
import { ReplyGate } from "../../src/server/reply-gate.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * ReplyGate keeps the replies of a turn that logged a change in one shared
 * buffer until the AOF write; these check what each client's socket
 * receives, and in what order, whatever the interleaving, a failing disk or
 * a socket that takes only part of a write.
 */

/** A socket that records what it is given, taking at most `accept` bytes per write. */
function fakeSocket(accept = Infinity) {
  const received: string[] = [];
  const socket = {
    accept,
    write(data: Buffer, offset = 0, length = data.length - offset) {
      const n = Math.min(length, socket.accept);
      received.push(data.latin1Slice(offset, offset + n));
      return n;
    },
  };
  return { socket, text: () => received.join("") };
}

function client(id: number, accept = Infinity) {
  const fake = fakeSocket(accept);
  const c = new Client(id, fake.socket as unknown as Socket<Client>, `127.0.0.1:${id}`, "127.0.0.1:8080");
  return { client: c, fake };
}

/** An AOF whose write succeeds or fails as the test says. */
function fakeAof() {
  const aof = { ok: true, writeError: null as string | null, policy: "everysec", unsyncedBytes: 0 };
  const file = {
    get writeError() {
      return aof.writeError;
    },
    policy: "everysec",
    unsyncedBytes: 0,
    write: () => {
      aof.writeError = aof.ok ? null : "disk full";
      return aof.ok;
    },
    fsyncNow: () => true,
    markHealthy: () => {
      aof.writeError = null;
    },
  };
  return { aof, file: file as unknown as AppendOnlyFile };
}

const bytes = (s: string) => Buffer.from(s, "latin1");

function gate(file: AppendOnlyFile) {
  const released: Client[] = [];
  const g = new ReplyGate(file, (c) => {
    released.push(c);
    c.drain();
  });
  return { gate: g, released };
}

describe("ReplyGate", () => {
  test("nothing leaves before the commit; then each client gets its own replies, in order, across interleaving", () => {
    const { file } = fakeAof();
    const { gate: g } = gate(file);
    const a = client(1);
    const b = client(2);
    g.keep(a.client, bytes("+OK\r\n"), 5);
    g.keep(b.client, bytes("$1\r\nx\r\n"), 7);
    g.keep(a.client, bytes("+A2\r\n"), 5); // a's range is no longer at the end
    g.keep(b.client, bytes(":1\r\n"), 4);
    g.keep(a.client, bytes("+A3\r\nignored"), 5); // only `length` bytes count
    expect(a.fake.text()).toBe("");
    expect(b.fake.text()).toBe("");
    expect(a.client.outputBufferBytes).toBe(15);
    expect(a.client.hasPendingOutput).toBe(true);
    g.commit();
    expect(a.fake.text()).toBe("+OK\r\n+A2\r\n+A3\r\n");
    expect(b.fake.text()).toBe("$1\r\nx\r\n:1\r\n");
    expect(a.client.held).toBe(false);
    expect(a.client.outputBufferBytes).toBe(0);
    // The next turn starts from an empty buffer.
    g.keep(b.client, bytes("+NEXT\r\n"), 7);
    g.commit();
    expect(b.fake.text()).toBe("$1\r\nx\r\n:1\r\n+NEXT\r\n");
  });

  test("a failed AOF write keeps the writers' replies (past the turn), releases the readers'; the next good commit sends them in order", () => {
    const { aof, file } = fakeAof();
    const { gate: g } = gate(file);
    const writer = client(1);
    const reader = client(2);
    writer.client.logged = true;
    g.keep(writer.client, bytes("+OK\r\n"), 5);
    g.keep(reader.client, bytes("$-1\r\n"), 5);
    aof.ok = false;
    g.commit();
    expect(reader.fake.text()).toBe("$-1\r\n");
    expect(writer.fake.text()).toBe("");
    expect(writer.client.held).toBe(true);
    expect(writer.client.outputBufferBytes).toBe(5);
    // While the disk refuses, the gate is open to readers (pipelined or not) and the writer's later replies queue behind.
    expect(g.holds(false)).toBe(false);
    expect(g.holds(true)).toBe(false);
    writer.client.send(bytes("-MISCONF\r\n"), 0, 10);
    // Another turn's kept replies must not overwrite the writer's first one.
    g.keep(reader.client, bytes("+PONG\r\n"), 7);
    aof.ok = true;
    g.commit();
    expect(writer.fake.text()).toBe("+OK\r\n-MISCONF\r\n");
    expect(reader.fake.text()).toBe("$-1\r\n+PONG\r\n");
  });

  test("a socket that takes part of a write gets the rest, in order, on drain", () => {
    const { file } = fakeAof();
    const { gate: g } = gate(file);
    const slow = client(1, 3);
    g.keep(slow.client, bytes("+first\r\n"), 8);
    g.keep(slow.client, bytes("+second\r\n"), 9);
    g.commit();
    // The send took 3 bytes, and the release's drain 3 more before the socket pushed back.
    expect(slow.fake.text()).toBe("+first");
    expect(slow.client.outputBufferBytes).toBe(11);
    slow.fake.socket.accept = Infinity;
    expect(slow.client.drain()).toBe(true);
    expect(slow.fake.text()).toBe("+first\r\n+second\r\n");
  });

  test("replies held while a release runs (a resumed client's next writes) wait for the next commit, intact", () => {
    // As the server's resumeIfDrained does: a client whose output drained on
    // release parses what it sent meanwhile, and a write among it holds
    // new replies during the commit that is releasing the old ones.
    const { file } = fakeAof();
    const a = client(1);
    const b = client(2);
    const c = client(3);
    let resumed = false;
    const g: ReplyGate = new ReplyGate(file, (released) => {
      released.drain();
      if (released === a.client && !resumed) {
        resumed = true;
        g.keep(a.client, bytes("+NEW\r\n"), 6);
      }
    });
    g.keep(a.client, bytes("+A1\r\n"), 5);
    g.keep(b.client, bytes("+B1\r\n"), 5);
    g.commit();
    expect(a.fake.text()).toBe("+A1\r\n");
    expect(b.fake.text()).toBe("+B1\r\n");
    expect(a.client.outputBufferBytes).toBe(6);
    // Another client's long reply in the next turn must not land on a's.
    g.keep(c.client, bytes("$40\r\n" + "x".repeat(40) + "\r\n"), 47);
    g.commit();
    expect(a.fake.text()).toBe("+A1\r\n+NEW\r\n");
    expect(c.fake.text()).toBe("$40\r\n" + "x".repeat(40) + "\r\n");
    expect(a.client.outputBufferBytes).toBe(0);
  });

  test("commits reuse their list and buffer: many turns, each client gets exactly its replies", () => {
    const { file } = fakeAof();
    const { gate: g } = gate(file);
    const clients = [client(1), client(2), client(3)];
    const expected = ["", "", ""];
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < clients.length; i++) {
        if ((turn + i) % 2 === 0) continue;
        const reply = `+t${turn}c${i}\r\n`;
        g.keep(clients[i]!.client, bytes(reply), reply.length);
        expected[i] += reply;
      }
      g.commit();
    }
    clients.forEach((c, i) => expect(c.fake.text()).toBe(expected[i]!));
  });

  test("a closed client's held replies are dropped, not sent", () => {
    const { file } = fakeAof();
    const { gate: g, released } = gate(file);
    const gone = client(1);
    g.keep(gone.client, bytes("+OK\r\n"), 5);
    gone.client.closed = true;
    g.commit();
    expect(gone.fake.text()).toBe("");
    expect(released).toHaveLength(0);
  });
});

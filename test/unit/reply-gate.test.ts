import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import type { AppendOnlyFile } from "../../src/persistence/append-only-file.ts";
import { Client } from "../../src/server/client.ts";
import { ReplyGate } from "../../src/server/reply-gate.ts";

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
    // While the disk refuses, the gate is open to readers and the writer's later replies queue behind.
    expect(g.closed).toBe(false);
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

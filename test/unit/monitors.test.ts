import { describe, expect, test } from "bun:test";
import type { Client } from "../../src/server/client.ts";
import { quoteArg } from "../../src/protocol/inline.ts";
import { Monitors } from "../../src/server/monitors.ts";
import { Logger } from "../../src/util/log.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** MONITOR's line format: replication.c replicationFeedMonitors, sds.c sdscatrepr. */

describe("quoteArg (sdscatrepr)", () => {
  test("printable ASCII is kept, inside double quotes", () => {
    expect(quoteArg("set")).toBe('"set"');
    expect(quoteArg("a b~!")).toBe('"a b~!"');
    expect(quoteArg("")).toBe('""');
  });

  test("backslash, double quote and the C escapes", () => {
    expect(quoteArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteArg("C:\\dir")).toBe('"C:\\\\dir"');
    expect(quoteArg("\n\r\t\x07\x08")).toBe('"\\n\\r\\t\\a\\b"');
  });

  test("every other byte is \\x with two lower-case hex digits", () => {
    expect(quoteArg("\x00\x01\x1b\x7f\x80\xff")).toBe('"\\x00\\x01\\x1b\\x7f\\x80\\xff"');
    // Every byte value: printable ones as themselves, the rest escaped, nothing else.
    for (let c = 0; c < 256; c++) {
      const quoted = quoteArg(String.fromCharCode(c));
      if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) expect(quoted).toBe(`"${String.fromCharCode(c)}"`);
      else expect(quoted).toMatch(/^"\\(x[0-9a-f]{2}|[nrtab"\\])"$/);
    }
  });
});

/** A stand-in for a connected Client: what Monitors uses of one. */
function fakeMonitor(id: number, unsent = 0) {
  const sent: string[] = [];
  let terminated = false;
  const client = {
    id,
    address: `127.0.0.1:${40000 + id}`,
    monitor: false,
    closed: false,
    outputBufferBytes: unsent,
    send(buffer: Buffer, start: number, end: number) {
      sent.push(buffer.latin1Slice(start, end));
    },
    socket: {
      terminate() {
        terminated = true;
      },
    },
  };
  return { client, asClient: client as unknown as Client, sent, terminated: () => terminated };
}

function quietLog(): Logger {
  const log = new Logger();
  log.warning = () => {};
  return log;
}

describe("Monitors", () => {
  test("one line per command: +<unix s>.<µs> [0 <address>] then the quoted arguments, CRLF", () => {
    const monitors = new Monitors(quietLog());
    const a = fakeMonitor(1);
    const b = fakeMonitor(2);
    monitors.add(a.asClient);
    monitors.add(b.asClient);
    expect(a.client.monitor).toBe(true);
    const before = Date.now() / 1000;
    const bytes = monitors.feed({ address: "127.0.0.1:6000" }, ["set", "k y", "\x00\xff"]);
    const after = Date.now() / 1000;
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toEqual(a.sent);
    const line = a.sent[0]!;
    expect(bytes).toBe(2 * line.length);
    const match = /^\+(\d+)\.(\d{6}) \[0 127\.0\.0\.1:6000\] "set" "k y" "\\x00\\xff"\r\n$/.exec(line);
    expect(match).not.toBeNull();
    const time = Number(`${match![1]}.${match![2]}`);
    expect(time).toBeGreaterThanOrEqual(before - 0.002);
    expect(time).toBeLessThanOrEqual(after + 0.002);
  });

  test("timestamps never go back, even within one millisecond", () => {
    const monitors = new Monitors(quietLog());
    const m = fakeMonitor(1);
    monitors.add(m.asClient);
    for (let i = 0; i < 2000; i++) monitors.feed({ address: "x" }, ["ping"]);
    const times = m.sent.map((line) => Number(/^\+(\d+\.\d{6})/.exec(line)![1]));
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
  });

  test("a closed monitor is dropped; one with more than 32 MiB unsent is cut off", () => {
    const monitors = new Monitors(quietLog());
    const gone = fakeMonitor(1);
    const stuck = fakeMonitor(2, 32 * 1024 * 1024 + 1);
    const fine = fakeMonitor(3);
    for (const m of [gone, stuck, fine]) monitors.add(m.asClient);
    gone.client.closed = true;
    monitors.feed({ address: "x" }, ["ping"]);
    expect(monitors.size).toBe(1);
    expect(gone.sent).toEqual([]);
    expect(stuck.sent).toEqual([]);
    expect(stuck.terminated()).toBe(true);
    expect(stuck.client.closed).toBe(true);
    expect(fine.sent).toHaveLength(1);
    monitors.remove(fine.asClient);
    expect(monitors.size).toBe(0);
  });
});

import { describe, expect, test } from "bun:test";
import { OutputBuffer, ReplyWriter, RESP2, RESP3, TEXT, type Protocol } from "../../src/protocol/reply.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** ReplyWriter's bytes for RESP2, RESP3 and the seed's plain-text protocol. */

/** Runs `write` against a fresh writer speaking `protocol`; returns the bytes as a latin1 string. */
function encode(protocol: Protocol, write: (w: ReplyWriter) => void): string {
  const out = new OutputBuffer();
  const writer = new ReplyWriter(out);
  writer.protocol = protocol;
  write(writer);
  return out.buf.subarray(0, out.length).toString("latin1");
}

/** The same replies in all three protocols. */
function all(write: (w: ReplyWriter) => void): { resp2: string; resp3: string; text: string } {
  return { resp2: encode(RESP2, write), resp3: encode(RESP3, write), text: encode(TEXT, write) };
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

describe("ReplyWriter: simple replies", () => {
  test("defaults to RESP2", () => {
    const writer = new ReplyWriter(new OutputBuffer());
    expect(writer.protocol).toBe(RESP2);
    expect(writer.errors).toBe(0);
  });

  test("ok", () => {
    expect(all((w) => w.ok())).toEqual({ resp2: "+OK\r\n", resp3: "+OK\r\n", text: "OK\n" });
  });

  test("status", () => {
    expect(all((w) => w.status("PONG"))).toEqual({ resp2: "+PONG\r\n", resp3: "+PONG\r\n", text: "PONG\n" });
  });

  test("error", () => {
    expect(all((w) => w.error("ERR syntax error"))).toEqual({
      resp2: "-ERR syntax error\r\n",
      resp3: "-ERR syntax error\r\n",
      text: "ERR syntax error\n",
    });
    expect(all((w) => w.error("WRONGTYPE Operation against a key holding the wrong kind of value")).resp2).toBe(
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
  });

  test("error messages have CR and LF replaced by spaces", () => {
    expect(all((w) => w.error("ERR bad\r\nthing\rhere\nnow"))).toEqual({
      resp2: "-ERR bad  thing here now\r\n",
      resp3: "-ERR bad  thing here now\r\n",
      text: "ERR bad  thing here now\n",
    });
    // An injected frame stays inside the one error line.
    const bytes = encode(RESP2, (w) => w.error("ERR x\r\n+OK\r\n"));
    expect(bytes).toBe("-ERR x  +OK  \r\n");
    expect(bytes.split("\r\n").length).toBe(2);
  });

  test("errors are counted", () => {
    const out = new OutputBuffer();
    const writer = new ReplyWriter(out);
    writer.ok();
    writer.error("ERR one");
    writer.protocol = TEXT;
    writer.error("ERR two");
    writer.integer(1);
    expect(writer.errors).toBe(2);
  });

  test("integer, number and bigint", () => {
    expect(all((w) => w.integer(42))).toEqual({ resp2: ":42\r\n", resp3: ":42\r\n", text: "42\n" });
    expect(all((w) => w.integer(0))).toEqual({ resp2: ":0\r\n", resp3: ":0\r\n", text: "0\n" });
    expect(all((w) => w.integer(-7))).toEqual({ resp2: ":-7\r\n", resp3: ":-7\r\n", text: "-7\n" });
    expect(all((w) => w.integer(9223372036854775807n))).toEqual({
      resp2: ":9223372036854775807\r\n",
      resp3: ":9223372036854775807\r\n",
      text: "9223372036854775807\n",
    });
    expect(encode(RESP2, (w) => w.integer(-9223372036854775808n))).toBe(":-9223372036854775808\r\n");
  });

  test("bulk", () => {
    expect(all((w) => w.bulk("active"))).toEqual({ resp2: "$6\r\nactive\r\n", resp3: "$6\r\nactive\r\n", text: "active\n" });
    expect(all((w) => w.bulk(""))).toEqual({ resp2: "$0\r\n\r\n", resp3: "$0\r\n\r\n", text: "\n" });
  });

  test("bulk lengths count bytes, and binary bytes go out unchanged (in text, quoted when not one line)", () => {
    const value = "a\r\nb\0c\xff\x80";
    expect(encode(RESP2, (w) => w.bulk(value))).toBe("$8\r\n" + value + "\r\n");
    expect(encode(RESP3, (w) => w.bulk(value))).toBe("$8\r\n" + value + "\r\n");
    expect(encode(TEXT, (w) => w.bulk(value))).toBe('"a\\r\\nb\\x00c\\xff\\x80"\n');
    // UTF-8 and spaces stay as they are; a leading quote or any control byte quotes.
    expect(encode(TEXT, (w) => w.bulk("\xc3\xa9t\xc3\xa9 ok"))).toBe("\xc3\xa9t\xc3\xa9 ok\n");
    expect(encode(TEXT, (w) => w.bulk('"x" y'))).toBe('"\\"x\\" y"\n');
    expect(encode(TEXT, (w) => w.bulk("tab\there"))).toBe('"tab\\there"\n');
    const stored = Buffer.from("k\nv", "latin1");
    expect(encode(TEXT, (w) => w.bulkBytes(stored, 0, stored.length))).toBe('"k\\nv"\n');
    expect(encode(TEXT, (w) => w.bulkBytes(stored, 2, 1))).toBe("v\n");
  });

  test("nullBulk", () => {
    expect(all((w) => w.nullBulk())).toEqual({ resp2: "$-1\r\n", resp3: "_\r\n", text: "(nil)\n" });
  });

  test("nullArray", () => {
    expect(all((w) => w.nullArray())).toEqual({ resp2: "*-1\r\n", resp3: "_\r\n", text: "(nil)\n" });
  });

  test("bulkOrNull", () => {
    expect(all((w) => w.bulkOrNull("v"))).toEqual({ resp2: "$1\r\nv\r\n", resp3: "$1\r\nv\r\n", text: "v\n" });
    expect(all((w) => w.bulkOrNull(null))).toEqual({ resp2: "$-1\r\n", resp3: "_\r\n", text: "(nil)\n" });
    expect(all((w) => w.bulkOrNull(undefined))).toEqual({ resp2: "$-1\r\n", resp3: "_\r\n", text: "(nil)\n" });
  });
});

describe("ReplyWriter: aggregates", () => {
  test("array with elements", () => {
    expect(
      all((w) => {
        w.array(3);
        w.bulk("a");
        w.integer(2);
        w.nullBulk();
      }),
    ).toEqual({
      resp2: "*3\r\n$1\r\na\r\n:2\r\n$-1\r\n",
      resp3: "*3\r\n$1\r\na\r\n:2\r\n_\r\n",
      text: "a\n2\n(nil)\n",
    });
  });

  test("empty array", () => {
    expect(all((w) => w.array(0))).toEqual({ resp2: "*0\r\n", resp3: "*0\r\n", text: "(empty array)\n" });
  });

  test("bulkArray", () => {
    expect(all((w) => w.bulkArray(["x", "", "y\r\nz"]))).toEqual({
      resp2: "*3\r\n$1\r\nx\r\n$0\r\n\r\n$4\r\ny\r\nz\r\n",
      resp3: "*3\r\n$1\r\nx\r\n$0\r\n\r\n$4\r\ny\r\nz\r\n",
      text: 'x\n\n"y\\r\\nz"\n',
    });
    expect(all((w) => w.bulkArray([]))).toEqual({ resp2: "*0\r\n", resp3: "*0\r\n", text: "(empty array)\n" });
  });

  test("nested arrays", () => {
    expect(
      all((w) => {
        w.array(2);
        w.array(2);
        w.bulk("a");
        w.bulk("b");
        w.array(0);
      }),
    ).toEqual({
      resp2: "*2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*0\r\n",
      resp3: "*2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*0\r\n",
      text: "a\nb\n(empty array)\n",
    });
  });

  test("map: %n in RESP3, a flat array of 2n in RESP2", () => {
    expect(
      all((w) => {
        w.map(2);
        w.bulk("server");
        w.bulk("redis");
        w.bulk("proto");
        w.integer(3);
      }),
    ).toEqual({
      resp2: "*4\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n",
      resp3: "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n",
      text: "server\nredis\nproto\n3\n",
    });
    expect(all((w) => w.map(0))).toEqual({ resp2: "*0\r\n", resp3: "%0\r\n", text: "(empty array)\n" });
  });

  test("set: ~n in RESP3, an array in RESP2", () => {
    expect(
      all((w) => {
        w.set(2);
        w.bulk("m1");
        w.bulk("m2");
      }),
    ).toEqual({
      resp2: "*2\r\n$2\r\nm1\r\n$2\r\nm2\r\n",
      resp3: "~2\r\n$2\r\nm1\r\n$2\r\nm2\r\n",
      text: "m1\nm2\n",
    });
    expect(all((w) => w.set(0))).toEqual({ resp2: "*0\r\n", resp3: "~0\r\n", text: "(empty array)\n" });
  });
});

describe("ReplyWriter: RESP3-only types and their RESP2 / text fallbacks", () => {
  test("double: ,x in RESP3, a bulk string otherwise", () => {
    expect(all((w) => w.double(1.5))).toEqual({ resp2: "$3\r\n1.5\r\n", resp3: ",1.5\r\n", text: "1.5\n" });
    expect(all((w) => w.double(3))).toEqual({ resp2: "$1\r\n3\r\n", resp3: ",3\r\n", text: "3\n" });
    expect(all((w) => w.double(-0.25))).toEqual({ resp2: "$5\r\n-0.25\r\n", resp3: ",-0.25\r\n", text: "-0.25\n" });
    expect(all((w) => w.double(Infinity))).toEqual({ resp2: "$3\r\ninf\r\n", resp3: ",inf\r\n", text: "inf\n" });
    expect(all((w) => w.double(-Infinity))).toEqual({ resp2: "$4\r\n-inf\r\n", resp3: ",-inf\r\n", text: "-inf\n" });
    expect(encode(RESP3, (w) => w.double(0.1))).toBe(",0.1\r\n");
  });

  test("bool: #t / #f in RESP3, 1 / 0 otherwise", () => {
    expect(all((w) => w.bool(true))).toEqual({ resp2: ":1\r\n", resp3: "#t\r\n", text: "1\n" });
    expect(all((w) => w.bool(false))).toEqual({ resp2: ":0\r\n", resp3: "#f\r\n", text: "0\n" });
  });

  test("verbatim: =len txt: in RESP3 (length includes the 4-byte format prefix), a bulk in RESP2, the lines as they are in text", () => {
    const info = "# Server\r\nredis_version:7.2.4\r\n";
    expect(all((w) => w.verbatim(info))).toEqual({
      resp2: `$${info.length}\r\n${info}\r\n`,
      resp3: `=${info.length + 4}\r\ntxt:${info}\r\n`,
      text: `${info}\n`,
    });
    expect(all((w) => w.verbatim(""))).toEqual({ resp2: "$0\r\n\r\n", resp3: "=4\r\ntxt:\r\n", text: "\n" });
  });
});

describe("ReplyWriter and OutputBuffer: bytes", () => {
  test("every byte value round-trips: latin1 string in, the same bytes out", () => {
    for (const protocol of [RESP2, RESP3] as const) {
      const out = new OutputBuffer();
      const writer = new ReplyWriter(out);
      writer.protocol = protocol;
      writer.bulk(ALL_BYTES);
      const header = Buffer.from("$256\r\n", "latin1");
      const got = out.buf.subarray(0, out.length);
      expect(got.length).toBe(header.length + 256 + 2);
      expect(Buffer.compare(got.subarray(0, header.length), header)).toBe(0);
      for (let i = 0; i < 256; i++) expect(got[header.length + i]).toBe(i);
      expect(got.subarray(header.length + 256).toString("latin1")).toBe("\r\n");
      // And back: bytes read as latin1 give the original string.
      expect(got.subarray(header.length, header.length + 256).toString("latin1")).toBe(ALL_BYTES);
    }
  });

  test("replies append in order into one buffer", () => {
    expect(
      encode(RESP2, (w) => {
        w.ok();
        w.integer(1);
        w.bulk("x");
        w.nullBulk();
        w.error("ERR e");
      }),
    ).toBe("+OK\r\n:1\r\n$1\r\nx\r\n$-1\r\n-ERR e\r\n");
  });

  test("the protocol can change between replies on the same writer", () => {
    const out = new OutputBuffer();
    const writer = new ReplyWriter(out);
    writer.protocol = TEXT;
    writer.nullBulk();
    writer.protocol = RESP2;
    writer.nullBulk();
    writer.protocol = RESP3;
    writer.nullBulk();
    expect(out.buf.subarray(0, out.length).toString("latin1")).toBe("(nil)\n$-1\r\n_\r\n");
  });

  test("the buffer grows for replies larger than its capacity and keeps earlier bytes", () => {
    const out = new OutputBuffer();
    const writer = new ReplyWriter(out);
    const initial = out.buf.length;
    const big = ALL_BYTES.repeat(Math.ceil((initial * 3) / 256)); // well past the initial capacity
    writer.ok();
    writer.bulk(big);
    writer.integer(7);
    const expected = "+OK\r\n" + `$${big.length}\r\n` + big + "\r\n" + ":7\r\n";
    expect(out.length).toBe(expected.length);
    expect(out.buf.length).toBeGreaterThanOrEqual(expected.length);
    expect(out.buf.subarray(0, out.length).toString("latin1") === expected).toBe(true);
  });

  test("many small writes across the growth boundary stay intact", () => {
    const out = new OutputBuffer();
    const writer = new ReplyWriter(out);
    const n = 20_000; // ":<i>\r\n" x 20000 > 64 KiB
    let expected = "";
    for (let i = 0; i < n; i++) {
      writer.integer(i);
      expected += ":" + i + "\r\n";
    }
    expect(out.buf.subarray(0, out.length).toString("latin1") === expected).toBe(true);
  });

  test("shrink empties the buffer and drops a grown one", () => {
    const out = new OutputBuffer();
    const initial = out.buf.length;
    out.write("x".repeat(initial * 8));
    expect(out.buf.length).toBeGreaterThan(initial * 4);
    out.shrink();
    expect(out.length).toBe(0);
    expect(out.buf.length).toBe(initial);
    // A small buffer is kept, just emptied.
    out.write("abc");
    const kept = out.buf;
    out.shrink();
    expect(out.length).toBe(0);
    expect(out.buf).toBe(kept);
    new ReplyWriter(out).ok();
    expect(out.buf.subarray(0, out.length).toString("latin1")).toBe("+OK\r\n");
  });
});

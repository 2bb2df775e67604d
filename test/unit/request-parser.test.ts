import { describe, expect, test } from "bun:test";
import { Frame, INLINE_MAX_SIZE, internCommandNames, internedNames, LOOKAHEAD_FRAMES, MAX_FRAME_ARGS, ProtocolError, RequestParser, requestLimits } from "../../src/protocol/request-parser.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The request parser against byte streams: mixed RESP / inline pipelines
 * split at every offset, large bulks in chunks, and Redis's protocol errors.
 */

type Event = { argv: string[]; inline: boolean } | { inlineError: string };

/** Byte string (one char per byte) to a Buffer. */
function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/** Encodes a RESP multibulk request; arguments are byte strings. */
function resp(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

/**
 * Feeds each piece to one fresh parser and records everything it reports,
 * in order. With `frames`, whole requests come as frames (as the server
 * takes them), recorded as their argv, and each frame's bytes are checked
 * to be exactly its request's RESP encoding (what the AOF then logs).
 */
function parsePieces(pieces: Buffer[], frames = false): { events: Event[]; parser: RequestParser; frameCount: number } {
  const parser = new RequestParser();
  const events: Event[] = [];
  let frameCount = 0;
  const frameSink = (frame: Frame): boolean => {
    const argv = frame.argv();
    expect(frame.buf.latin1Slice(frame.start, frame.end)).toBe(resp(...argv));
    events.push({ argv, inline: false });
    frameCount++;
    return true;
  };
  for (const piece of pieces) {
    parser.feed(
      piece,
      (argv, inline) => {
        events.push({ argv, inline });
        return true;
      },
      (message) => events.push({ inlineError: message }),
      frames ? frameSink : undefined,
    );
  }
  return { events, parser, frameCount };
}

/** The ProtocolError that feeding `pieces` throws (fails the test if none is thrown). */
function protocolError(...pieces: (string | Buffer)[]): ProtocolError {
  const parser = new RequestParser();
  try {
    for (const piece of pieces) parser.feed(typeof piece === "string" ? bytes(piece) : piece, () => true, () => {});
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error("expected a ProtocolError, but parsing succeeded");
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

// A pipeline mixing both protocols, with the awkward cases in it.
const PIPELINE = [
  resp("SET", "bin\r\nkey\0", "v\r\n\0\xff\x00end"), // CR LF and NUL inside bulk strings
  "GET plain\r\n", // inline, CRLF
  resp("SET", "empty", ""), // empty bulk
  "SET q \"a b\" 'c d' \"\\x41\\n\\t\\x00z\"\n", // inline with quotes and escapes, bare LF
  "\r\n", // empty line (CRLF)
  "\n", // empty line (LF)
  "   \t \r\n", // blank line
  "*0\r\n", // empty multibulk
  "*-1\r\n", // null multibulk: skipped like *0, as in Redis
  resp("PING"),
  '"unbalanced\r\n', // inline error, parsing continues
  resp("ECHO", ALL_BYTES), // every byte value
  resp("SET", "*3\r\n$3", "$-1\r\n*0\r\nPING\n"), // protocol lookalikes inside bulks
  "ECHO *star $dollar\r\n", // inline whose arguments start with * and $
  resp("MSET", "k1", "", "k2", "\r\n", "", "v3"), // empty key and value
  "DEL key\n",
].join("");

const EXPECTED: Event[] = [
  { argv: ["SET", "bin\r\nkey\0", "v\r\n\0\xff\x00end"], inline: false },
  { argv: ["GET", "plain"], inline: true },
  { argv: ["SET", "empty", ""], inline: false },
  { argv: ["SET", "q", "a b", "c d", "A\n\t\0z"], inline: true },
  { argv: ["PING"], inline: false },
  { inlineError: "ERR Protocol error: unbalanced quotes in request" },
  { argv: ["ECHO", ALL_BYTES], inline: false },
  { argv: ["SET", "*3\r\n$3", "$-1\r\n*0\r\nPING\n"], inline: false },
  { argv: ["ECHO", "*star", "$dollar"], inline: true },
  { argv: ["MSET", "k1", "", "k2", "\r\n", "", "v3"], inline: false },
  { argv: ["DEL", "key"], inline: true },
];

describe("RequestParser: mixed pipelines", () => {
  test("the whole pipeline in one read", () => {
    const { events, parser } = parsePieces([bytes(PIPELINE)]);
    expect(events).toEqual(EXPECTED);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("cut into two pieces at every byte offset", () => {
    const whole = bytes(PIPELINE);
    for (let cut = 0; cut <= whole.length; cut++) {
      // Fresh copies: each piece is its own buffer, as a socket read is.
      const { events, parser } = parsePieces([Buffer.from(whole.subarray(0, cut)), Buffer.from(whole.subarray(cut))]);
      if (!Bun.deepEquals(events, EXPECTED)) {
        throw new Error(`cut at ${cut}: got ${JSON.stringify(events)}`);
      }
      expect(parser.bufferedBytes).toBe(0);
    }
  });

  test("fed one byte at a time", () => {
    const whole = bytes(PIPELINE);
    const pieces = Array.from({ length: whole.length }, (_, i) => Buffer.from(whole.subarray(i, i + 1)));
    const { events, parser } = parsePieces(pieces);
    expect(events).toEqual(EXPECTED);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("cut into three pieces at many offset pairs", () => {
    const whole = bytes(PIPELINE);
    for (let a = 0; a <= whole.length; a += 7) {
      for (let b = a; b <= whole.length; b += 13) {
        const { events } = parsePieces([whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)].map((p) => Buffer.from(p)));
        if (!Bun.deepEquals(events, EXPECTED)) throw new Error(`cuts at ${a}, ${b}: got ${JSON.stringify(events)}`);
      }
    }
  });

  test("an incomplete tail stays buffered until the rest arrives", () => {
    const { events, parser } = parsePieces([bytes("*2\r\n$3\r\nGET\r\n$5\r\nab")]);
    expect(events).toEqual([]);
    expect(parser.bufferedBytes).toBeGreaterThan(0);
    const more: Event[] = [];
    parser.feed(
      bytes("cde\r\nPING"),
      (argv, inline) => {
        more.push({ argv, inline });
        return true;
      },
      () => {},
    );
    expect(more).toEqual([{ argv: ["GET", "abcde"], inline: false }]);
    expect(parser.bufferedBytes).toBe(4); // "PING" waits for its newline
  });

  test("bulk payload is taken by length; CR LF inside it never ends it early", () => {
    const value = "\r\n\r\n*1\r\n$4\r\nPING\r\n";
    const { events } = parsePieces([bytes(resp("SET", "k", value) + resp("GET", "k"))]);
    expect(events).toEqual([
      { argv: ["SET", "k", value], inline: false },
      { argv: ["GET", "k"], inline: false },
    ]);
  });
});

describe("RequestParser: frames (whole requests read in place)", () => {
  test("the pipeline in one read: every RESP request is a frame, the same arguments as strings", () => {
    const { events, parser, frameCount } = parsePieces([bytes(PIPELINE)], true);
    expect(events).toEqual(EXPECTED);
    expect(frameCount).toBe(EXPECTED.filter((e) => "argv" in e && !e.inline).length);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("cut at every offset and fed byte by byte: requests split across reads still come out whole and in order", () => {
    const whole = bytes(PIPELINE);
    for (let cut = 0; cut <= whole.length; cut++) {
      const { events, parser } = parsePieces([Buffer.from(whole.subarray(0, cut)), Buffer.from(whole.subarray(cut))], true);
      if (!Bun.deepEquals(events, EXPECTED)) throw new Error(`cut at ${cut}: got ${JSON.stringify(events)}`);
      expect(parser.bufferedBytes).toBe(0);
    }
    const pieces = Array.from({ length: whole.length }, (_, i) => Buffer.from(whole.subarray(i, i + 1)));
    expect(parsePieces(pieces, true).events).toEqual(EXPECTED);
  });

  test("the command name is interned; the frame is reused, its argv() is not", () => {
    internCommandNames(["get"]);
    const parser = new RequestParser();
    const seen: { name: string | undefined; argv: string[]; frame: Frame }[] = [];
    parser.feed(
      bytes(resp("get", "a") + resp("nosuch", "b")),
      () => true,
      () => {},
      (frame) => {
        seen.push({ name: internedNames[frame.nameId], argv: frame.argv(), frame });
        return true;
      },
    );
    expect(seen.map((s) => [s.name, s.argv])).toEqual([
      ["get", ["get", "a"]],
      [undefined, ["nosuch", "b"]],
    ]);
    expect(seen[0]!.frame).toBe(seen[1]!.frame);
  });

  test("names of one shape (length and first byte) are told apart by their other bytes, in either case given", () => {
    internCommandNames(["zadd", "zrem", "ZADD", "zrem"]);
    const ids = (names: string[]) => {
      const parser = new RequestParser();
      const found: (string | undefined)[] = [];
      parser.feed(bytes(names.map((n) => resp(n, "k")).join("")), () => true, () => {}, (frame) => {
        found.push(frame.nameId < 0 ? undefined : internedNames[frame.nameId]);
        return true;
      });
      return found;
    };
    expect(ids(["zrem", "zadd", "ZADD", "zaddx", "zrex", "zreM", "zre", "z"])).toEqual(["zrem", "zadd", "ZADD", undefined, undefined, undefined, undefined, undefined]);
    expect(internedNames.filter((n) => n === "zrem")).toHaveLength(1);
  });

  test(`more than ${MAX_FRAME_ARGS} arguments, an unauthenticated client and malformed requests take the strings path`, () => {
    const many = resp("MSET", ...Array.from({ length: MAX_FRAME_ARGS }, (_, i) => `k${i}`));
    const { events, frameCount } = parsePieces([bytes(many + resp("GET", "x"))], true);
    expect(events.map((e) => ("argv" in e ? e.argv.length : 0))).toEqual([MAX_FRAME_ARGS + 1, 2]);
    expect(frameCount).toBe(1);

    const parser = new RequestParser();
    parser.unauthenticated = true;
    let frames = 0;
    const argvs: string[][] = [];
    parser.feed(bytes(resp("AUTH", "pw")), (argv) => (argvs.push(argv), true), () => {}, () => ++frames > 0);
    expect([frames, argvs]).toEqual([0, [["AUTH", "pw"]]]);

    // Errors are the strings path's: the same text as without frames.
    for (const input of ["*1\r\n:3\r\n", "*1\r\n$-2\r\nab\r\n", "*2\r\n$01\r\nab\r\n"]) {
      let message = "";
      try {
        new RequestParser().feed(bytes(input), () => true, () => {}, () => true);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toBe(protocolError(input).message);
      expect(message).not.toBe("");
    }
  });

  test("a frame sink that returns false stops parsing; the rest waits for the next feed", () => {
    const parser = new RequestParser();
    const names: string[] = [];
    const stopAfterFirst = (frame: Frame) => (names.push(frame.argv()[1]!), names.length !== 1);
    parser.feed(bytes(resp("GET", "a") + resp("GET", "b") + resp("GET", "c")), () => true, () => {}, stopAfterFirst);
    expect(names).toEqual(["a"]);
    expect(parser.bufferedBytes).toBe(resp("GET", "b").length * 2);
    parser.feed(Buffer.alloc(0), () => true, () => {}, stopAfterFirst);
    expect(names).toEqual(["a", "b", "c"]);
    expect(parser.bufferedBytes).toBe(0);
  });
});

describe("RequestParser: lookahead over a pipeline's whole requests", () => {
  /** Feeds each piece, recording `ahead <key>`, `done` and `run <key>` (the frame sink) in order. */
  function lookaheadLog(...pieces: string[]): string[] {
    const parser = new RequestParser();
    const log: string[] = [];
    const lookahead = { ahead: (frame: Frame) => log.push(`ahead ${frame.argv()[1]}`), done: () => log.push("done") };
    const run = (frame: Frame) => (log.push(`run ${frame.argv()[1]}`), true);
    const runStrings = (argv: string[]) => (log.push(`run ${argv[1]}`), true);
    for (const piece of pieces) parser.feed(bytes(piece), runStrings, () => {}, run, lookahead);
    return log;
  }
  const gets = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => resp("GET", `k${from + i}`)).join("");
  const each = (what: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${what} k${from + i}`);

  test(`each batch of up to ${LOOKAHEAD_FRAMES} requests is seen before its first runs; a request split across reads is not seen until whole`, () => {
    const pipeline = gets(1, 40) + resp("GET", "k41");
    const log = lookaheadLog(pipeline.slice(0, -3), pipeline.slice(-3));
    expect(log).toEqual([
      ...each("ahead", 1, 32),
      "done",
      ...each("run", 1, 32),
      ...each("ahead", 33, 40),
      "done",
      ...each("run", 33, 41),
    ]);
  });

  test("a lone request, or one followed only by part of the next, is not looked ahead of", () => {
    expect(lookaheadLog(resp("GET", "a"))).toEqual(["run a"]);
    expect(lookaheadLog(resp("GET", "a") + "*2\r\n$3\r\nGET\r\n$1", "\r\nb\r\n")).toEqual(["run a", "run b"]);
  });

  test("an inline request ends the lookahead; the requests after it get their own", () => {
    expect(lookaheadLog(gets(1, 2) + "GET inline\r\n" + gets(3, 4))).toEqual([
      ...each("ahead", 1, 2),
      "done",
      ...each("run", 1, 2),
      "run inline",
      ...each("ahead", 3, 4),
      "done",
      ...each("run", 3, 4),
    ]);
  });
});

describe("RequestParser: large bulks", () => {
  const MIB = 1024 * 1024;
  // A 1 MiB value with every byte value in it, CR LF included.
  const big = ALL_BYTES.repeat(MIB / 256);

  test("1 MiB bulk fed in 64 KiB chunks is delivered once, intact", () => {
    const whole = bytes(resp("SET", "big", big) + resp("GET", "big") + "PING\r\n");
    const chunk = 64 * 1024;
    const parser = new RequestParser();
    const events: Event[] = [];
    const sink = (argv: string[], inline: boolean) => {
      events.push({ argv, inline });
      return true;
    };
    let fed = 0;
    for (let off = 0; off < whole.length; off += chunk) {
      parser.feed(Buffer.from(whole.subarray(off, off + chunk)), sink, () => {});
      fed = Math.min(whole.length, off + chunk);
      if (fed < whole.length - 40) {
        expect(events).toEqual([]); // nothing before the value's last byte arrives
      }
    }
    expect(events.length).toBe(3);
    const first = events[0] as { argv: string[]; inline: boolean };
    expect(first.inline).toBe(false);
    expect(first.argv.slice(0, 2)).toEqual(["SET", "big"]);
    expect(first.argv.length).toBe(3);
    expect(first.argv[2]!.length).toBe(big.length);
    expect(first.argv[2] === big).toBe(true); // no 1 MiB diff on failure
    expect(events[1]).toEqual({ argv: ["GET", "big"], inline: false });
    expect(events[2]).toEqual({ argv: ["PING"], inline: true });
    expect(parser.bufferedBytes).toBe(0);
  });

  test("1 MiB bulk with chunk edges on the header and on the trailing CR LF", () => {
    const header = `*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${big.length}\r\n`;
    const whole = bytes(header + big + "\r\n" + resp("PING"));
    const cuts = [
      header.length - 3, // inside "$1048576\r\n"
      header.length - 1, // between CR and LF of the length line
      header.length + 1,
      header.length + big.length, // right before the trailing CR LF
      header.length + big.length + 1, // between that CR and LF
    ];
    for (const cut of cuts) {
      const { events, parser } = parsePieces([Buffer.from(whole.subarray(0, cut)), Buffer.from(whole.subarray(cut))]);
      expect(events.length).toBe(2);
      expect((events[0] as { argv: string[] }).argv[2] === big).toBe(true);
      expect(events[1]).toEqual({ argv: ["PING"], inline: false });
      expect(parser.bufferedBytes).toBe(0);
    }
  });

  test("partial bulk data is counted as buffered bytes", () => {
    const parser = new RequestParser();
    parser.feed(bytes(`*2\r\n$4\r\nECHO\r\n$${MIB}\r\n`), () => true, () => {});
    parser.feed(Buffer.alloc(1000, 120), () => true, () => {});
    parser.feed(Buffer.alloc(1000, 121), () => true, () => {});
    expect(parser.bufferedBytes).toBe(2000);
  });
});

describe("RequestParser: protocol errors (Redis's texts)", () => {
  test("invalid multibulk length", () => {
    expect(protocolError("*abc\r\n").message).toBe("Protocol error: invalid multibulk length");
    expect(protocolError("*\r\n").message).toBe("Protocol error: invalid multibulk length");
    expect(protocolError("*1x\r\n").message).toBe("Protocol error: invalid multibulk length");
    expect(protocolError("*+1\r\n").message).toBe("Protocol error: invalid multibulk length");
    expect(protocolError("*99999999999999999999\r\n").message).toBe("Protocol error: invalid multibulk length");
    // Split so the count line arrives in pieces.
    expect(protocolError("*a", "bc\r", "\n").message).toBe("Protocol error: invalid multibulk length");
  });

  test("invalid bulk length", () => {
    expect(protocolError("*1\r\n$-5\r\n").message).toBe("Protocol error: invalid bulk length");
    expect(protocolError("*1\r\n$-1\r\n").message).toBe("Protocol error: invalid bulk length");
    expect(protocolError("*1\r\n$abc\r\n").message).toBe("Protocol error: invalid bulk length");
    expect(protocolError("*1\r\n$\r\n").message).toBe("Protocol error: invalid bulk length");
    // Redis's string2ll rejects leading zeros and "-0".
    expect(protocolError("*1\r\n$01\r\nx\r\n").message).toBe("Protocol error: invalid bulk length");
    expect(protocolError("*01\r\n$1\r\nx\r\n").message).toBe("Protocol error: invalid multibulk length");
    expect(protocolError(`*1\r\n$${requestLimits.maxBulkLength + 1}\r\n`).message).toBe("Protocol error: invalid bulk length");
    expect(protocolError("*2\r\n$3\r\nGET\r\n$99999999999\r\n").message).toBe("Protocol error: invalid bulk length");
  });

  test("a bulk of exactly proto-max-bulk-len is accepted (and waits for its data)", () => {
    const parser = new RequestParser();
    let calls = 0;
    parser.feed(bytes(`*1\r\n$${requestLimits.maxBulkLength}\r\nabc`), () => ++calls > 0, () => {});
    expect(calls).toBe(0);
    expect(parser.bufferedBytes).toBe(3);
  });

  test("a header's CR must be followed by LF, and a bulk string by CRLF", () => {
    const noLF = "Protocol error: expected '\\n' after '\\r'";
    expect(protocolError("*1\rX$4\r\nPING\r\n").message).toBe(noLF);
    expect(protocolError("*1\r\n$4\rXPING\r\n").message).toBe(noLF);
    expect(protocolError("*1\r", "X").message).toBe(noLF);
    expect(protocolError("*1\r\n$4\r\nPINGG\r\n").message).toBe("Protocol error: expected '\\r\\n' after a bulk string of 4 bytes");
    expect(protocolError("*1\r\n$4\r\nPING\rX").message).toBe("Protocol error: expected '\\r\\n' after a bulk string of 4 bytes");
    expect(protocolError("*1\r\n$4\r\nPING\r", "\r").message).toBe("Protocol error: expected '\\r\\n' after a bulk string of 4 bytes");
    // The same requests whole in one read, where the server takes them as frames.
    for (const bad of ["*2\r\n$3\r\nGET\r\n$1\r\nkk\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nk\n\n", "*2\r\n$3\rXGET\r\n$1\r\nk\r\n"]) {
      expect(() => parsePieces([bytes(bad)], true)).toThrow(ProtocolError);
    }
  });

  test("expected '$'", () => {
    expect(protocolError("*1\r\nx\r\n").message).toBe("Protocol error: expected '$', got 'x'");
    expect(protocolError("*1\r\nfoo\r\n").message).toBe("Protocol error: expected '$', got 'f'");
    expect(protocolError("*2\r\n$3\r\nGET\r\n:1\r\n").message).toBe("Protocol error: expected '$', got ':'");
    // Byte by byte as well.
    expect(protocolError(..."*1\r\nx\r\n".split("")).message).toBe("Protocol error: expected '$', got 'x'");
  });

  test("`*1\\r\\nx` without a line end waits, as in Redis, and fails once the line completes", () => {
    const parser = new RequestParser();
    parser.feed(bytes("*1\r\nx"), () => true, () => {});
    expect(parser.bufferedBytes).toBe(1);
    expect(() => parser.feed(bytes("\r\n"), () => true, () => {})).toThrow(ProtocolError);
  });

  test("too big inline request: more than 64 KiB without a newline", () => {
    expect(INLINE_MAX_SIZE).toBe(64 * 1024);
    expect(protocolError("a".repeat(INLINE_MAX_SIZE + 1)).message).toBe("Protocol error: too big inline request");
    // Reached across several reads.
    const half = "b".repeat(INLINE_MAX_SIZE / 2);
    expect(protocolError(half, half, "b").message).toBe("Protocol error: too big inline request");
    // Exactly the limit is still waited for; a newline then completes it.
    const parser = new RequestParser();
    const seen: string[][] = [];
    parser.feed(bytes("ECHO " + "c".repeat(INLINE_MAX_SIZE - 5)), () => true, () => {});
    parser.feed(
      bytes("\n"),
      (argv) => {
        seen.push(argv);
        return true;
      },
      () => {},
    );
    expect(seen.length).toBe(1);
    expect(seen[0]![1]!.length).toBe(INLINE_MAX_SIZE - 5);
  });

  test("too big multibulk / bulk count strings", () => {
    expect(protocolError("*" + "1".repeat(INLINE_MAX_SIZE + 1)).message).toBe("Protocol error: too big mbulk count string");
    expect(protocolError("*1\r\n$" + "1".repeat(INLINE_MAX_SIZE + 1)).message).toBe("Protocol error: too big bulk count string");
  });

  test("ProtocolError is an Error subclass", () => {
    const err = protocolError("*abc\r\n");
    expect(err).toBeInstanceOf(Error);
  });

  test("commands before the malformed frame in the same read are still delivered", () => {
    const parser = new RequestParser();
    const seen: string[][] = [];
    expect(() =>
      parser.feed(
        bytes(resp("SET", "a", "1") + "PING\r\n*1\r\n$abc\r\n"),
        (argv) => {
          seen.push(argv);
          return true;
        },
        () => {},
      ),
    ).toThrow("Protocol error: invalid bulk length");
    expect(seen).toEqual([["SET", "a", "1"], ["PING"]]);
  });
});

describe("RequestParser: inline details", () => {
  test("unbalanced quotes report through the inline error callback and parsing continues", () => {
    const { events } = parsePieces([bytes("SET a \"b\r\nGET a\r\n'x\nSET \"k\"v z\r\n" + resp("PING"))]);
    expect(events).toEqual([
      { inlineError: "ERR Protocol error: unbalanced quotes in request" },
      { argv: ["GET", "a"], inline: true },
      { inlineError: "ERR Protocol error: unbalanced quotes in request" },
      { inlineError: "ERR Protocol error: unbalanced quotes in request" },
      { argv: ["PING"], inline: false },
    ]);
  });

  test("empty lines, blank lines and *0 are skipped", () => {
    const { events, parser } = parsePieces([bytes("\r\n\n  \r\n\t\n*0\r\n*0\r\n\r\nPING\r\n*0\r\n")]);
    expect(events).toEqual([{ argv: ["PING"], inline: true }]);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("CRLF and bare LF line endings; a lone CR is not a line end", () => {
    const { events, parser } = parsePieces([bytes("GET a\r\nGET b\nGET c\rGET d\n")]);
    expect(events).toEqual([
      { argv: ["GET", "a"], inline: true },
      { argv: ["GET", "b"], inline: true },
      { argv: ["GET", "c", "GET", "d"], inline: true },
    ]);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("inline arguments are byte strings (latin1), high bytes included", () => {
    const { events } = parsePieces([Buffer.from([0x53, 0x45, 0x54, 0x20, 0x6b, 0x20, 0xc3, 0xa9, 0xff, 0x0a])]);
    expect(events).toEqual([{ argv: ["SET", "k", "\xc3\xa9\xff"], inline: true }]);
  });
});

describe("RequestParser: the sink can stop parsing", () => {
  // The server stops when a client's unread replies pile up, and goes on
  // with the same bytes once it has read them.
  test("returning false stops after that command; the rest is kept and parsed by the next feed, even an empty one", () => {
    const parser = new RequestParser();
    const seen: string[][] = [];
    let accept = false;
    const sink = (argv: string[]) => {
      seen.push(argv);
      return accept || argv[0] !== "QUIT";
    };
    const rest = resp("SET", "b", "2") + "GET a\r\n*1\r\n$4\r\nPI";
    parser.feed(bytes(resp("SET", "a", "1") + resp("QUIT") + rest), sink, () => {});
    expect(seen).toEqual([["SET", "a", "1"], ["QUIT"]]);
    expect(parser.bufferedBytes).toBe(rest.length);
    accept = true;
    parser.feed(Buffer.alloc(0), sink, () => {});
    expect(seen.slice(2)).toEqual([["SET", "b", "2"], ["GET", "a"]]);
    parser.feed(bytes("NG\r\n"), sink, () => {});
    expect(seen.at(-1)).toEqual(["PING"]);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("returning false from an inline command stops too", () => {
    const parser = new RequestParser();
    const seen: string[][] = [];
    let stopAt = "QUIT";
    const sink = (argv: string[]) => {
      seen.push(argv);
      return argv[0] !== stopAt;
    };
    parser.feed(bytes("PING\r\nQUIT\r\nSET a 1\r\n" + resp("GET", "a")), sink, () => {});
    expect(seen).toEqual([["PING"], ["QUIT"]]);
    stopAt = "SET";
    parser.feed(Buffer.alloc(0), sink, () => {});
    expect(seen.slice(2)).toEqual([["SET", "a", "1"]]);
    parser.feed(Buffer.alloc(0), sink, () => {});
    expect(seen.slice(3)).toEqual([["GET", "a"]]);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("stopping while a split frame was pending keeps the partial frame", () => {
    const parser = new RequestParser();
    const seen: string[][] = [];
    const sink = (argv: string[]) => {
      seen.push(argv);
      return argv[0] !== "QUIT";
    };
    parser.feed(bytes("*1\r\n$4\r\nQU"), sink, () => {});
    parser.feed(bytes("IT\r\n*2\r\n$3\r\nGET\r\n$1\r\n"), sink, () => {});
    expect(seen).toEqual([["QUIT"]]);
    parser.feed(bytes("a\r\n"), sink, () => {});
    expect(seen).toEqual([["QUIT"], ["GET", "a"]]);
    expect(parser.bufferedBytes).toBe(0);
  });
});

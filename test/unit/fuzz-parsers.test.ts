import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AofFormatError, AofReader } from "../../src/persistence/aof-reader.ts";
import { quoteArg } from "../../src/protocol/inline.ts";
import { type Frame, ProtocolError, RequestParser } from "../../src/protocol/request-parser.ts";
import { commandArb, cutsArb, encodeResp, hostileStreamArb, splitAt } from "../fuzz/inputs.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Property-based tests of the two parsers that read untrusted bytes. CI
 * runs a short budget (FUZZ_RUNS, default 1000 per property); bench/fuzz.ts
 * runs a long one against a live server.
 */

const numRuns = Number(process.env.FUZZ_RUNS ?? 1000);

describe("RequestParser under fuzzing", () => {
  test("well-formed requests come out exactly, however the stream is split into reads", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 10 }), cutsArb, (commands, cuts) => {
        const parser = new RequestParser();
        const seen: string[][] = [];
        for (const piece of splitAt(Buffer.concat(commands.map(encodeResp)), cuts)) {
          parser.feed(piece, (argv) => (seen.push(argv), true), () => {});
        }
        expect(seen).toEqual(commands);
        expect(parser.bufferedBytes).toBe(0);
      }),
      { numRuns },
    );
  });

  test("hostile input only ever raises ProtocolError, and never buffers more than it was sent", () => {
    fc.assert(
      fc.property(hostileStreamArb, cutsArb, (bytes, cuts) => {
        const parser = new RequestParser();
        try {
          for (const piece of splitAt(bytes, cuts)) {
            parser.feed(piece, (argv) => argv.length > 0, () => {});
            expect(parser.bufferedBytes).toBeLessThanOrEqual(bytes.length);
          }
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      }),
      { numRuns },
    );
  });

  // The AOF logs a frame's bytes as they arrived (dispatch's propagateBytes):
  // anything the parser accepts as a frame must be a record the loader reads.
  test("hostile input: every frame's bytes are exactly the RESP encoding of its arguments", () => {
    fc.assert(
      fc.property(hostileStreamArb, cutsArb, (bytes, cuts) => {
        const parser = new RequestParser();
        const frames: { raw: string; argv: string[] }[] = [];
        const onFrame = (frame: Frame): boolean => {
          frames.push({ raw: frame.buf.latin1Slice(frame.start, frame.end), argv: frame.argv() });
          return true;
        };
        try {
          for (const piece of splitAt(bytes, cuts)) parser.feed(piece, () => true, () => {}, onFrame);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
        for (const { raw, argv } of frames) expect(raw).toBe(encodeResp(argv).toString("latin1"));
      }),
      { numRuns },
    );
  });
});

describe("RequestParser: inline lines (the seed's text protocol) under fuzzing", () => {
  const binaryArg = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes).toString("latin1"));

  // quoteArg is also how a text reply quotes a value: what it writes must read back as the same bytes.
  test("any arguments, double-quoted with redis-cli's escapes, come out exactly, however the lines are split", () => {
    fc.assert(
      fc.property(fc.array(fc.array(binaryArg, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.boolean(), cutsArb, (lines, crlf, cuts) => {
        const text = lines.map((argv) => argv.map(quoteArg).join(" ") + (crlf ? "\r\n" : "\n")).join("");
        const parser = new RequestParser();
        const seen: string[][] = [];
        const errors: string[] = [];
        for (const piece of splitAt(Buffer.from(text, "latin1"), cuts)) {
          parser.feed(piece, (argv, inline) => (expect(inline).toBe(true), seen.push(argv), true), (message) => errors.push(message));
        }
        expect(errors).toEqual([]);
        expect(seen).toEqual(lines);
        expect(parser.bufferedBytes).toBe(0);
      }),
      { numRuns },
    );
  });

  test("any bytes on a line give arguments or an inline error, never an exception", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 1, maxLength: 5 }), cutsArb, (lines, cuts) => {
        // A line starting with '*' is RESP, fuzzed above.
        const line = (bytes: Uint8Array) => Buffer.from([...bytes.filter((b) => b !== 10)].map((b, i) => (i === 0 && b === 42 ? 43 : b)).concat(10));
        const text = Buffer.concat(lines.map(line));
        const parser = new RequestParser();
        let lineResults = 0;
        for (const piece of splitAt(text, cuts)) {
          parser.feed(piece, (argv) => (expect(argv.length).toBeGreaterThan(0), lineResults++, true), () => lineResults++);
        }
        expect(lineResults).toBeLessThanOrEqual(lines.length);
        expect(parser.bufferedBytes).toBe(0);
      }),
      { numRuns },
    );
  });
});

describe("AofReader under fuzzing", () => {
  test("damaged files only ever raise AofFormatError, at an offset inside the file", () => {
    fc.assert(
      fc.property(hostileStreamArb, cutsArb, (bytes, cuts) => {
        const reader = new AofReader();
        try {
          for (const piece of splitAt(bytes, cuts)) reader.feed(piece, () => {});
          expect(reader.tornAt).toBeLessThanOrEqual(bytes.length);
        } catch (err) {
          if (!(err instanceof AofFormatError)) throw err;
          expect(err.recordOffset).toBeLessThanOrEqual(err.offset);
          expect(err.offset).toBeLessThan(bytes.length + 1);
        }
      }),
      { numRuns },
    );
  });
});

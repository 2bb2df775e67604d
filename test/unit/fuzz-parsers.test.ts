import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AofFormatError, AofReader } from "../../src/persistence/aof-reader.ts";
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

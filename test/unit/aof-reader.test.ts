import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { AofFormatError, AofReader } from "../../src/persistence/aof-reader.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The AOF record splitter against byte streams: the same file cut into
 * chunks anywhere must give the same records at the same file offsets, a
 * record cut off by the end of the file is a torn tail at its own start,
 * and anything that is not a RESP array of bulk strings is an error naming
 * the record (where --fix cuts) and the byte that is wrong.
 */

/** Byte string (one char per byte) to a Buffer. */
function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/** Encodes one AOF record; arguments are byte strings. */
function record(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

type Seen = { argv: string[]; offset: number };

/** Feeds each piece, in order, to one fresh reader and records what its sink receives. */
function feedPieces(pieces: Buffer[]): { seen: Seen[]; reader: AofReader } {
  const reader = new AofReader();
  const seen: Seen[] = [];
  for (const piece of pieces) reader.feed(piece, (argv, offset) => seen.push({ argv, offset }));
  return { seen, reader };
}

/** `whole` as separate buffers of `size` bytes (the last may be shorter). */
function chunked(whole: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < whole.length; i += size) pieces.push(Buffer.from(whole.subarray(i, i + size)));
  return pieces;
}

/** `whole` cut in two at `cut`, each piece its own buffer as a file read is. */
function cutAt(whole: Buffer, cut: number): Buffer[] {
  return [Buffer.from(whole.subarray(0, cut)), Buffer.from(whole.subarray(cut))];
}

/** The AofFormatError that feeding `pieces` throws, and the records delivered before it. */
function formatError(pieces: Buffer[]): { err: AofFormatError; seen: Seen[] } {
  const reader = new AofReader();
  const seen: Seen[] = [];
  try {
    for (const piece of pieces) reader.feed(piece, (argv, offset) => seen.push({ argv, offset }));
  } catch (err) {
    expect(err).toBeInstanceOf(AofFormatError);
    return { err: err as AofFormatError, seen };
  }
  throw new Error("expected an AofFormatError, but every record parsed");
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

// Records as the AOF holds them, with the awkward cases in them.
const ARGVS: string[][] = [
  ["SET", "plain", "value"],
  ["SET", "bin\r\nkey\0", "v\r\n\0\xff\x00end"], // CR LF and NUL inside keys and values
  ["SET", "all", ALL_BYTES], // every byte value
  ["SET", "empty", ""], // empty bulk
  ["SET", "lookalike", "*1\r\n$4\r\nPING\r\n"], // a whole record inside a value
  ["SET", "\r\n", "$-1\r\n*0\r\n"], // headers inside bulks
  ["PING"], // a one-argument record
  ["MSET", "a", "1", "b", "22", "c", "333", "d", "\r"],
  ["DEL", "plain"],
];
const FILE = bytes(ARGVS.map((argv) => record(...argv)).join(""));
// Each record's offset in FILE, and where the last one starts.
const OFFSETS: number[] = [];
{
  let at = 0;
  for (const argv of ARGVS) {
    OFFSETS.push(at);
    at += bytes(record(...argv)).length;
  }
}
const EXPECTED: Seen[] = ARGVS.map((argv, i) => ({ argv, offset: OFFSETS[i]! }));
const LAST_START = OFFSETS[OFFSETS.length - 1]!;

/** Every record delivered once, in order, at its offset, and nothing left over. */
function expectWholeFile(seen: Seen[], reader: AofReader, label: string): void {
  if (!Bun.deepEquals(seen, EXPECTED)) throw new Error(`${label}: got ${JSON.stringify(seen)}`);
  if (reader.records !== ARGVS.length || reader.validEnd !== FILE.length || reader.tornAt !== -1) {
    throw new Error(`${label}: records ${reader.records}, validEnd ${reader.validEnd}, tornAt ${reader.tornAt}`);
  }
}

describe("AofReader: whole records in any chunking", () => {
  test("the whole file in one chunk", () => {
    const { seen, reader } = feedPieces([FILE]);
    expect(seen).toEqual(EXPECTED);
    expect(reader.records).toBe(ARGVS.length);
    expect(reader.validEnd).toBe(FILE.length);
    expect(reader.tornAt).toBe(-1);
  });

  test("cut into two chunks at every byte offset", () => {
    for (let cut = 0; cut <= FILE.length; cut++) {
      const { seen, reader } = feedPieces(cutAt(FILE, cut));
      expectWholeFile(seen, reader, `cut at ${cut}`);
    }
  });

  test("fed one byte at a time", () => {
    const { seen, reader } = feedPieces(chunked(FILE, 1));
    expectWholeFile(seen, reader, "1-byte chunks");
  });

  test("fed in chunks of every size up to 64 bytes", () => {
    for (let size = 2; size <= 64; size++) {
      const { seen, reader } = feedPieces(chunked(FILE, size));
      expectWholeFile(seen, reader, `${size}-byte chunks`);
    }
  });

  test("records are delivered as soon as their last byte arrives, not with the next chunk", () => {
    const reader = new AofReader();
    const seen: Seen[] = [];
    const firstEnd = OFFSETS[1]!;
    reader.feed(Buffer.from(FILE.subarray(0, firstEnd - 1)), (argv, offset) => seen.push({ argv, offset }));
    expect(seen).toEqual([]);
    expect(reader.records).toBe(0);
    expect(reader.tornAt).toBe(0);
    reader.feed(Buffer.from(FILE.subarray(firstEnd - 1, firstEnd)), (argv, offset) => seen.push({ argv, offset }));
    expect(seen).toEqual([EXPECTED[0]!]);
    expect(reader.records).toBe(1);
    expect(reader.validEnd).toBe(firstEnd);
    expect(reader.tornAt).toBe(-1);
  });

  test("an empty chunk changes nothing", () => {
    const reader = new AofReader();
    const seen: Seen[] = [];
    const sink = (argv: string[], offset: number) => seen.push({ argv, offset });
    reader.feed(Buffer.alloc(0), sink);
    expect(reader.tornAt).toBe(-1);
    reader.feed(Buffer.from(FILE.subarray(0, 5)), sink);
    reader.feed(Buffer.alloc(0), sink);
    expect(reader.tornAt).toBe(0);
    reader.feed(Buffer.from(FILE.subarray(5)), sink);
    expectWholeFile(seen, reader, "with empty chunks");
  });
});

describe("AofReader: a torn last record", () => {
  test("cut at every position inside the last record: tornAt is its start, validEnd the end of the one before", () => {
    for (let cut = LAST_START + 1; cut < FILE.length; cut++) {
      const truncated = FILE.subarray(0, cut);
      for (const [label, pieces] of [
        ["one chunk", [Buffer.from(truncated)]],
        ["1-byte chunks", chunked(truncated, 1)],
        ["7-byte chunks", chunked(truncated, 7)],
      ] as const) {
        const { seen, reader } = feedPieces([...pieces]);
        if (!Bun.deepEquals(seen, EXPECTED.slice(0, -1))) throw new Error(`cut at ${cut}, ${label}: got ${JSON.stringify(seen)}`);
        if (reader.records !== ARGVS.length - 1 || reader.validEnd !== LAST_START || reader.tornAt !== LAST_START) {
          throw new Error(`cut at ${cut}, ${label}: records ${reader.records}, validEnd ${reader.validEnd}, tornAt ${reader.tornAt}`);
        }
      }
    }
  });

  test("cut at every position inside any record: tornAt is that record's start", () => {
    for (let cut = 1; cut < FILE.length; cut++) {
      const { reader } = feedPieces([Buffer.from(FILE.subarray(0, cut))]);
      // Records wholly before the cut, and where the last of them ends.
      const whole = OFFSETS.filter((_, i) => (OFFSETS[i + 1] ?? FILE.length) <= cut).length;
      const validEnd = OFFSETS[whole] ?? FILE.length;
      expect(reader.records).toBe(whole);
      expect(reader.validEnd).toBe(validEnd);
      expect(reader.tornAt).toBe(cut === validEnd ? -1 : validEnd);
    }
  });

  test("a cut exactly between records is not torn", () => {
    const { seen, reader } = feedPieces([Buffer.from(FILE.subarray(0, LAST_START))]);
    expect(seen).toEqual(EXPECTED.slice(0, -1));
    expect(reader.tornAt).toBe(-1);
    expect(reader.validEnd).toBe(LAST_START);
  });

  test("a file holding only part of its first record is torn at 0 with nothing valid", () => {
    for (const partial of ["*", "*3", "*3\r", "*3\r\n", "*3\r\n$3\r\nSE", "*1\r\n$5\r\nhello\r"]) {
      const { seen, reader } = feedPieces([bytes(partial)]);
      expect(seen).toEqual([]);
      expect(reader.records).toBe(0);
      expect(reader.validEnd).toBe(0);
      expect(reader.tornAt).toBe(0);
    }
  });
});

describe("AofReader: format errors name the record and the byte", () => {
  /** Two whole records, then `bad`: the error must be at PREFIX.length, whatever the chunking. */
  const PREFIX = record("SET", "a", "1") + record("SET", "b", "2");

  /**
   * Checks the error for PREFIX + bad in one chunk, in 1-byte chunks, and cut
   * at every offset: always the same offsets, and the two records before it
   * were delivered first.
   */
  function errorAfterPrefix(bad: string): AofFormatError {
    const whole = bytes(PREFIX + bad);
    const { err, seen } = formatError([whole]);
    expect(seen.map((s) => s.argv)).toEqual([
      ["SET", "a", "1"],
      ["SET", "b", "2"],
    ]);
    expect(err.recordOffset).toBe(PREFIX.length);
    for (const pieces of [chunked(whole, 1), ...Array.from({ length: whole.length + 1 }, (_, cut) => cutAt(whole, cut))]) {
      const again = formatError(pieces).err;
      if (again.recordOffset !== err.recordOffset || again.offset !== err.offset || again.problem !== err.problem) {
        throw new Error(`${JSON.stringify(bad)} in ${pieces.length} pieces: ${again.recordOffset}/${again.offset}/${again.problem}, one chunk: ${err.recordOffset}/${err.offset}/${err.problem}`);
      }
    }
    expect(err.message).toContain(err.problem);
    expect(err.message).toContain(`offset ${err.offset}`);
    return err;
  }

  test("an inline command instead of a record: found 'S' at the record's first byte", () => {
    const err = errorAfterPrefix("SET a b\r\n");
    expect(err.offset).toBe(PREFIX.length);
    expect(err.problem).toContain("expected '*'");
    expect(err.problem).toContain("'S'");
  });

  test("garbage bytes: the byte found is named in hex", () => {
    expect(errorAfterPrefix("\xff\xfe\r\n").problem).toContain("0xff");
    expect(errorAfterPrefix("\0\0\0\0").problem).toContain("0x00");
    const lf = errorAfterPrefix("\n*1\r\n$4\r\nPING\r\n");
    expect(lf.offset).toBe(PREFIX.length);
    expect(lf.problem).toContain("0x0a");
  });

  test("an error in the very first record is at offset 0", () => {
    const { err, seen } = formatError([bytes("GET a\r\n")]);
    expect(seen).toEqual([]);
    expect(err.recordOffset).toBe(0);
    expect(err.offset).toBe(0);
  });

  test("a missing '$': the offset is the argument that lacks it, the record offset is the record's start", () => {
    // Record: "*2\r\n$3\r\nGET\r\n:1\r\n" — the second argument is an integer, not a bulk.
    const err = errorAfterPrefix("*2\r\n$3\r\nGET\r\n:1\r\n");
    expect(err.offset).toBe(PREFIX.length + "*2\r\n$3\r\nGET\r\n".length);
    expect(err.problem).toContain("expected '$'");
    expect(err.problem).toContain("':'");
  });

  test("a record with fewer arguments than its header says runs into the next record's '*'", () => {
    // "*3" but only two bulks, then a whole record: its '*' is where a '$' was expected.
    const short = "*3\r\n$3\r\nGET\r\n$1\r\na\r\n";
    const err = errorAfterPrefix(short + record("PING"));
    expect(err.offset).toBe(PREFIX.length + short.length);
    expect(err.problem).toContain("'*'");
  });

  // An invalid length: the offset points into that header line (its '*' or '$' up to its CR).
  const INVALID_ARRAY_LENGTHS = ["-1", "0", "-0", "01", "abc", "", "1048577", "3x"];
  for (const length of INVALID_ARRAY_LENGTHS) {
    test(`array length '${length}' is invalid`, () => {
      const err = errorAfterPrefix(`*${length}\r\n$4\r\nPING\r\n`);
      expect(err.offset).toBeGreaterThanOrEqual(PREFIX.length);
      expect(err.offset).toBeLessThan(PREFIX.length + 1 + length.length);
      expect(err.problem).toContain("array length");
      expect(err.problem).toContain(`'${length}'`);
    });
  }

  const INVALID_BULK_LENGTHS = ["-5", "-1", "-0", "abc", "01", "007", "", "3 ", "+3", "536870913"];
  for (const length of INVALID_BULK_LENGTHS) {
    test(`bulk length '${length}' is invalid`, () => {
      const header = "*2\r\n$3\r\nGET\r\n";
      const err = errorAfterPrefix(`${header}$${length}\r\nabc\r\n`);
      const bulkAt = PREFIX.length + header.length;
      expect(err.offset).toBeGreaterThanOrEqual(bulkAt);
      expect(err.offset).toBeLessThan(bulkAt + 1 + length.length);
      expect(err.problem).toContain("bulk length");
      expect(err.problem).toContain(`'${length}'`);
    });
  }

  test("a header line whose CR is not followed by LF", () => {
    const arr = errorAfterPrefix("*1\rX$4\r\nPING\r\n");
    expect(arr.offset).toBeGreaterThanOrEqual(PREFIX.length);
    expect(arr.offset).toBeLessThan(PREFIX.length + 3);
    const bulk = errorAfterPrefix("*1\r\n$4\rXPING\r\n");
    expect(bulk.offset).toBeGreaterThanOrEqual(PREFIX.length + 4);
    expect(bulk.offset).toBeLessThan(PREFIX.length + 7);
  });

  test("a header too long to be a number is an error, not a wait for more bytes", () => {
    const err = errorAfterPrefix("*1\r\n$" + "1".repeat(40) + "\r\nx\r\n");
    expect(err.recordOffset).toBe(PREFIX.length);
    expect(err.offset).toBeGreaterThanOrEqual(PREFIX.length + 4);
    expect(err.offset).toBeLessThan(PREFIX.length + 4 + 42);
  });

  test("bulk data longer than its length: no CRLF where the length says it ends", () => {
    // "$3" but "abcd": the byte after the 3 data bytes is 'd', not CR.
    const header = "*2\r\n$3\r\nGET\r\n$3\r\n";
    const err = errorAfterPrefix(`${header}abcd\r\n`);
    expect(err.offset).toBe(PREFIX.length + header.length + 3);
    expect(err.problem).toContain("CRLF");
    expect(err.problem).toContain("3-byte");
    expect(err.problem).toContain("'d'");
  });

  test("bulk data shorter than its length: the next header's bytes are taken as data", () => {
    // "$5" but "abc\r\n" follows, then a record: data is "abc\r\n", then '*' is where CRLF should be.
    const header = "*2\r\n$3\r\nGET\r\n$5\r\n";
    const err = errorAfterPrefix(`${header}abc\r\n${record("PING")}`);
    expect(err.offset).toBe(PREFIX.length + header.length + 5);
    expect(err.problem).toContain("'*'");
  });

  // The byte that is wrong after "abc\r" is 'X', not the CR, which is what belongs there.
  test("bulk data followed by CR without LF: the offset is the byte after the CR", () => {
    const header = "*2\r\n$3\r\nGET\r\n$3\r\n";
    const err = errorAfterPrefix(`${header}abc\rX`);
    expect(err.offset).toBe(PREFIX.length + header.length + 4);
    expect(err.problem).toContain("'X'");
  });
});

describe("AofReader: large records", () => {
  let concat: ReturnType<typeof spyOn<typeof Buffer, "concat">> | null = null;
  afterEach(() => {
    concat?.mockRestore();
    concat = null;
  });

  /** Bytes copied by Buffer.concat while `run` runs: what re-assembling carried chunks costs. */
  function bytesConcatenated(run: () => void): number {
    let total = 0;
    const original = Buffer.concat;
    concat = spyOn(Buffer, "concat").mockImplementation((list: readonly Uint8Array[], length?: number) => {
      const result = original(list, length);
      total += result.length;
      return result;
    });
    run();
    concat.mockRestore();
    concat = null;
    return total;
  }

  test("a 3 MB bulk fed in 64 KiB chunks is delivered once, intact, at the right offset", () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
    const value = big.latin1Slice(0, big.length);
    const before = bytes(record("SET", "small", "1"));
    const bigRecord = bytes(record("SET", "big", value));
    const after = bytes(record("DEL", "small"));
    const whole = Buffer.concat([before, bigRecord, after]);

    const reader = new AofReader();
    const seen: Seen[] = [];
    const pieces = chunked(whole, 64 * 1024);
    const copied = bytesConcatenated(() => {
      for (const [i, piece] of pieces.entries()) {
        reader.feed(piece, (argv, offset) => seen.push({ argv, offset }));
        // While the big record is incomplete, it is the torn tail.
        if (i < pieces.length - 1) expect(reader.tornAt).toBe(before.length);
      }
    });
    expect(seen.length).toBe(3);
    expect(seen[0]).toEqual({ argv: ["SET", "small", "1"], offset: 0 });
    expect(seen[1]!.offset).toBe(before.length);
    expect(seen[1]!.argv.length).toBe(3);
    expect(seen[1]!.argv[1]).toBe("big");
    expect(seen[1]!.argv[2]!.length).toBe(value.length);
    expect(seen[1]!.argv[2] === value).toBe(true);
    expect(seen[2]).toEqual({ argv: ["DEL", "small"], offset: before.length + bigRecord.length });
    expect(reader.validEnd).toBe(whole.length);
    expect(reader.tornAt).toBe(-1);
    // Chunks of a bulk whose length is known are kept until it is complete and
    // joined once; joining the carry on every chunk would copy ~48× the record.
    expect(copied).toBeLessThan(3 * whole.length);
  });

  test("a 3 MB bulk cut off before its end is a torn tail at its record's start", () => {
    const value = "z".repeat(3 * 1024 * 1024);
    const first = bytes(record("SET", "a", "b"));
    const whole = Buffer.concat([first, bytes(record("SET", "big", value))]);
    for (const missing of [1, 2, 3, 64 * 1024, 1024 * 1024]) {
      const { seen, reader } = feedPieces(chunked(whole.subarray(0, whole.length - missing), 64 * 1024));
      expect(seen.length).toBe(1);
      expect(reader.validEnd).toBe(first.length);
      expect(reader.tornAt).toBe(first.length);
    }
  });

  // A record of many small arguments cut by many chunks: the comment in
  // parseRecord says the reader waits for the remaining bytes "instead of
  // re-parsing per chunk", but that holds only for a bulk's data. A header
  // or argument boundary at the end of a chunk makes the next feed join the
  // carry again and re-parse the record from its start, so the cost grows
  // with the square of the record's size (a 64 MB MSET of 1 KB values takes
  // ~10 s in readAof's 1 MiB chunks, a 16 MB one ~1 s).
  test("a record of many arguments fed in small chunks is not re-assembled on every chunk", () => {
    const args = ["MSET"];
    for (let i = 0; i < 2000; i++) args.push(`key:${i}`, "v".repeat(100));
    const whole = bytes(record(...args));
    const reader = new AofReader();
    let got: string[] = [];
    const copied = bytesConcatenated(() => {
      for (const piece of chunked(whole, 4096)) reader.feed(piece, (argv) => (got = argv));
    });
    expect(got).toEqual(args);
    expect(copied).toBeLessThan(4 * whole.length);
  });
});

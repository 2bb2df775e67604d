import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AofCorruptError, commandForRecord, readAof } from "../../src/persistence/aof-loader.ts";
import { AofFormatError } from "../../src/persistence/aof-reader.ts";
import { checkAof } from "../../src/persistence/check-aof.ts";
import { Logger } from "../../src/util/log.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Loading an AOF from disk, as the server does at startup and as
 * `--check-aof [--fix]` does: files read in 256 KiB chunks (so 1 MiB is a chunk boundary too), torn tails
 * (cut off, or followed only by NUL bytes) told apart from corruption, and
 * the repair that keeps a backup and cuts at the last whole record.
 */

const MIB = 1024 * 1024;

let dir = "";
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "atomickv-aof-loader-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Byte string (one char per byte) to a Buffer. */
function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/** Encodes one AOF record; arguments are byte strings. */
function record(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

/** Writes `content` to a new file in the temp directory and returns its path. */
function aofFile(content: Buffer | string): string {
  const path = join(dir, `appendonly-${++files}.aof`);
  writeFileSync(path, typeof content === "string" ? bytes(content) : content);
  return path;
}

/** A SET record of exactly `total` bytes (a filler that puts what follows at a chosen offset). */
function fillerRecord(total: number): string {
  for (let n = Math.max(0, total - 40); n <= total; n++) {
    const r = record("SET", "filler", "f".repeat(n));
    if (r.length === total) return r;
  }
  throw new Error(`no filler record of ${total} bytes`);
}

type Seen = { argv: string[]; offset: number };

/** Reads `path` with readAof, collecting every record the sink receives. */
async function load(path: string): Promise<{ seen: Seen[]; result: Awaited<ReturnType<typeof readAof>> }> {
  const seen: Seen[] = [];
  const result = await readAof(path, (argv, offset) => seen.push({ argv, offset }), null);
  return { seen, result };
}

/** The AofCorruptError that loading `path` rejects with, and the records replayed before it. */
async function corruptError(path: string, sink?: (argv: string[], offset: number) => void): Promise<{ err: AofCorruptError; seen: Seen[] }> {
  const seen: Seen[] = [];
  try {
    await readAof(
      path,
      (argv, offset) => {
        sink?.(argv, offset);
        seen.push({ argv, offset });
      },
      null,
    );
  } catch (err) {
    expect(err).toBeInstanceOf(AofCorruptError);
    return { err: err as AofCorruptError, seen };
  }
  throw new Error(`expected ${path} to be reported corrupt, but it loaded`);
}

/** checkAof's exit code and printed lines. */
async function check(path: string, fix = false): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await checkAof(path, fix, (line) => lines.push(line));
  return { code, out: lines.join("\n") };
}

/** A few ordinary records and their offsets. */
function records(count: number, prefix = "k"): { text: string; expected: Seen[] } {
  let text = "";
  const expected: Seen[] = [];
  for (let i = 0; i < count; i++) {
    const argv = i % 3 === 2 ? ["DEL", `${prefix}${i - 1}`] : ["SET", `${prefix}${i}`, `value\r\n${i}\0\xff`];
    expected.push({ argv, offset: text.length });
    text += record(...argv);
  }
  return { text, expected };
}

describe("readAof: whole files", () => {
  test("an empty file has no records and no torn tail", async () => {
    const { seen, result } = await load(aofFile(""));
    expect(seen).toEqual([]);
    expect(result).toMatchObject({ records: 0, bytes: 0, tornAt: -1 });
  });

  test("records read back with their offsets; the result counts records and bytes", async () => {
    const { text, expected } = records(50);
    const { seen, result } = await load(aofFile(text));
    expect(seen).toEqual(expected);
    expect(result.records).toBe(50);
    expect(result.bytes).toBe(text.length);
    expect(result.tornAt).toBe(-1);
    expect(result.ms).toBeGreaterThanOrEqual(0);
  });

  test("a record straddling the 1 MiB read boundary, cut at every position in it", async () => {
    const argv = ["SET", "straddle\r\n", "a value\r\nwith CRLF\0"];
    const straddler = record(...argv);
    const after = record("DEL", "filler");
    for (let k = 1; k < straddler.length; k++) {
      // The straddling record starts k bytes before the boundary.
      const filler = fillerRecord(MIB - k);
      const path = aofFile(filler + straddler + after);
      const { seen, result } = await load(path);
      const expected = [
        { argv: ["SET", "filler", "f".repeat(filler.length - 37)], offset: 0 },
        { argv, offset: MIB - k },
        { argv: ["DEL", "filler"], offset: MIB - k + straddler.length },
      ];
      // Compare without the megabyte of 'f's in a failure message.
      if (seen.length !== 3 || seen[0]!.offset !== 0 || seen[0]!.argv[2]!.length !== expected[0]!.argv[2]!.length || !Bun.deepEquals(seen.slice(1), expected.slice(1))) {
        throw new Error(`straddler at ${MIB - k}: got ${JSON.stringify(seen.map((s) => ({ offset: s.offset, argv: s.argv.map((a) => a.slice(0, 30)) })))}`);
      }
      expect(result.records).toBe(3);
      expect(result.tornAt).toBe(-1);
      rmSync(path);
    }
  });

  test("a 3.5 MiB file of small records crosses three read boundaries and loads whole", async () => {
    const parts: string[] = [];
    const expected: Seen[] = [];
    let size = 0;
    for (let i = 0; size < 3.5 * MIB; i++) {
      const argv = ["SET", `key:${i}`, "v".repeat(i % 97)];
      const r = record(...argv);
      expected.push({ argv, offset: size });
      parts.push(r);
      size += r.length;
    }
    // Records start on both sides of each boundary, so some straddle it.
    for (const boundary of [MIB, 2 * MIB, 3 * MIB]) {
      expect(expected.some((e, i) => e.offset < boundary && (expected[i + 1]?.offset ?? size) > boundary)).toBe(true);
    }
    const path = aofFile(parts.join(""));
    const { seen, result } = await load(path);
    expect(seen.length).toBe(expected.length);
    expect(Bun.deepEquals(seen, expected)).toBe(true);
    expect(result).toMatchObject({ records: expected.length, bytes: size, tornAt: -1 });
    // Every record is a command the server can replay.
    expect(await check(path)).toMatchObject({ code: 0 });
  });
});

describe("readAof: progress", () => {
  /** A logger that keeps its lines. */
  function capturingLog(): { log: Logger; lines: string[] } {
    const lines: string[] = [];
    const log = new Logger();
    for (const level of ["debug", "verbose", "notice", "warning"] as const) log[level] = (m: string) => void lines.push(m);
    return { log, lines };
  }

  test("a file of 16 MiB or more gets a progress line at each tenth of it, never at the end", async () => {
    const value = "p".repeat(MIB);
    const parts: string[] = [];
    for (let i = 0; i < 17; i++) parts.push(record("SET", `big${i}`, value));
    const path = aofFile(parts.join(""));
    const { log, lines } = capturingLog();
    const result = await readAof(path, () => {}, log);
    expect(result.records).toBe(17);
    expect(lines.length).toBe(9);
    const percents = lines.map((line) => Number(/(\d+)%/.exec(line)?.[1]));
    // Line i is within the (i+1)th tenth.
    percents.forEach((p, i) => expect(Math.floor(p / 10)).toBe(i + 1));
    for (const line of lines) expect(line).toContain("records");
    rmSync(path);
  });

  test("a smaller file loads without progress lines", async () => {
    const { log, lines } = capturingLog();
    await readAof(aofFile(fillerRecord(15 * MIB)), () => {}, log);
    expect(lines).toEqual([]);
  });
});

describe("readAof: torn tails are reported, not fatal", () => {
  test("a last record cut off by the end of the file: tornAt is its start, the records before it load", async () => {
    const { text, expected } = records(10);
    const last = record("SET", "last", "value");
    for (let cut = 1; cut < last.length; cut++) {
      const path = aofFile(text + last.slice(0, cut));
      const { seen, result } = await load(path);
      expect(seen).toEqual(expected);
      expect(result.records).toBe(10);
      expect(result.bytes).toBe(text.length + cut);
      expect(result.tornAt).toBe(text.length);
      expect(result.tornReason.length).toBeGreaterThan(0);
      expect(result.tornReason).not.toContain("NUL");
      rmSync(path);
    }
  });

  test("a torn record that started before the 1 MiB boundary", async () => {
    const filler = fillerRecord(MIB - 10);
    const { seen, result } = await load(aofFile(filler + record("SET", "k", "x".repeat(100)).slice(0, 50)));
    expect(seen.length).toBe(1);
    expect(result.tornAt).toBe(MIB - 10);
    expect(result.bytes).toBe(MIB + 40);
  });

  test("NUL bytes after whole records are a torn tail at the first NUL, with a reason that says so", async () => {
    const { text, expected } = records(10);
    for (const zeros of [1, 2, 4096, 3 * MIB]) {
      const path = aofFile(Buffer.concat([bytes(text), Buffer.alloc(zeros)]));
      const { seen, result } = await load(path);
      expect(seen).toEqual(expected);
      expect(result.records).toBe(10);
      expect(result.bytes).toBe(text.length + zeros);
      expect(result.tornAt).toBe(text.length);
      expect(result.tornReason).toContain("NUL");
      rmSync(path);
    }
  });

  test("a NUL tail that starts exactly at, or just before, a 1 MiB read boundary", async () => {
    for (const start of [MIB, MIB - 1, MIB - 100]) {
      const path = aofFile(Buffer.concat([bytes(fillerRecord(start)), Buffer.alloc(5000)]));
      const { seen, result } = await load(path);
      expect(seen.length).toBe(1);
      expect(result.tornAt).toBe(start);
      expect(result.tornReason).toContain("NUL");
      rmSync(path);
    }
  });

  // A power loss can persist a record's first block but not the next one, which reads as zeros.
  test("a record that turns into NUL bytes up to the end is torn at the record's start", async () => {
    const { text, expected } = records(3);
    const partial = record("SET", "k", "x".repeat(100));
    for (const cut of [1, 3, 8, 20, 40]) {
      const path = aofFile(Buffer.concat([bytes(text), bytes(partial.slice(0, cut)), Buffer.alloc(4096)]));
      const { seen, result } = await load(path);
      expect(seen).toEqual(expected);
      expect(result.tornAt).toBe(text.length);
      expect(result.tornReason).toContain("NUL");
      rmSync(path);
    }
  });

  test("a file of nothing but NUL bytes is torn at 0", async () => {
    const { seen, result } = await load(aofFile(Buffer.alloc(1000)));
    expect(seen).toEqual([]);
    expect(result).toMatchObject({ records: 0, bytes: 1000, tornAt: 0 });
    expect(result.tornReason).toContain("NUL");
  });
});

describe("readAof: corruption is fatal and located", () => {
  test("NUL bytes followed by more records are corruption at the first NUL", async () => {
    const { text, expected } = records(5);
    const path = aofFile(Buffer.concat([bytes(text), Buffer.alloc(64), bytes(record("SET", "after", "zeros"))]));
    const { err, seen } = await corruptError(path);
    expect(seen).toEqual(expected);
    expect(err.path).toBe(path);
    expect(err.recordOffset).toBe(text.length);
    expect(err.offset).toBe(text.length);
    expect(err.problem).toContain("0x00");
  });

  test("a single non-NUL byte far into a NUL tail, past a read boundary, makes it corruption", async () => {
    const { text } = records(5);
    const tail = Buffer.alloc(2 * MIB);
    tail[1.5 * MIB] = 0x2a;
    const { err } = await corruptError(aofFile(Buffer.concat([bytes(text), tail])));
    expect(err.recordOffset).toBe(text.length);
  });

  test("a bad record in the middle: recordOffset is its start, offset the bad byte; nothing after it is replayed", async () => {
    const { text, expected } = records(7);
    const bad = "*2\r\n$3\r\nGET\r\n:1\r\n";
    const path = aofFile(text + bad + records(7, "later").text);
    const { err, seen } = await corruptError(path);
    expect(seen).toEqual(expected);
    expect(err.recordOffset).toBe(text.length);
    expect(err.offset).toBe(text.length + "*2\r\n$3\r\nGET\r\n".length);
    expect(err.problem).toContain("expected '$'");
    expect(err.message).toContain(path);
    expect(err.message).toContain(`offset ${err.offset}`);
  });

  test("a bad record past the 1 MiB boundary is located by its file offset", async () => {
    const filler = fillerRecord(MIB + 500);
    const { err } = await corruptError(aofFile(filler + record("SET", "a", "b") + "SET inline line\r\n" + record("PING")));
    const at = filler.length + record("SET", "a", "b").length;
    expect(err.recordOffset).toBe(at);
    expect(err.offset).toBe(at);
    expect(err.problem).toContain("'S'");
  });

  test("a bad record straddling the 1 MiB boundary: offsets count from the file's start", async () => {
    const filler = fillerRecord(MIB - 6);
    // "*1\r\n$3\r\n" starts 6 bytes before the boundary; the data "abcd" overruns its length.
    const { err } = await corruptError(aofFile(filler + "*1\r\n$3\r\nabcd\r\n"));
    expect(err.recordOffset).toBe(MIB - 6);
    expect(err.offset).toBe(MIB - 6 + "*1\r\n$3\r\nabc".length);
  });

  test("an unknown command is reported at its record's offset, with its name", async () => {
    const { text } = records(4);
    const path = aofFile(text + record("NOSUCHCMD", "a") + record("SET", "x", "y"));
    const { err, seen } = await corruptError(path, (argv, offset) => void commandForRecord(argv, offset));
    expect(seen.length).toBe(4);
    expect(err.recordOffset).toBe(text.length);
    expect(err.offset).toBe(text.length);
    expect(err.problem).toContain("NOSUCHCMD");
  });

  test("a command with the wrong number of arguments is reported at its record's offset", async () => {
    const { text } = records(4);
    const filler = fillerRecord(MIB - 3);
    // Past the first read boundary, so the offset must be a file offset.
    const path = aofFile(filler + text + record("SET", "only-key") + record("SET", "x", "y"));
    const { err } = await corruptError(path, (argv, offset) => void commandForRecord(argv, offset));
    expect(err.recordOffset).toBe(filler.length + text.length);
    expect(err.offset).toBe(filler.length + text.length);
    expect(err.problem).toContain("wrong number of arguments");
    expect(err.problem).toContain("set");
  });

  test("an error the sink throws that is not a format error is passed through unchanged", async () => {
    const boom = new Error("replay failed");
    const path = aofFile(records(3).text);
    await expect(
      readAof(
        path,
        () => {
          throw boom;
        },
        null,
      ),
    ).rejects.toBe(boom);
  });
});

describe("commandForRecord", () => {
  test("finds the command whatever the case of its name", () => {
    for (const name of ["SET", "set", "SeT"]) expect(commandForRecord([name, "k", "v"], 0).spec.name).toBe("set");
    expect(commandForRecord(["DEL", "a", "b", "c"], 0).spec.name).toBe("del");
    expect(commandForRecord(["SET", "k", "v", "PXAT", "123"], 0).spec.name).toBe("set");
  });

  test("an unknown command throws AofFormatError at the given offset", () => {
    try {
      commandForRecord(["FROB", "x"], 1234);
      throw new Error("no error");
    } catch (err) {
      expect(err).toBeInstanceOf(AofFormatError);
      expect(err).toMatchObject({ recordOffset: 1234, offset: 1234 });
      expect((err as AofFormatError).problem).toContain("'FROB'");
    }
  });

  test("an absurdly long unknown name is cut in the message", () => {
    try {
      commandForRecord(["X".repeat(10_000)], 0);
      throw new Error("no error");
    } catch (err) {
      expect(err).toBeInstanceOf(AofFormatError);
      expect((err as AofFormatError).problem.length).toBeLessThan(200);
    }
  });

  test("fixed and minimum arities are both enforced", () => {
    const wrong: string[][] = [
      ["GETSET", "a"], // arity 3
      ["GETSET", "a", "b", "c"],
      ["SET", "k"], // arity -3: at least 3
      ["DEL"], // arity -2
    ];
    for (const argv of wrong) {
      try {
        commandForRecord(argv, 77);
        throw new Error(`${JSON.stringify(argv)} accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(AofFormatError);
        expect(err).toMatchObject({ recordOffset: 77, offset: 77 });
        expect((err as AofFormatError).problem).toContain("wrong number of arguments");
        expect((err as AofFormatError).problem).toContain(`(${argv.length - 1})`);
      }
    }
    expect(commandForRecord(["GETSET", "a", "b"], 0).spec.name).toBe("getset");
    expect(commandForRecord(["DEL", "a"], 0).spec.name).toBe("del");
  });

  test("only write commands (and SELECT) replay: a read or server command in the file is an error at its offset", () => {
    for (const argv of [["GET", "a"], ["PING"], ["CONFIG", "SET", "maxmemory", "1"], ["SHUTDOWN"]]) {
      try {
        commandForRecord(argv, 9);
        throw new Error(`${JSON.stringify(argv)} accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(AofFormatError);
        expect(err).toMatchObject({ recordOffset: 9, offset: 9 });
        expect((err as AofFormatError).problem).toContain(argv[0]!.toLowerCase());
      }
    }
    expect(commandForRecord(["SELECT", "0"], 0).spec.name).toBe("select");
    expect(commandForRecord(["FLUSHALL"], 0).spec.name).toBe("flushall");
    expect(commandForRecord(["PEXPIREAT", "k", "123"], 0).spec.name).toBe("pexpireat");
  });
});

describe("checkAof", () => {
  test("a valid file: exit 0, and the line says valid with its record and byte counts", async () => {
    const { text } = records(12);
    const { code, out } = await check(aofFile(text));
    expect(code).toBe(0);
    expect(out).toContain("valid");
    expect(out).toContain("12 records");
    expect(out).toContain(`${text.length} bytes`);
  });

  test("an empty file is valid", async () => {
    expect((await check(aofFile(""))).code).toBe(0);
  });

  test("a torn tail without --fix: exit 1, the offset and the fix command are printed, the file is untouched", async () => {
    const { text } = records(6);
    const content = text + record("SET", "torn", "tail").slice(0, 9);
    const path = aofFile(content);
    const { code, out } = await check(path);
    expect(code).toBe(1);
    expect(out).toContain(`offset ${text.length}`);
    expect(out).toContain("6 records");
    expect(out).toContain("--fix");
    expect(readFileSync(path).equals(bytes(content))).toBe(true);
    expect(existsSync(`${path}.bak`)).toBe(false);
  });

  test("corruption without --fix: exit 1, the bad offset, the problem and the bytes --fix would drop", async () => {
    const { text } = records(6);
    const rest = "*1\r\n$3\r\nPINGX\r\n" + records(3).text;
    const path = aofFile(text + rest);
    const { code, out } = await check(path);
    expect(code).toBe(1);
    expect(out).toContain("corrupt");
    expect(out).toContain(`offset ${text.length + "*1\r\n$3\r\nPIN".length}`);
    expect(out).toContain("CRLF");
    expect(out).toContain(`${rest.length} bytes`);
    expect(readFileSync(path).toString("latin1")).toBe(text + rest);
  });

  test("an unknown command is corruption for checkAof too", async () => {
    const { text } = records(3);
    const { code, out } = await check(aofFile(text + record("BOGUS", "x")));
    expect(code).toBe(1);
    expect(out).toContain(`offset ${text.length}`);
    expect(out).toContain("BOGUS");
  });

  test("a missing file or a directory: exit 2", async () => {
    const missing = await check(join(dir, "no-such-file.aof"));
    expect(missing.code).toBe(2);
    expect(missing.out).toContain("no-such-file.aof");
    const sub = join(dir, "a-directory");
    mkdirSync(sub);
    expect((await check(sub)).code).toBe(2);
    expect((await check(sub, true)).code).toBe(2);
  });

  test("--fix on a valid file changes nothing and makes no backup", async () => {
    const { text } = records(5);
    const path = aofFile(text);
    expect((await check(path, true)).code).toBe(0);
    expect(existsSync(`${path}.bak`)).toBe(false);
    expect(readFileSync(path).toString("latin1")).toBe(text);
  });

  for (const [name, damage] of [
    ["a torn tail", record("SET", "torn", "x".repeat(50)).slice(0, 30)],
    ["a NUL tail", "\0".repeat(5000)],
    ["corruption in the middle", "$3\r\nbad\r\n" + records(4, "lost").text],
    ["a bad byte inside a record", "*2\r\n$3\r\nGET\r\n:1\r\n" + records(4, "lost").text], // cut at the record, not the byte
    ["an unknown command", record("BOGUS", "x") + records(2, "lost").text],
  ] as const) {
    test(`--fix on ${name}: backup equals the original, the file is cut at the last whole record and checks valid`, async () => {
      const { text } = records(9);
      const original = bytes(text + damage);
      const path = aofFile(original);
      const fixed = await check(path, true);
      expect(fixed.code).toBe(0);
      expect(fixed.out).toContain(`${path}.bak`);
      expect(readFileSync(`${path}.bak`).equals(original)).toBe(true);
      expect(readFileSync(path).toString("latin1")).toBe(text);
      const again = await check(path);
      expect(again.code).toBe(0);
      expect(again.out).toContain("9 records");
    });
  }

  test("a second --fix does not overwrite the first backup; each gets its own name", async () => {
    const { text } = records(4);
    const first = bytes(text + "garbage");
    const path = aofFile(first);
    expect((await check(path, true)).code).toBe(0);
    expect(readFileSync(`${path}.bak`).equals(first)).toBe(true);

    // Damaged again: new whole records, then another torn tail.
    appendFileSync(path, bytes(record("SET", "new", "1") + "*3\r\n$3\r\nSET"));
    const second = readFileSync(path);
    const fix2 = await check(path, true);
    expect(fix2.code).toBe(0);
    expect(fix2.out).toContain(`${path}.bak.1`);
    expect(readFileSync(`${path}.bak`).equals(first)).toBe(true);
    expect(readFileSync(`${path}.bak.1`).equals(second)).toBe(true);
    expect(readFileSync(path).toString("latin1")).toBe(text + record("SET", "new", "1"));

    appendFileSync(path, bytes("\0\0\0"));
    const third = readFileSync(path);
    expect((await check(path, true)).code).toBe(0);
    expect(readFileSync(`${path}.bak`).equals(first)).toBe(true);
    expect(readFileSync(`${path}.bak.1`).equals(second)).toBe(true);
    expect(readFileSync(`${path}.bak.2`).equals(third)).toBe(true);
    expect((await check(path)).code).toBe(0);
  });
});

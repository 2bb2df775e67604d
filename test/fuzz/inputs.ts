import fc from "fast-check";

/**
 * Input generators shared by the parser fuzz test, the live-server fuzz test
 * and the long run (bench/fuzz.ts): well-formed requests, and those
 * requests mutated the ways a broken or hostile client mutates them.
 */

/** Keys every hostile connection shares, so that their writes meet (and touch each other's WATCHes). */
const sharedKey = fc.constantFrom("k", "k2", "n");

const argument = fc.oneof(
  fc.constantFrom("SET", "GET", "DEL", "INCR", "PING", "EXPIRE", "MSET", "APPEND", "GETRANGE", "TTL", "ECHO", "KEYS", "SCAN"),
  fc.constantFrom("SETRANGE", "INCRBYFLOAT", "GETEX", "GETDEL", "RENAME", "COPY", "MGET", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"),
  sharedKey,
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
);

export const commandArb = fc.array(argument, { minLength: 1, maxLength: 6 });

export function encodeResp(argv: string[]): Buffer {
  return Buffer.from(`*${argv.length}\r\n` + argv.map((a) => `$${a.length}\r\n${a}\r\n`).join(""), "latin1");
}

const smallInt = fc.integer({ min: -5, max: 100 }).map(String);

/** Requests a server accepts, on the shared keys: what makes a transaction run rather than abort. */
const validCommandArb = fc.oneof(
  fc.tuple(fc.constant("SET"), sharedKey, fc.oneof(smallInt, fc.string({ maxLength: 8 }))),
  fc.tuple(fc.constantFrom("GET", "INCR", "DEL", "GETDEL", "TTL"), sharedKey),
  fc.tuple(fc.constantFrom("APPEND", "INCRBYFLOAT"), sharedKey, smallInt),
  fc.tuple(fc.constantFrom("EXPIRE", "PEXPIRE"), sharedKey, smallInt),
  fc.tuple(fc.constant("SETRANGE"), sharedKey, fc.nat({ max: 64 }).map(String), fc.string({ maxLength: 4 })),
  fc.tuple(fc.constantFrom("RENAME", "COPY"), sharedKey, sharedKey),
  fc.tuple(fc.constant("MSET"), sharedKey, smallInt, sharedKey, smallInt),
).map((argv): string[] => [...argv]);

const requestListArb = fc.array(fc.oneof(commandArb, validCommandArb), { minLength: 1, maxLength: 8 });

/**
 * Requests, sometimes inside a transaction: WATCH and MULTI before them,
 * EXEC or DISCARD (or nothing) after. Half of the transactions queue only
 * requests the server accepts, so that EXEC runs them rather than aborting.
 */
const requestsArb = fc.oneof(
  requestListArb,
  fc
    .tuple(
      fc.option(sharedKey),
      fc.oneof(requestListArb, fc.array(validCommandArb, { minLength: 1, maxLength: 8 })),
      fc.constantFrom("EXEC", "DISCARD", null),
    )
    .map(([watched, commands, end]) => [...(watched === null ? [] : [["WATCH", watched]]), ["MULTI"], ...commands, ...(end === null ? [] : [[end]])]),
);

/** One client's byte stream: good requests, then cuts, flips, inserts, odd headers and raw noise. */
export const hostileStreamArb = fc
  .tuple(
    requestsArb,
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom("*", "$", "\r\n", "*-1\r\n", "$-5\r\n", "*99999999999\r\n", "$2147483648\r\n", "\0", "\"", "*1\r\n$1000000\r\n") }),
        fc.record({ kind: fc.constant("noise" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([commands, mutations]) => {
    let bytes = Buffer.concat(commands.map(encodeResp));
    for (const m of mutations) {
      if (m.kind === "flip" && bytes.length > 0) {
        bytes = Buffer.from(bytes);
        bytes[m.at % bytes.length] = m.byte;
      } else if (m.kind === "cut") {
        bytes = bytes.subarray(0, m.at % (bytes.length + 1));
      } else if (m.kind === "insert") {
        const at = m.at % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.text, "latin1"), bytes.subarray(at)]);
      } else if (m.kind === "noise") {
        bytes = Buffer.concat([bytes, Buffer.from(m.bytes)]);
      }
    }
    return bytes;
  });

/** Cut points for splitting a stream into reads. */
export const cutsArb = fc.array(fc.nat(), { maxLength: 6 });

export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(last, p));
    last = p;
  }
  pieces.push(bytes.subarray(last));
  return pieces;
}

import { KEEP_TTL } from "../store/keyspace.ts";
import { requestLimits, type Frame } from "../protocol/request-parser.ts";
import { addRedisFloats, parseInt64, parseRedisFloat, parseSafeInt, parseSafeIntAt } from "../util/numbers.ts";
import { expireArg, int64Arg } from "./args.ts";
import { expireKey, storeValue } from "./effects.ts";
import { Errors, type CommandContext, type CommandSpec } from "./types.ts";

/** String commands (Redis's t_string.c). */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms | KEEPTTL]
 * Also the seed's form, SET key value <seconds>.
 *
 * Options are parsed like Redis's parseExtendedStringArgumentsOrReply: a
 * repeated option is accepted (the last expire wins); only conflicting ones
 * (NX with XX, two different expire kinds, an expire with KEEPTTL) are
 * syntax errors. The expire value is validated after parsing.
 */
function set(ctx: CommandContext, argv: string[]): void {
  const key = argv[1]!;
  const value = argv[2]!;
  let expireAt = 0;
  let nx = false;
  let xx = false;
  let returnOld = false;

  if (argv.length === 4 && parseSafeInt(argv[3]!) !== null) {
    // The seed's positional TTL in seconds.
    const at = expireArg(ctx, argv[3]!, 1000, false, "set", true);
    if (at === null) return;
    expireAt = at;
  } else {
    let keepTtl = false;
    let expireKind = "";
    let expireText = "";
    for (let i = 3; i < argv.length; i++) {
      const option = argv[i]!.toUpperCase();
      const hasNext = i + 1 < argv.length;
      if (option === "NX" && !xx) {
        nx = true;
      } else if (option === "XX" && !nx) {
        xx = true;
      } else if (option === "GET") {
        returnOld = true;
      } else if (option === "KEEPTTL" && expireKind === "") {
        keepTtl = true;
      } else if (
        (option === "EX" || option === "PX" || option === "EXAT" || option === "PXAT") &&
        !keepTtl &&
        (expireKind === "" || expireKind === option) &&
        hasNext
      ) {
        expireKind = option;
        expireText = argv[++i]!;
      } else {
        ctx.reply.error(Errors.syntax);
        return;
      }
    }
    if (keepTtl) {
      expireAt = KEEP_TTL;
    } else if (expireKind !== "") {
      const seconds = expireKind === "EX" || expireKind === "EXAT";
      const at = expireArg(ctx, expireText, seconds ? 1000 : 1, expireKind.endsWith("AT"), "set", true);
      if (at === null) return;
      expireAt = at;
    }
  }

  const old = nx || xx || returnOld ? ctx.db.peek(key) : undefined;
  if ((nx && old !== undefined) || (xx && old === undefined)) {
    if (returnOld) ctx.reply.bulkOrNull(old);
    else ctx.reply.nullBulk();
    return;
  }
  storeValue(ctx, key, value, expireAt);
  if (returnOld) ctx.reply.bulkOrNull(old);
  else ctx.reply.ok();
}

/** SET for a request in the receive buffer: `SET key value` copies its bytes into the keyspace, with options it takes the strings path. */
function setFrame(ctx: CommandContext, frame: Frame): void {
  if (frame.argc !== 3) {
    set(ctx, frame.argv());
    return;
  }
  const { buf, starts, lengths } = frame;
  ctx.db.setAt(buf, starts[1]!, lengths[1]!, starts[2]!, lengths[2]!);
  ctx.reply.ok();
}

function get(ctx: CommandContext, argv: string[]): void {
  if (!ctx.db.readInto(argv[1]!, ctx.reply)) ctx.reply.nullBulk();
}

/** GET for a request in the receive buffer: the key is looked up where it arrived. */
function getFrame(ctx: CommandContext, frame: Frame): void {
  if (!ctx.db.readIntoAt(frame.buf, frame.starts[1]!, frame.lengths[1]!, ctx.reply)) ctx.reply.nullBulk();
}

function getdel(ctx: CommandContext, argv: string[]): void {
  const value = ctx.db.get(argv[1]!);
  if (value !== undefined) {
    ctx.db.delete(argv[1]!);
    ctx.effect = ["DEL", argv[1]!];
  }
  ctx.reply.bulkOrNull(value);
}

/**
 * GETEX key [EX s | PX ms | EXAT ts | PXAT ms | PERSIST]
 * As in Redis: options are parsed first (a repeated option is accepted), then
 * the key is looked up, and only then the expire time is validated, so a
 * missing key is nil whatever time is given.
 */
function getex(ctx: CommandContext, argv: string[]): void {
  let persist = false;
  let expireKind = "";
  let expireText = "";
  for (let i = 2; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (option === "PERSIST" && expireKind === "") {
      persist = true;
    } else if (
      (option === "EX" || option === "PX" || option === "EXAT" || option === "PXAT") &&
      !persist &&
      (expireKind === "" || expireKind === option) &&
      i + 1 < argv.length
    ) {
      expireKind = option;
      expireText = argv[++i]!;
    } else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  const key = argv[1]!;
  const value = ctx.db.get(key);
  if (value === undefined) {
    ctx.reply.nullBulk();
    return;
  }
  if (expireKind !== "") {
    const seconds = expireKind === "EX" || expireKind === "EXAT";
    const at = expireArg(ctx, expireText, seconds ? 1000 : 1, expireKind.endsWith("AT"), "getex", true);
    if (at === null) return;
    expireKey(ctx, key, at);
  } else if (persist) {
    ctx.db.setExpire(key, 0);
    ctx.effect = ["PERSIST", key];
  }
  ctx.reply.bulk(value);
}

function getset(ctx: CommandContext, argv: string[]): void {
  const old = ctx.db.peek(argv[1]!);
  ctx.db.set(argv[1]!, argv[2]!);
  ctx.reply.bulkOrNull(old);
}

function setnx(ctx: CommandContext, argv: string[]): void {
  if (ctx.db.has(argv[1]!)) {
    ctx.reply.integer(0);
    return;
  }
  ctx.db.set(argv[1]!, argv[2]!);
  ctx.reply.integer(1);
}

function setexGeneric(unitMs: number, command: string) {
  return (ctx: CommandContext, argv: string[]): void => {
    const at = expireArg(ctx, argv[2]!, unitMs, false, command, true);
    if (at === null) return;
    storeValue(ctx, argv[1]!, argv[3]!, at);
    ctx.reply.ok();
  };
}

function mget(ctx: CommandContext, argv: string[]): void {
  ctx.reply.array(argv.length - 1);
  for (let i = 1; i < argv.length; i++) if (!ctx.db.readInto(argv[i]!, ctx.reply)) ctx.reply.nullBulk();
}

function mgetFrame(ctx: CommandContext, frame: Frame): void {
  const { buf, starts, lengths, argc } = frame;
  ctx.reply.array(argc - 1);
  for (let i = 1; i < argc; i++) if (!ctx.db.readIntoAt(buf, starts[i]!, lengths[i]!, ctx.reply)) ctx.reply.nullBulk();
}

/** MSET for a request in the receive buffer: each key and value copied from where it arrived (an odd count is the strings path's error). */
function msetFrame(ctx: CommandContext, frame: Frame): void {
  const { buf, starts, lengths, argc } = frame;
  if (argc % 2 === 0) {
    mset(ctx, frame.argv());
    return;
  }
  for (let i = 1; i < argc; i += 2) ctx.db.setAt(buf, starts[i]!, lengths[i]!, starts[i + 1]!, lengths[i + 1]!);
  ctx.reply.ok();
}

function msetGeneric(onlyIfNoneExist: boolean) {
  return (ctx: CommandContext, argv: string[]): void => {
    if (argv.length % 2 === 0) {
      ctx.reply.error(Errors.arity(onlyIfNoneExist ? "msetnx" : "mset"));
      return;
    }
    if (onlyIfNoneExist) {
      for (let i = 1; i < argv.length; i += 2) {
        if (ctx.db.has(argv[i]!)) {
          ctx.reply.integer(0);
          return;
        }
      }
    }
    for (let i = 1; i < argv.length; i += 2) ctx.db.set(argv[i]!, argv[i + 1]!);
    if (onlyIfNoneExist) ctx.reply.integer(1);
    else ctx.reply.ok();
  };
}

const mset = msetGeneric(false);

function append(ctx: CommandContext, argv: string[]): void {
  const old = ctx.db.peek(argv[1]!) ?? "";
  if (old.length + argv[2]!.length > requestLimits.maxBulkLength) {
    ctx.reply.error(Errors.tooBig);
    return;
  }
  const value = old + argv[2]!;
  ctx.db.set(argv[1]!, value, KEEP_TTL);
  ctx.reply.integer(value.length);
}

function strlen(ctx: CommandContext, argv: string[]): void {
  ctx.reply.integer(ctx.db.get(argv[1]!)?.length ?? 0);
}

/** GETRANGE key start end: inclusive, negative indexes count from the end. */
function getrange(ctx: CommandContext, argv: string[]): void {
  const start = int64Arg(ctx, argv[2]!);
  if (start === null) return;
  const end = int64Arg(ctx, argv[3]!);
  if (end === null) return;
  const value = ctx.db.get(argv[1]!) ?? "";
  let from = Number(start);
  let to = Number(end);
  const length = value.length;
  if (from < 0 && to < 0 && from > to) {
    ctx.reply.bulk("");
    return;
  }
  if (from < 0) from = length + from;
  if (to < 0) to = length + to;
  if (from < 0) from = 0;
  if (to < 0) to = 0;
  if (to >= length) to = length - 1;
  ctx.reply.bulk(from > to || length === 0 ? "" : value.slice(from, to + 1));
}

/** SETRANGE key offset value: overwrites from offset, padding with zero bytes. */
function setrange(ctx: CommandContext, argv: string[]): void {
  const offsetArg = int64Arg(ctx, argv[2]!);
  if (offsetArg === null) return;
  const offset = Number(offsetArg);
  const patch = argv[3]!;
  if (offset < 0) {
    ctx.reply.error("ERR offset is out of range");
    return;
  }
  const old = ctx.db.peek(argv[1]!);
  if (patch.length === 0) {
    ctx.reply.integer(old?.length ?? 0);
    return;
  }
  if (offset + patch.length > requestLimits.maxBulkLength) {
    ctx.reply.error(Errors.tooBig);
    return;
  }
  const current = old ?? "";
  const padded = current.length < offset ? current + "\0".repeat(offset - current.length) : current;
  const value = padded.slice(0, offset) + patch + padded.slice(offset + patch.length);
  ctx.db.set(argv[1]!, value, KEEP_TTL);
  ctx.reply.integer(value.length);
}

/** INCR/DECR/INCRBY/DECRBY: int64 arithmetic with Redis's overflow errors. */
function incrementBy(ctx: CommandContext, key: string, delta: number | bigint): void {
  const old = ctx.db.peek(key);
  let current: number | bigint = 0;
  if (old !== undefined) {
    const parsed = parseSafeInt(old) ?? parseInt64(old);
    if (parsed === null) {
      ctx.reply.error(Errors.notInteger);
      return;
    }
    current = parsed;
  }
  let result: number | bigint;
  if (typeof current === "number" && typeof delta === "number" && Number.isSafeInteger(current + delta)) {
    result = current + delta;
  } else {
    const big = BigInt(current) + BigInt(delta);
    if (big < INT64_MIN || big > INT64_MAX) {
      ctx.reply.error(Errors.overflow);
      return;
    }
    result = big;
  }
  ctx.db.set(key, String(result), KEEP_TTL);
  ctx.reply.integer(result);
}

/**
 * INCR, DECR, INCRBY and DECRBY for a request in the receive buffer: an
 * integer within ±2^53 changes in place (no strings made); anything else
 * (not an integer, int64 arithmetic, the errors) takes the strings path,
 * `general`. `delta` is null when the request's own delta is not a small integer.
 */
function incrementFrame(ctx: CommandContext, frame: Frame, delta: number | null, general: (ctx: CommandContext, argv: string[]) => void): void {
  const result = delta === null ? null : ctx.db.incrementAt(frame.buf, frame.starts[1]!, frame.lengths[1]!, delta);
  if (result === null) general(ctx, frame.argv());
  else ctx.reply.integer(result);
}

/** INCRBY / DECRBY's delta (argument 2) times `sign`, when it is an integer within ±2^53. */
function frameDelta(frame: Frame, sign: number): number | null {
  const start = frame.starts[2]!;
  const delta = parseSafeIntAt(frame.buf, start, start + frame.lengths[2]!);
  return delta === null ? null : sign * delta;
}

const incrFrame = (ctx: CommandContext, frame: Frame) => incrementFrame(ctx, frame, 1, incr);
const decrFrame = (ctx: CommandContext, frame: Frame) => incrementFrame(ctx, frame, -1, decr);
const incrbyFrame = (ctx: CommandContext, frame: Frame) => incrementFrame(ctx, frame, frameDelta(frame, 1), incrby);
const decrbyFrame = (ctx: CommandContext, frame: Frame) => incrementFrame(ctx, frame, frameDelta(frame, -1), decrby);

function incr(ctx: CommandContext, argv: string[]): void {
  incrementBy(ctx, argv[1]!, 1);
}

function decr(ctx: CommandContext, argv: string[]): void {
  incrementBy(ctx, argv[1]!, -1);
}

function incrby(ctx: CommandContext, argv: string[]): void {
  const delta = int64Arg(ctx, argv[2]!);
  if (delta !== null) incrementBy(ctx, argv[1]!, delta);
}

function decrby(ctx: CommandContext, argv: string[]): void {
  const delta = int64Arg(ctx, argv[2]!);
  if (delta === null) return;
  if (delta === INT64_MIN) {
    ctx.reply.error("ERR decrement would overflow");
    return;
  }
  incrementBy(ctx, argv[1]!, -delta);
}

/** INCRBYFLOAT: long double arithmetic and formatting, digit for digit as Redis prints it. */
/**
 * INCRBYFLOAT: Redis adds in 80-bit long double and prints with %.17Lf;
 * addRedisFloats reproduces that digit for digit ("1" + "-1.1" is "-0.1").
 */
function incrbyfloat(ctx: CommandContext, argv: string[]): void {
  const old = ctx.db.peek(argv[1]!);
  if ((old !== undefined && parseRedisFloat(old) === null) || parseRedisFloat(argv[2]!) === null) {
    ctx.reply.error(Errors.notFloat);
    return;
  }
  const text = addRedisFloats(old ?? "0", argv[2]!);
  if (text === null) {
    ctx.reply.error("ERR increment would produce NaN or Infinity");
    return;
  }
  ctx.db.set(argv[1]!, text, KEEP_TTL);
  // Logged as the result: replaying the addition could round differently elsewhere.
  ctx.effect = ["SET", argv[1]!, text, "KEEPTTL"];
  ctx.reply.bulk(text);
}

const KEY1: [number, number, number] = [1, 1, 1];

export const stringCommands: CommandSpec[] = [
  { name: "set", arity: -3, flags: ["write", "denyoom"], keys: KEY1, group: "string", since: "1.0.0", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", complexity: "O(1)", handler: set, frameHandler: setFrame },
  { name: "get", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Returns the string value of a key.", complexity: "O(1)", handler: get, frameHandler: getFrame },
  { name: "getdel", arity: 2, flags: ["write", "fast"], keys: KEY1, group: "string", since: "6.2.0", summary: "Returns the string value of a key after deleting the key.", complexity: "O(1)", handler: getdel },
  { name: "getex", arity: -2, flags: ["write", "fast"], keys: KEY1, group: "string", since: "6.2.0", summary: "Returns the string value of a key after setting its expiration time.", complexity: "O(1)", handler: getex },
  { name: "getset", arity: 3, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Returns the previous string value of a key after setting it to a new value.", complexity: "O(1)", handler: getset },
  { name: "setnx", arity: 3, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Set the string value of a key only when the key doesn't exist.", complexity: "O(1)", handler: setnx },
  { name: "setex", arity: 4, flags: ["write", "denyoom"], keys: KEY1, group: "string", since: "2.0.0", summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", complexity: "O(1)", handler: setexGeneric(1000, "setex") },
  { name: "psetex", arity: 4, flags: ["write", "denyoom"], keys: KEY1, group: "string", since: "2.6.0", summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", complexity: "O(1)", handler: setexGeneric(1, "psetex") },
  { name: "mget", arity: -2, flags: ["readonly", "fast"], keys: [1, -1, 1], group: "string", since: "1.0.0", summary: "Atomically returns the string values of one or more keys.", complexity: "O(N) where N is the number of keys to retrieve.", handler: mget, frameHandler: mgetFrame },
  { name: "mset", arity: -3, flags: ["write", "denyoom"], keys: [1, -1, 2], group: "string", since: "1.0.1", summary: "Atomically creates or modifies the string values of one or more keys.", complexity: "O(N) where N is the number of keys to set.", handler: mset, frameHandler: msetFrame },
  { name: "msetnx", arity: -3, flags: ["write", "denyoom"], keys: [1, -1, 2], group: "string", since: "1.0.1", summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", complexity: "O(N) where N is the number of keys to set.", handler: msetGeneric(true) },
  { name: "append", arity: 3, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "2.0.0", summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", complexity: "O(1)", handler: append },
  { name: "strlen", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "string", since: "2.2.0", summary: "Returns the length of a string value.", complexity: "O(1)", handler: strlen },
  { name: "getrange", arity: 4, flags: ["readonly"], keys: KEY1, group: "string", since: "2.4.0", summary: "Returns a substring of the string stored at a key.", complexity: "O(N) where N is the length of the returned string.", handler: getrange },
  { name: "setrange", arity: 4, flags: ["write", "denyoom"], keys: KEY1, group: "string", since: "2.2.0", summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", complexity: "O(1), not counting the time taken to copy the new string in place.", handler: setrange },
  { name: "incr", arity: 2, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", complexity: "O(1)", handler: incr, frameHandler: incrFrame },
  { name: "decr", arity: 2, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", complexity: "O(1)", handler: decr, frameHandler: decrFrame },
  { name: "incrby", arity: 3, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", complexity: "O(1)", handler: incrby, frameHandler: incrbyFrame },
  { name: "decrby", arity: 3, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "1.0.0", summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", complexity: "O(1)", handler: decrby, frameHandler: decrbyFrame },
  { name: "incrbyfloat", arity: 3, flags: ["write", "denyoom", "fast"], keys: KEY1, group: "string", since: "2.6.0", summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", complexity: "O(1)", handler: incrbyfloat },
];

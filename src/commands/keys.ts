import { globMatch, isPlainPattern } from "../util/glob.ts";
import { parseInt64 } from "../util/numbers.ts";
import { expireArg, int32Arg, int64Arg, subcommandArg } from "./args.ts";
import { expireKey } from "./effects.ts";
import type { Frame } from "../protocol/request-parser.ts";
import { Errors, type CommandContext, type CommandSpec } from "./types.ts";

/** Generic key commands (Redis's db.c and expire.c). */

/** Every value is a string today; this names the type for TYPE and SCAN TYPE. */
const STRING_TYPE = "string";

function del(ctx: CommandContext, argv: string[]): void {
  let removed = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.db.delete(argv[i]!)) removed++;
  ctx.reply.integer(removed);
}

function delFrame(ctx: CommandContext, frame: Frame): void {
  let removed = 0;
  for (let i = 1; i < frame.argc; i++) if (ctx.db.deleteAt(frame.buf, frame.starts[i]!, frame.lengths[i]!)) removed++;
  ctx.reply.integer(removed);
}

function exists(ctx: CommandContext, argv: string[]): void {
  let found = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.db.has(argv[i]!)) found++;
  ctx.reply.integer(found);
}

function type(ctx: CommandContext, argv: string[]): void {
  ctx.reply.status(ctx.db.has(argv[1]!) ? STRING_TYPE : "none");
}

function touch(ctx: CommandContext, argv: string[]): void {
  let touched = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.db.touch(argv[i]!)) touched++;
  ctx.reply.integer(touched);
}

/** Moves src's value and TTL to dst; returns false (replying) when src is missing. */
function moveKey(ctx: CommandContext, src: string, dst: string): boolean {
  const value = ctx.db.peek(src);
  if (value === undefined) {
    ctx.reply.error(Errors.noSuchKey);
    return false;
  }
  const expireAt = ctx.db.expireTime(src);
  if (src !== dst) {
    ctx.db.delete(src);
    ctx.db.set(dst, value, expireAt);
  }
  return true;
}

function rename(ctx: CommandContext, argv: string[]): void {
  if (moveKey(ctx, argv[1]!, argv[2]!)) ctx.reply.ok();
}

function renamenx(ctx: CommandContext, argv: string[]): void {
  const [, src, dst] = argv as [string, string, string];
  if (!ctx.db.has(src)) {
    ctx.reply.error(Errors.noSuchKey);
    return;
  }
  if (ctx.db.has(dst)) {
    ctx.reply.integer(0);
    return;
  }
  moveKey(ctx, src, dst);
  ctx.reply.integer(1);
}

/** COPY source destination [DB destination-db] [REPLACE] */
function copy(ctx: CommandContext, argv: string[]): void {
  const [, src, dst] = argv as [string, string, string];
  let replace = false;
  for (let i = 3; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (option === "REPLACE") {
      replace = true;
    } else if (option === "DB" && i + 1 < argv.length) {
      const db = int32Arg(ctx, argv[++i]!);
      if (db === null) return;
      if (db !== 0) {
        ctx.reply.error(Errors.dbIndex);
        return;
      }
    } else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  if (src === dst) {
    ctx.reply.error("ERR source and destination objects are the same");
    return;
  }
  const value = ctx.db.peek(src);
  if (value === undefined || (!replace && ctx.db.has(dst))) {
    ctx.reply.integer(0);
    return;
  }
  ctx.db.set(dst, value, ctx.db.expireTime(src));
  ctx.reply.integer(1);
}

function keys(ctx: CommandContext, argv: string[]): void {
  const pattern = argv[1]!;
  if (isPlainPattern(pattern)) {
    ctx.reply.bulkArray(ctx.db.has(pattern) ? [pattern] : []);
    return;
  }
  const found: string[] = [];
  const all = pattern === "*";
  ctx.db.forEach((key) => {
    if (all || globMatch(pattern, key)) found.push(key);
  });
  ctx.reply.bulkArray(found);
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
function scan(ctx: CommandContext, argv: string[]): void {
  const cursor = parseInt64(argv[1]!);
  if (cursor === null || cursor < 0n) {
    ctx.reply.error("ERR invalid cursor");
    return;
  }
  let pattern: string | null = null;
  let count = 10;
  let typeFilter: string | null = null;
  for (let i = 2; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (i + 1 >= argv.length) {
      ctx.reply.error(Errors.syntax);
      return;
    }
    const value = argv[++i]!;
    if (option === "MATCH") {
      pattern = value === "*" ? null : value;
    } else if (option === "COUNT") {
      // Any positive long, as in Redis (huge counts just mean "everything").
      const n = int64Arg(ctx, value);
      if (n === null) return;
      if (n < 1) {
        ctx.reply.error(Errors.syntax);
        return;
      }
      count = Number(n);
    } else if (option === "TYPE") {
      typeFilter = value.toLowerCase();
    } else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  const found: string[] = [];
  const start = cursor > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(cursor);
  const next = ctx.db.scan(start, count, (key) => {
    if (typeFilter !== null && typeFilter !== STRING_TYPE) return;
    if (pattern === null || globMatch(pattern, key)) found.push(key);
  });
  ctx.reply.array(2);
  ctx.reply.bulk(String(next));
  ctx.reply.bulkArray(found);
}

function randomkey(ctx: CommandContext): void {
  ctx.reply.bulkOrNull(ctx.db.randomKey());
}

/**
 * EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX | XX | GT | LT].
 * A time already past deletes the key, as in Redis.
 */
function expireGeneric(unitMs: number, absolute: boolean, command: string) {
  return (ctx: CommandContext, argv: string[]): void => {
    let nx = false, xx = false, gt = false, lt = false;
    for (let i = 3; i < argv.length; i++) {
      const option = argv[i]!.toUpperCase();
      if (option === "NX") nx = true;
      else if (option === "XX") xx = true;
      else if (option === "GT") gt = true;
      else if (option === "LT") lt = true;
      else {
        ctx.reply.error(`ERR Unsupported option ${argv[i]}`);
        return;
      }
    }
    if (nx && (xx || gt || lt)) {
      ctx.reply.error("ERR NX and XX, GT or LT options at the same time are not compatible");
      return;
    }
    if (gt && lt) {
      ctx.reply.error("ERR GT and LT options at the same time are not compatible");
      return;
    }
    const at = expireArg(ctx, argv[2]!, unitMs, absolute, command, false);
    if (at === null) return;
    const key = argv[1]!;
    const current = ctx.db.expireTime(key);
    if (current < 0) {
      ctx.reply.integer(0);
      return;
    }
    // No TTL counts as an infinite one for GT and LT.
    const currentTtl = current === 0 ? Infinity : current;
    if ((nx && current !== 0) || (xx && current === 0) || (gt && at <= currentTtl) || (lt && at >= currentTtl)) {
      ctx.reply.integer(0);
      return;
    }
    expireKey(ctx, key, at);
    ctx.reply.integer(1);
  };
}

/** TTL/PTTL: remaining time, -1 without a TTL, -2 without a key. */
function ttlGeneric(inSeconds: boolean) {
  return (ctx: CommandContext, argv: string[]): void => {
    const at = ctx.db.expireTime(argv[1]!);
    if (at <= 0) {
      ctx.reply.integer(at === 0 ? -1 : -2);
      return;
    }
    const remaining = Math.max(0, at - ctx.db.now);
    ctx.reply.integer(inSeconds ? Math.floor((remaining + 500) / 1000) : remaining);
  };
}

/** EXPIRETIME/PEXPIRETIME: the absolute Unix time, -1 without a TTL, -2 without a key. */
function expiretimeGeneric(inSeconds: boolean) {
  return (ctx: CommandContext, argv: string[]): void => {
    const at = ctx.db.expireTime(argv[1]!);
    if (at <= 0) ctx.reply.integer(at === 0 ? -1 : -2);
    // Rounded to the nearest second, like TTL (expire.c ttlGenericCommand).
    else ctx.reply.integer(inSeconds ? Math.floor((at + 500) / 1000) : at);
  };
}

function persist(ctx: CommandContext, argv: string[]): void {
  const at = ctx.db.expireTime(argv[1]!);
  if (at <= 0) {
    ctx.reply.integer(0);
    return;
  }
  ctx.db.setExpire(argv[1]!, 0);
  ctx.reply.integer(1);
}

/** Redis's encoding names for a string: int, embstr (<= 44 bytes) or raw. */
function stringEncoding(value: string): string {
  if (value.length <= 20 && parseInt64(value) !== null) return "int";
  return value.length <= 44 ? "embstr" : "raw";
}

const OBJECT_HELP = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access logarithmic counter of a <key>. Only with an LFU policy.",
  "IDLETIME <key>",
  "    Return the idle time of a <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Print this help.",
];

const OBJECT_ARITY = { encoding: 3, freq: 3, help: 2, idletime: 3, refcount: 3 } as const;

function object(ctx: CommandContext, argv: string[]): void {
  const sub = subcommandArg(ctx, argv, "object", OBJECT_ARITY);
  if (sub === null) return;
  if (sub === "help") {
    ctx.reply.statusArray(OBJECT_HELP);
    return;
  }
  const key = argv[2]!;
  const value = ctx.db.peek(key);
  if (value === undefined) {
    ctx.reply.nullBulk();
    return;
  }
  if (sub === "encoding") ctx.reply.bulk(stringEncoding(value));
  else if (sub === "idletime") ctx.reply.integer(ctx.db.idleSeconds(key));
  else if (sub === "refcount") ctx.reply.integer(1);
  else
    ctx.reply.error(
      "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
}

const MEMORY_HELP = [
  "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "USAGE <key> [SAMPLES <count>]",
  "    Return memory in bytes used by <key> and its value. Nested values are",
  "    sampled up to <count> times (default: 5, 0 means sample all).",
  "HELP",
  "    Print this help.",
];

const MEMORY_ARITY = { help: 2, usage: -3 } as const;

/** MEMORY USAGE key [SAMPLES count]: the estimate maxmemory accounting uses. */
function memory(ctx: CommandContext, argv: string[]): void {
  const sub = subcommandArg(ctx, argv, "memory", MEMORY_ARITY);
  if (sub === null) return;
  if (sub === "help") {
    ctx.reply.statusArray(MEMORY_HELP);
    return;
  }
  // As in Redis: SAMPLES may repeat; a negative count is a syntax error.
  for (let i = 3; i < argv.length; i++) {
    if (argv[i]!.toUpperCase() === "SAMPLES" && i + 1 < argv.length) {
      const samples = parseInt64(argv[++i]!);
      if (samples === null) {
        ctx.reply.error(Errors.notInteger);
        return;
      }
      if (samples < 0n) {
        ctx.reply.error(Errors.syntax);
        return;
      }
    } else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  const bytes = ctx.db.memoryUsage(argv[2]!);
  if (bytes < 0) ctx.reply.nullBulk();
  else ctx.reply.integer(bytes);
}

const KEY1: [number, number, number] = [1, 1, 1];

export const keyCommands: CommandSpec[] = [
  { name: "del", arity: -2, flags: ["write"], keys: [1, -1, 1], group: "generic", since: "1.0.0", summary: "Deletes one or more keys.", handler: del, frameHandler: delFrame },
  { name: "unlink", arity: -2, flags: ["write", "fast"], keys: [1, -1, 1], group: "generic", since: "4.0.0", summary: "Asynchronously deletes one or more keys.", handler: del },
  { name: "exists", arity: -2, flags: ["readonly", "fast"], keys: [1, -1, 1], group: "generic", since: "1.0.0", summary: "Determines whether one or more keys exist.", handler: exists },
  { name: "type", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "generic", since: "1.0.0", summary: "Determines the type of value stored at a key.", handler: type },
  { name: "touch", arity: -2, flags: ["readonly", "fast"], keys: [1, -1, 1], group: "generic", since: "3.2.1", summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.", handler: touch },
  { name: "rename", arity: 3, flags: ["write"], keys: [1, 2, 1], group: "generic", since: "1.0.0", summary: "Renames a key and overwrites the destination.", handler: rename },
  { name: "renamenx", arity: 3, flags: ["write", "fast"], keys: [1, 2, 1], group: "generic", since: "1.0.0", summary: "Renames a key only when the target key name doesn't exist.", handler: renamenx },
  { name: "copy", arity: -3, flags: ["write", "denyoom"], keys: [1, 2, 1], group: "generic", since: "6.2.0", summary: "Copies the value of a key to a new key.", handler: copy },
  { name: "keys", arity: 2, flags: ["readonly"], keys: [0, 0, 0], group: "generic", since: "1.0.0", summary: "Returns all key names that match a pattern.", complexity: "O(N) with N being the number of keys in the database", handler: keys },
  { name: "scan", arity: -2, flags: ["readonly"], keys: [0, 0, 0], group: "generic", since: "2.8.0", summary: "Iterates over the key names in the database.", handler: scan },
  { name: "randomkey", arity: 1, flags: ["readonly"], keys: [0, 0, 0], group: "generic", since: "1.0.0", summary: "Returns a random key name from the database.", handler: randomkey },
  { name: "expire", arity: -3, flags: ["write", "fast"], keys: KEY1, group: "generic", since: "1.0.0", summary: "Sets the expiration time of a key in seconds.", handler: expireGeneric(1000, false, "expire") },
  { name: "pexpire", arity: -3, flags: ["write", "fast"], keys: KEY1, group: "generic", since: "2.6.0", summary: "Sets the expiration time of a key in milliseconds.", handler: expireGeneric(1, false, "pexpire") },
  { name: "expireat", arity: -3, flags: ["write", "fast"], keys: KEY1, group: "generic", since: "1.2.0", summary: "Sets the expiration time of a key to a Unix timestamp.", handler: expireGeneric(1000, true, "expireat") },
  { name: "pexpireat", arity: -3, flags: ["write", "fast"], keys: KEY1, group: "generic", since: "2.6.0", summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", handler: expireGeneric(1, true, "pexpireat") },
  { name: "ttl", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "generic", since: "1.0.0", summary: "Returns the expiration time in seconds of a key.", handler: ttlGeneric(true) },
  { name: "pttl", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "generic", since: "2.6.0", summary: "Returns the expiration time in milliseconds of a key.", handler: ttlGeneric(false) },
  { name: "expiretime", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "generic", since: "7.0.0", summary: "Returns the expiration time of a key as a Unix timestamp.", handler: expiretimeGeneric(true) },
  { name: "pexpiretime", arity: 2, flags: ["readonly", "fast"], keys: KEY1, group: "generic", since: "7.0.0", summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", handler: expiretimeGeneric(false) },
  { name: "persist", arity: 2, flags: ["write", "fast"], keys: KEY1, group: "generic", since: "2.2.0", summary: "Removes the expiration time of a key.", handler: persist },
  { name: "object", arity: -2, flags: ["readonly"], keys: [2, 2, 1], group: "generic", since: "2.2.3", summary: "A container for object introspection commands.", subcommands: ["encoding", "freq", "help", "idletime", "refcount"], handler: object },
  { name: "memory", arity: -2, flags: ["readonly"], keys: [0, 0, 0], group: "server", since: "4.0.0", summary: "A container for memory diagnostics commands.", subcommands: ["help", "usage"], handler: memory },
];

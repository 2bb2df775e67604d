import { ConfigError } from "../config/config.ts";
import { OPTIONS, isOptionName, type OptionName } from "../config/options.ts";
import { parseInt64 } from "../util/numbers.ts";
import { subcommandArg } from "./args.ts";
import { Errors, type CommandContext, type CommandSpec } from "./types.ts";

/** Server commands: CONFIG, DBSIZE, FLUSHDB/FLUSHALL, TIME, SHUTDOWN, BGREWRITEAOF. */

function dbsize(ctx: CommandContext): void {
  ctx.reply.integer(ctx.db.size);
}

/** FLUSHDB/FLUSHALL [ASYNC | SYNC]: both are immediate here. */
function flush(ctx: CommandContext, argv: string[]): void {
  if (argv.length > 2 || (argv.length === 2 && !["ASYNC", "SYNC"].includes(argv[1]!.toUpperCase()))) {
    ctx.reply.error(Errors.syntax);
    return;
  }
  if (!ctx.server.watchedKeys.empty) ctx.server.watchedKeys.touchExisting(ctx.db);
  ctx.db.flush();
  ctx.reply.ok();
}

function time(ctx: CommandContext): void {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  ctx.reply.array(2);
  ctx.reply.bulk(String(micros / 1_000_000n));
  ctx.reply.bulk(String(micros % 1_000_000n));
}

/** BGREWRITEAOF: compacts the AOF in the background (see persistence/aof-rewrite.ts). */
function bgrewriteaof(ctx: CommandContext): void {
  const error = ctx.server.persistence.startRewrite("BGREWRITEAOF");
  if (error === null) ctx.reply.status("Background append only file rewriting started");
  else ctx.reply.error(error);
}

/** SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT] */
function shutdown(ctx: CommandContext, argv: string[]): void {
  let save = false;
  let nosave = false;
  let other = false;
  let abort = false;
  for (let i = 1; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (option === "NOSAVE") nosave = true;
    else if (option === "SAVE") save = true;
    else if (option === "NOW" || option === "FORCE") other = true;
    else if (option === "ABORT") abort = true;
    else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  // As in Redis: ABORT alone, and never SAVE with NOSAVE.
  if ((abort && (save || nosave || other)) || (save && nosave)) {
    ctx.reply.error(Errors.syntax);
    return;
  }
  if (abort) {
    ctx.reply.error("ERR No shutdown in progress.");
    return;
  }
  // Like Redis, a successful SHUTDOWN sends no reply: the connection just closes.
  ctx.server.shutdown("SHUTDOWN command");
}

function configGet(ctx: CommandContext, argv: string[]): void {
  const pairs = ctx.server.config.matching(argv.slice(2).map((p) => p.toLowerCase()));
  ctx.reply.map(pairs.length);
  for (const [name, value] of pairs) {
    ctx.reply.bulk(name);
    ctx.reply.bulk(value);
  }
}

/**
 * config.c's words for a value CONFIG SET refuses (numericParseString,
 * numericBoundaryCheck, enumConfigSet, boolConfigSet), derived from what the
 * option accepts.
 */
function refusal(value: string, expected: string): string {
  if (expected.startsWith("a memory size")) return "argument must be a memory value";
  const range = /^an integer (?:from (-?\d+) to (-?\d+)|>= (-?\d+))$/.exec(expected);
  if (range !== null) {
    if (parseInt64(value) === null) return "argument couldn't be parsed into an integer";
    const [min, max] = range[3] !== undefined ? [range[3], String(Number.MAX_SAFE_INTEGER)] : [range[1]!, range[2]!];
    return `argument must be between ${min} and ${max} inclusive`;
  }
  if (expected.startsWith("one of ")) return `argument(s) must be one of the following: ${expected.slice("one of ".length)}`;
  if (expected === "yes or no") return "argument must be 'yes' or 'no'";
  return `argument must be ${expected}`;
}

/**
 * CONFIG SET name value [name value ...]: all or nothing, as in Redis 7.
 * Like config.c, every name is checked first (unknown, immutable,
 * duplicate), then every value, and only then is anything applied.
 */
function configSet(ctx: CommandContext, argv: string[]): void {
  if (argv.length < 4 || argv.length % 2 !== 0) {
    ctx.reply.error(Errors.arity("config|set"));
    return;
  }
  const { config } = ctx.server;
  const changes: [OptionName, string][] = [];
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i]!.toLowerCase();
    if (!isOptionName(name)) {
      ctx.reply.error(`ERR Unknown option or number of arguments for CONFIG SET - '${argv[i]}'`);
      return;
    }
    if (!OPTIONS[name].mutable) {
      ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${argv[i]}') - can't set immutable config`);
      return;
    }
    if (changes.some(([n]) => n === name)) {
      ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${argv[i]}') - duplicate parameter`);
      return;
    }
    changes.push([name, argv[i + 1]!]);
  }
  for (const [name, value] of changes) {
    const parsed = OPTIONS[name].parse(value);
    if (!parsed.ok) {
      ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${refusal(value, parsed.expected)}`);
      return;
    }
  }
  try {
    for (const [name, value] of changes) config.set(name, value, "runtime");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.reply.error(`ERR CONFIG SET failed - ${err.message}`);
    return;
  }
  ctx.reply.ok();
}

const CONFIG_HELP = [
  "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET <pattern>",
  "    Return parameters matching the glob-like <pattern> and their values.",
  "SET <directive> <value>",
  "    Set the configuration <directive> to <value>.",
  "RESETSTAT",
  "    Reset statistics reported by the INFO command.",
  "HELP",
  "    Print this help.",
];

const CONFIG_ARITY = { get: -3, help: 2, resetstat: 2, set: -4 } as const;

function config(ctx: CommandContext, argv: string[]): void {
  const sub = subcommandArg(ctx, argv, "config", CONFIG_ARITY);
  if (sub === null) return;
  if (sub === "get") configGet(ctx, argv);
  else if (sub === "set") configSet(ctx, argv);
  else if (sub === "resetstat") {
    ctx.server.resetStats();
    ctx.reply.ok();
  } else {
    ctx.reply.statusArray(CONFIG_HELP);
  }
}

export const serverCommands: CommandSpec[] = [
  { name: "dbsize", arity: 1, flags: ["readonly", "fast"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Returns the number of keys in the database.", handler: dbsize },
  { name: "flushdb", arity: -1, flags: ["write"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Removes all keys from the current database.", handler: flush },
  { name: "flushall", arity: -1, flags: ["write"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Removes all keys from all databases.", handler: flush },
  { name: "bgrewriteaof", arity: 1, flags: ["admin", "noscript"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Asynchronously rewrites the append-only file to disk.", handler: bgrewriteaof },
  { name: "time", arity: 1, flags: ["loading", "stale", "fast"], keys: [0, 0, 0], group: "server", since: "2.6.0", summary: "Returns the server time.", handler: time },
  { name: "shutdown", arity: -1, flags: ["admin", "noscript", "loading", "stale"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", handler: shutdown },
  {
    name: "config",
    arity: -2,
    flags: ["admin", "noscript", "loading", "stale"],
    keys: [0, 0, 0],
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands.",
    subcommands: ["get", "help", "resetstat", "set"],
    handler: config,
  },
];

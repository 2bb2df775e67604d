import { ConfigError } from "../config/config.ts";
import { OPTIONS, isOptionName, type OptionName } from "../config/options.ts";
import { Errors, type CommandContext, type CommandSpec } from "./types.ts";

/** Server commands: CONFIG, DBSIZE, FLUSHDB/FLUSHALL, TIME, SHUTDOWN. */

function dbsize(ctx: CommandContext): void {
  ctx.reply.integer(ctx.db.size);
}

/** FLUSHDB/FLUSHALL [ASYNC | SYNC]: both are immediate here. */
function flush(ctx: CommandContext, argv: string[]): void {
  if (argv.length > 2 || (argv.length === 2 && !["ASYNC", "SYNC"].includes(argv[1]!.toUpperCase()))) {
    ctx.reply.error(Errors.syntax);
    return;
  }
  ctx.db.flush();
  ctx.reply.ok();
}

function time(ctx: CommandContext): void {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  ctx.reply.array(2);
  ctx.reply.bulk(String(micros / 1_000_000n));
  ctx.reply.bulk(String(micros % 1_000_000n));
}

/** SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT] */
function shutdown(ctx: CommandContext, argv: string[]): void {
  for (let i = 1; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (option === "ABORT") {
      ctx.reply.error("ERR No shutdown in progress.");
      return;
    }
    if (!["NOSAVE", "SAVE", "NOW", "FORCE"].includes(option)) {
      ctx.reply.error(Errors.syntax);
      return;
    }
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
 * CONFIG SET name value [name value ...]: all or nothing, as in Redis 7.
 * Every pair is validated before any is applied.
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
    const value = argv[i + 1]!;
    if (!isOptionName(name)) {
      ctx.reply.error(`ERR Unknown option or number of arguments for CONFIG SET - '${argv[i]}'`);
      return;
    }
    if (changes.some(([n]) => n === name)) {
      ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`);
      return;
    }
    if (!OPTIONS[name].mutable) {
      ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`);
      return;
    }
    const parsed = OPTIONS[name].parse(value);
    if (!parsed.ok) {
      ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${name}') - argument must be ${parsed.expected}`);
      return;
    }
    changes.push([name, value]);
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

function config(ctx: CommandContext, argv: string[]): void {
  const sub = argv[1]!.toLowerCase();
  if (sub === "get" && argv.length >= 3) configGet(ctx, argv);
  else if (sub === "set") configSet(ctx, argv);
  else if (sub === "resetstat" && argv.length === 2) {
    ctx.server.resetStats();
    ctx.reply.ok();
  } else if (sub === "help" && argv.length === 2) {
    ctx.reply.array(CONFIG_HELP.length);
    for (const line of CONFIG_HELP) ctx.reply.status(line);
  } else if (["get", "resetstat", "help"].includes(sub)) {
    ctx.reply.error(Errors.arity(`config|${sub}`));
  } else {
    ctx.reply.error(Errors.unknownSubcommand(argv[1]!, "config"));
  }
}

export const serverCommands: CommandSpec[] = [
  { name: "dbsize", arity: 1, flags: ["readonly", "fast"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Returns the number of keys in the database.", handler: dbsize },
  { name: "flushdb", arity: -1, flags: ["write"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Removes all keys from the current database.", handler: flush },
  { name: "flushall", arity: -1, flags: ["write"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Removes all keys from all databases.", handler: flush },
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

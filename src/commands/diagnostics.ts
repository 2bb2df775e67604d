import { parseInt64 } from "../util/numbers.ts";
import { subcommandArg } from "./args.ts";
import type { CommandContext, CommandSpec } from "./types.ts";

/**
 * Diagnostics: SLOWLOG, LATENCY and MONITOR, with Redis 7's reply shapes and
 * error texts (slowlog.c, latency.c, replication.c monitorCommand). What
 * they read is collected elsewhere: dispatch fills the slow log and the
 * `command` / `fast-command` latency events and feeds monitors; the server
 * cron and the AOF code record their own latency events.
 */

/** Redis's addReplySubcommandSyntaxError: the subcommand exists but got the wrong arguments. */
function subcommandSyntaxError(ctx: CommandContext, argv: string[]): void {
  ctx.reply.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1]!.slice(0, 128)}'. Try ${argv[0]!.toUpperCase()} HELP.`);
}

// ---- SLOWLOG ------------------------------------------------------------------

const SLOWLOG_ARITY = { get: -2, help: 2, len: 2, reset: 2 } as const;

const SLOWLOG_HELP = [
  "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET [<count>]",
  "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
  "    Entries are made of:",
  "    id, timestamp, time in microseconds, arguments array, client IP and port,",
  "    client name",
  "LEN",
  "    Return the length of the slowlog.",
  "RESET",
  "    Reset the slowlog.",
  "HELP",
  "    Print this help.",
];

/** SLOWLOG GET [count] | LEN | RESET | HELP */
function slowlog(ctx: CommandContext, argv: string[]): void {
  const sub = subcommandArg(ctx, argv, "slowlog", SLOWLOG_ARITY);
  if (sub === null) return;
  const { reply, server } = ctx;
  switch (sub) {
    case "get": {
      if (argv.length > 3) {
        subcommandSyntaxError(ctx, argv);
        return;
      }
      let count = 10;
      if (argv.length === 3) {
        // getRangeLongFromObjectOrReply(-1, LONG_MAX) with one message for both failures.
        const n = parseInt64(argv[2]!);
        if (n === null || n < -1n) {
          reply.error("ERR count should be greater than or equal to -1");
          return;
        }
        count = n === -1n || n > BigInt(server.slowlog.length) ? server.slowlog.length : Number(n);
      }
      const entries = server.slowlog.newest(count);
      reply.array(entries.length);
      for (const entry of entries) {
        reply.array(6);
        reply.integer(entry.id);
        reply.integer(entry.time);
        reply.integer(entry.durationUs);
        reply.bulkArray(entry.args);
        reply.bulk(entry.clientAddress);
        reply.bulk(entry.clientName);
      }
      return;
    }
    case "len":
      reply.integer(server.slowlog.length);
      return;
    case "reset":
      server.slowlog.reset();
      reply.ok();
      return;
    case "help":
      reply.statusArray(SLOWLOG_HELP);
      return;
  }
}

// ---- LATENCY ------------------------------------------------------------------

/** DOCTOR, GRAPH and HISTOGRAM are not implemented: they get the unknown-subcommand error. */
const LATENCY_ARITY = { help: 2, history: 3, latest: 2, reset: -2 } as const;

const LATENCY_HELP = [
  "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "HISTORY <event>",
  "    Return time-latency samples for the <event> class.",
  "LATEST",
  "    Return the latest latency samples for all events.",
  "RESET [<event> ...]",
  "    Reset latency data of one or more <event> classes.",
  "    (default: reset all data for all event classes)",
  "HELP",
  "    Print this help.",
];

/** LATENCY LATEST | HISTORY event | RESET [event ...] | HELP */
function latency(ctx: CommandContext, argv: string[]): void {
  const sub = subcommandArg(ctx, argv, "latency", LATENCY_ARITY);
  if (sub === null) return;
  const { reply, server } = ctx;
  switch (sub) {
    case "latest": {
      // Redis 7's four fields: event, time of the latest sample, its latency, the all-time max.
      const events = server.latency.all();
      reply.array(events.length);
      for (const event of events) {
        reply.array(4);
        reply.bulk(event.name);
        reply.integer(event.latest.time);
        reply.integer(event.latest.ms);
        reply.integer(event.maxMs);
      }
      return;
    }
    case "history": {
      const samples = server.latency.get(argv[2]!)?.history ?? [];
      reply.array(samples.length);
      for (const sample of samples) {
        reply.array(2);
        reply.integer(sample.time);
        reply.integer(sample.ms);
      }
      return;
    }
    case "reset":
      reply.integer(server.latency.reset(argv.slice(2)));
      return;
    case "help":
      reply.statusArray(LATENCY_HELP);
      return;
  }
}

// ---- MONITOR ------------------------------------------------------------------

/**
 * MONITOR: +OK, then a line for every command the server runs (see
 * server/monitors.ts). As in Redis, asking again while monitoring is
 * ignored without a reply.
 */
function monitor(ctx: CommandContext): void {
  if (ctx.client.monitor) return;
  ctx.server.startMonitor(ctx.client);
  ctx.reply.ok();
}

export const diagnosticsCommands: CommandSpec[] = [
  {
    name: "slowlog",
    arity: -2,
    flags: ["admin", "loading", "stale"],
    keys: [0, 0, 0],
    group: "server",
    since: "2.2.12",
    summary: "A container for slow log commands.",
    complexity: "Depends on subcommand.",
    subcommands: ["get", "help", "len", "reset"],
    handler: slowlog,
  },
  {
    name: "latency",
    arity: -2,
    flags: ["admin", "noscript", "loading", "stale"],
    keys: [0, 0, 0],
    group: "server",
    since: "2.8.13",
    summary: "A container for latency diagnostics commands.",
    complexity: "Depends on subcommand.",
    subcommands: ["help", "history", "latest", "reset"],
    handler: latency,
  },
  {
    name: "monitor",
    arity: 1,
    flags: ["admin", "noscript", "loading", "stale"],
    keys: [0, 0, 0],
    group: "server",
    since: "1.0.0",
    summary: "Listens for all requests received by the server in real-time.",
    handler: monitor,
  },
];

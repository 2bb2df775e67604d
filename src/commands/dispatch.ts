import { arityAccepts, lookupCommand, type Command } from "./table.ts";
import { Errors, type CommandContext } from "./types.ts";

/**
 * Runs one command: lookup, arity check, refusals (no AUTH yet, a monitor
 * touching keys, loading, the AOF failing, the memory limit for commands that
 * may grow the dataset), the handler, SLOWLOG / LATENCY / MONITOR, then
 * logging its change to the AOF. Errors are replies; nothing a
 * client sends can throw past this point, not even a bug in a handler.
 */
export function dispatch(ctx: CommandContext, argv: string[]): void {
  const command = lookupCommand(argv[0]!);
  const { reply, server } = ctx;
  if (command === undefined) {
    reply.error(unknownCommand(argv));
    return;
  }
  const { spec, stats } = command;
  ctx.client.lastCommand = spec.name;
  if (!arityAccepts(spec, argv.length)) {
    stats.rejectedCalls++;
    reply.error(Errors.arity(spec.name));
    return;
  }
  if (!ctx.client.authenticated && !command.noAuth && server.config.values.requirepass !== "") {
    stats.rejectedCalls++;
    reply.error(Errors.noauth);
    return;
  }
  if (ctx.client.monitor && command.keyspace) {
    // A monitor is a replica to Redis, and replicas may not touch keys (server.c processCommand).
    stats.rejectedCalls++;
    reply.error(Errors.replicaKeyspace);
    return;
  }
  if (server.loading && !command.allowedWhileLoading) {
    stats.rejectedCalls++;
    reply.error(Errors.loading);
    return;
  }
  if (command.write && server.writeError !== null) {
    stats.rejectedCalls++;
    reply.error(Errors.misconf(server.writeError));
    return;
  }
  if (command.denyOom && ctx.db.overMemoryLimit && !ctx.db.evictIfNeeded()) {
    stats.rejectedCalls++;
    reply.error(Errors.oom);
    return;
  }
  const errorsBefore = reply.errors;
  const replyStart = reply.out.length;
  const dirtyBefore = ctx.db.dirty;
  ctx.effect = null;
  try {
    spec.handler(ctx, argv);
  } catch (err) {
    // A bug in a command must not take the server and everyone's data down:
    // drop its partial reply, answer with an error, log it, keep serving.
    reply.out.length = replyStart;
    reply.error(`ERR internal error in '${spec.name}': ${(err as Error).message}`);
    server.stats.unexpectedErrorReplies++;
    server.warn(`command '${spec.name}' from ${ctx.client.address} threw: ${(err as Error).stack ?? err}`);
  }
  const now = Bun.nanoseconds();
  const us = (now - server.commandClock) / 1000;
  server.commandClock = now;
  // Counted after the call, as Redis does: INFO's own call is not in its figures, RESETSTAT's is.
  stats.record(us);
  server.stats.totalCommandsProcessed++;
  if (us >= server.slowCommandUs) recordSlow(ctx, command, argv, us);
  if (server.monitorCount !== 0 && command.monitored) {
    // After the call, as Redis 7 does (a monitor's own reply comes before its line); not admin commands.
    server.feedMonitors(ctx.client, redacted(command, argv));
    server.commandClock = Bun.nanoseconds(); // the next command's time does not include the feed
  }
  if (reply.errors !== errorsBefore) stats.failedCalls++;
  if (command.write && ctx.db.dirty !== dirtyBefore) {
    if (ctx.effect === null && command.renamed) argv[0] = spec.name; // the AOF names the real command
    server.propagate(ctx.effect ?? argv);
  }
}

/** A command that took at least slowCommandUs: SLOWLOG and LATENCY's `command` / `fast-command` events, as in Redis's call(). */
function recordSlow(ctx: CommandContext, command: Command, argv: readonly string[], us: number): void {
  const { server, client } = ctx;
  server.latency.record(command.fast ? "fast-command" : "command", us / 1000);
  if (server.slowlogThresholdUs >= 0 && us >= server.slowlogThresholdUs) server.slowlog.add(redacted(command, argv), us, client.address, client.name);
}

/** The arguments as SLOWLOG and MONITOR show them: passwords replaced (AUTH, HELLO … AUTH, CONFIG SET requirepass). */
export function redacted(command: Command, argv: readonly string[]): readonly string[] {
  const name = command.spec.name;
  if (name === "auth") return argv.map((a, i) => (i === 0 ? a : "(redacted)"));
  if (name === "hello") {
    const i = argv.findIndex((a, j) => j > 0 && a.toLowerCase() === "auth");
    if (i > 0) return argv.map((a, j) => (j === i + 1 || j === i + 2 ? "(redacted)" : a));
  }
  if (name === "config" && argv[1]?.toLowerCase() === "set") {
    return argv.map((a, j) => (j >= 3 && j % 2 === 1 && argv[j - 1]!.toLowerCase() === "requirepass" ? "(redacted)" : a));
  }
  return argv;
}

/**
 * Redis's text (server.c processCommand): the name cut to 128 bytes, then
 * quoted arguments while fewer than 128 bytes of them were written, each
 * cut to what is left of those 128.
 */
function unknownCommand(argv: string[]): string {
  let args = "";
  for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${argv[i]!.slice(0, 128 - args.length)}' `;
  return `ERR unknown command '${argv[0]!.slice(0, 128)}', with args beginning with: ${args}`;
}

import { arityAccepts, lastKeyIndex, lookupCommand, type Command } from "./table.ts";
import type { Frame } from "../protocol/request-parser.ts";
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
  if (command === undefined) {
    if (ctx.client.transaction !== null) ctx.client.transaction.failed = true;
    ctx.reply.error(unknownCommand(argv));
    return;
  }
  if (!admit(ctx, command, argv.length)) return;
  if (ctx.client.transaction !== null && !TRANSACTION_CONTROL.has(command.spec.name)) queue(ctx, command, argv);
  else execute(ctx, command, argv, null);
}

/**
 * dispatch() for a request still in the receive buffer, whose command has a
 * frameHandler: the same checks, accounting and logging, with argument
 * strings made only if SLOWLOG, MONITOR or a renamed command's AOF record
 * need them.
 */
export function dispatchFrame(ctx: CommandContext, command: Command, frame: Frame): void {
  if (!admit(ctx, command, frame.argc)) return;
  // No transaction command has a frame handler: in MULTI, every frame is queued.
  if (ctx.client.transaction !== null) queue(ctx, command, frame.argv());
  else execute(ctx, command, null, frame);
}

/** Run at once even between MULTI and EXEC (Redis's list in processCommand). */
const TRANSACTION_CONTROL = new Set(["multi", "exec", "discard", "watch", "quit"]);

/** Between MULTI and EXEC: an admitted command waits for EXEC. */
function queue(ctx: CommandContext, command: Command, argv: string[]): void {
  ctx.client.transaction!.queued.push({ command, argv });
  ctx.reply.status("QUEUED");
}

/** The refusals before a command runs; false when it was refused (the error is the reply). */
function admit(ctx: CommandContext, command: Command, argc: number): boolean {
  const { reply, server } = ctx;
  const { spec, stats } = command;
  ctx.client.lastCommand = spec.name;
  let refusal: string | null = null;
  if (!arityAccepts(spec, argc)) refusal = Errors.arity(spec.name);
  else if (!ctx.client.authenticated && !command.noAuth && server.config.values.requirepass !== "") refusal = Errors.noauth;
  // A monitor is a replica to Redis, and replicas may not touch keys (server.c processCommand).
  else if (ctx.client.monitor && command.keyspace) refusal = Errors.replicaKeyspace;
  else if (server.loading && !command.allowedWhileLoading) refusal = Errors.loading;
  else if (command.write && server.writeError !== null) refusal = Errors.misconf(server.writeError);
  else if (command.denyOom && ctx.db.overMemoryLimit && !ctx.db.evictIfNeeded()) refusal = Errors.oom;
  if (refusal === null) return true;
  stats.rejectedCalls++;
  // Refused while queuing: EXEC will refuse the whole transaction (Redis's flagTransaction).
  if (ctx.client.transaction !== null) ctx.client.transaction.failed = true;
  reply.error(refusal);
  return false;
}

/** Runs an admitted command from its strings (`argv`) or its frame, then times, records and logs it. */
export function execute(ctx: CommandContext, command: Command, argv: string[] | null, frame: Frame | null): void {
  const { reply, server } = ctx;
  const { spec, stats } = command;
  const errorsBefore = reply.errors;
  const replyStart = reply.out.length;
  const dirtyBefore = ctx.db.dirty;
  ctx.effect = null;
  try {
    if (argv !== null) spec.handler(ctx, argv);
    else spec.frameHandler!(ctx, frame!);
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
  if (us >= server.slowCommandUs) recordSlow(ctx, command, argv ?? (argv = frame!.argv()), us);
  if (server.monitorCount !== 0 && command.monitored) {
    // After the call, as Redis 7 does (a monitor's own reply comes before its line); not admin commands.
    server.feedMonitors(ctx.client, redacted(command, argv ?? (argv = frame!.argv())));
    server.commandClock = Bun.nanoseconds(); // the next command's time does not include the feed
  }
  if (reply.errors !== errorsBefore) stats.failedCalls++;
  if (command.write && ctx.db.dirty !== dirtyBefore) {
    if (!server.watchedKeys.empty) touchKeys(ctx, command, argv ?? (argv = frame!.argv()));
    if (ctx.effect !== null) server.propagate(ctx.effect);
    else if (!command.renamed) {
      if (frame !== null) server.propagateBytes(frame.buf, frame.start, frame.end); // the request as it arrived
      else server.propagate(argv!);
    } else {
      argv ??= frame!.argv();
      argv[0] = spec.name; // the AOF names the real command
      server.propagate(argv);
    }
  }
}

/** A write changed its keys (the spec's key positions): the clients WATCHing them will see EXEC fail. */
function touchKeys(ctx: CommandContext, command: Command, argv: readonly string[]): void {
  const { keys } = command.spec;
  const last = lastKeyIndex(command.spec, argv.length);
  for (let i = keys[0]; i <= last; i += keys[2]) ctx.server.watchedKeys.touch(argv[i]!);
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

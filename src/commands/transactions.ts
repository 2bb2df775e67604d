import type { Keyspace } from "../store/keyspace.ts";
import { execute } from "./dispatch.ts";
import type { Command } from "./table.ts";
import { Errors, type ClientState, type CommandContext, type CommandSpec } from "./types.ts";

/**
 * Transactions, as in Redis: MULTI queues a client's commands, EXEC runs
 * them one after the other with nothing in between (one event loop), and
 * WATCH makes EXEC run nothing if a watched key changed since.
 */

/** A client between MULTI and EXEC/DISCARD. */
export interface Transaction {
  readonly queued: { command: Command; argv: string[] }[];
  /** A command was refused while queuing (unknown, wrong arity, -OOM…): EXEC answers -EXECABORT. */
  failed: boolean;
}

/**
 * The keys clients WATCH, and who watches each. Whatever changes a key
 * (a write command, expiry, eviction, a flush) touches it, and every
 * client watching it will have its EXEC fail.
 */
export class WatchedKeys {
  private readonly watchers = new Map<string, Set<ClientState>>();

  /** Nothing is watched: the usual case, checked before any work. */
  get empty(): boolean {
    return this.watchers.size === 0;
  }

  watch(client: ClientState, key: string): void {
    let clients = this.watchers.get(key);
    if (clients === undefined) this.watchers.set(key, (clients = new Set()));
    clients.add(client);
    (client.watching ??= new Set()).add(key);
  }

  /** Forgets the client's watches (EXEC, DISCARD, UNWATCH, disconnection). */
  unwatchAll(client: ClientState): void {
    if (client.watching !== null) {
      for (const key of client.watching) {
        const clients = this.watchers.get(key);
        clients?.delete(client);
        if (clients?.size === 0) this.watchers.delete(key);
      }
      client.watching = null;
    }
    client.watchedKeyChanged = false;
  }

  touch(key: string): void {
    const clients = this.watchers.get(key);
    if (clients !== undefined) for (const client of clients) client.watchedKeyChanged = true;
  }

  /** Before a flush: the watched keys that exist are about to change (a missing one does not). */
  touchExisting(db: Keyspace): void {
    for (const [key, clients] of this.watchers) {
      if (db.has(key)) for (const client of clients) client.watchedKeyChanged = true;
    }
  }
}

function multi(ctx: CommandContext): void {
  if (ctx.client.transaction !== null) {
    ctx.reply.error("ERR MULTI calls can not be nested");
    return;
  }
  ctx.client.transaction = { queued: [], failed: false };
  ctx.reply.ok();
}

function discard(ctx: CommandContext): void {
  if (ctx.client.transaction === null) {
    ctx.reply.error("ERR DISCARD without MULTI");
    return;
  }
  ctx.client.transaction = null;
  ctx.server.watchedKeys.unwatchAll(ctx.client);
  ctx.reply.ok();
}

function exec(ctx: CommandContext): void {
  const { client, server, reply, db } = ctx;
  const transaction = client.transaction;
  if (transaction === null) {
    reply.error("ERR EXEC without MULTI");
    return;
  }
  client.transaction = null;
  // A watched key past its TTL that nothing has removed yet has changed too: looking it up removes it, which touches it.
  if (client.watching !== null) for (const key of client.watching) db.has(key);
  const changed = client.watchedKeyChanged;
  server.watchedKeys.unwatchAll(client);
  if (transaction.failed) {
    reply.error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  if (changed) {
    reply.nullArray();
    return;
  }
  // EXEC is a write when what it runs writes (Redis's processCommand): the same refusals, now.
  const writes = transaction.queued.some(({ command }) => command.write);
  if (writes && server.writeError !== null) {
    reply.error(Errors.misconf(server.writeError));
    return;
  }
  if (transaction.queued.some(({ command }) => command.denyOom) && db.overMemoryLimit && !db.evictIfNeeded()) {
    reply.error(Errors.oom);
    return;
  }
  // The commands' own time goes to each of them; EXEC's covers the whole.
  const started = server.commandClock;
  reply.array(transaction.queued.length);
  server.runTransaction(() => {
    for (const { command, argv } of transaction.queued) execute(ctx, command, argv, null);
  });
  server.commandClock = started;
}

function watch(ctx: CommandContext, argv: string[]): void {
  if (ctx.client.transaction !== null) {
    ctx.reply.error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  for (let i = 1; i < argv.length; i++) ctx.server.watchedKeys.watch(ctx.client, argv[i]!);
  ctx.reply.ok();
}

function unwatch(ctx: CommandContext): void {
  ctx.server.watchedKeys.unwatchAll(ctx.client);
  ctx.reply.ok();
}

export const transactionCommands: CommandSpec[] = [
  { name: "multi", arity: 1, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], keys: [0, 0, 0], group: "transactions", since: "1.2.0", summary: "Starts a transaction.", complexity: "O(1)", handler: multi },
  { name: "exec", arity: 1, flags: ["noscript", "loading", "stale"], keys: [0, 0, 0], group: "transactions", since: "1.2.0", summary: "Executes all commands in a transaction.", complexity: "Depends on commands in the transaction", handler: exec },
  { name: "discard", arity: 1, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], keys: [0, 0, 0], group: "transactions", since: "2.0.0", summary: "Discards a transaction.", complexity: "O(N), when N is the number of queued commands", handler: discard },
  { name: "watch", arity: -2, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], keys: [1, -1, 1], group: "transactions", since: "2.2.0", summary: "Monitors changes to keys to determine the execution of a transaction.", complexity: "O(1) for every key.", handler: watch },
  { name: "unwatch", arity: 1, flags: ["noscript", "loading", "stale", "fast", "allow_busy"], keys: [0, 0, 0], group: "transactions", since: "2.2.0", summary: "Forgets about watched keys of a transaction.", complexity: "O(1)", handler: unwatch },
];

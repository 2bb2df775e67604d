import { connectionCommands } from "./connection.ts";
import { diagnosticsCommands } from "./diagnostics.ts";
import { infoCommands } from "./info.ts";
import { introspectionCommands } from "./introspection.ts";
import { keyCommands } from "./keys.ts";
import { serverCommands } from "./server.ts";
import { stringCommands } from "./strings.ts";
import { transactionCommands } from "./transactions.ts";
import { CommandStats } from "../stats/command-stats.ts";
import type { CommandSpec } from "./types.ts";

/**
 * The command table: every command's spec, looked up by name. Names are
 * stored in lower and upper case so the common spellings hit without
 * allocating a lower-cased copy per request.
 */
export const ALL_COMMANDS: readonly CommandSpec[] = [
  ...stringCommands,
  ...keyCommands,
  ...connectionCommands,
  ...serverCommands,
  ...infoCommands,
  ...introspectionCommands,
  ...diagnosticsCommands,
  ...transactionCommands,
].sort((a, b) => a.name.localeCompare(b.name));

/** A table row as dispatch uses it: the spec plus what is derived from it once. */
export interface Command {
  readonly spec: CommandSpec;
  /** Refused with -OOM while over maxmemory (Redis's DENYOOM flag). */
  readonly denyOom: boolean;
  /** Changes data: refused while the AOF cannot be written, logged when it changed something. */
  readonly write: boolean;
  /** May run before the client authenticated (Redis's CMD_NO_AUTH). */
  readonly noAuth: boolean;
  /** May run while the AOF loads (Redis's CMD_LOADING). */
  readonly allowedWhileLoading: boolean;
  /** Flagged `fast`: LATENCY files its slow calls under `fast-command`, the others under `command`. */
  readonly fast: boolean;
  /** Reads or writes keys (`readonly` or `write`): refused to a client in MONITOR mode, as Redis refuses replicas. */
  readonly keyspace: boolean;
  /** Shown to MONITOR clients: every command but the `admin` ones (CONFIG, SHUTDOWN, SLOWLOG, ...), as in Redis 7. */
  readonly monitored: boolean;
  readonly stats: CommandStats;
  /** Reached under another name (rename-command): the AOF logs the real one. */
  renamed: boolean;
}

const byName = new Map<string, Command>();
for (const spec of ALL_COMMANDS) {
  if (byName.has(spec.name)) throw new Error(`command ${spec.name} defined twice`);
  const command: Command = {
    spec,
    denyOom: spec.flags.includes("denyoom"),
    write: spec.flags.includes("write"),
    allowedWhileLoading: spec.flags.includes("loading"),
    noAuth: spec.flags.includes("no_auth"),
    fast: spec.flags.includes("fast"),
    keyspace: spec.flags.includes("readonly") || spec.flags.includes("write"),
    monitored: !spec.flags.includes("admin"),
    stats: new CommandStats(),
    renamed: false,
  };
  byName.set(spec.name, command);
  byName.set(spec.name.toUpperCase(), command);
}

/** Every command by its real name, whatever rename-command did: the AOF names commands so. */
const byRealName = new Map(byName);

/** Whether `argc` arguments (the name included) fit the spec's arity: exact when positive, a minimum when negative. */
export function arityAccepts(spec: CommandSpec, argc: number): boolean {
  return spec.arity > 0 ? argc === spec.arity : argc >= -spec.arity;
}

/**
 * The last argument index that is a key, for a request of `argc` arguments,
 * from the key positions COMMAND INFO gives (first, last (negative: from
 * the end), step); -1 when the command takes no keys. Keys are at
 * spec.keys[0], then every spec.keys[2], up to it.
 */
export function lastKeyIndex(spec: CommandSpec, argc: number): number {
  const [first, last, step] = spec.keys;
  if (first === 0 || step <= 0) return -1;
  return last < 0 ? argc + last : Math.min(last, argc - 1);
}

export function lookupCommand(name: string): Command | undefined {
  return byName.get(name) ?? byName.get(name.toLowerCase());
}

export function lookupRealCommand(name: string): Command | undefined {
  return byRealName.get(name) ?? byRealName.get(name.toLowerCase());
}

/**
 * Redis's rename-command: `from` stops working, and `to` (unless empty)
 * runs it instead. Throws with the reason when a name is wrong.
 */
export function renameCommand(from: string, to: string): void {
  const command = byName.get(from);
  if (command === undefined) throw new Error(`invalid value '${from}' for 'rename-command': no such command`);
  if (to !== "" && byName.has(to)) throw new Error(`invalid value '${to}' for 'rename-command': already a command name`);
  byName.delete(from);
  byName.delete(from.toUpperCase());
  if (to === "") return;
  byName.set(to, command);
  byName.set(to.toUpperCase(), command);
  command.renamed = true;
}

/** Per-command counters of every command called at least once (INFO commandstats). */
export function commandStats(): [string, CommandStats][] {
  return ALL_COMMANDS.map((spec) => [spec.name, byRealName.get(spec.name)!.stats] as [string, CommandStats]).filter(([, s]) => s.calls + s.rejectedCalls > 0);
}

export function resetCommandStats(): void {
  for (const spec of ALL_COMMANDS) byRealName.get(spec.name)!.stats.reset();
}

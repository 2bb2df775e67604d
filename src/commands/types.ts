import type { Config } from "../config/config.ts";
import type { Frame } from "../protocol/request-parser.ts";
import type { ReplyWriter, Protocol } from "../protocol/reply.ts";
import type { CommandStats } from "../stats/command-stats.ts";
import type { LatencyMonitor } from "../stats/latency-monitor.ts";
import type { SlowLog } from "../stats/slowlog.ts";
import type { Keyspace } from "../store/keyspace.ts";
import type { Transaction, WatchedKeys } from "./transactions.ts";

/**
 * What a command sees: its arguments, a reply writer, the keyspace, the
 * calling client's state and the server's shared state. Commands never
 * touch sockets, bytes or files.
 */
export interface CommandContext {
  readonly reply: ReplyWriter;
  readonly db: Keyspace;
  readonly client: ClientState;
  readonly server: ServerState;
  /**
   * What the AOF logs for this command when it differs from the request
   * (see effects.ts); null logs the request itself. Reset before each command.
   */
  effect: string[] | null;
}

export type CommandHandler = (ctx: CommandContext, argv: string[]) => void;

/** Runs a command on a request still in the receive buffer (see Frame); `argc` fits the arity. */
export type FrameHandler = (ctx: CommandContext, frame: Frame) => void;

/** Redis's command flags that change how the dispatcher treats a command. */
export type CommandFlag = "write" | "readonly" | "denyoom" | "fast" | "admin" | "noscript" | "loading" | "stale" | "no_auth" | "allow_busy";

export type CommandGroup = "string" | "generic" | "connection" | "server" | "transactions";

/**
 * One row of the command table, Redis's `commands/*.json` in miniature:
 * it drives dispatch and arity checks, and COMMAND INFO/DOCS/COUNT/LIST.
 */
export interface CommandSpec {
  /** Lower-case name, e.g. `getex`. */
  readonly name: string;
  /** Exact argument count including the name when positive, a minimum when negative. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** Key positions (COMMAND INFO): first, last (-1 = last argument), step; 0,0,0 for none. */
  readonly keys: readonly [number, number, number];
  readonly group: CommandGroup;
  readonly summary: string;
  readonly since: string;
  readonly complexity?: string;
  /** Subcommand names (e.g. CLIENT's `id`, `list`), for COMMAND INFO and error texts. */
  readonly subcommands?: readonly string[];
  readonly handler: CommandHandler;
  /**
   * The same command for a request that arrived whole (the hot ones: GET,
   * SET, MGET, MSET, DEL), reading its arguments from the receive buffer
   * instead of strings.
   */
  readonly frameHandler?: FrameHandler;
}

/** A connected client as commands see it (server/client.ts implements it). */
export interface ClientState {
  readonly id: number;
  readonly address: string;
  readonly localAddress: string;
  readonly createdAt: number;
  lastInteraction: number;
  name: string;
  libName: string;
  libVersion: string;
  /** RESP version negotiated by HELLO (2 or 3); text requests get text replies regardless. */
  resp: Protocol;
  lastCommand: string;
  /** Whether AUTH (or HELLO … AUTH) succeeded, or no password is required. */
  authenticated: boolean;
  /** Reply, then close the connection (QUIT, CLIENT KILL of oneself). */
  closeAfterReply: boolean;
  /** In MONITOR mode (it stays until the connection closes). */
  readonly monitor: boolean;
  /** Bytes buffered on the input and output sides, for CLIENT LIST. */
  readonly queryBufferBytes: number;
  readonly outputBufferBytes: number;
  /** Between MULTI and EXEC/DISCARD: the queued commands. */
  transaction: Transaction | null;
  /** The keys this client WATCHes, and whether one of them changed since. */
  watching: Set<string> | null;
  watchedKeyChanged: boolean;
}

export interface ServerStats {
  totalConnectionsReceived: number;
  totalCommandsProcessed: number;
  rejectedConnections: number;
  /** Failed AUTH / HELLO AUTH attempts. */
  authFailures: number;
  netInputBytes: number;
  netOutputBytes: number;
  /** Commands per second over the last second, sampled by the server cron. */
  instantaneousOpsPerSec: number;
  /** Network traffic over the last second, KiB/s, sampled with the ops. */
  instantaneousInputKbps: number;
  instantaneousOutputKbps: number;
  peakMemory: number;
  /** Socket reads handled and reply writes made (Redis's total_reads/writes_processed). */
  totalReadsProcessed: number;
  totalWritesProcessed: number;
  /** Clients closed for passing client-query-buffer-limit / client-output-buffer-limit. */
  queryBufferLimitDisconnections: number;
  outputBufferLimitDisconnections: number;
  /** Internal errors: a command handler that threw (Redis's unexpected_error_replies). */
  unexpectedErrorReplies: number;
  /** Time the cron spent in active expiry, ms (Redis's expire_cycle_cpu_milliseconds). */
  expireCycleCpuMs: number;
}

export interface ServerState {
  readonly config: Config;
  readonly stats: ServerStats;
  readonly startedAt: number;
  readonly runId: string;
  readonly version: string;
  /** The listening port actually bound. */
  readonly port: number;
  clients(): Iterable<ClientState>;
  /** Closes a client's connection after what it has been sent; false if no such client. */
  killClient(id: number): boolean;
  /** Stops the server: SHUTDOWN, SIGTERM, SIGINT. */
  shutdown(reason: string): void;
  resetStats(): void;
  /** Logs a warning for the operator. */
  warn(message: string): void;
  /** Checks a password against requirepass in constant time; counts and logs a failure. */
  checkPassword(client: ClientState, password: string): boolean;
  /** True while the AOF is being loaded: only commands flagged `loading` run. */
  readonly loading: boolean;
  /** Why writes are refused (the AOF cannot be written), or null. */
  readonly writeError: string | null;
  /** Appends a change to the AOF (a no-op when appendonly is off). */
  propagate(argv: readonly string[]): void;
  /** propagate() for a change that is a request as it arrived: its RESP bytes, source[start, end), are the record. */
  propagateBytes(source: Buffer, start: number, end: number): void;
  /** Runs EXEC's commands: what they log is one MULTI … EXEC block in the AOF, replayed whole or not at all. */
  runTransaction(run: () => void): void;
  /** Who WATCHes which key. */
  readonly watchedKeys: WatchedKeys;
  /** The persistence layer as INFO and BGREWRITEAOF see it. */
  readonly persistence: PersistenceState;
  /**
   * Bun.nanoseconds() where the next command's time starts: set when a
   * client's data arrives, advanced by dispatch after each command, so one
   * clock read per command times it (parsing the command included).
   */
  commandClock: number;
  /** SLOWLOG's entries; dispatch adds the commands at or over slowlog-log-slower-than. */
  readonly slowlog: SlowLog;
  /** slowlog-log-slower-than in microseconds, or -1 (off). */
  readonly slowlogThresholdUs: number;
  /**
   * The least time (µs) at which a command goes to SLOWLOG or to LATENCY's
   * `command`/`fast-command` events: dispatch's one compare for both.
   * Infinity when both are off.
   */
  readonly slowCommandUs: number;
  /** LATENCY's events. */
  readonly latency: LatencyMonitor;
  /** Clients in MONITOR mode: dispatch feeds them each command it runs while there are any. */
  readonly monitorCount: number;
  feedMonitors(client: ClientState, argv: readonly string[]): void;
  /** Puts the client in MONITOR mode. */
  startMonitor(client: ClientState): void;
  /** Per-command counters of the commands called at least once (INFO commandstats, latencystats). */
  commandStats(): [string, CommandStats][];
}

export interface PersistenceState {
  readonly enabled: boolean;
  readonly rewriteInProgress: boolean;
  /** A rewrite was asked for while another one ran; it starts when that one ends. */
  readonly rewriteScheduled: boolean;
  readonly lastRewriteOk: boolean;
  /** Duration of the last rewrite, -1 before the first. */
  readonly lastRewriteMs: number;
  /** How long the rewrite in progress has run. */
  readonly currentRewriteMs: number;
  /** Rewrites started since startup, and failures in a row. */
  readonly rewrites: number;
  readonly rewriteFailures: number;
  readonly currentSize: number;
  readonly baseSize: number;
  readonly pendingBytes: number;
  readonly lastWriteOk: boolean;
  readonly fsyncPolicy: string;
  /** Starts a rewrite; returns an error text when one cannot start now. */
  startRewrite(reason: string): string | null;
}

export const Errors = {
  syntax: "ERR syntax error",
  notInteger: "ERR value is not an integer or out of range",
  notFloat: "ERR value is not a valid float",
  wrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
  noSuchKey: "ERR no such key",
  oom: "OOM command not allowed when used memory > 'maxmemory'.",
  loading: "LOADING Redis is loading the dataset in memory",
  noauth: "NOAUTH Authentication required.",
  replicaKeyspace: "ERR Replica can't interact with the keyspace",
  wrongpass: "WRONGPASS invalid username-password pair or user is disabled.",
  misconf: (reason: string) => `MISCONF Errors writing to the AOF file: ${reason}`,
  overflow: "ERR increment or decrement would overflow",
  tooBig: "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
  dbIndex: "ERR DB index is out of range",
  invalidExpire: (command: string) => `ERR invalid expire time in '${command}' command`,
  arity: (command: string) => `ERR wrong number of arguments for '${command}' command`,
  unknownSubcommand: (sub: string, command: string) =>
    `ERR unknown subcommand '${sub.slice(0, 128)}'. Try ${command.toUpperCase()} HELP.`,
} as const;

import { isIP } from "node:net";
import { parseMemory } from "./units.ts";

/**
 * Every configuration option, once. Names, defaults and accepted values are
 * Redis's, so `redis.conf` knowledge, `CONFIG GET` scripts and dashboards
 * carry over. Command-line flags, ATOMICKV_* variables, the config file,
 * CONFIG GET/SET and `--help` are all driven by this table.
 */

export type ParseResult<T> = { ok: true; value: T } | { ok: false; expected: string };

export interface OptionSpec<T> {
  /** What values look like, for `--help` and error messages. */
  readonly accepts: string;
  readonly defaultText: string;
  /** Whether CONFIG SET may change it while the server runs. */
  readonly mutable: boolean;
  readonly help: string;
  parse(text: string): ParseResult<T>;
  format(value: T): string;
  /** For options given several times (rename-command): how a new value joins the one set before. */
  merge?(earlier: T, later: T): T;
}

/** What every kind of option is given: its default as written, whether CONFIG SET may change it, and its help line. */
interface OptionBasics {
  default: string;
  mutable: boolean;
  help: string;
}

/**
 * An option whose values `accepts` describes: `parse` returns null for
 * text that is not one, and the error then names what was expected.
 */
function option<T>(accepts: string, basics: OptionBasics, parse: (text: string) => T | null, format: (value: T) => string): OptionSpec<T> {
  return {
    accepts,
    defaultText: basics.default,
    mutable: basics.mutable,
    help: basics.help,
    parse(text) {
      const value = parse(text);
      return value === null ? { ok: false, expected: accepts } : { ok: true, value };
    },
    format,
  };
}

function integer(opts: { default: number; min: number; max: number; mutable: boolean; help: string }): OptionSpec<number> {
  const accepts = opts.max === Number.MAX_SAFE_INTEGER ? `an integer >= ${opts.min}` : `an integer from ${opts.min} to ${opts.max}`;
  const parse = (text: string) => {
    const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(value) && value >= opts.min && value <= opts.max ? value : null;
  };
  return option(accepts, { ...opts, default: String(opts.default) }, parse, String);
}

function memory(opts: OptionBasics): OptionSpec<number> {
  return option("a memory size such as 0, 1048576, 100mb or 2gb", opts, parseMemory, String);
}

function oneOf<V extends string>(values: readonly V[], opts: OptionBasics & { default: V }): OptionSpec<V> {
  const parse = (text: string) => {
    const value = text.toLowerCase() as V;
    return values.includes(value) ? value : null;
  };
  return option(`one of ${values.join(", ")}`, opts, parse, (value) => value);
}

function text(opts: OptionBasics & { accepts?: string; validate?: (v: string) => boolean }): OptionSpec<string> {
  const parse = (value: string) => (opts.validate === undefined || opts.validate(value) ? value : null);
  return option(opts.accepts ?? "a string", opts, parse, (value) => value);
}

function addressList(opts: OptionBasics): OptionSpec<string[]> {
  const parse = (value: string) => {
    const addresses = value.split(/\s+/).filter(Boolean);
    return addresses.length > 0 && addresses.every((a) => isIP(a) !== 0 || a === "localhost") ? addresses : null;
  };
  return option("one or more IPv4/IPv6 addresses separated by spaces", opts, parse, (value) => value.join(" "));
}

/** `NAME NEWNAME` (an empty NEWNAME disables NAME); several pairs separated by `;`. */
function commandRenames(opts: { help: string }): OptionSpec<[string, string][]> {
  const parse = (text: string) => {
    const pairs: [string, string][] = [];
    for (const part of text.split(";")) {
      const words = part.trim().split(/\s+/).filter(Boolean);
      if (words.length === 0) continue;
      if (words.length > 2) return null;
      pairs.push([words[0]!.toLowerCase(), (words[1] ?? "").toLowerCase()]);
    }
    return pairs;
  };
  const format = (pairs: [string, string][]) => pairs.map(([from, to]) => `${from} ${to === "" ? '""' : to}`).join("; ");
  const accepts = "NAME NEWNAME pairs separated by ';' (an empty NEWNAME disables NAME)";
  return { ...option(accepts, { default: "", mutable: false, help: opts.help }, parse, format), merge: (earlier, later) => [...earlier, ...later] };
}

export interface OutputBufferLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}
export type OutputBufferLimits = Record<"normal" | "replica" | "pubsub", OutputBufferLimit>;

/**
 * Redis's `client-output-buffer-limit <class> <hard> <soft> <soft-seconds> …`.
 * Only the `normal` class applies here (no replicas, no pub/sub yet); the
 * others are kept so CONFIG GET shows what was set.
 */
function outputBufferLimits(opts: { default: string; help: string }): OptionSpec<OutputBufferLimits> {
  const parse = (text: string): OutputBufferLimits | null => {
    const words = text.split(/\s+/).filter(Boolean);
    if (words.length === 0 || words.length % 4 !== 0) return null;
    const limits: OutputBufferLimits = {
      normal: { hard: 0, soft: 0, softSeconds: 0 },
      replica: { hard: 268435456, soft: 67108864, softSeconds: 60 },
      pubsub: { hard: 33554432, soft: 8388608, softSeconds: 60 },
    };
    for (let i = 0; i < words.length; i += 4) {
      const name = words[i]!.toLowerCase() === "slave" ? "replica" : (words[i]!.toLowerCase() as keyof OutputBufferLimits);
      const hard = parseMemory(words[i + 1]!);
      const soft = parseMemory(words[i + 2]!);
      const seconds = /^\d+$/.test(words[i + 3]!) ? Number(words[i + 3]) : NaN;
      if (!(name in limits) || hard === null || soft === null || !Number.isSafeInteger(seconds)) return null;
      limits[name] = { hard, soft, softSeconds: seconds };
    }
    return limits;
  };
  const format = (limits: OutputBufferLimits) =>
    (["normal", "replica", "pubsub"] as const)
      .map((name) => `${name === "replica" ? "slave" : name} ${limits[name].hard} ${limits[name].soft} ${limits[name].softSeconds}`)
      .join(" ");
  const accepts = "groups of <normal|replica|pubsub> <hard> <soft> <soft-seconds>, e.g. normal 64mb 16mb 60";
  return option(accepts, { ...opts, mutable: true }, parse, format);
}

export const EVICTION_POLICIES = [
  "noeviction",
  "allkeys-lru",
  "volatile-lru",
  "allkeys-random",
  "volatile-random",
  "volatile-ttl",
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

export const LOG_LEVELS = ["debug", "verbose", "notice", "warning"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ["redis", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const FSYNC_POLICIES = ["always", "everysec", "no"] as const;
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

const YES_NO = ["yes", "no"] as const;
type YesNo = (typeof YES_NO)[number];
export type TlsAuthClients = "no" | "yes" | "optional";

const INT_MAX = 2 ** 31 - 1;

export const OPTIONS = {
  port: integer({ default: 8080, min: 1, max: 65535, mutable: false, help: "TCP port to listen on (the seed's 8080)" }),
  bind: addressList({ default: "0.0.0.0", mutable: false, help: "addresses to listen on, e.g. \"127.0.0.1 ::1\"" }),
  dir: text({ default: ".", mutable: false, help: "working directory for data files; created if missing" }),
  maxmemory: memory({ default: "0", mutable: true, help: "memory limit for the keyspace in bytes (0 = none)" }),
  "maxmemory-policy": oneOf<EvictionPolicy>(EVICTION_POLICIES, {
    default: "allkeys-lru",
    mutable: true,
    help: "what to do at maxmemory; LRU policies evict in exact recency order",
  }),
  "tls-port": integer({ default: 0, min: 0, max: 65535, mutable: false, help: "TCP port for TLS connections (0 = no TLS)" }),
  "tls-cert-file": text({ default: "", mutable: false, help: "PEM certificate (chain) the TLS port presents" }),
  "tls-key-file": text({ default: "", mutable: false, help: "PEM private key of that certificate" }),
  "tls-ca-cert-file": text({ default: "", mutable: false, help: "PEM CA certificates that client certificates are checked against" }),
  "tls-auth-clients": oneOf<TlsAuthClients>(["no", "yes", "optional"], {
    default: "no",
    mutable: false,
    help: "require (yes) or accept (optional) client certificates signed by tls-ca-cert-file",
  }),
  requirepass: text({ default: "", mutable: true, help: "password clients must give with AUTH or HELLO … AUTH (empty = none)" }),
  "protected-mode": oneOf<YesNo>(YES_NO, {
    default: "yes",
    mutable: true,
    help: "without a password, accept connections from loopback addresses only",
  }),
  "proto-max-bulk-len": memory({ default: "536870912", mutable: true, help: "largest bulk string a request may carry (512mb)" }),
  "client-query-buffer-limit": memory({
    default: "1073741824",
    mutable: true,
    help: "a client whose unparsed input exceeds this is disconnected (1gb)",
  }),
  "rename-command": commandRenames({ help: "rename a command, or disable it with an empty new name (e.g. FLUSHALL \"\")" }),
  "client-output-buffer-limit": outputBufferLimits({
    default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    help: "disconnect a client whose unsent replies pass <hard>, or stay past <soft> for <soft-seconds> (0 = no limit; reading from it pauses at 1 MiB anyway)",
  }),
  maxclients: integer({ default: 10000, min: 1, max: INT_MAX, mutable: true, help: "maximum number of connected clients" }),
  timeout: integer({ default: 0, min: 0, max: INT_MAX, mutable: true, help: "close a client after this many idle seconds (0 = never)" }),
  hz: integer({ default: 10, min: 1, max: 500, mutable: true, help: "background task frequency (active expiry cycles per second)" }),
  loglevel: oneOf<LogLevel>(LOG_LEVELS, { default: "notice", mutable: true, help: "log verbosity" }),
  logfile: text({ default: "", mutable: false, help: "append the log to this file instead of stderr (empty = stderr)" }),
  "log-format": oneOf<LogFormat>(LOG_FORMATS, {
    default: "redis",
    mutable: true,
    help: "log lines as redis-server writes them, or one JSON object per line (time, level, pid, msg)",
  }),
  "slowlog-log-slower-than": integer({
    default: 10000,
    min: -1,
    max: INT_MAX,
    mutable: true,
    help: "SLOWLOG keeps commands that took at least this many microseconds (0 = all, -1 = none)",
  }),
  "slowlog-max-len": integer({ default: 128, min: 0, max: INT_MAX, mutable: true, help: "how many SLOWLOG entries are kept" }),
  "latency-monitor-threshold": integer({
    default: 100,
    min: 0,
    max: INT_MAX,
    mutable: true,
    help: "LATENCY records server events (fsync, rewrite, expiry) of at least this many ms (0 = off; Redis's default is 0)",
  }),
  "metrics-port": integer({ default: 0, min: 0, max: 65535, mutable: false, help: "HTTP port for /metrics (Prometheus) and /healthz (0 = off)" }),
  "metrics-bind": addressList({ default: "127.0.0.1", mutable: false, help: "addresses the metrics port listens on" }),
  // Read-only facts that Redis tools ask for (redis-benchmark reads both at start).
  save: text({ default: "", mutable: false, help: "RDB snapshots: not supported, always empty", accepts: "an empty string", validate: (v) => v === "" }),
  appendonly: oneOf<YesNo>(YES_NO, { default: "yes", mutable: true, help: "log every write to the append-only file and load it at startup" }),
  appendfilename: text({
    default: "appendonly.aof",
    mutable: false,
    help: "name of the append-only file inside --dir",
    accepts: "a file name without '/'",
    validate: (v) => v !== "" && v !== "." && v !== ".." && !v.includes("/"),
  }),
  appendfsync: oneOf<FsyncPolicy>(FSYNC_POLICIES, {
    default: "everysec",
    mutable: true,
    help: "when the AOF is fsynced: before each reply (grouped), once a second, or when the OS decides",
  }),
  "auto-aof-rewrite-percentage": integer({
    default: 100,
    min: 0,
    max: INT_MAX,
    mutable: true,
    help: "rewrite the AOF when it grew this many percent past its size after the last rewrite (0 = never)",
  }),
  "auto-aof-rewrite-min-size": memory({ default: "67108864", mutable: true, help: "smallest AOF that is rewritten automatically (64mb)" }),
  "aof-load-truncated": oneOf<YesNo>(YES_NO, {
    default: "yes",
    mutable: true,
    help: "start after cutting off a torn last AOF record (yes) or refuse to start (no)",
  }),
  // Redis's testing knob (it also slows its AOF rewrite): microseconds to wait per key written.
  "rdb-key-save-delay": integer({ default: 0, min: 0, max: INT_MAX, mutable: true, help: "testing: microseconds of delay per key during an AOF rewrite" }),
} satisfies Record<string, OptionSpec<any>>;

export type OptionName = keyof typeof OPTIONS;
type ParsedValue<S> = S extends { parse(text: string): infer R } ? Extract<R, { ok: true }> extends { value: infer T } ? T : never : never;
export type ConfigValues = { -readonly [K in OptionName]: ParsedValue<(typeof OPTIONS)[K]> };
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

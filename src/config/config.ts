import { resolve } from "node:path";
import { globMatch } from "../util/glob.ts";
import { splitInlineArgs } from "../protocol/inline.ts";
import { OPTIONS, OPTION_NAMES, isOptionName, type ConfigValues, type OptionName, type OptionSpec } from "./options.ts";

/** Where a value came from; the precedence is flag > env > file > default. */
export type ConfigSource = "default" | "file" | "env" | "flag" | "runtime";

export class ConfigError extends Error {}

type Listener = (name: OptionName) => void;

/**
 * The live configuration: typed values plus the text they were given as.
 * Runtime changes go through `set`, which validates against the option table
 * and tells listeners (the keyspace, the server) so they apply it at once.
 */
export class Config {
  readonly values: ConfigValues;
  private readonly sources = new Map<OptionName, ConfigSource>();
  private readonly listeners: Listener[] = [];
  configFile: string | null = null;

  constructor() {
    const values: Record<string, unknown> = {};
    for (const name of OPTION_NAMES) {
      const spec = OPTIONS[name] as OptionSpec<unknown>;
      const parsed = spec.parse(spec.defaultText);
      if (!parsed.ok) throw new Error(`bad default for ${name}`);
      values[name] = parsed.value;
      this.sources.set(name, "default");
    }
    this.values = values as ConfigValues;
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  sourceOf(name: OptionName): ConfigSource {
    return this.sources.get(name) ?? "default";
  }

  /** Validates and stores one value; throws ConfigError naming what the option accepts. */
  set(name: OptionName, text: string, source: ConfigSource): void {
    const spec = OPTIONS[name] as OptionSpec<unknown>;
    const parsed = spec.parse(text);
    if (!parsed.ok) throw new ConfigError(`invalid value '${text}' for '${name}': expected ${parsed.expected}`);
    const earlier = (this.values as Record<string, unknown>)[name];
    const merged = spec.merge && this.sourceOf(name) !== "default" ? spec.merge(earlier, parsed.value) : parsed.value;
    (this.values as Record<string, unknown>)[name] = merged;
    this.sources.set(name, source);
    if (source === "runtime") for (const listener of this.listeners) listener(name);
  }

  format(name: OptionName): string {
    const spec = OPTIONS[name] as OptionSpec<unknown>;
    return spec.format(this.values[name]);
  }

  /** CONFIG GET: every option whose name matches one of the glob patterns. */
  matching(patterns: string[]): [OptionName, string][] {
    const result: [OptionName, string][] = [];
    for (const name of OPTION_NAMES) {
      if (patterns.some((p) => globMatch(p, name, true))) result.push([name, this.format(name)]);
    }
    return result;
  }
}

function envName(name: OptionName): string {
  return `ATOMICKV_${name.toUpperCase().replace(/-/g, "_")}`;
}

export interface CommandLine {
  configFile: string | null;
  flags: [string, string][];
  help: boolean;
  version: boolean;
  /** `--ping`: act as a healthcheck client of the configured server instead of serving. */
  ping: boolean;
}

/**
 * Redis's command line: an optional config file path first, then
 * `--name value…` pairs, where a value runs until the next `--` word
 * (so `--bind 127.0.0.1 ::1` and `--save ""` work as in redis-server).
 */
export function parseCommandLine(argv: string[]): CommandLine {
  const result: CommandLine = { configFile: null, flags: [], help: false, version: false, ping: false };
  let i = 0;
  if (argv[0] !== undefined && !argv[0].startsWith("-")) {
    result.configFile = argv[0];
    i = 1;
  }
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      result.help = true;
      i++;
      continue;
    }
    if (arg === "--version" || arg === "-v") {
      result.version = true;
      i++;
      continue;
    }
    if (arg === "--ping") {
      result.ping = true;
      i++;
      continue;
    }
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument '${arg}': options are written --name value`);
    const values: string[] = [];
    i++;
    while (i < argv.length && !argv[i]!.startsWith("--")) values.push(argv[i++]!);
    result.flags.push([arg.slice(2).toLowerCase(), values.join(" ")]);
  }
  return result;
}

/** Reads Redis's config file format: `name value…` lines, `#` comments. Entries carry their line number. */
export function parseConfigFile(path: string, contents: string): [name: string, value: string, line: number][] {
  const entries: [string, string, number][] = [];
  const lines = contents.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const args = splitInlineArgs(line);
    if (args === null || args.length === 0) throw new ConfigError(`${path}:${n + 1}: unbalanced quotes in '${line}'`);
    entries.push([args[0]!.toLowerCase(), args.slice(1).join(" "), n + 1]);
  }
  return entries;
}

/** Builds the startup configuration from defaults, file, environment and flags, in that order. */
export async function loadConfig(commandLine: CommandLine, env: Record<string, string | undefined>): Promise<Config> {
  const config = new Config();
  const apply = (name: string, value: string, source: ConfigSource, origin: string) => {
    if (!isOptionName(name)) throw new ConfigError(`unknown option '${name}' (from ${origin}); see --help`);
    try {
      config.set(name, value, source);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${err.message} (from ${origin})`);
      throw err;
    }
  };

  if (commandLine.configFile !== null) {
    const file = Bun.file(commandLine.configFile);
    if (!(await file.exists())) throw new ConfigError(`config file '${commandLine.configFile}' not found`);
    // Absolute, as INFO's config_file: the server changes directory to `dir` later.
    config.configFile = resolve(commandLine.configFile);
    for (const [name, value, line] of parseConfigFile(commandLine.configFile, await file.text())) {
      apply(name, value, "file", `${commandLine.configFile}:${line}`);
    }
  }
  for (const name of OPTION_NAMES) {
    const value = env[envName(name)];
    if (value !== undefined) apply(name, value, "env", envName(name));
  }
  for (const [name, value] of commandLine.flags) apply(name, value, "flag", `--${name}`);
  return config;
}

export function helpText(version: string): string {
  const rows = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name] as OptionSpec<unknown>;
    const def = spec.defaultText === "" ? '""' : spec.defaultText;
    return `  --${name.padEnd(18)} ${spec.help}\n  ${"".padEnd(20)} accepts ${spec.accepts}; default ${def}; ${envName(name)}${spec.mutable ? "; CONFIG SET" : ""}`;
  });
  return [
    `AtomicKV ${version}: a Redis-compatible key-value server`,
    "",
    "Usage: atomic_server [config-file] [--option value ...]",
    "       atomic_server [config-file] [--option value ...] --ping",
    "           healthcheck: PING the server those options describe; exit 0 on PONG",
    "       atomic_server --check-aof [--fix] FILE",
    "       atomic_server --help | --version",
    "",
    "Every option can also be given as an ATOMICKV_* environment variable or as",
    "a `name value` line in the config file; precedence is flag > env > file > default.",
    "",
    "Options:",
    ...rows,
    "",
  ].join("\n");
}

import { mkdirSync, statSync } from "node:fs";
import { ConfigError, helpText, loadConfig, parseCommandLine, type CommandLine, type Config } from "./config/config.ts";
import { cgroupMemoryLimit, configRisks } from "./config/risks.ts";
import { restartWithRuntimeEnv } from "./config/runtime.ts";
import { formatHumanBytes } from "./config/units.ts";
import { AofCorruptError } from "./persistence/aof-loader.ts";
import { ping } from "./cli/ping.ts";
import { checkAof } from "./persistence/check-aof.ts";
import { startMetricsServer } from "./server/metrics-http.ts";
import { Server } from "./server/server.ts";
import { Logger } from "./util/log.ts";
import { BUILD_COMMIT, VERSION, versionLine } from "./version.ts";

/** Entry point: configuration, the data directory, the listener, signals. */

function fail(message: string): never {
  process.stderr.write(`atomic_server: ${message}\n`);
  process.exit(1);
}

/** Creates `dir` when missing and makes it the working directory, like redis-server's chdir. */
function enterDataDir(config: Config): void {
  const dir = config.values.dir;
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) fail(`invalid value '${dir}' for 'dir': not a directory`);
    process.chdir(dir);
  } catch (err) {
    fail(`invalid value '${dir}' for 'dir': ${(err as Error).message}`);
  }
}

/** `--check-aof [--fix] FILE`: the redis-check-aof mode; exits with its code. */
async function checkAofMode(args: string[]): Promise<never> {
  const fix = args.includes("--fix");
  const files = args.filter((a) => a !== "--fix" && a !== "--check-aof");
  if (files.length !== 1) fail("usage: atomic_server --check-aof [--fix] FILE");
  process.exit(await checkAof(files[0]!, fix, (line) => process.stdout.write(line + "\n")));
}

async function main(): Promise<void> {
  if (process.argv[2] === "--check-aof") await checkAofMode(process.argv.slice(2));
  let config: Config;
  let commandLine: CommandLine;
  let runtimeEnvFailure: string | null = null;
  try {
    commandLine = parseCommandLine(process.argv.slice(2));
    if (commandLine.help) {
      process.stdout.write(helpText(VERSION));
      return;
    }
    if (commandLine.version) {
      process.stdout.write(versionLine() + "\n");
      return;
    }
    // Before anything is opened or the working directory changes: the
    // process that replaces this one must start from the same state.
    if (!commandLine.ping) runtimeEnvFailure = restartWithRuntimeEnv();
    config = await loadConfig(commandLine, process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (commandLine.ping) process.exit(await ping(config));
  enterDataDir(config);

  const log = new Logger();
  if (config.values.logfile !== "") {
    try {
      log.openFile(config.values.logfile);
    } catch (err) {
      fail(`invalid value '${config.values.logfile}' for 'logfile': ${(err as Error).message}`);
    }
  }
  const server = new Server(config, VERSION, log);
  try {
    server.start();
  } catch (err) {
    fail((err as Error).message);
  }
  if (config.values["metrics-port"] > 0) {
    try {
      startMetricsServer(server, config.values["metrics-bind"], config.values["metrics-port"], log);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const { maxmemory, bind, appendonly, appendfsync, appendfilename } = config.values;
  log.notice(
    `AtomicKV ${VERSION} (commit ${BUILD_COMMIT}, bun ${Bun.version}) pid=${process.pid} port=${server.port}` +
      `${server.tlsPort > 0 ? ` tls-port=${server.tlsPort}` : ""} bind=${bind.join(",")} ` +
      `dir=${process.cwd()} maxmemory=${maxmemory === 0 ? "none" : formatHumanBytes(maxmemory)} ` +
      `policy=${config.values["maxmemory-policy"]} ` +
      `appendonly=${appendonly === "yes" ? `${appendfilename} appendfsync=${appendfsync}` : "no"}`,
  );
  for (const risk of configRisks(config, cgroupMemoryLimit())) log[risk.level](risk.message);
  if (runtimeEnvFailure !== null) log.warning(`could not restart with the runtime's settings (${runtimeEnvFailure}); running with its defaults`);
  process.on("SIGINT", () => server.shutdown("Received SIGINT"));
  process.on("SIGTERM", () => server.shutdown("Received SIGTERM"));

  try {
    await server.loadData();
  } catch (err) {
    if (err instanceof AofCorruptError) {
      fail(`${err.message}; the last whole record ends at offset ${err.recordOffset}. Inspect it, then: atomic_server --check-aof --fix ${err.path}`);
    }
    fail((err as Error).message);
  }
  log.notice("Ready to accept connections tcp");
}

await main();

import { readFileSync } from "node:fs";
import { release, totalmem } from "node:os";
import { formatHumanBytes } from "../config/units.ts";
import { BUILD_COMMIT, BUILD_TARGET } from "../version.ts";
import type { CommandContext, CommandSpec } from "./types.ts";

/**
 * INFO, with Redis's section names, field names and `name:value` format,
 * so redis-cli, client ready-checks (ioredis waits for `loading:0`) and
 * exporters read it unchanged.
 */

type Section = (ctx: CommandContext) => [string, string | number][];

const COMPAT_REDIS_VERSION = "7.2.4";

/** The main thread's CPU seconds, from /proc (Linux): Redis's used_cpu_*_main_thread. */
function mainThreadCpu(): { user: number; sys: number } | null {
  try {
    // Fields 14 and 15 of /proc/thread-self/stat, after the ")" that ends the command name.
    const stat = readFileSync("/proc/thread-self/stat", "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(fields[11]) / CLOCK_TICKS, sys: Number(fields[12]) / CLOCK_TICKS };
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100;

const sections: Record<string, Section> = {
  server(ctx) {
    const { server } = ctx;
    const uptime = Math.floor((Date.now() - server.startedAt) / 1000);
    const dirty = BUILD_COMMIT.endsWith("-dirty");
    return [
      ["redis_version", COMPAT_REDIS_VERSION],
      ["redis_git_sha1", BUILD_COMMIT === "source" ? "00000000" : BUILD_COMMIT.replace(/-dirty$/, "")],
      ["redis_git_dirty", dirty ? 1 : 0],
      ["redis_build_id", BUILD_TARGET],
      ["redis_mode", "standalone"],
      ["os", `${process.platform} ${release()} ${process.arch}`],
      ["arch_bits", 64],
      ["monotonic_clock", "POSIX clock_gettime"],
      ["multiplexing_api", "epoll"],
      ["atomicvar_api", "js-single-thread"],
      ["process_id", process.pid],
      ["process_supervised", process.env.INVOCATION_ID !== undefined ? "systemd" : "no"],
      ["run_id", server.runId],
      ["tcp_port", server.port],
      ["server_time_usec", Date.now() * 1000],
      ["uptime_in_seconds", uptime],
      ["uptime_in_days", Math.floor(uptime / 86400)],
      ["hz", server.config.values.hz],
      ["configured_hz", server.config.values.hz],
      ["lru_clock", Math.floor(Date.now() / 1000) & 0xffffff],
      ["executable", process.execPath],
      ["config_file", server.config.configFile ?? ""],
      ["io_threads_active", 0],
      ["atomickv_version", server.version],
      ["atomickv_runtime", `bun ${Bun.version}`],
    ];
  },
  clients(ctx) {
    let connected = 0;
    let maxInput = 0;
    let maxOutput = 0;
    for (const client of ctx.server.clients()) {
      connected++;
      maxInput = Math.max(maxInput, client.queryBufferBytes);
      maxOutput = Math.max(maxOutput, client.outputBufferBytes);
    }
    return [
      ["connected_clients", connected],
      ["cluster_connections", 0],
      ["maxclients", ctx.server.config.values.maxclients],
      ["client_recent_max_input_buffer", maxInput],
      ["client_recent_max_output_buffer", maxOutput],
      ["blocked_clients", 0],
      ["tracking_clients", 0],
      ["clients_in_timeout_table", 0],
      ["total_blocking_keys", 0],
      ["total_blocking_keys_on_nokey", 0],
    ];
  },
  memory(ctx) {
    const { db, server } = ctx;
    const rss = process.memoryUsage.rss();
    const used = db.usedMemory;
    server.stats.peakMemory = Math.max(server.stats.peakMemory, used);
    const peak = server.stats.peakMemory;
    const maxmemory = server.config.values.maxmemory;
    const system = totalmem();
    const heap = process.memoryUsage();
    return [
      ["used_memory", used],
      ["used_memory_human", formatHumanBytes(used)],
      ["used_memory_rss", rss],
      ["used_memory_rss_human", formatHumanBytes(rss)],
      ["used_memory_peak", peak],
      ["used_memory_peak_human", formatHumanBytes(peak)],
      ["used_memory_peak_perc", `${peak === 0 ? "100.00" : ((used / peak) * 100).toFixed(2)}%`],
      ["used_memory_dataset", used],
      ["total_system_memory", system],
      ["total_system_memory_human", formatHumanBytes(system)],
      ["used_memory_lua", 0],
      ["used_memory_scripts", 0],
      ["maxmemory", maxmemory],
      ["maxmemory_human", formatHumanBytes(maxmemory)],
      ["maxmemory_policy", server.config.values["maxmemory-policy"]],
      ["mem_fragmentation_ratio", used === 0 ? 0 : (rss / used).toFixed(2)],
      ["mem_fragmentation_bytes", rss - used],
      ["mem_allocator", "bun"],
      // The JavaScript heap the keyspace lives in (JSC's own accounting).
      ["atomickv_js_heap_used", heap.heapUsed],
      ["atomickv_js_heap_total", heap.heapTotal],
    ];
  },
  persistence(ctx) {
    const p = ctx.server.persistence;
    const fields: [string, string | number][] = [
      ["loading", ctx.server.loading ? 1 : 0],
      ["async_loading", 0],
      ["current_cow_peak", 0],
      ["current_cow_size", 0],
      ["current_fork_perc", "0.00"],
      ["current_save_keys_processed", 0],
      ["current_save_keys_total", 0],
      ["rdb_changes_since_last_save", 0],
      ["rdb_bgsave_in_progress", 0],
      ["rdb_last_save_time", Math.floor(ctx.server.startedAt / 1000)],
      ["rdb_last_bgsave_status", "ok"],
      ["rdb_last_bgsave_time_sec", -1],
      ["rdb_current_bgsave_time_sec", -1],
      ["aof_enabled", p.enabled ? 1 : 0],
      ["aof_rewrite_in_progress", p.rewriteInProgress ? 1 : 0],
      ["aof_rewrite_scheduled", p.rewriteScheduled ? 1 : 0],
      ["aof_last_rewrite_time_sec", p.lastRewriteMs < 0 ? -1 : Math.round(p.lastRewriteMs / 1000)],
      ["aof_current_rewrite_time_sec", p.rewriteInProgress ? Math.round(p.currentRewriteMs / 1000) : -1],
      ["aof_last_bgrewrite_status", p.lastRewriteOk ? "ok" : "err"],
      ["aof_rewrites", p.rewrites],
      ["aof_rewrites_consecutive_failures", p.rewriteFailures],
      ["aof_last_write_status", p.lastWriteOk ? "ok" : "err"],
      ["aof_last_cow_size", 0],
    ];
    if (p.enabled) {
      fields.push(
        ["aof_current_size", p.currentSize],
        ["aof_base_size", p.baseSize],
        ["aof_pending_rewrite", p.rewriteScheduled ? 1 : 0],
        ["aof_buffer_length", p.pendingBytes],
        ["aof_pending_bio_fsync", 0],
        ["aof_delayed_fsync", 0],
        ["aof_fsync_policy", p.fsyncPolicy],
      );
    }
    return fields;
  },
  stats(ctx) {
    const { stats } = ctx.server;
    const keyspace = ctx.db.stats;
    return [
      ["total_connections_received", stats.totalConnectionsReceived],
      ["total_commands_processed", stats.totalCommandsProcessed],
      ["instantaneous_ops_per_sec", stats.instantaneousOpsPerSec],
      ["total_net_input_bytes", stats.netInputBytes],
      ["total_net_output_bytes", stats.netOutputBytes],
      ["total_net_repl_input_bytes", 0],
      ["total_net_repl_output_bytes", 0],
      ["instantaneous_input_kbps", stats.instantaneousInputKbps.toFixed(2)],
      ["instantaneous_output_kbps", stats.instantaneousOutputKbps.toFixed(2)],
      ["instantaneous_input_repl_kbps", "0.00"],
      ["instantaneous_output_repl_kbps", "0.00"],
      ["rejected_connections", stats.rejectedConnections],
      ["sync_full", 0],
      ["sync_partial_ok", 0],
      ["sync_partial_err", 0],
      ["expired_keys", keyspace.expiredKeys],
      ["expire_cycle_cpu_milliseconds", Math.round(stats.expireCycleCpuMs)],
      ["evicted_keys", keyspace.evictedKeys],
      ["evicted_clients", 0],
      ["keyspace_hits", keyspace.hits],
      ["keyspace_misses", keyspace.misses],
      ["pubsub_channels", 0],
      ["pubsub_patterns", 0],
      ["pubsubshard_channels", 0],
      ["latest_fork_usec", 0],
      ["total_forks", 0],
      ["migrate_cached_sockets", 0],
      ["tracking_total_keys", 0],
      ["tracking_total_items", 0],
      ["tracking_total_prefixes", 0],
      ["unexpected_error_replies", stats.unexpectedErrorReplies],
      ["total_error_replies", ctx.reply.errors],
      ["dump_payload_sanitizations", 0],
      ["total_reads_processed", stats.totalReadsProcessed],
      ["total_writes_processed", stats.totalWritesProcessed],
      ["io_threaded_reads_processed", 0],
      ["io_threaded_writes_processed", 0],
      ["client_query_buffer_limit_disconnections", stats.queryBufferLimitDisconnections],
      ["client_output_buffer_limit_disconnections", stats.outputBufferLimitDisconnections],
      ["acl_access_denied_auth", stats.authFailures],
      ["acl_access_denied_cmd", 0],
      ["acl_access_denied_key", 0],
      ["acl_access_denied_channel", 0],
    ];
  },
  replication(ctx) {
    return [
      ["role", "master"],
      ["connected_slaves", 0],
      ["master_failover_state", "no-failover"],
      ["master_replid", ctx.server.runId],
      ["master_replid2", "0".repeat(40)],
      ["master_repl_offset", 0],
      ["second_repl_offset", -1],
      ["repl_backlog_active", 0],
      ["repl_backlog_size", 1048576],
      ["repl_backlog_first_byte_offset", 0],
      ["repl_backlog_histlen", 0],
    ];
  },
  cpu() {
    const usage = process.cpuUsage();
    const main = mainThreadCpu();
    const fields: [string, string][] = [
      ["used_cpu_sys", (usage.system / 1e6).toFixed(6)],
      ["used_cpu_user", (usage.user / 1e6).toFixed(6)],
      ["used_cpu_sys_children", "0.000000"],
      ["used_cpu_user_children", "0.000000"],
    ];
    if (main !== null) fields.push(["used_cpu_sys_main_thread", main.sys.toFixed(6)], ["used_cpu_user_main_thread", main.user.toFixed(6)]);
    return fields;
  },
  modules() {
    return [];
  },
  commandstats(ctx) {
    return ctx.server.commandStats().map(([name, s]) => [
      `cmdstat_${name}`,
      `calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${s.calls === 0 ? "0.00" : (s.usec / s.calls).toFixed(2)},rejected_calls=${s.rejectedCalls},failed_calls=${s.failedCalls}`,
    ]);
  },
  errorstats(ctx) {
    return [...ctx.reply.errorCodes].map(([code, count]) => [`errorstat_${code}`, `count=${count}`]);
  },
  latencystats(ctx) {
    return ctx.server.commandStats()
      .filter(([, s]) => s.calls > 0)
      .map(([name, s]) => [
        `latency_percentiles_usec_${name}`,
        `p50=${s.percentileUs(50).toFixed(3)},p99=${s.percentileUs(99).toFixed(3)},p99.9=${s.percentileUs(99.9).toFixed(3)}`,
      ]);
  },
  cluster() {
    return [["cluster_enabled", 0]];
  },
  keyspace(ctx) {
    const { db } = ctx;
    if (db.size === 0) return [];
    return [["db0", `keys=${db.size},expires=${db.volatileSize},avg_ttl=${db.averageTtl()}`]];
  },
};

/** Every section in Redis's order; `default` leaves out the per-command ones, as Redis does. */
const ALL_SECTIONS = [
  "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
  "commandstats", "errorstats", "latencystats", "cluster", "keyspace",
];
const DEFAULT_SECTIONS = ALL_SECTIONS.filter((name) => name !== "commandstats" && name !== "latencystats");

/** Section headers as Redis prints them ("# CPU", not "# Cpu"). */
function titleCase(name: string): string {
  if (name === "cpu") return "CPU";
  return name[0]!.toUpperCase() + name.slice(1);
}

/**
 * Renders the requested sections in Redis's order, whatever order they were
 * asked in: none or `default` for the default set, `all`/`everything` for
 * every section; names combine (`INFO default commandstats`); unknown names
 * add nothing, as in Redis.
 */
export function renderInfo(ctx: CommandContext, requested: string[]): string {
  const wanted = new Set<string>();
  for (const name of requested.length === 0 ? ["default"] : requested.map((s) => s.toLowerCase())) {
    if (name === "all" || name === "everything") ALL_SECTIONS.forEach((n) => wanted.add(n));
    else if (name === "default") DEFAULT_SECTIONS.forEach((n) => wanted.add(n));
    else wanted.add(name);
  }
  const parts: string[] = [];
  for (const name of ALL_SECTIONS) {
    if (!wanted.has(name)) continue;
    const fields = sections[name]!(ctx);
    parts.push(`# ${titleCase(name)}\r\n` + fields.map(([k, v]) => `${k}:${v}\r\n`).join(""));
  }
  return parts.join("\r\n");
}

function info(ctx: CommandContext, argv: string[]): void {
  ctx.reply.verbatim(renderInfo(ctx, argv.slice(1)));
}

export const infoCommands: CommandSpec[] = [
  { name: "info", arity: -1, flags: ["loading", "stale"], keys: [0, 0, 0], group: "server", since: "1.0.0", summary: "Returns information and statistics about the server.", handler: info },
];

export { COMPAT_REDIS_VERSION };

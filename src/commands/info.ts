import { formatHumanBytes } from "../config/units.ts";
import type { CommandContext, CommandSpec } from "./types.ts";

/**
 * INFO, with Redis's section names, field names and `name:value` format,
 * so redis-cli, client ready-checks (ioredis waits for `loading:0`) and
 * exporters read it unchanged.
 */

type Section = (ctx: CommandContext) => [string, string | number][];

const COMPAT_REDIS_VERSION = "7.2.4";

const sections: Record<string, Section> = {
  server(ctx) {
    const { server } = ctx;
    const uptime = Math.floor((Date.now() - server.startedAt) / 1000);
    return [
      ["redis_version", COMPAT_REDIS_VERSION],
      ["atomickv_version", server.version],
      ["redis_mode", "standalone"],
      ["os", `${process.platform} ${process.arch}`],
      ["arch_bits", 64],
      ["multiplexing_api", "epoll"],
      ["runtime", `bun ${Bun.version}`],
      ["process_id", process.pid],
      ["run_id", server.runId],
      ["tcp_port", server.port],
      ["server_time_usec", Date.now() * 1000],
      ["uptime_in_seconds", uptime],
      ["uptime_in_days", Math.floor(uptime / 86400)],
      ["hz", server.config.values.hz],
      ["executable", process.execPath],
      ["config_file", server.config.configFile ?? ""],
    ];
  },
  clients(ctx) {
    let connected = 0;
    for (const _ of ctx.server.clients()) connected++;
    return [
      ["connected_clients", connected],
      ["maxclients", ctx.server.config.values.maxclients],
      ["blocked_clients", 0],
    ];
  },
  memory(ctx) {
    const { db, server } = ctx;
    const rss = process.memoryUsage.rss();
    const used = db.usedMemory;
    server.stats.peakMemory = Math.max(server.stats.peakMemory, used);
    const maxmemory = server.config.values.maxmemory;
    return [
      ["used_memory", used],
      ["used_memory_human", formatHumanBytes(used)],
      ["used_memory_rss", rss],
      ["used_memory_rss_human", formatHumanBytes(rss)],
      ["used_memory_peak", server.stats.peakMemory],
      ["used_memory_peak_human", formatHumanBytes(server.stats.peakMemory)],
      ["maxmemory", maxmemory],
      ["maxmemory_human", formatHumanBytes(maxmemory)],
      ["maxmemory_policy", server.config.values["maxmemory-policy"]],
      ["mem_fragmentation_ratio", used === 0 ? 0 : (rss / used).toFixed(2)],
    ];
  },
  persistence(ctx) {
    const p = ctx.server.persistence;
    const fields: [string, string | number][] = [
      ["loading", ctx.server.loading ? 1 : 0],
      ["async_loading", 0],
      ["rdb_changes_since_last_save", 0],
      ["rdb_bgsave_in_progress", 0],
      ["rdb_last_bgsave_status", "ok"],
      ["aof_enabled", p.enabled ? 1 : 0],
      ["aof_rewrite_in_progress", p.rewriteInProgress ? 1 : 0],
      ["aof_rewrite_scheduled", p.rewriteScheduled ? 1 : 0],
      ["aof_last_rewrite_time_sec", p.lastRewriteMs < 0 ? -1 : Math.round(p.lastRewriteMs / 1000)],
      ["aof_current_rewrite_time_sec", p.rewriteInProgress ? Math.round(p.currentRewriteMs / 1000) : -1],
      ["aof_last_bgrewrite_status", p.lastRewriteOk ? "ok" : "err"],
      ["aof_rewrites", p.rewrites],
      ["aof_rewrites_consecutive_failures", p.rewriteFailures],
      ["aof_last_write_status", p.lastWriteOk ? "ok" : "err"],
    ];
    if (p.enabled) {
      fields.push(
        ["aof_current_size", p.currentSize],
        ["aof_base_size", p.baseSize],
        ["aof_pending_rewrite", p.rewriteScheduled ? 1 : 0],
        ["aof_buffer_length", p.pendingBytes],
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
      ["rejected_connections", stats.rejectedConnections],
      ["acl_access_denied_auth", stats.authFailures],
      ["expired_keys", keyspace.expiredKeys],
      ["evicted_keys", keyspace.evictedKeys],
      ["keyspace_hits", keyspace.hits],
      ["keyspace_misses", keyspace.misses],
      ["total_error_replies", ctx.reply.errors],
    ];
  },
  replication() {
    return [
      ["role", "master"],
      ["connected_slaves", 0],
    ];
  },
  cpu() {
    const usage = process.cpuUsage();
    return [
      ["used_cpu_sys", (usage.system / 1e6).toFixed(6)],
      ["used_cpu_user", (usage.user / 1e6).toFixed(6)],
    ];
  },
  keyspace(ctx) {
    const { db } = ctx;
    if (db.size === 0) return [];
    return [["db0", `keys=${db.size},expires=${db.volatileSize},avg_ttl=${db.averageTtl()}`]];
  },
};

const DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"];

/** Section headers as Redis prints them ("# CPU", not "# Cpu"). */
function titleCase(name: string): string {
  if (name === "cpu") return "CPU";
  return name[0]!.toUpperCase() + name.slice(1);
}

/** Renders the requested sections; unknown names are skipped, as in Redis. */
export function renderInfo(ctx: CommandContext, requested: string[]): string {
  let names = requested.map((s) => s.toLowerCase());
  if (names.length === 0 || names.some((n) => n === "default" || n === "all" || n === "everything")) {
    names = DEFAULT_SECTIONS;
  }
  const parts: string[] = [];
  for (const name of DEFAULT_SECTIONS) {
    if (!names.includes(name)) continue;
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

import { bucketBoundUs, LATENCY_BUCKETS, type CommandStats } from "./command-stats.ts";

/**
 * The /metrics page: INFO's text turned into Prometheus's text exposition
 * format (version 0.0.4), plus the per-command latency histograms.
 *
 * Metric names, types and units are those of the Prometheus redis_exporter
 * (oliver006/redis_exporter: the metricMapGauges/metricMapCounters tables of
 * exporter/exporter.go, and exporter/info.go for commandstats, errorstats,
 * latencystats and keyspace), so Grafana dashboards built on it read this
 * endpoint unchanged. INFO is parsed generically: fields the exporter knows
 * get its names; any other numeric field is exported as `atomickv_<field>`,
 * so fields added to INFO later appear without touching this file.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";
type Labels = readonly (readonly [string, string])[];

interface Sample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
  readonly seen: Set<string>;
}

/** The sample names a family's series use: a histogram owns name_bucket, name_sum and name_count. */
function sampleNames(name: string, type: MetricType): string[] {
  if (type === "histogram") return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === "summary") return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

/**
 * Metric families collected for one page. Every family is written as one
 * group with one HELP and one TYPE line; a series given twice keeps its first
 * value, and a family whose names would clash with another's is dropped, so
 * whatever INFO holds, the page stays valid.
 */
export class Exposition {
  private readonly families = new Map<string, Family>();
  private readonly claimed = new Set<string>();

  /** The family `name`, created on first use; null when the name is taken by a family of another type. */
  family(name: string, type: MetricType, help: string): Family | null {
    const existing = this.families.get(name);
    if (existing !== undefined) return existing.type === type ? existing : null;
    const names = sampleNames(name, type);
    if (!METRIC_NAME.test(name) || names.some((n) => this.claimed.has(n) || this.families.has(n))) return null;
    for (const n of names) this.claimed.add(n);
    const family: Family = { name, type, help, samples: [], seen: new Set() };
    this.families.set(name, family);
    return family;
  }

  /** Adds one series to a counter, gauge or untyped family (skipped when its family was refused, or a counter is negative). */
  add(name: string, type: "counter" | "gauge" | "untyped", help: string, value: number, labels: Labels = []): void {
    if (type === "counter" && !(value >= 0)) return;
    const family = this.family(name, type, help);
    if (family !== null) this.push(family, name, labels, value);
  }

  /**
   * A histogram series: `buckets` are [upper bound, count in that bucket]
   * (not cumulative) in increasing order, the last bound +Inf.
   */
  histogram(name: string, help: string, labels: Labels, buckets: readonly (readonly [number, number])[], sum: number): void {
    const family = this.family(name, "histogram", help);
    if (family === null || family.seen.has(seriesKey(name, labels))) return;
    let cumulative = 0;
    for (const [bound, count] of buckets) {
      cumulative += count;
      this.push(family, `${name}_bucket`, [...labels, ["le", formatValue(bound)]], cumulative);
    }
    this.push(family, `${name}_sum`, labels, sum);
    this.push(family, `${name}_count`, labels, cumulative);
    family.seen.add(seriesKey(name, labels));
  }

  /** A summary series: `quantiles` are [quantile in 0..1, value]. */
  summary(name: string, help: string, labels: Labels, quantiles: readonly (readonly [number, number])[], sum: number, count: number): void {
    const family = this.family(name, "summary", help);
    if (family === null || family.seen.has(seriesKey(name, labels))) return;
    for (const [q, value] of quantiles) this.push(family, name, [...labels, ["quantile", formatValue(q)]], value);
    this.push(family, `${name}_sum`, labels, sum);
    this.push(family, `${name}_count`, labels, count);
    family.seen.add(seriesKey(name, labels));
  }

  private push(family: Family, name: string, labels: Labels, value: number): void {
    const key = seriesKey(name, labels);
    if (family.seen.has(key)) return;
    family.seen.add(key);
    family.samples.push({ name, labels, value });
  }

  /** The page: `# HELP`, `# TYPE`, then the family's samples, for each family with samples. */
  render(): string {
    const out: string[] = [];
    for (const family of this.families.values()) {
      if (family.samples.length === 0) continue;
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const s of family.samples) {
        const labels = s.labels.length === 0 ? "" : `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
        out.push(`${s.name}${labels} ${formatValue(s.value)}`);
      }
    }
    return out.length === 0 ? "" : out.join("\n") + "\n";
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function seriesKey(name: string, labels: Labels): string {
  return name + "\u0000" + labels.map(([k, v]) => `${k}\u0001${v}`).join("\u0000");
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

// ---- INFO ------------------------------------------------------------------

export interface InfoField {
  /** The section header's name as printed (`Server`, `Commandstats`, …). */
  readonly section: string;
  readonly key: string;
  readonly value: string;
}

/** INFO's text as fields: `# Section` headers, then `key:value` lines (CRLF or LF). */
export function parseInfo(text: string): InfoField[] {
  const fields: InfoField[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      section = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    fields.push({ section, key: line.slice(0, colon), value: line.slice(colon + 1) });
  }
  return fields;
}

/** A field's number: decimal or exponent notation, and redis_exporter's ok/true = 1, err/fail/false = 0. Null otherwise. */
export function infoNumber(value: string): number | null {
  switch (value) {
    case "ok":
    case "true":
      return 1;
    case "err":
    case "fail":
    case "false":
      return 0;
  }
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) ? Number(value) : null;
}

/** `a=1,b=2` (commandstats, errorstats, keyspace, latencystats values) as a map; null when a part has no `=`. */
function keyValues(value: string): Map<string, string> | null {
  const map = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null;
    map.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return map;
}

/**
 * redis_exporter's names for INFO fields (its metricMapGauges and
 * metricMapCounters), limited to the fields Redis itself prints; the
 * exporter's `redis_` namespace is added when exported.
 */
const GAUGES: Record<string, string> = {
  // Server
  uptime_in_seconds: "uptime_in_seconds",
  process_id: "process_id",
  io_threads_active: "io_threads_active",
  // Clients
  connected_clients: "connected_clients",
  active_clients: "active_clients",
  blocked_clients: "blocked_clients",
  maxclients: "max_clients",
  tracking_clients: "tracking_clients",
  clients_in_timeout_table: "clients_in_timeout_table",
  pubsub_clients: "pubsub_clients",
  watching_clients: "watching_clients",
  total_watched_keys: "total_watched_keys",
  total_blocking_keys: "total_blocking_keys",
  total_blocking_keys_on_nokey: "total_blocking_keys_on_nokey",
  client_longest_output_list: "client_longest_output_list",
  client_biggest_input_buf: "client_biggest_input_buf",
  client_recent_max_output_buffer: "client_recent_max_output_buffer_bytes",
  client_recent_max_input_buffer: "client_recent_max_input_buffer_bytes",
  // Memory
  allocator_active: "allocator_active_bytes",
  allocator_allocated: "allocator_allocated_bytes",
  allocator_resident: "allocator_resident_bytes",
  allocator_frag_ratio: "allocator_frag_ratio",
  allocator_frag_bytes: "allocator_frag_bytes",
  allocator_muzzy: "allocator_muzzy_bytes",
  allocator_rss_ratio: "allocator_rss_ratio",
  allocator_rss_bytes: "allocator_rss_bytes",
  used_memory: "memory_used_bytes",
  used_memory_rss: "memory_used_rss_bytes",
  used_memory_peak: "memory_used_peak_bytes",
  used_memory_lua: "memory_used_lua_bytes",
  used_memory_vm_eval: "memory_used_vm_eval_bytes",
  used_memory_scripts_eval: "memory_used_scripts_eval_bytes",
  used_memory_overhead: "memory_used_overhead_bytes",
  used_memory_startup: "memory_used_startup_bytes",
  used_memory_dataset: "memory_used_dataset_bytes",
  number_of_cached_scripts: "number_of_cached_scripts",
  number_of_functions: "number_of_functions",
  number_of_libraries: "number_of_libraries",
  used_memory_vm_functions: "memory_used_vm_functions_bytes",
  used_memory_scripts: "memory_used_scripts_bytes",
  used_memory_functions: "memory_used_functions_bytes",
  used_memory_vm_total: "memory_used_vm_total",
  maxmemory: "memory_max_bytes",
  // The exporter's name when run with --include-system-metrics.
  total_system_memory: "total_system_memory_bytes",
  mem_fragmentation_ratio: "mem_fragmentation_ratio",
  mem_fragmentation_bytes: "mem_fragmentation_bytes",
  mem_clients_slaves: "mem_clients_slaves",
  mem_clients_normal: "mem_clients_normal",
  mem_cluster_links: "mem_cluster_links_bytes",
  mem_aof_buffer: "mem_aof_buffer_bytes",
  mem_replication_backlog: "mem_replication_backlog_bytes",
  mem_replicas_repl_buffer: "mem_replicas_repl_buffer_bytes",
  expired_stale_perc: "expired_stale_percentage",
  mem_not_counted_for_evict: "mem_not_counted_for_eviction_bytes",
  mem_total_replication_buffers: "mem_total_replication_buffers_bytes",
  mem_overhead_db_hashtable_rehashing: "mem_overhead_db_hashtable_rehashing_bytes",
  lazyfree_pending_objects: "lazyfree_pending_objects",
  lazyfreed_objects: "lazyfreed_objects",
  active_defrag_running: "active_defrag_running",
  migrate_cached_sockets: "migrate_cached_sockets_total",
  active_defrag_hits: "defrag_hits",
  active_defrag_misses: "defrag_misses",
  active_defrag_key_hits: "defrag_key_hits",
  active_defrag_key_misses: "defrag_key_misses",
  // Persistence
  loading: "loading_dump_file",
  async_loading: "async_loading",
  rdb_changes_since_last_save: "rdb_changes_since_last_save",
  rdb_bgsave_in_progress: "rdb_bgsave_in_progress",
  rdb_last_save_time: "rdb_last_save_timestamp_seconds",
  rdb_last_bgsave_status: "rdb_last_bgsave_status",
  rdb_last_bgsave_time_sec: "rdb_last_bgsave_duration_sec",
  rdb_current_bgsave_time_sec: "rdb_current_bgsave_duration_sec",
  rdb_saves: "rdb_saves_total",
  rdb_last_cow_size: "rdb_last_cow_size_bytes",
  rdb_last_load_keys_expired: "rdb_last_load_expired_keys",
  rdb_last_load_keys_loaded: "rdb_last_load_loaded_keys",
  aof_enabled: "aof_enabled",
  aof_rewrite_in_progress: "aof_rewrite_in_progress",
  aof_rewrite_scheduled: "aof_rewrite_scheduled",
  aof_last_rewrite_time_sec: "aof_last_rewrite_duration_sec",
  aof_current_rewrite_time_sec: "aof_current_rewrite_duration_sec",
  aof_last_cow_size: "aof_last_cow_size_bytes",
  aof_current_size: "aof_current_size_bytes",
  aof_base_size: "aof_base_size_bytes",
  aof_pending_rewrite: "aof_pending_rewrite",
  aof_buffer_length: "aof_buffer_length",
  aof_rewrite_buffer_length: "aof_rewrite_buffer_length",
  aof_pending_bio_fsync: "aof_pending_bio_fsync",
  aof_delayed_fsync: "aof_delayed_fsync",
  aof_last_bgrewrite_status: "aof_last_bgrewrite_status",
  aof_last_write_status: "aof_last_write_status",
  module_fork_in_progress: "module_fork_in_progress",
  module_fork_last_cow_size: "module_fork_last_cow_size",
  // Stats
  current_eviction_exceeded_time: "current_eviction_exceeded_time_ms",
  pubsub_channels: "pubsub_channels",
  pubsub_patterns: "pubsub_patterns",
  pubsubshard_channels: "pubsubshard_channels",
  latest_fork_usec: "latest_fork_usec",
  tracking_total_keys: "tracking_total_keys",
  tracking_total_items: "tracking_total_items",
  tracking_total_prefixes: "tracking_total_prefixes",
  instantaneous_eventloop_cycles_per_sec: "instantaneous_eventloop_cycles_per_sec",
  instantaneous_eventloop_duration_usec: "instantaneous_eventloop_duration_usec",
  avg_pipeline_length: "client_processing_pipeline_length",
  slowlog_commands_time_ms_max: "slowlog_commands_duration_seconds_max",
  // Replication
  connected_slaves: "connected_slaves",
  repl_backlog_size: "replication_backlog_bytes",
  repl_backlog_active: "repl_backlog_is_active",
  repl_backlog_first_byte_offset: "repl_backlog_first_byte_offset",
  repl_backlog_histlen: "repl_backlog_history_bytes",
  master_repl_offset: "master_repl_offset",
  second_repl_offset: "second_repl_offset",
  slave_expires_tracked_keys: "slave_expires_tracked_keys",
  slave_priority: "slave_priority",
  sync_full: "replica_resyncs_full",
  sync_partial_ok: "replica_partial_resync_accepted",
  sync_partial_err: "replica_partial_resync_denied",
  replicas_repl_buffer_size: "replicas_repl_buffer_size_bytes",
  replicas_repl_buffer_peak: "replicas_repl_buffer_peak_bytes",
  replicas_waiting_psync: "replicas_waiting_psync",
  // Server (the exporter handles these two apart from its tables, as gauges of the same name)
  hz: "hz",
  configured_hz: "configured_hz",
};

const COUNTERS: Record<string, string> = {
  total_connections_received: "connections_received_total",
  total_commands_processed: "commands_processed_total",
  rejected_connections: "rejected_connections_total",
  total_net_input_bytes: "net_input_bytes_total",
  total_net_output_bytes: "net_output_bytes_total",
  total_net_repl_input_bytes: "net_repl_input_bytes_total",
  total_net_repl_output_bytes: "net_repl_output_bytes_total",
  expired_subkeys: "expired_subkeys_total",
  expired_fields: "expired_fields_total",
  expired_keys: "expired_keys_total",
  expired_time_cap_reached_count: "expired_time_cap_reached_total",
  expire_cycle_cpu_milliseconds: "expire_cycle_cpu_time_ms_total",
  evicted_keys: "evicted_keys_total",
  evicted_clients: "evicted_clients_total",
  evicted_scripts: "evicted_scripts_total",
  total_eviction_exceeded_time: "eviction_exceeded_time_ms_total",
  keyspace_hits: "keyspace_hits_total",
  keyspace_misses: "keyspace_misses_total",
  eventloop_cycles: "eventloop_cycles_total",
  eventloop_duration_sum: "eventloop_duration_sum_usec_total",
  eventloop_duration_cmd_sum: "eventloop_duration_cmd_sum_usec_total",
  eventloop_cycles_with_clients_processing: "eventloop_cycles_with_clients_processing_total",
  total_client_processing_events: "client_processing_events_total",
  avg_pipeline_length_sum: "client_processing_pipeline_commands_total",
  avg_pipeline_length_cnt: "client_processing_pipeline_batches_total",
  slowlog_commands_count: "slowlog_commands_total",
  slowlog_commands_time_ms_sum: "slowlog_commands_duration_seconds_total",
  used_cpu_sys: "cpu_sys_seconds_total",
  used_cpu_user: "cpu_user_seconds_total",
  used_cpu_sys_children: "cpu_sys_children_seconds_total",
  used_cpu_user_children: "cpu_user_children_seconds_total",
  used_cpu_sys_main_thread: "cpu_sys_main_thread_seconds_total",
  used_cpu_user_main_thread: "cpu_user_main_thread_seconds_total",
  unexpected_error_replies: "unexpected_error_replies",
  total_error_replies: "total_error_replies",
  dump_payload_sanitizations: "dump_payload_sanitizations",
  total_reads_processed: "total_reads_processed",
  total_writes_processed: "total_writes_processed",
  io_threaded_reads_processed: "io_threaded_reads_processed",
  io_threaded_writes_processed: "io_threaded_writes_processed",
  client_query_buffer_limit_disconnections: "client_query_buffer_limit_disconnections_total",
  client_output_buffer_limit_disconnections: "client_output_buffer_limit_disconnections_total",
  reply_buffer_shrinks: "reply_buffer_shrinks_total",
  reply_buffer_expands: "reply_buffer_expands_total",
  acl_access_denied_auth: "acl_access_denied_auth_total",
  acl_access_denied_cmd: "acl_access_denied_cmd_total",
  acl_access_denied_key: "acl_access_denied_key_total",
  acl_access_denied_channel: "acl_access_denied_channel_total",
  acl_access_denied_tls_cert: "acl_access_denied_tls_cert_total",
  acl_access_denied_db: "acl_access_denied_db_total",
  used_active_time_main_thread: "active_time_main_thread_seconds_total",
};

/** Fields the exporter converts to seconds when it exports them (metrics.go). */
const RESCALED: Record<string, [name: string, divisor: number]> = {
  latest_fork_usec: ["latest_fork_seconds", 1e6],
  slowlog_commands_time_ms_max: ["slowlog_commands_duration_seconds_max", 1e3],
  slowlog_commands_time_ms_sum: ["slowlog_commands_duration_seconds_total", 1e3],
};

/** redis_exporter's redis_instance_info labels (info.go), in its order. */
const INSTANCE_INFO_LABELS = ["role", "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy", "tcp_port", "run_id", "process_id", "master_replid"];
/** Added to redis_instance_info when INFO has them (the exporter does so for valkey_version). */
const EXTRA_INFO_LABELS = ["atomickv_version"];

/** Identifiers that can look like numbers (a hex id of digits only): never metrics. */
const IDENTIFIERS = new Set(["redis_git_sha1", "redis_build_id", "run_id", "master_replid", "master_replid2"]);

const NS = "redis_";
const OWN = "atomickv_";

/** Per-database keyspace figures, as the exporter derives them (info.go). */
const KEYSPACE: { fields: string[]; name: string; scale: number; required: boolean; help: string }[] = [
  { fields: ["keys"], name: "db_keys", scale: 1, required: true, help: "Total number of keys by DB" },
  { fields: ["expires"], name: "db_keys_expiring", scale: 1, required: true, help: "Total number of expiring keys by DB" },
  { fields: ["avg_ttl"], name: "db_avg_ttl_seconds", scale: 1 / 1000, required: false, help: "Avg TTL in seconds" },
  { fields: ["cached_keys"], name: "db_keys_cached", scale: 1, required: false, help: "Total number of cached keys by DB" },
  { fields: ["subexpiry", "keys_with_volatile_items"], name: "db_keys_with_expiring_items", scale: 1, required: false, help: "Total number of keys with expiring items by DB" },
];

/** `table[key]` for the table's own keys only (an INFO field named `constructor` is not a metric name). */
function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** A percentile label from latencystats (`p99.9`) as a quantile (0.999). */
function quantileOf(percentile: string): number | null {
  const p = infoNumber(percentile.slice(1));
  if (!percentile.startsWith("p") || p === null || p < 0 || p > 100) return null;
  return Number((p / 100).toPrecision(12));
}

interface InfoMetricsOptions {
  /** Now, in milliseconds since the epoch (for redis_start_time_seconds). */
  readonly nowMs: number;
  /** Databases to report (zero keys for those absent from the Keyspace section, as the exporter does). */
  readonly databases: number;
}

/** Adds the metrics INFO's text holds, under redis_exporter's names where it has one. */
function addInfoMetrics(out: Exposition, info: string, options: InfoMetricsOptions): void {
  const fields = parseInfo(info);
  const values = new Map<string, string>();
  const commands = new Map<string, { calls: number; usec: number }>();
  const percentiles: [cmd: string, quantiles: [number, number][]][] = [];
  const databases = new Set<string>();

  for (const { section, key, value } of fields) {
    if (!values.has(key)) values.set(key, value);

    if (key.startsWith("cmdstat_")) {
      const cmd = key.slice("cmdstat_".length);
      const kv = keyValues(value);
      const calls = infoNumber(kv?.get("calls") ?? "");
      const usec = infoNumber(kv?.get("usec") ?? "");
      if (kv === null || calls === null || usec === null) continue;
      const labels: Labels = [["cmd", cmd]];
      commands.set(cmd, { calls, usec });
      out.add(NS + "commands_total", "counter", "Total number of calls per command", calls, labels);
      out.add(NS + "commands_duration_seconds_total", "counter", "Total amount of time in seconds spent per command", usec / 1e6, labels);
      const rejected = infoNumber(kv.get("rejected_calls") ?? "");
      const failed = infoNumber(kv.get("failed_calls") ?? "");
      if (rejected !== null) out.add(NS + "commands_rejected_calls_total", "counter", "Total number of calls refused before the command ran (arity, NOAUTH, LOADING, MISCONF, OOM) per command", rejected, labels);
      if (failed !== null) out.add(NS + "commands_failed_calls_total", "counter", "Total number of calls that ran and replied with an error per command", failed, labels);
      continue;
    }

    if (key.startsWith("errorstat_")) {
      const count = infoNumber(keyValues(value)?.get("count") ?? "");
      if (count !== null) out.add(NS + "errors_total", "counter", "Total number of errors per error type", count, [["err", key.slice("errorstat_".length)]]);
      continue;
    }

    if (key.startsWith("latency_percentiles_usec_")) {
      const kv = keyValues(value);
      if (kv === null) continue;
      const quantiles: [number, number][] = [];
      for (const [p, v] of kv) {
        const q = quantileOf(p);
        const n = infoNumber(v);
        if (q === null || n === null) break;
        quantiles.push([q, n]);
      }
      if (quantiles.length === kv.size) percentiles.push([key.slice("latency_percentiles_usec_".length), quantiles]);
      continue;
    }

    if (/^db\d+$/.test(key) && (section === "Keyspace" || value.startsWith("keys="))) {
      const kv = keyValues(value);
      if (kv === null) continue;
      const figures: [string, string, number][] = [];
      let complete = true;
      for (const def of KEYSPACE) {
        const text = def.fields.map((f) => kv.get(f)).find((v) => v !== undefined);
        const n = text === undefined ? null : infoNumber(text);
        if (n === null) {
          if (def.required || text !== undefined) complete = false;
          continue;
        }
        figures.push([def.name, def.help, n * def.scale]);
      }
      if (!complete) continue;
      for (const [name, help, n] of figures) out.add(NS + name, "gauge", help, n, [["db", key]]);
      databases.add(key);
      continue;
    }

    const thread = /^used_active_time_io_thread_(\d+)$/.exec(key);
    if (thread !== null) {
      const n = infoNumber(value);
      if (n !== null) out.add(NS + "active_time_io_thread_seconds_total", "counter", "Time IO thread was active, in seconds", n, [["thread", thread[1]!]]);
      continue;
    }

    const n = IDENTIFIERS.has(key) ? null : infoNumber(value);
    if (n === null) continue;
    const help = `INFO field ${key}${section === "" ? "" : ` (${section})`}`;
    if (key === "uptime_in_seconds") {
      out.add(NS + "start_time_seconds", "gauge", "Start time of the Redis instance since unix epoch in seconds.", Math.floor(options.nowMs / 1000) - n);
    }
    const rescaled = own(RESCALED, key);
    const counter = own(COUNTERS, key);
    const gauge = own(GAUGES, key);
    if (rescaled !== undefined) {
      out.add(NS + rescaled[0], counter !== undefined ? "counter" : "gauge", help, n / rescaled[1]);
    } else if (counter !== undefined) {
      out.add(NS + counter, "counter", help, n);
    } else if (gauge !== undefined) {
      out.add(NS + gauge, "gauge", help, n);
    } else if (key.startsWith("cluster_")) {
      out.add(NS + sanitize(key), "gauge", help, n); // the exporter exports every cluster_* field under its own name
    } else {
      // Not a field the exporter knows: ours.
      const name = sanitize(key);
      out.add(name.startsWith(OWN) ? name : OWN + name, "gauge", help, n);
    }
  }

  for (let i = 0; i < options.databases; i++) {
    const db = `db${i}`;
    if (databases.has(db)) continue;
    out.add(NS + "db_keys", "gauge", "Total number of keys by DB", 0, [["db", db]]);
    out.add(NS + "db_keys_expiring", "gauge", "Total number of expiring keys by DB", 0, [["db", db]]);
  }

  for (const [cmd, quantiles] of percentiles) {
    const stats = commands.get(cmd);
    if (stats === undefined) continue; // as the exporter: count and sum come from commandstats
    out.summary(NS + "latency_percentiles_usec", "A summary of latency percentile distribution per command", [["cmd", cmd]], quantiles, stats.usec, stats.calls);
  }

  const labels: [string, string][] = INSTANCE_INFO_LABELS.map((name) => [name, values.get(name) ?? ""]);
  for (const name of EXTRA_INFO_LABELS) if (values.has(name)) labels.push([name, values.get(name)!]);
  out.add(NS + "instance_info", "gauge", "Information about the Redis instance", 1, labels);
}

/**
 * Per-command latency histograms from the command table's counters (the
 * same power-of-two buckets LATENCY HISTOGRAM reports):
 * `atomickv_command_duration_seconds` in seconds, Prometheus's convention,
 * and redis_exporter's `redis_commands_latencies_usec` (microseconds, which
 * the exporter fills from LATENCY HISTOGRAM) for dashboards built on it.
 */
function addCommandHistograms(out: Exposition, stats: readonly (readonly [string, CommandStats])[]): void {
  for (const [cmd, s] of stats) {
    const buckets: [number, number][] = [];
    for (let i = 0; i < LATENCY_BUCKETS; i++) buckets.push([bucketBoundUs(i), s.histogram[i]!]);
    const labels: Labels = [["cmd", cmd]];
    out.histogram(OWN + "command_duration_seconds", "Time spent running each command, in seconds", labels, buckets.map(([us, n]) => [us / 1e6, n] as const), s.usec / 1e6);
  }
  for (const [cmd, s] of stats) {
    const buckets: [number, number][] = [];
    for (let i = 0; i < LATENCY_BUCKETS; i++) buckets.push([bucketBoundUs(i), s.histogram[i]!]);
    out.histogram(NS + "commands_latencies_usec", "A histogram of latencies per command, in microseconds", [["cmd", cmd]], buckets, s.usec);
  }
}

export interface MetricsInput {
  /** INFO's text (all sections). */
  readonly info: string;
  readonly commandStats: readonly (readonly [string, CommandStats])[];
  /** Configuration the exporter reads with CONFIG GET and exports as redis_config_<name>. */
  readonly config: Readonly<Record<string, number>>;
  readonly nowMs: number;
  readonly databases?: number;
}

/** The whole /metrics page. */
export function renderMetrics(input: MetricsInput): string {
  const out = new Exposition();
  out.add(NS + "up", "gauge", "1: the server answered this scrape", 1);
  addInfoMetrics(out, input.info, { nowMs: input.nowMs, databases: input.databases ?? 1 });
  for (const [name, value] of Object.entries(input.config)) {
    out.add(NS + "config_" + sanitize(name), "gauge", `Configuration option ${name}`, value);
  }
  addCommandHistograms(out, input.commandStats);
  return out.render();
}

/** The Content-Type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

import { describe, expect, test } from "bun:test";
import { CommandStats } from "../../src/stats/command-stats.ts";
import { Exposition, infoNumber, parseInfo, renderMetrics } from "../../src/stats/prometheus.ts";
import { ExpositionError, parseExposition } from "../helpers/prometheus.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * INFO's text → Prometheus text: redis_exporter's names, types and units,
 * checked against literal INFO output of redis-server 7.0.15, and every page
 * read back with the strict exposition parser. Then the parser itself,
 * against malformed pages.
 */

/** `INFO everything` of redis-server 7.0.15 after SET a, SET b EX 100, GET a, GET zz, FOO, LPUSH a, GET (arity), CONFIG GET, SELECT 3, SET c in db 3. */
const REDIS_INFO = `
# Server
redis_version:7.0.15
redis_git_sha1:00000000
redis_git_dirty:0
redis_build_id:ae4d7c971a948f0
redis_mode:standalone
os:Linux 6.18.44-fc-v782 x86_64
arch_bits:64
monotonic_clock:POSIX clock_gettime
multiplexing_api:epoll
atomicvar_api:c11-builtin
gcc_version:12.2.0
process_id:8943
process_supervised:no
run_id:bb3cb0ef9d9060353c4ccfa76f616cb369de71fd
tcp_port:17010
server_time_usec:1795591957460796
uptime_in_seconds:1
uptime_in_days:0
hz:10
configured_hz:10
lru_clock:429845
executable:/tmp/redis-server
config_file:
io_threads_active:0

# Clients
connected_clients:1
cluster_connections:0
maxclients:10000
client_recent_max_input_buffer:0
client_recent_max_output_buffer:0
blocked_clients:0
tracking_clients:0
clients_in_timeout_table:0

# Memory
used_memory:1040120
used_memory_human:1015.74K
used_memory_rss:7081984
used_memory_rss_human:6.75M
used_memory_peak:1040120
used_memory_peak_human:1015.74K
used_memory_peak_perc:100.18%
used_memory_overhead:876536
used_memory_startup:876096
used_memory_dataset:163584
used_memory_dataset_perc:99.73%
allocator_allocated:1785056
allocator_active:1937408
allocator_resident:4608000
total_system_memory:25276026880
total_system_memory_human:23.54G
used_memory_lua:32768
used_memory_vm_eval:32768
used_memory_lua_human:32.00K
used_memory_scripts_eval:0
number_of_cached_scripts:0
number_of_functions:0
number_of_libraries:0
used_memory_vm_functions:33792
used_memory_vm_total:66560
used_memory_vm_total_human:65.00K
used_memory_functions:200
used_memory_scripts:200
used_memory_scripts_human:200B
maxmemory:0
maxmemory_human:0B
maxmemory_policy:noeviction
allocator_frag_ratio:1.09
allocator_frag_bytes:152352
allocator_rss_ratio:2.38
allocator_rss_bytes:2670592
rss_overhead_ratio:1.54
rss_overhead_bytes:2473984
mem_fragmentation_ratio:7.45
mem_fragmentation_bytes:6131360
mem_not_counted_for_evict:0
mem_replication_backlog:0
mem_total_replication_buffers:0
mem_clients_slaves:0
mem_clients_normal:0
mem_cluster_links:0
mem_aof_buffer:0
mem_allocator:jemalloc-5.3.0
active_defrag_running:0
lazyfree_pending_objects:0
lazyfreed_objects:0

# Persistence
loading:0
async_loading:0
current_cow_peak:0
current_cow_size:0
current_cow_size_age:0
current_fork_perc:0.00
current_save_keys_processed:0
current_save_keys_total:0
rdb_changes_since_last_save:3
rdb_bgsave_in_progress:0
rdb_last_save_time:1795591956
rdb_last_bgsave_status:ok
rdb_last_bgsave_time_sec:-1
rdb_current_bgsave_time_sec:-1
rdb_saves:0
rdb_last_cow_size:0
rdb_last_load_keys_expired:0
rdb_last_load_keys_loaded:0
aof_enabled:0
aof_rewrite_in_progress:0
aof_rewrite_scheduled:0
aof_last_rewrite_time_sec:-1
aof_current_rewrite_time_sec:-1
aof_last_bgrewrite_status:ok
aof_rewrites:0
aof_rewrites_consecutive_failures:0
aof_last_write_status:ok
aof_last_cow_size:0
module_fork_in_progress:0
module_fork_last_cow_size:0

# Stats
total_connections_received:11
total_commands_processed:9
instantaneous_ops_per_sec:3
total_net_input_bytes:311
total_net_output_bytes:237
total_net_repl_input_bytes:0
total_net_repl_output_bytes:0
instantaneous_input_kbps:0.09
instantaneous_output_kbps:0.09
instantaneous_input_repl_kbps:0.00
instantaneous_output_repl_kbps:0.00
rejected_connections:0
sync_full:0
sync_partial_ok:0
sync_partial_err:0
expired_keys:0
expired_stale_perc:0.00
expired_time_cap_reached_count:0
expire_cycle_cpu_milliseconds:0
evicted_keys:0
evicted_clients:0
total_eviction_exceeded_time:0
current_eviction_exceeded_time:0
keyspace_hits:1
keyspace_misses:1
pubsub_channels:0
pubsub_patterns:0
pubsubshard_channels:0
latest_fork_usec:0
total_forks:0
migrate_cached_sockets:0
slave_expires_tracked_keys:0
active_defrag_hits:0
active_defrag_misses:0
active_defrag_key_hits:0
active_defrag_key_misses:0
total_active_defrag_time:0
current_active_defrag_time:0
tracking_total_keys:0
tracking_total_items:0
tracking_total_prefixes:0
unexpected_error_replies:0
total_error_replies:3
dump_payload_sanitizations:0
total_reads_processed:22
total_writes_processed:11
io_threaded_reads_processed:0
io_threaded_writes_processed:0
reply_buffer_shrinks:0
reply_buffer_expands:0

# Replication
role:master
connected_slaves:0
master_failover_state:no-failover
master_replid:1394ab6ea91fd07ab0d7581886f334f81276dcae
master_replid2:0000000000000000000000000000000000000000
master_repl_offset:0
second_repl_offset:-1
repl_backlog_active:0
repl_backlog_size:1048576
repl_backlog_first_byte_offset:0
repl_backlog_histlen:0

# CPU
used_cpu_sys:0.010860
used_cpu_user:0.011920
used_cpu_sys_children:0.000000
used_cpu_user_children:0.000000
used_cpu_sys_main_thread:0.010921
used_cpu_user_main_thread:0.010921

# Modules

# Commandstats
cmdstat_config|get:calls=1,usec=69,usec_per_call=69.00,rejected_calls=0,failed_calls=0
cmdstat_lpush:calls=1,usec=9,usec_per_call=9.00,rejected_calls=0,failed_calls=1
cmdstat_set:calls=3,usec=87,usec_per_call=29.00,rejected_calls=0,failed_calls=0
cmdstat_get:calls=2,usec=12,usec_per_call=6.00,rejected_calls=1,failed_calls=0
cmdstat_select:calls=2,usec=6,usec_per_call=3.00,rejected_calls=0,failed_calls=0

# Errorstats
errorstat_ERR:count=2
errorstat_WRONGTYPE:count=1

# Latencystats
latency_percentiles_usec_config|get:p50=69.119,p99=69.119,p99.9=69.119
latency_percentiles_usec_lpush:p50=9.023,p99=9.023,p99.9=9.023
latency_percentiles_usec_set:p50=11.007,p99=69.119,p99.9=69.119
latency_percentiles_usec_get:p50=6.015,p99=6.015,p99.9=6.015
latency_percentiles_usec_select:p50=3.007,p99=3.007,p99.9=3.007

# Cluster
cluster_enabled:0

# Keyspace
db0:keys=2,expires=1,avg_ttl=99900
db3:keys=1,expires=0,avg_ttl=0
`.trim().split("\n").join("\r\n") + "\r\n";

const NOW_MS = 1795591957_460;

function page(info: string, options: { stats?: [string, CommandStats][]; config?: Record<string, number>; databases?: number } = {}) {
  const text = renderMetrics({ info, commandStats: options.stats ?? [], config: options.config ?? {}, nowMs: NOW_MS, databases: options.databases });
  return { text, parsed: parseExposition(text) };
}

describe("INFO parsing", () => {
  test("sections and fields, CRLF or LF; the value keeps its colons", () => {
    expect(parseInfo("# Server\r\nredis_version:7.0.15\r\n\r\n# Commandstats\r\ncmdstat_config|get:calls=1,usec=69\r\nexecutable:/a:b\n")).toEqual([
      { section: "Server", key: "redis_version", value: "7.0.15" },
      { section: "Commandstats", key: "cmdstat_config|get", value: "calls=1,usec=69" },
      { section: "Commandstats", key: "executable", value: "/a:b" },
    ]);
  });

  test("numbers as redis_exporter reads them: ok/err as 1/0, units and percentages are not numbers", () => {
    expect(infoNumber("12")).toBe(12);
    expect(infoNumber("-1")).toBe(-1);
    expect(infoNumber("0.010860")).toBe(0.01086);
    expect(infoNumber("1e3")).toBe(1000);
    expect(infoNumber("ok")).toBe(1);
    expect(infoNumber("err")).toBe(0);
    expect(infoNumber("1015.74K")).toBeNull();
    expect(infoNumber("100.18%")).toBeNull();
    expect(infoNumber("")).toBeNull();
    expect(infoNumber("0x10")).toBeNull();
  });
});

describe("INFO to metrics (redis_exporter's names)", () => {
  const { parsed } = page(REDIS_INFO, { config: { maxclients: 10000, maxmemory: 0 }, databases: 16 });
  const v = (name: string, labels: Record<string, string> = {}) => parsed.value(name, labels);

  test("counters and gauges from the fixed sections, with the exporter's names and types", () => {
    const expected: [string, "counter" | "gauge", number][] = [
      ["redis_uptime_in_seconds", "gauge", 1],
      ["redis_process_id", "gauge", 8943],
      ["redis_connected_clients", "gauge", 1],
      ["redis_blocked_clients", "gauge", 0],
      ["redis_max_clients", "gauge", 10000],
      ["redis_memory_used_bytes", "gauge", 1040120],
      ["redis_memory_used_rss_bytes", "gauge", 7081984],
      ["redis_memory_used_peak_bytes", "gauge", 1040120],
      ["redis_memory_max_bytes", "gauge", 0],
      ["redis_mem_fragmentation_ratio", "gauge", 7.45],
      ["redis_allocator_allocated_bytes", "gauge", 1785056],
      ["redis_loading_dump_file", "gauge", 0],
      ["redis_aof_enabled", "gauge", 0],
      ["redis_aof_last_write_status", "gauge", 1],
      ["redis_rdb_last_bgsave_status", "gauge", 1],
      ["redis_rdb_last_save_timestamp_seconds", "gauge", 1795591956],
      ["redis_aof_last_rewrite_duration_sec", "gauge", -1],
      ["redis_connections_received_total", "counter", 11],
      ["redis_commands_processed_total", "counter", 9],
      ["redis_net_input_bytes_total", "counter", 311],
      ["redis_net_output_bytes_total", "counter", 237],
      ["redis_rejected_connections_total", "counter", 0],
      ["redis_keyspace_hits_total", "counter", 1],
      ["redis_keyspace_misses_total", "counter", 1],
      ["redis_expired_keys_total", "counter", 0],
      ["redis_evicted_keys_total", "counter", 0],
      ["redis_total_error_replies", "counter", 3],
      ["redis_cpu_sys_seconds_total", "counter", 0.01086],
      ["redis_cpu_user_seconds_total", "counter", 0.01192],
      ["redis_cpu_sys_main_thread_seconds_total", "counter", 0.010921],
      ["redis_connected_slaves", "gauge", 0],
      ["redis_replication_backlog_bytes", "gauge", 1048576],
      ["redis_hz", "gauge", 10],
      ["redis_configured_hz", "gauge", 10],
      ["redis_cluster_enabled", "gauge", 0],
      ["redis_latest_fork_seconds", "gauge", 0],
      ["redis_config_maxclients", "gauge", 10000],
      ["redis_config_maxmemory", "gauge", 0],
      ["redis_up", "gauge", 1],
    ];
    for (const [name, type, value] of expected) {
      expect({ name, type: parsed.typeOf(name), value: v(name) }).toEqual({ name, type, value });
    }
    // The exporter's derived start time: now minus the uptime.
    expect(v("redis_start_time_seconds")).toBe(1795591957 - 1);
  });

  test("commandstats: calls, time in seconds, rejected and failed calls per command", () => {
    expect(parsed.typeOf("redis_commands_total")).toBe("counter");
    expect(v("redis_commands_total", { cmd: "set" })).toBe(3);
    expect(v("redis_commands_total", { cmd: "get" })).toBe(2);
    expect(v("redis_commands_total", { cmd: "config|get" })).toBe(1);
    expect(v("redis_commands_duration_seconds_total", { cmd: "set" })).toBe(87 / 1e6);
    expect(v("redis_commands_rejected_calls_total", { cmd: "get" })).toBe(1);
    expect(v("redis_commands_failed_calls_total", { cmd: "lpush" })).toBe(1);
    expect(parsed.series("redis_commands_total").map((s) => s.labels.cmd).sort()).toEqual(["config|get", "get", "lpush", "select", "set"]);
  });

  test("commandstats of Redis before 6.2 (no rejected/failed counts)", () => {
    const old = page("# Commandstats\r\ncmdstat_get:calls=21,usec=175,usec_per_call=8.33\r\n").parsed;
    expect(old.value("redis_commands_total", { cmd: "get" })).toBe(21);
    expect(old.value("redis_commands_duration_seconds_total", { cmd: "get" })).toBe(175 / 1e6);
    expect(old.series("redis_commands_failed_calls_total")).toEqual([]);
  });

  test("errorstats as redis_errors_total{err}", () => {
    expect(parsed.typeOf("redis_errors_total")).toBe("counter");
    expect(v("redis_errors_total", { err: "ERR" })).toBe(2);
    expect(v("redis_errors_total", { err: "WRONGTYPE" })).toBe(1);
  });

  test("keyspace per database, avg_ttl in seconds; empty databases report zero keys", () => {
    expect(v("redis_db_keys", { db: "db0" })).toBe(2);
    expect(v("redis_db_keys_expiring", { db: "db0" })).toBe(1);
    expect(v("redis_db_avg_ttl_seconds", { db: "db0" })).toBe(99.9);
    expect(v("redis_db_keys", { db: "db3" })).toBe(1);
    expect(v("redis_db_keys", { db: "db1" })).toBe(0);
    expect(v("redis_db_keys_expiring", { db: "db15" })).toBe(0);
    expect(parsed.series("redis_db_keys")).toHaveLength(16);
    // One database (AtomicKV's): db0 is reported even when empty, as DBSIZE 0.
    const empty = page("# Keyspace\r\n").parsed;
    expect(empty.series("redis_db_keys").map((s) => [s.labels.db, s.value])).toEqual([["db0", 0]]);
  });

  test("latencystats as the redis_latency_percentiles_usec summary, count and sum from commandstats", () => {
    expect(parsed.typeOf("redis_latency_percentiles_usec")).toBe("summary");
    expect(v("redis_latency_percentiles_usec", { cmd: "set", quantile: "0.5" })).toBe(11.007);
    expect(v("redis_latency_percentiles_usec", { cmd: "set", quantile: "0.99" })).toBe(69.119);
    expect(v("redis_latency_percentiles_usec", { cmd: "set", quantile: "0.999" })).toBe(69.119);
    expect(v("redis_latency_percentiles_usec_count", { cmd: "set" })).toBe(3);
    expect(v("redis_latency_percentiles_usec_sum", { cmd: "set" })).toBe(87);
  });

  test("redis_instance_info carries the exporter's labels", () => {
    expect(parsed.series("redis_instance_info").map((s) => s.labels)).toEqual([
      {
        role: "master",
        redis_version: "7.0.15",
        redis_build_id: "ae4d7c971a948f0",
        redis_mode: "standalone",
        os: "Linux 6.18.44-fc-v782 x86_64",
        maxmemory_policy: "noeviction",
        tcp_port: "17010",
        run_id: "bb3cb0ef9d9060353c4ccfa76f616cb369de71fd",
        process_id: "8943",
        master_replid: "1394ab6ea91fd07ab0d7581886f334f81276dcae",
      },
    ]);
    expect(v("redis_instance_info", parsed.series("redis_instance_info")[0]!.labels as Record<string, string>)).toBe(1);
  });

  test("numeric fields the exporter has no name for are ours (atomickv_); strings and identifiers are not metrics", () => {
    expect(v("atomickv_instantaneous_ops_per_sec")).toBe(3);
    expect(v("atomickv_aof_rewrites")).toBe(0);
    expect(v("atomickv_total_forks")).toBe(0);
    const names = new Set(parsed.samples.map((s) => s.name));
    for (const absent of ["atomickv_redis_git_sha1", "atomickv_master_replid2", "atomickv_redis_version", "atomickv_used_memory_human", "atomickv_used_memory_peak_perc", "redis_used_memory"]) {
      expect(names.has(absent)).toBe(false);
    }
    // A field already in our namespace is not prefixed twice; names are sanitised.
    const own = page("# Memory\r\natomickv_js_heap_used:123\r\nweird-field.x:4\r\n").parsed;
    expect(own.value("atomickv_js_heap_used")).toBe(123);
    expect(own.value("atomickv_weird_field_x")).toBe(4);
  });

  test("malformed lines are skipped and the page stays valid", () => {
    const { parsed: p } = page(
      [
        "# Commandstats",
        "cmdstat_get:calls=x,usec=1",
        "cmdstat_set:garbage",
        "cmdstat_del:calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=0",
        "# Errorstats",
        "errorstat_ERR:count=",
        "errorstat_WRONGTYPE:count=2",
        "# Latencystats",
        "latency_percentiles_usec_del:p50=1.003,pX=2",
        "# Keyspace",
        "db0:keys=abc,expires=0",
        "db1:keys=1,expires=1,avg_ttl=1000",
        "connected_clients:1",
        "connected_clients:2",
        "total_commands_processed:-5",
        "constructor:1",
        "toString:2",
      ].join("\r\n"),
    );
    expect(p.series("redis_commands_processed_total")).toEqual([]); // a counter cannot be negative
    expect(p.value("atomickv_constructor")).toBe(1); // not taken for a table entry
    expect(p.value("atomickv_toString")).toBe(2);
    expect(p.series("redis_commands_total").map((s) => [s.labels.cmd, s.value])).toEqual([["del", 2]]);
    expect(p.series("redis_errors_total").map((s) => [s.labels.err, s.value])).toEqual([["WRONGTYPE", 2]]);
    expect(p.series("redis_latency_percentiles_usec")).toEqual([]);
    expect(p.value("redis_db_keys", { db: "db0" })).toBe(0); // the malformed line counts as absent
    expect(p.value("redis_db_avg_ttl_seconds", { db: "db1" })).toBe(1);
    expect(p.value("redis_connected_clients")).toBe(1); // a field twice: the first wins, no duplicate series
  });

  test("label values are escaped", () => {
    const { text, parsed: p } = page('# Errorstats\r\nerrorstat_we"ird\\x:count=1\r\n');
    expect(text).toContain('redis_errors_total{err="we\\"ird\\\\x"} 1');
    expect(p.value("redis_errors_total", { err: 'we"ird\\x' })).toBe(1);
  });

  test("an empty INFO still makes a valid page", () => {
    const { parsed: p } = page("");
    expect(p.value("redis_up")).toBe(1);
    expect(p.value("redis_db_keys", { db: "db0" })).toBe(0);
  });

  test("the whole page of a real Redis INFO parses strictly, with HELP and TYPE for every family", () => {
    for (const family of parsed.families.values()) {
      expect(family.help).toBeDefined();
      expect(family.type).not.toBe("untyped");
    }
  });
});

describe("per-command latency histograms", () => {
  const set = new CommandStats();
  for (const us of [0.4, 1, 1.5, 3, 3, 100, 5000, 20_000_000]) set.record(us);
  const get = new CommandStats();
  get.rejectedCalls = 1; // only refused: a histogram of zeros
  const { parsed } = page("", { stats: [["set", set], ["get", get]] });

  test("atomickv_command_duration_seconds: cumulative buckets in seconds, +Inf = _count = calls, _sum in seconds", () => {
    expect(parsed.typeOf("atomickv_command_duration_seconds")).toBe("histogram");
    const buckets = parsed.series("atomickv_command_duration_seconds_bucket").filter((s) => s.labels.cmd === "set");
    expect(buckets).toHaveLength(25);
    const at = (le: string) => buckets.find((b) => b.labels.le === le)?.value;
    expect(at("0.000001")).toBe(2); // 0.4 µs and 1 µs
    expect(at("0.000002")).toBe(3);
    expect(at("0.000004")).toBe(5);
    expect(at("0.000128")).toBe(6);
    expect(at("0.008192")).toBe(7);
    expect(at("8.388608")).toBe(7);
    expect(at("+Inf")).toBe(8);
    expect(set.calls).toBe(8);
    expect(parsed.value("atomickv_command_duration_seconds_count", { cmd: "set" })).toBe(set.calls);
    expect(parsed.value("atomickv_command_duration_seconds_sum", { cmd: "set" })).toBeCloseTo(set.usec / 1e6, 9);
    expect(parsed.value("atomickv_command_duration_seconds_count", { cmd: "get" })).toBe(0);
  });

  test("redis_commands_latencies_usec: the same buckets in microseconds, as the exporter exports LATENCY HISTOGRAM", () => {
    expect(parsed.typeOf("redis_commands_latencies_usec")).toBe("histogram");
    expect(parsed.value("redis_commands_latencies_usec_bucket", { cmd: "set", le: "1" })).toBe(2);
    expect(parsed.value("redis_commands_latencies_usec_bucket", { cmd: "set", le: "8388608" })).toBe(7);
    expect(parsed.value("redis_commands_latencies_usec_bucket", { cmd: "set", le: "+Inf" })).toBe(8);
    expect(parsed.value("redis_commands_latencies_usec_sum", { cmd: "set" })).toBeCloseTo(set.usec, 6);
  });
});

describe("Exposition", () => {
  test("a family whose names clash with another's is dropped, not written twice", () => {
    const out = new Exposition();
    out.histogram("x", "h", [], [[1, 1], [Infinity, 0]], 0.5);
    out.add("x_count", "gauge", "clash", 3);
    out.add("x", "gauge", "clash", 3);
    out.add("y", "gauge", "g", 1);
    out.add("y", "counter", "clash", 2);
    out.add("bad name", "gauge", "invalid", 1);
    const parsed = parseExposition(out.render());
    expect([...parsed.families.keys()]).toEqual(["x", "y"]);
    expect(parsed.value("x_count")).toBe(1);
    expect(parsed.value("y")).toBe(1);
  });

  test("HELP text is escaped", () => {
    const out = new Exposition();
    out.add("z", "gauge", "back\\slash\nnewline", 1);
    expect(out.render()).toBe("# HELP z back\\\\slash\\nnewline\n# TYPE z gauge\nz 1\n");
    expect(parseExposition(out.render()).families.get("z")!.help).toBe("back\\slash\nnewline");
  });
});

describe("the strict exposition parser", () => {
  test("accepts the format's own example", () => {
    const parsed = parseExposition(
      [
        "# HELP http_requests_total The total number of HTTP requests.",
        "# TYPE http_requests_total counter",
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400"}    3 1395066363000',
        "",
        "# Escaping in label values:",
        'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
        "",
        "# Minimalistic line:",
        "metric_without_timestamp_and_labels 12.47",
        "",
        "# A weird metric from before the epoch:",
        "something_weird{problem=\"division by zero\"} +Inf -3982045",
        "",
        "# A histogram, which has a pretty complex representation in the text format:",
        "# HELP http_request_duration_seconds A histogram of the request duration.",
        "# TYPE http_request_duration_seconds histogram",
        'http_request_duration_seconds_bucket{le="0.05"} 24054',
        'http_request_duration_seconds_bucket{le="0.1"} 33444',
        'http_request_duration_seconds_bucket{le="0.2"} 100392',
        'http_request_duration_seconds_bucket{le="0.5"} 129389',
        'http_request_duration_seconds_bucket{le="1"} 133988',
        'http_request_duration_seconds_bucket{le="+Inf"} 144320',
        "http_request_duration_seconds_sum 53423",
        "http_request_duration_seconds_count 144320",
        "",
        "# Finally a summary, which has a complex representation, too:",
        "# HELP rpc_duration_seconds A summary of the RPC duration in seconds.",
        "# TYPE rpc_duration_seconds summary",
        'rpc_duration_seconds{quantile="0.01"} 3102',
        'rpc_duration_seconds{quantile="0.05"} 3272',
        'rpc_duration_seconds{quantile="0.5"} 4773',
        'rpc_duration_seconds{quantile="0.9"} 9001',
        'rpc_duration_seconds{quantile="0.99"} 76656',
        "rpc_duration_seconds_sum 1.7560473e+07",
        "rpc_duration_seconds_count 2693",
        "",
      ].join("\n"),
    );
    expect(parsed.value("http_requests_total", { method: "post", code: "400" })).toBe(3);
    expect(parsed.value("msdos_file_access_time_seconds", { path: "C:\\DIR\\FILE.TXT", error: 'Cannot find file:\n"FILE.TXT"' })).toBe(1.458255915e9);
    expect(parsed.value("something_weird", { problem: "division by zero" })).toBe(Infinity);
    expect(parsed.typeOf("http_request_duration_seconds")).toBe("histogram");
    expect(parsed.typeOf("metric_without_timestamp_and_labels")).toBe("untyped");
    expect(parsed.value("rpc_duration_seconds_count")).toBe(2693);
  });

  const histogram = (buckets: [string, number][], count: number) =>
    ["# TYPE h histogram", ...buckets.map(([le, n]) => `h_bucket{le="${le}"} ${n}`), "h_sum 1", `h_count ${count}`, ""].join("\n");

  const bad: [what: string, text: string, reason: string][] = [
    ["no newline at the end", "a 1", "does not end with"],
    ["CRLF line endings", "a 1\r\n", "carriage return"],
    ["metric name starting with a digit", "1a 1\n", "invalid metric name"],
    ["metric name with a dash", "a-b 1\n", "expected blank before the value"],
    ["label name starting with a digit", 'a{1b="x"} 1\n', "invalid label name"],
    ["reserved label name", 'a{__name__="x"} 1\n', "reserved label name"],
    ["label value without quotes", "a{b=x} 1\n", "expected ="],
    ["unterminated label value", 'a{b="x} 1\n', "unterminated value"],
    ["unknown escape in a label value", 'a{b="x\\q"} 1\n', "invalid escape"],
    ["unescaped quote in a label value", 'a{b="x"y"} 1\n', "expected , or }"],
    ["the same label twice", 'a{b="1",b="2"} 1\n', "label b twice"],
    ["blanks inside the braces", 'a{b="1", c="2"} 1\n', "invalid label name"],
    ["no value", "a\n", "expected blank before the value"],
    ["value that is not a float", "a one\n", "invalid value"],
    ["hex value", "a 0x1F\n", "invalid value"],
    ["three tokens", "a 1 2 3\n", "expected a value and an optional timestamp"],
    ["fractional timestamp", "a 1 2.5\n", "invalid timestamp"],
    ["unknown type", "# TYPE a meter\na 1\n", "unknown type"],
    ["TYPE twice", "# TYPE a gauge\n# TYPE a gauge\na 1\n", "second TYPE"],
    ["HELP twice", "# HELP a x\n# HELP a y\na 1\n", "second HELP"],
    ["TYPE after the samples", "a 1\n# TYPE a gauge\n", "after its samples"],
    ["invalid escape in HELP", "# HELP a x\\ty\na 1\n", "invalid escape"],
    ["a family's lines not in one group", "a 1\nb 1\na{x=\"1\"} 2\n", "not in one group"],
    ["the same series twice", 'a{x="1",y="2"} 1\na{y="2",x="1"} 2\n', "the same series twice"],
    ["a negative counter", "# TYPE c counter\nc -1\n", "negative"],
    ["a NaN counter", "# TYPE c counter\nc NaN\n", "negative or NaN"],
    ["buckets not cumulative", histogram([["1", 5], ["2", 3], ["+Inf", 5]], 5), "not cumulative"],
    ["bucket bounds not increasing", histogram([["2", 1], ["1", 2], ["+Inf", 2]], 2), "does not increase"],
    ["no +Inf bucket", histogram([["1", 1], ["2", 2]], 2), "no le=\"+Inf\" bucket"],
    ["+Inf bucket different from _count", histogram([["1", 1], ["+Inf", 2]], 3), "differs from _count"],
    ["bucket without le", '# TYPE h histogram\nh_bucket{x="1"} 1\nh_sum 1\nh_count 1\n', "without le"],
    ["le that is not a number", histogram([["fast", 1], ["+Inf", 1]], 1), "invalid le"],
    ["histogram without _sum", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', "lacks _sum or _count"],
    ["histogram sample without a suffix", '# TYPE h histogram\nh 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', "without _bucket/_sum/_count"],
    ["histogram whose _count is also a family", "# TYPE h_count gauge\nh_count 1\n# TYPE h histogram\n", "is a family"],
    ["summary sample without quantile", "# TYPE s summary\ns 1\ns_sum 1\ns_count 1\n", "needs a quantile"],
    ["summary quantile above 1", '# TYPE s summary\ns{quantile="1.5"} 1\ns_sum 1\ns_count 1\n', "needs a quantile"],
    ["summary without _count", '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\n', "lacks _sum or _count"],
  ];
  for (const [what, text, reason] of bad) {
    test(`rejects ${what}`, () => {
      expect(() => parseExposition(text)).toThrow(ExpositionError);
      expect(() => parseExposition(text)).toThrow(reason);
    });
  }
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RawClient, resp } from "../helpers/raw.ts";
import { serverCommand, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * INFO as exporters and dashboards read it: Redis's sections in Redis's
 * order, Redis's field names and formats, and every figure cross-checked
 * against what the test did to the server (bytes sent, commands run,
 * hits, errors, connections, keys).
 */

const tmp = mkdtempSync(join(tmpdir(), "atomickv-info-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Info {
  sections: string[];
  fields: Map<string, string>;
  /** Bytes of the whole reply on the wire. */
  replyBytes: number;
}

/** Sends INFO over RESP2 and parses its bulk reply. */
async function info(client: RawClient, ...sections: string[]): Promise<Info> {
  client.write(resp("INFO", ...sections));
  const header = (await client.lines(1))[0]!;
  expect(header).toMatch(/^\$\d+$/);
  const length = Number(header.slice(1));
  const body = await client.bytes(length + 2);
  const text = body.slice(0, length);
  const result: Info = { sections: [], fields: new Map(), replyBytes: header.length + 2 + length + 2 };
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    if (line.startsWith("# ")) {
      result.sections.push(line.slice(2));
      continue;
    }
    const colon = line.indexOf(":");
    expect(colon).toBeGreaterThan(0);
    result.fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return result;
}

function num(info: Info, field: string): number {
  const value = info.fields.get(field);
  if (value === undefined) throw new Error(`INFO has no ${field}`);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`INFO ${field}:${value} is not a number`);
  return n;
}

/** `a=1,b=2` values (cmdstat_*, errorstat_*, db0). */
function pairs(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  return Object.fromEntries(value.split(",").map((kv) => kv.split("=") as [string, string]));
}

/** Sends a command; returns the first line of its reply, having read the rest of a bulk reply. */
async function send(client: RawClient, ...args: string[]): Promise<string> {
  client.write(resp(...args));
  const line = (await client.lines(1))[0]!;
  if (line.startsWith("$") && line !== "$-1") await client.bytes(Number(line.slice(1)) + 2);
  return line;
}

/** Fields of Redis 7's INFO that redis_exporter and Grafana's Redis dashboards read, by section. */
const REDIS_FIELDS: Record<string, string[]> = {
  Server: ["redis_version", "redis_git_sha1", "redis_mode", "os", "arch_bits", "multiplexing_api", "process_id", "run_id", "tcp_port", "uptime_in_seconds", "uptime_in_days", "hz", "configured_hz", "lru_clock", "executable", "config_file"],
  Clients: ["connected_clients", "maxclients", "client_recent_max_input_buffer", "client_recent_max_output_buffer", "blocked_clients", "tracking_clients", "clients_in_timeout_table"],
  Memory: ["used_memory", "used_memory_human", "used_memory_rss", "used_memory_rss_human", "used_memory_peak", "used_memory_peak_human", "used_memory_peak_perc", "used_memory_dataset", "total_system_memory", "used_memory_lua", "maxmemory", "maxmemory_human", "maxmemory_policy", "mem_fragmentation_ratio", "mem_fragmentation_bytes", "mem_allocator"],
  Persistence: ["loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time", "rdb_last_bgsave_status", "aof_enabled", "aof_rewrite_in_progress", "aof_rewrite_scheduled", "aof_last_rewrite_time_sec", "aof_current_rewrite_time_sec", "aof_last_bgrewrite_status", "aof_last_write_status", "aof_current_size", "aof_base_size", "aof_buffer_length", "aof_delayed_fsync"],
  Stats: ["total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec", "total_net_input_bytes", "total_net_output_bytes", "instantaneous_input_kbps", "instantaneous_output_kbps", "rejected_connections", "sync_full", "sync_partial_ok", "sync_partial_err", "expired_keys", "expire_cycle_cpu_milliseconds", "evicted_keys", "keyspace_hits", "keyspace_misses", "pubsub_channels", "pubsub_patterns", "latest_fork_usec", "total_forks", "unexpected_error_replies", "total_error_replies", "total_reads_processed", "total_writes_processed", "client_query_buffer_limit_disconnections", "client_output_buffer_limit_disconnections", "acl_access_denied_auth"],
  Replication: ["role", "connected_slaves", "master_replid", "master_repl_offset", "repl_backlog_active", "repl_backlog_size"],
  CPU: ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"],
  Cluster: ["cluster_enabled"],
};
const DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"];
const ALL_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"];

describe("INFO sections", () => {
  test("default, all, everything, lists of sections in Redis's order, unknown names", async () => {
    const server = await startServer();
    const c = await RawClient.connect(server.port);
    try {
      await send(c, "SET", "k", "v");
      expect((await info(c)).sections).toEqual(DEFAULT_SECTIONS);
      expect((await info(c, "default")).sections).toEqual(DEFAULT_SECTIONS);
      expect((await info(c, "all")).sections).toEqual(ALL_SECTIONS);
      expect((await info(c, "EVERYTHING")).sections).toEqual(ALL_SECTIONS);
      // Asked in any order, printed in Redis's.
      expect((await info(c, "keyspace", "server")).sections).toEqual(["Server", "Keyspace"]);
      expect((await info(c, "default", "commandstats")).sections).toEqual([...DEFAULT_SECTIONS.slice(0, 8), "Commandstats", ...DEFAULT_SECTIONS.slice(8)]);
      expect((await info(c, "CPU")).sections).toEqual(["CPU"]);
      const unknown = await info(c, "nonsense");
      expect(unknown.sections).toEqual([]);
      expect(unknown.fields.size).toBe(0);
    } finally {
      c.close();
      await server.stop();
    }
  });

  test("every field redis_exporter reads is present, with Redis's formats", async () => {
    const server = await startServer(["--maxclients", "123", "--maxmemory", "64mb"]);
    const c = await RawClient.connect(server.port);
    try {
      const all = await info(c, "everything");
      for (const [section, fields] of Object.entries(REDIS_FIELDS)) {
        for (const field of fields) expect({ section, field, present: all.fields.has(field) }).toEqual({ section, field, present: true });
      }
      expect(all.fields.get("redis_version")).toMatch(/^7\.\d+\.\d+$/);
      expect(all.fields.get("redis_mode")).toBe("standalone");
      expect(all.fields.get("run_id")).toMatch(/^[0-9a-f]{40}$/);
      expect(all.fields.get("role")).toBe("master");
      expect(num(all, "maxclients")).toBe(123);
      expect(num(all, "maxmemory")).toBe(64 * 1024 * 1024);
      expect(all.fields.get("maxmemory_human")).toBe("64.00M");
      expect(all.fields.get("maxmemory_policy")).toBe("allkeys-lru");
      expect(all.fields.get("used_memory_human")).toMatch(/^\d+(\.\d\d[KMGT])?B?$|^\d+\.\d\d[KMGT]$/);
      expect(all.fields.get("used_memory_peak_perc")).toMatch(/^\d+\.\d\d%$/);
      expect(all.fields.get("used_cpu_user")).toMatch(/^\d+\.\d{6}$/);
      expect(all.fields.get("mem_fragmentation_ratio")).toMatch(/^\d+(\.\d\d)?$/);
      expect(all.fields.get("instantaneous_input_kbps")).toMatch(/^\d+\.\d\d$/);
      expect(all.fields.get("aof_last_write_status")).toBe("ok");
      expect(num(all, "aof_enabled")).toBe(1);
      expect(num(all, "loading")).toBe(0);
      // Every value is one line: `name:value`, no spaces in names.
      for (const name of all.fields.keys()) expect(name).toMatch(/^[a-z0-9_.|-]+$/i);
    } finally {
      c.close();
      await server.stop();
    }
  });
});

describe("INFO figures match what happened", () => {
  test("server: pid, port, executable, config file, uptime", async () => {
    const configFile = join(tmp, "info.conf");
    writeFileSync(configFile, "hz 20\n");
    const server = await startServer([], { configFile });
    const c = await RawClient.connect(server.port);
    try {
      const s = await info(c, "server");
      expect(num(s, "process_id")).toBe(server.proc.pid);
      expect(num(s, "tcp_port")).toBe(server.port);
      expect(s.fields.get("config_file")).toBe(resolve(configFile));
      expect(num(s, "hz")).toBe(20);
      expect(s.fields.get("executable")).toBe(serverCommand()[0]!);
      expect(num(s, "uptime_in_seconds")).toBeGreaterThanOrEqual(0);
      expect(num(s, "uptime_in_seconds")).toBeLessThan(60);
      expect(Math.abs(num(s, "server_time_usec") / 1000 - Date.now())).toBeLessThan(5000);
    } finally {
      c.close();
      await server.stop();
    }
  });

  test("stats: commands, hits and misses, bytes in and out, reads, errors, connections", async () => {
    const server = await startServer(["--maxclients", "3"]);
    const c = await RawClient.connect(server.port);
    try {
      const before = await info(c, "everything");
      const requests = [resp("SET", "a", "1"), resp("GET", "a"), resp("GET", "missing"), resp("NOSUCH", "x"), resp("INCR", "a"), resp("GET")];
      let sentBytes = 0;
      let received = 0;
      for (const request of requests) {
        c.write(request);
        sentBytes += request.length;
        const line = (await c.lines(1))[0]!;
        received += line.length + 2;
        if (line.startsWith("$") && line !== "$-1") received += (await c.bytes(Number(line.slice(1)) + 2)).length;
      }
      // The wrong type: a failed call, not a rejected one.
      await send(c, "SET", "list-ish", "x");
      const wrongType = resp("SET", "a", "1", "NX", "XX");
      c.write(wrongType);
      const syntax = (await c.lines(1))[0]!;
      expect(syntax).toBe("-ERR syntax error");
      sentBytes += resp("SET", "list-ish", "x").length + wrongType.length;
      received += "+OK\r\n".length + syntax.length + 2;

      const infoRequest = resp("INFO", "everything");
      const after = await info(c, "everything");
      // Commands run between the two INFOs (the unknown one and the arity error are not run), and the first INFO itself.
      expect(num(after, "total_commands_processed") - num(before, "total_commands_processed")).toBe(7);
      expect(num(after, "keyspace_hits") - num(before, "keyspace_hits")).toBe(1);
      expect(num(after, "keyspace_misses") - num(before, "keyspace_misses")).toBe(1);
      // Bytes: everything sent after the first INFO, the second INFO's request included.
      expect(num(after, "total_net_input_bytes") - num(before, "total_net_input_bytes")).toBe(sentBytes + infoRequest.length);
      // Bytes out: the first INFO's reply and every reply since.
      expect(num(after, "total_net_output_bytes") - num(before, "total_net_output_bytes")).toBe(before.replyBytes + received);
      expect(num(after, "total_reads_processed") - num(before, "total_reads_processed")).toBe(requests.length + 3);
      expect(num(after, "total_error_replies") - num(before, "total_error_replies")).toBe(3);
      expect(pairs(after.fields.get("errorstat_ERR")).count).toBe(String(3 + Number(pairs(before.fields.get("errorstat_ERR")).count ?? 0)));

      const set = pairs(after.fields.get("cmdstat_set"));
      expect(set.calls).toBe("3");
      expect(set.failed_calls).toBe("1");
      expect(set.rejected_calls).toBe("0");
      expect(Number(set.usec_per_call)).toBeCloseTo(Number(set.usec) / 3, 0);
      const get = pairs(after.fields.get("cmdstat_get"));
      expect(get).toMatchObject({ calls: "2", rejected_calls: "1", failed_calls: "0" });
      expect(pairs(after.fields.get("cmdstat_incr"))).toMatchObject({ calls: "1", failed_calls: "0" });
      expect(after.fields.has("cmdstat_nosuch")).toBe(false);
      const latency = pairs(after.fields.get("latency_percentiles_usec_set"));
      const [p50, p99, p999] = [Number(latency.p50), Number(latency["p99"]), Number(latency["p99.9"])];
      expect(p50).toBeGreaterThan(0);
      expect(p50).toBeLessThanOrEqual(p99);
      expect(p99).toBeLessThanOrEqual(p999);
      expect(Math.log2(p999) % 1).toBe(0); // a histogram bucket's bound

      // Connections: two more, then one past maxclients (3) is refused.
      const connectionsBefore = num(after, "total_connections_received");
      const d = await RawClient.connect(server.port);
      const e = await RawClient.connect(server.port);
      const refused = await RawClient.connect(server.port);
      await refused.waitFor((r) => r.includes("max number of clients"));
      const clients = await info(c, "clients", "stats");
      expect(num(clients, "connected_clients")).toBe(3);
      expect(num(clients, "total_connections_received")).toBe(connectionsBefore + 3);
      expect(num(clients, "rejected_connections")).toBe(1);
      for (const x of [d, e, refused]) x.close();
    } finally {
      c.close();
      await server.stop();
    }
  });

  test("keyspace, expiry and eviction figures; persistence sizes match the file", async () => {
    const server = await startServer(["--maxmemory", "1mb", "--hz", "100"]);
    const c = await RawClient.connect(server.port);
    try {
      for (let i = 0; i < 20; i++) await send(c, "SET", `short:${i}`, "x", "PX", "30");
      for (let i = 0; i < 5; i++) await send(c, "SET", `long:${i}`, "x", "EX", "1000");
      await send(c, "SET", "plain", "x");
      let ks = await info(c, "keyspace");
      const db0 = pairs(ks.fields.get("db0"));
      expect(db0.keys).toBe("26");
      expect(db0.expires).toBe("25");
      await Bun.sleep(300);
      const expired = await info(c, "stats", "keyspace");
      expect(num(expired, "expired_keys")).toBe(20);
      const left = pairs(expired.fields.get("db0"));
      expect(left).toMatchObject({ keys: "6", expires: "5" });
      // avg_ttl: milliseconds, close to 1000 s for what is left with a TTL.
      expect(Number(left.avg_ttl)).toBeGreaterThan(990_000);
      expect(Number(left.avg_ttl)).toBeLessThanOrEqual(1_000_000);

      // Eviction under a 1 MB limit: every key written is either there or evicted.
      const value = "v".repeat(1000);
      for (let i = 0; i < 3000; i += 100) {
        let batch = "";
        for (let j = i; j < i + 100; j++) batch += resp("SET", `big:${j}`, value);
        c.write(batch);
        await c.lines(100);
      }
      c.write(resp("DBSIZE"));
      const dbsize = Number((await c.lines(1))[0]!.slice(1));
      const evicted = await info(c, "stats", "memory", "persistence");
      expect(num(evicted, "evicted_keys")).toBe(3000 + 6 - dbsize);
      // Eviction runs before each write, so the last write may leave it one entry over.
      expect(num(evicted, "used_memory")).toBeLessThanOrEqual(1024 * 1024 + 2048);
      expect(num(evicted, "used_memory_peak")).toBeGreaterThanOrEqual(num(evicted, "used_memory"));
      // Replies wait for the AOF write, so the file is at least as long as INFO says once we have them.
      expect(num(evicted, "aof_current_size")).toBe(statSync(join(server.dir, "appendonly.aof")).size);
    } finally {
      c.close();
      await server.stop();
    }
  });
});

describe("CONFIG RESETSTAT", () => {
  test("resets what Redis resets: counters, commandstats, errorstats, peak memory; keeps keys, uptime and config", async () => {
    const server = await startServer();
    const c = await RawClient.connect(server.port);
    try {
      await send(c, "SET", "a", "1");
      await send(c, "GET", "a");
      await send(c, "GET", "nope");
      await send(c, "NOSUCH");
      const before = await info(c, "everything");
      expect(num(before, "total_commands_processed")).toBeGreaterThan(0);
      expect(await send(c, "CONFIG", "RESETSTAT")).toBe("+OK");
      const after = await info(c, "everything");
      for (const field of ["keyspace_hits", "keyspace_misses", "total_error_replies", "expired_keys", "evicted_keys", "rejected_connections", "total_connections_received", "acl_access_denied_auth"]) {
        expect({ field, value: num(after, field) }).toEqual({ field, value: 0 });
      }
      // Only what ran since: CONFIG RESETSTAT and nothing else (the INFO itself counts after it replies).
      expect(num(after, "total_commands_processed")).toBe(1);
      expect([...after.fields.keys()].filter((k) => k.startsWith("cmdstat_"))).toEqual(["cmdstat_config"]);
      expect([...after.fields.keys()].filter((k) => k.startsWith("errorstat_"))).toEqual([]);
      // The INFO request after the reset, and the OK before it.
      expect(num(after, "total_net_input_bytes")).toBe(resp("INFO", "everything").length);
      expect(num(after, "total_net_output_bytes")).toBe("+OK\r\n".length);
      expect(pairs(after.fields.get("db0")).keys).toBe("1");
      expect(num(after, "uptime_in_seconds")).toBeGreaterThanOrEqual(num(before, "uptime_in_seconds"));
      expect(after.fields.get("run_id")).toBe(before.fields.get("run_id"));
    } finally {
      c.close();
      await server.stop();
    }
  });
});

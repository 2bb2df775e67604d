import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type Redis from "ioredis";
import { aofRecords, connectOnce, logContains, ready, waitUntil } from "../helpers/aof.ts";
import { parseExposition, type ParsedExposition } from "../helpers/prometheus.ts";
import { freePort, makeDataDir, runToExit, serverCommand, startServer } from "../helpers/server.ts";
import { fill, mountSmallTmpfs, unmount } from "../helpers/tmpfs.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The metrics listener end to end: /metrics scraped with fetch and parsed
 * strictly, its figures checked against INFO read over RESP at the same
 * moment; /healthz while serving, while the AOF loads and while the disk is
 * full; what is bound by default; a port that is taken.
 */

async function scrape(port: number, host = "127.0.0.1"): Promise<{ response: Response; text: string; parsed: ParsedExposition }> {
  const response = await fetch(`http://${host}:${port}/metrics`);
  const text = await response.text();
  return { response, text, parsed: parseExposition(text) };
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** `a=1,b=2` as numbers. */
function subFields(value: string): Record<string, number> {
  return Object.fromEntries(value.split(",").map((p) => [p.slice(0, p.indexOf("=")), Number(p.slice(p.indexOf("=") + 1))]));
}

/** The TCP ports process `pid` listens on, with their addresses (from /proc: its sockets in LISTEN state). */
function listeningSockets(pid: number): { address: string; port: number }[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const found: { address: string; port: number }[] = [];
  for (const file of ["tcp", "tcp6"]) {
    let table: string;
    try {
      table = readFileSync(`/proc/${pid}/net/${file}`, "latin1");
    } catch {
      continue;
    }
    for (const row of table.split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A" || !inodes.has(cols[9]!)) continue;
      const [hex, portHex] = cols[1]!.split(":") as [string, string];
      found.push({ address: hexAddress(hex), port: parseInt(portHex, 16) });
    }
  }
  return found.sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
}

/** /proc/net/tcp's little-endian hex addresses. */
function hexAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
  const words: string[] = [];
  for (let w = 0; w < 4; w++) {
    const le = hex.slice(w * 8, w * 8 + 8);
    const be = le.match(/../g)!.reverse().join("");
    words.push(be.slice(0, 4), be.slice(4, 8));
  }
  return words.map((g) => parseInt(g, 16).toString(16)).join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

async function errorOf(reply: Promise<unknown>): Promise<string> {
  return reply.then(
    (r) => `no error: ${String(r)}`,
    (e: Error) => e.message,
  );
}

describe("/metrics", () => {
  test("is Prometheus text whose figures are INFO's, with latency histograms per command", async () => {
    const port = await freePort();
    const server = await startServer(["--metrics-port", String(port)]);
    const c = await ready(connectOnce(server.port));
    const other = await ready(connectOnce(server.port));
    try {
      await c.set("k1", "v");
      await c.set("k2", "v", "EX", 100);
      await c.set("k3", "3");
      expect(await c.get("k1")).toBe("v");
      expect(await c.get("missing")).toBeNull();
      expect(await errorOf(c.incr("k1"))).toBe("ERR value is not an integer or out of range"); // failed call
      expect(await errorOf(c.call("get"))).toBe("ERR wrong number of arguments for 'get' command"); // rejected call
      expect(await errorOf(c.call("nosuchcommand", "a"))).toStartWith("ERR unknown command 'nosuchcommand'");
      const dbsize = await c.dbsize();

      // A scrape, INFO over RESP, a scrape: nothing else runs meanwhile, and a scrape runs no
      // command, so every figure INFO shows equals both scrapes' unless INFO itself moves it
      // (its own call, its request and reply bytes): then it lies between them.
      const first = await scrape(port);
      const info = infoFields(await c.info("everything"));
      const { response, parsed } = await scrape(port);
      expect(first.response.status).toBe(200);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");

      const v = (name: string, labels: Record<string, string> = {}) => parsed.value(name, labels);
      const num = (field: string) => Number(info.get(field));
      const same = (name: string, expected: number, labels: Record<string, string> = {}) => {
        expect({ name, labels, before: first.parsed.value(name, labels), after: v(name, labels) }).toEqual({ name, labels, before: expected, after: expected });
      };
      const between = (name: string, expected: number, labels: Record<string, string> = {}) => {
        const [before, after] = [first.parsed.value(name, labels)!, v(name, labels)!];
        expect({ name, labels, inRange: before <= expected && expected <= after }).toEqual({ name, labels, inRange: true });
      };
      expect(v("redis_up")).toBe(1);
      same("redis_db_keys", dbsize, { db: "db0" });
      same("redis_db_keys", subFields(info.get("db0")!).keys!, { db: "db0" });
      same("redis_db_keys_expiring", 1, { db: "db0" });
      same("redis_connected_clients", num("connected_clients"));
      expect(v("redis_connected_clients")).toBe(2);
      between("redis_commands_processed_total", num("total_commands_processed"));
      expect(v("redis_commands_processed_total")! - first.parsed.value("redis_commands_processed_total")!).toBe(1); // INFO
      same("redis_connections_received_total", num("total_connections_received"));
      same("redis_keyspace_hits_total", num("keyspace_hits"));
      same("redis_keyspace_misses_total", num("keyspace_misses"));
      expect(v("redis_keyspace_misses_total")).toBeGreaterThanOrEqual(1);
      between("redis_net_input_bytes_total", num("total_net_input_bytes"));
      between("redis_net_output_bytes_total", num("total_net_output_bytes"));
      expect(v("redis_net_output_bytes_total")).toBeGreaterThan(first.parsed.value("redis_net_output_bytes_total")!); // INFO's reply
      same("redis_total_error_replies", num("total_error_replies"));
      expect(v("redis_memory_used_bytes")).toBe(num("used_memory"));
      expect(v("redis_memory_max_bytes")).toBe(num("maxmemory"));
      expect(v("redis_config_maxclients")).toBe(10000);
      expect(v("redis_max_clients")).toBe(num("maxclients"));
      expect(v("redis_aof_enabled")).toBe(1);
      expect(v("redis_loading_dump_file")).toBe(0);
      expect(v("redis_aof_last_write_status")).toBe(1);
      expect(v("redis_process_id")).toBe(server.proc.pid);
      expect(parsed.typeOf("redis_commands_processed_total")).toBe("counter");
      expect(parsed.typeOf("redis_connected_clients")).toBe("gauge");
      const uptime = v("redis_uptime_in_seconds")!;
      expect(Math.abs(v("redis_start_time_seconds")! + uptime - Date.now() / 1000)).toBeLessThan(3);
      const instance = parsed.series("redis_instance_info")[0]!;
      expect(instance.labels.redis_version).toBe(info.get("redis_version")!);
      expect(instance.labels.role).toBe("master");
      expect(instance.labels.tcp_port).toBe(String(server.port));

      // Per command: every cmdstat_ line of INFO is a series with the same figures, and no other.
      const cmdstats = [...info].filter(([k]) => k.startsWith("cmdstat_")).map(([k, value]) => [k.slice(8), subFields(value)] as const);
      expect(cmdstats.map(([cmd]) => cmd)).toContain("set");
      expect(parsed.series("redis_commands_total").map((s) => s.labels.cmd).sort()).toEqual(cmdstats.map(([cmd]) => cmd).sort());
      for (const [cmd, stat] of cmdstats) {
        const check = cmd === "info" ? between : same;
        check("redis_commands_total", stat.calls!, { cmd });
        check("redis_commands_rejected_calls_total", stat.rejected_calls!, { cmd });
        check("redis_commands_failed_calls_total", stat.failed_calls!, { cmd });
        // The histograms come from the same counters.
        check("atomickv_command_duration_seconds_count", stat.calls!, { cmd });
        check("atomickv_command_duration_seconds_bucket", stat.calls!, { cmd, le: "+Inf" });
        check("redis_commands_latencies_usec_count", stat.calls!, { cmd });
        expect(v("atomickv_command_duration_seconds_count", { cmd })).toBe(v("redis_commands_total", { cmd })!);
        if (cmd !== "info") {
          expect(v("redis_commands_duration_seconds_total", { cmd })).toBeCloseTo(stat.usec! / 1e6, 6);
          expect(v("atomickv_command_duration_seconds_sum", { cmd })).toBeCloseTo(stat.usec! / 1e6, 5);
        }
      }
      expect(v("redis_commands_total", { cmd: "set" })).toBe(3);
      expect(v("redis_commands_total", { cmd: "get" })).toBe(2);
      expect(v("redis_commands_rejected_calls_total", { cmd: "get" })).toBe(1);
      expect(v("redis_commands_failed_calls_total", { cmd: "incr" })).toBe(1);
      expect(parsed.typeOf("atomickv_command_duration_seconds")).toBe("histogram");
      expect(parsed.series("atomickv_command_duration_seconds_bucket").filter((s) => s.labels.cmd === "set")).toHaveLength(25);

      // Errors by code, as INFO errorstats has them.
      const errorstats = [...info].filter(([k]) => k.startsWith("errorstat_"));
      expect(parsed.series("redis_errors_total")).toHaveLength(errorstats.length);
      for (const [key, value] of errorstats) same("redis_errors_total", subFields(value).count!, { err: key.slice(10) });
      expect(v("redis_errors_total", { err: "ERR" })).toBeGreaterThanOrEqual(3);

      // A scrape changes no figure a scrape reports, apart from time and memory.
      const again = (await scrape(port)).parsed;
      for (const name of ["redis_commands_processed_total", "redis_connected_clients", "redis_net_input_bytes_total", "redis_net_output_bytes_total", "redis_connections_received_total"]) {
        expect({ name, value: again.value(name) }).toEqual({ name, value: v(name) });
      }

      // HEAD answers like GET without a body.
      const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe("");
    } finally {
      c.disconnect();
      other.disconnect();
      await server.stop();
    }
  });

  test("other paths are 404, other methods 405; /healthz is 200 ok while serving", async () => {
    const port = await freePort();
    const server = await startServer(["--metrics-port", String(port)]);
    try {
      const base = `http://127.0.0.1:${port}`;
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.text()).toBe("ok\n");
      for (const path of ["/", "/metrics/", "/health", "/favicon.ico"]) {
        const r = await fetch(base + path);
        expect({ path, status: r.status }).toEqual({ path, status: 404 });
        await r.text();
      }
      for (const method of ["POST", "PUT", "DELETE"]) {
        for (const path of ["/metrics", "/healthz"]) {
          const r = await fetch(base + path, { method, body: method === "DELETE" ? undefined : "x" });
          expect({ method, path, status: r.status }).toEqual({ method, path, status: 405 });
          expect(r.headers.get("allow")).toBe("GET, HEAD");
          await r.text();
        }
      }
      // Still serving afterwards.
      expect((await scrape(port)).response.status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe("/healthz", () => {
  test("is 503 while the AOF loads, 200 once it is loaded; /metrics says loading meanwhile", async () => {
    const dir = makeDataDir();
    try {
      // About 60 MB of records: long enough to be seen loading.
      const value = "v".repeat(200);
      const chunks: Buffer[] = [];
      for (let i = 0; i < 250_000; i++) chunks.push(aofRecords(["SET", `key:${i}`, value]));
      writeFileSync(join(dir, "appendonly.aof"), Buffer.concat(chunks));
      const port = await freePort();
      const metricsPort = await freePort();
      const proc = Bun.spawn([...serverCommand(), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--metrics-port", String(metricsPort)], {
        stdout: "ignore",
        stderr: "ignore",
      });
      try {
        let first: Response | null = null;
        const deadline = Date.now() + 10_000;
        while (first === null && Date.now() < deadline) {
          first = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).catch(() => null);
          if (first === null) await Bun.sleep(5);
        }
        expect(first).not.toBeNull();
        expect(first!.status).toBe(503);
        expect(await first!.text()).toBe("LOADING Redis is loading the dataset in memory\n");
        const { parsed } = await scrape(metricsPort);
        expect(parsed.value("redis_loading_dump_file")).toBe(1);
        let status = 503;
        const loaded = Date.now() + 30_000;
        while (status === 503 && Date.now() < loaded) {
          const r = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
          status = r.status;
          await r.text();
          if (status === 503) await Bun.sleep(20);
        }
        expect(status).toBe(200);
        const after = (await scrape(metricsPort)).parsed;
        expect(after.value("redis_loading_dump_file")).toBe(0);
        expect(after.value("redis_db_keys", { db: "db0" })).toBe(250_000);
      } finally {
        proc.kill("SIGTERM");
        await proc.exited;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("is 503 while writes are refused (MISCONF: a full disk), 200 once writing resumes", async () => {
    // A real full disk: a 512 KiB tmpfs filled by another file (as test/e2e/disk-full.test.ts). Needs root.
    const dir = mountSmallTmpfs();
    if (dir === null) {
      console.warn("skipped: cannot mount a tmpfs here (needs root); /healthz under MISCONF was not tested");
      return;
    }
    try {
      const metricsPort = await freePort();
      const server = await startServer(["--metrics-port", String(metricsPort)], { dir });
      const c = await ready(connectOnce(server.port));
      const health = async () => {
        const r = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
        return { status: r.status, body: await r.text() };
      };
      try {
        await c.set("before", "1");
        expect(await health()).toEqual({ status: 200, body: "ok\n" });
        fill(join(dir, "filler"));
        const held = c.set("during", "x".repeat(8192));
        await logContains(server, "Error writing to the AOF file: No space left on device");
        expect(await health()).toEqual({ status: 503, body: "MISCONF Errors writing to the AOF file: No space left on device\n" });
        expect((await scrape(metricsPort)).parsed.value("redis_aof_last_write_status")).toBe(0);
        unlinkSync(join(dir, "filler"));
        expect(await held).toBe("OK");
        await waitUntil(async () => (await health()).status === 200, 10_000, "/healthz to recover");
        expect((await scrape(metricsPort)).parsed.value("redis_aof_last_write_status")).toBe(1);
      } finally {
        c.disconnect();
        await server.kill("SIGKILL");
      }
    } finally {
      unmount(dir);
    }
  });
});

describe("the listener", () => {
  test("is off by default: the server listens on its RESP port only", async () => {
    const server = await startServer();
    const c: Redis = await ready(connectOnce(server.port));
    try {
      expect(await c.config("GET", "metrics-port")).toEqual(["metrics-port", "0"]);
      expect(listeningSockets(server.proc.pid)).toEqual([{ address: "127.0.0.1", port: server.port }]);
      expect(server.logs()).not.toContain("Metrics on");
    } finally {
      c.disconnect();
      await server.stop();
    }
  });

  test("binds 127.0.0.1 by default, and each metrics-bind address when given", async () => {
    const port = await freePort();
    const server = await startServer(["--metrics-port", String(port)]);
    try {
      expect(listeningSockets(server.proc.pid)).toEqual(
        [
          { address: "127.0.0.1", port: server.port },
          { address: "127.0.0.1", port },
        ].sort((a, b) => a.port - b.port),
      );
      await logContains(server, `Metrics on http://127.0.0.1:${port}/metrics`);
    } finally {
      await server.stop();
    }

    // Two addresses (IPv6 loopback where the host has it).
    const v6 = await Promise.resolve()
      .then(() => {
        const probe = Bun.listen({ hostname: "::1", port: 0, socket: { data() {} } });
        probe.stop(true);
        return true;
      })
      .catch(() => false);
    if (!v6) {
      console.warn("skipped: no IPv6 loopback; two metrics-bind addresses not tested");
      return;
    }
    const port2 = await freePort();
    const both = await startServer(["--metrics-port", String(port2), "--metrics-bind", "127.0.0.1 ::1"]);
    try {
      expect(listeningSockets(both.proc.pid).filter((s) => s.port === port2).map((s) => s.address).sort()).toEqual(["127.0.0.1", "::1"]);
      expect((await scrape(port2, "127.0.0.1")).response.status).toBe(200);
      expect((await scrape(port2, "[::1]")).response.status).toBe(200);
      await logContains(both, `Metrics on http://127.0.0.1:${port2}/metrics, http://[::1]:${port2}/metrics`);
    } finally {
      await both.stop();
    }
  });

  test("a metrics port in use stops startup with one line naming metrics-port (an absent address: metrics-bind)", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const dir = makeDataDir();
    try {
      const port = await freePort();
      const result = await runToExit(["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--metrics-port", String(taken.port)]);
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split("\n");
      expect(lines.filter((l) => l.includes("metrics-port"))).toEqual([
        `atomic_server: invalid value '${taken.port}' for 'metrics-port': could not listen on 127.0.0.1:${taken.port}: address already in use (EADDRINUSE)`,
      ]);
      expect(lines.at(-1)).toContain("'metrics-port'");

      // An address this host does not have names metrics-bind (192.0.2.1 is TEST-NET-1, documentation only).
      const metricsPort = await freePort();
      const absent = await runToExit(["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--metrics-port", String(metricsPort), "--metrics-bind", "127.0.0.1 192.0.2.1"]);
      expect(absent.code).toBe(1);
      expect(absent.stderr.trimEnd().split("\n").filter((l) => l.includes("metrics-"))).toEqual([
        `atomic_server: invalid value '192.0.2.1' for 'metrics-bind': could not listen on 192.0.2.1:${metricsPort}: address not available on this host (EADDRNOTAVAIL)`,
      ]);
    } finally {
      taken.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

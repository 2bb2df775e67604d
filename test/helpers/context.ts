/**
 * A command context without a server or sockets, for unit tests of the
 * command layer and for bench/micro.ts.
 */
import { WatchedKeys } from "../../src/commands/transactions.ts";
import type { ClientState, CommandContext, ServerState } from "../../src/commands/types.ts";
import { Config } from "../../src/config/config.ts";
import { OutputBuffer, ReplyWriter } from "../../src/protocol/reply.ts";
import { detachedClient } from "../../src/server/client.ts";
import { freshStats } from "../../src/server/server.ts";
import { LatencyMonitor } from "../../src/stats/latency-monitor.ts";
import { SlowLog } from "../../src/stats/slowlog.ts";
import { Keyspace } from "../../src/store/keyspace.ts";


/** Server state with no network behind it; `warnings` collects what would be logged. */
export function fakeServer(config: Config): ServerState & { warnings: string[] } {
  const warnings: string[] = [];
  const stats = freshStats();
  return {
    config,
    stats,
    startedAt: Date.now(),
    runId: "0".repeat(40),
    version: "bench",
    port: 0,
    clients: () => [],
    killClient: () => false,
    shutdown: () => {
      throw new Error("SHUTDOWN without a server");
    },
    resetStats: () => {},
    warnings,
    warn: (message) => {
      warnings.push(message);
    },
    checkPassword: () => true,
    commandClock: Bun.nanoseconds(),
    slowlog: new SlowLog(128),
    slowlogThresholdUs: 10_000,
    slowCommandUs: 10_000,
    latency: new LatencyMonitor(0),
    monitorCount: 0,
    commandStats: () => [],
    feedMonitors: () => {},
    startMonitor: () => {
      throw new Error("MONITOR without a server");
    },
    loading: false,
    writeError: null,
    propagate: () => {},
    propagateBytes: () => {},
    runTransaction: (run) => run(),
    watchedKeys: new WatchedKeys(),
    persistence: {
      enabled: false,
      rewriteInProgress: false,
      rewriteScheduled: false,
      lastRewriteOk: true,
      lastRewriteMs: -1,
      currentRewriteMs: -1,
      rewrites: 0,
      rewriteFailures: 0,
      currentSize: 0,
      baseSize: 0,
      pendingBytes: 0,
      lastWriteOk: true,
      fsyncPolicy: "everysec",
      startRewrite: () => "ERR no persistence without a server",
    },
  };
}

export function fakeClient(): ClientState {
  return detachedClient(1, "127.0.0.1:50000", "127.0.0.1:6379");
}

/** A command context over a fresh keyspace; replies accumulate in `out`. */
export function makeContext(): CommandContext & { out: OutputBuffer; server: ReturnType<typeof fakeServer> } {
  const out = new OutputBuffer();
  const db = new Keyspace();
  db.now = Date.now();
  return { out, reply: new ReplyWriter(out), db, client: fakeClient(), server: fakeServer(new Config()), effect: null };
}

import { commandStats } from "../commands/table.ts";
import { Errors } from "../commands/types.ts";
import { EXPOSITION_CONTENT_TYPE, renderMetrics } from "../stats/prometheus.ts";
import type { Logger } from "../util/log.ts";
import type { Server } from "./server.ts";

/**
 * The optional HTTP listener (`metrics-port`, off by default), one per
 * `metrics-bind` address:
 *
 * - `GET /metrics`: Prometheus's text format, built on each scrape from
 *   INFO's text (the figures INFO shows, under redis_exporter's names) and
 *   the per-command latency histograms. Nothing is kept or counted for it
 *   between scrapes, so the command path pays nothing.
 * - `GET /healthz`: 200 `ok` while serving; 503 and the reason while the AOF
 *   loads or while writes are refused (MISCONF), for load balancers and
 *   orchestrators.
 *
 * Other paths get 404, other methods 405. It is plain HTTP without a
 * password: keep it on loopback or a private network.
 */

export interface MetricsServer {
  /** The bound ports, one per address. */
  readonly ports: number[];
  /** `http://host:port/` for each address. */
  readonly urls: string[];
  stop(): void;
}

const TEXT = "text/plain; charset=utf-8";

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": TEXT, ...headers } });
}

/** Why the server is not healthy, or null when it is. */
export function unhealthyReason(server: Pick<Server, "loading" | "writeError">): string | null {
  if (server.loading) return Errors.loading;
  if (server.writeError !== null) return Errors.misconf(server.writeError);
  return null;
}

/**
 * Listens on every address; throws with a one-line reason naming the option
 * (`metrics-port`; `metrics-bind` for an address this host lacks) when one
 * cannot be bound, after closing the ones already bound.
 */
export function startMetricsServer(server: Server, hostnames: readonly string[], port: number, log: Logger): MetricsServer {
  const listeners: ReturnType<typeof Bun.serve>[] = [];

  const metrics = (): Response => {
    let body: string;
    try {
      const { maxclients, maxmemory } = server.config.values;
      body = renderMetrics({ info: server.info(["everything"]), commandStats: commandStats(), config: { maxclients, maxmemory }, nowMs: Date.now() });
    } catch (err) {
      log.warning(`/metrics failed: ${(err as Error).stack ?? err}`);
      return text(500, `could not render the metrics: ${(err as Error).message}\n`);
    }
    return new Response(body, { headers: { "Content-Type": EXPOSITION_CONTENT_TYPE } });
  };

  const fetch = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (path !== "/metrics" && path !== "/healthz") return text(404, "not found: the paths are /metrics and /healthz\n");
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed: use GET\n", { Allow: "GET, HEAD" });
    if (path === "/metrics") return metrics();
    const reason = unhealthyReason(server);
    return reason === null ? text(200, "ok\n") : text(503, reason + "\n");
  };

  for (const hostname of hostnames) {
    try {
      listeners.push(
        Bun.serve({
          hostname,
          port,
          development: false,
          maxRequestBodySize: 64 * 1024,
          fetch,
          error(err) {
            log.warning(`metrics listener: ${err.stack ?? err.message}`);
            return text(500, "internal error\n");
          },
        }),
      );
    } catch (err) {
      for (const listener of listeners) listener.stop(true);
      const code = (err as { code?: unknown }).code;
      const where = `could not listen on ${formatHost(hostname)}:${port}`;
      // Bun's message ("Failed to start server. Is port … in use?") guesses; the code says.
      if (code === "EADDRNOTAVAIL") throw new Error(`invalid value '${hostname}' for 'metrics-bind': ${where}: address not available on this host (EADDRNOTAVAIL)`);
      const reason = code === "EADDRINUSE" ? "address already in use (EADDRINUSE)" : typeof code === "string" ? code : (err as Error).message;
      throw new Error(`invalid value '${port}' for 'metrics-port': ${where}: ${reason}`);
    }
  }
  const urls = listeners.map((l) => `http://${formatHost(l.hostname ?? "")}:${l.port}/`);
  log.notice(`Metrics on ${urls.map((u) => `${u}metrics`).join(", ")} (health: /healthz)`);
  return {
    ports: listeners.map((l) => l.port ?? port),
    urls,
    stop() {
      for (const listener of listeners) listener.stop(true);
      listeners.length = 0;
    },
  };
}

function formatHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

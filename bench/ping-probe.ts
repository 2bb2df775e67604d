/**
 * A PING probe: one connection, one PING in flight at a time, each sent
 * `intervalMs` after the previous one was sent (at once if it took longer).
 * A server that stalls holds the PING in flight or the next one, so the
 * longest wait plus the interval bounds its longest stall from above (a wait
 * also holds the queueing behind other clients). It records when each PING
 * was sent and answered, so a benchmark can read the waits of any stretch of
 * its run.
 */
import { HOST, percentile, RespConnection, withTimeout } from "./lib.ts";

export interface PingStats {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Waits longer than the `overMs` given to pingStats. */
  overGoal: number;
}

export function pingStats(waits: readonly number[], overMs: number): PingStats {
  return {
    count: waits.length,
    p50Ms: percentile(waits, 50),
    p99Ms: percentile(waits, 99),
    maxMs: waits.length > 0 ? waits.reduce((max, w) => Math.max(max, w)) : Number.NaN,
    overGoal: waits.filter((w) => w > overMs).length,
  };
}

export class PingProbe {
  readonly sent: number[] = [];
  readonly replied: number[] = [];
  /** Replies other than PONG. */
  errors = 0;
  private stopped = false;
  private failure: Error | null = null;
  private readonly loop: Promise<void>;

  private constructor(private readonly conn: RespConnection, intervalMs: number) {
    // Caught here so that a failed loop is reported by stop(), not as an unhandled rejection.
    this.loop = this.run(intervalMs).catch((err: unknown) => {
      this.failure = err instanceof Error ? err : new Error(String(err));
    });
  }

  static async start(port: number, intervalMs: number, hostname = HOST): Promise<PingProbe> {
    return new PingProbe(await RespConnection.open(port, hostname), intervalMs);
  }

  private async run(intervalMs: number): Promise<void> {
    while (!this.stopped) {
      const t0 = performance.now();
      const reply = await this.conn.command(["PING"]);
      const t1 = performance.now();
      this.sent.push(t0);
      this.replied.push(t1);
      if (reply !== "PONG") this.errors++;
      if (intervalMs > t1 - t0) await Bun.sleep(intervalMs - (t1 - t0));
    }
  }

  /** Ends the loop after the PING in flight; throws what failed it, if anything did. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopped = true;
    try {
      await withTimeout(this.loop, timeoutMs, `stopping the PING probe on port ${this.conn.port}`);
    } finally {
      this.conn.close();
    }
    if (this.failure !== null) throw this.failure;
  }

  waits(): number[] {
    return this.sent.map((t, i) => this.replied[i]! - t);
  }
}

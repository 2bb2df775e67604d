/**
 * LATENCY: events the server times itself (AOF fsync and write, rewrite,
 * active expiry, eviction) that took at least `latency-monitor-threshold`
 * milliseconds. Per event, Redis's view: the latest sample, the all-time
 * maximum, and a history of up to 160 samples, one per second at most
 * (a later sample in the same second keeps the larger value).
 */

const HISTORY = 160;

export interface LatencySample {
  /** Unix time in seconds. */
  time: number;
  ms: number;
}

export interface LatencyEvent {
  name: string;
  latest: LatencySample;
  maxMs: number;
  history: LatencySample[];
}

export class LatencyMonitor {
  private readonly events = new Map<string, LatencyEvent>();

  constructor(public thresholdMs: number) {}

  /**
   * Records `ms` for `event` when monitoring is on and it reaches the
   * threshold. Whole milliseconds, truncated, as Redis measures them
   * (latencyAddSampleIfNeeded gets `duration/1000` of µs).
   */
  record(event: string, ms: number): void {
    if (this.thresholdMs <= 0 || ms < this.thresholdMs) return;
    const sample = { time: Math.floor(Date.now() / 1000), ms: Math.floor(ms) };
    const known = this.events.get(event);
    if (known === undefined) {
      this.events.set(event, { name: event, latest: sample, maxMs: sample.ms, history: [sample] });
      return;
    }
    known.maxMs = Math.max(known.maxMs, sample.ms);
    const last = known.history[known.history.length - 1]!;
    if (last.time === sample.time) {
      last.ms = Math.max(last.ms, sample.ms);
    } else {
      known.history.push(sample);
      if (known.history.length > HISTORY) known.history.shift();
    }
    known.latest = known.history[known.history.length - 1]!;
  }

  all(): LatencyEvent[] {
    return [...this.events.values()];
  }

  get(event: string): LatencyEvent | undefined {
    return this.events.get(event);
  }

  /** Forgets the named events (all when none are named); returns how many were forgotten. */
  reset(names: readonly string[]): number {
    if (names.length === 0) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const name of names) if (this.events.delete(name)) n++;
    return n;
  }
}

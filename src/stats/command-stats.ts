/**
 * Per-command counters and latency histogram: INFO commandstats and
 * latencystats, and the /metrics histograms, all read from these.
 *
 * Bucket i counts calls that took at most 2^i µs (bucket 0: up to 1 µs);
 * the last bucket takes everything slower. Powers of two keep recording to
 * a clz32 and an increment on the hot path.
 */

export const LATENCY_BUCKETS = 25; // 1 µs … 2^24 µs ≈ 16.8 s, then +Inf

/** The upper bound of bucket i, in microseconds (Infinity for the last). */
export function bucketBoundUs(i: number): number {
  return i >= LATENCY_BUCKETS - 1 ? Infinity : 2 ** i;
}

export class CommandStats {
  calls = 0;
  /** Calls whose reply was an error (Redis's failed_calls). */
  failedCalls = 0;
  /** Refused before running: arity, NOAUTH, LOADING, MISCONF, OOM (Redis's rejected_calls). */
  rejectedCalls = 0;
  /** Time spent in the command, microseconds. */
  usec = 0;
  readonly histogram = new Float64Array(LATENCY_BUCKETS);

  /** Counts a call that took `us` microseconds. */
  record(us: number): void {
    this.calls++;
    this.usec += us;
    const ceil = Math.ceil(us);
    const bucket = ceil <= 1 ? 0 : 32 - Math.clz32(ceil - 1);
    this.histogram[bucket < LATENCY_BUCKETS ? bucket : LATENCY_BUCKETS - 1]!++;
  }

  /** The bucket bound under which `p` percent of the recorded calls fall (0 when none). */
  percentileUs(p: number): number {
    let total = 0;
    for (const n of this.histogram) total += n;
    if (total === 0) return 0;
    const rank = Math.ceil((p / 100) * total);
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      seen += this.histogram[i]!;
      if (seen >= rank) return i === LATENCY_BUCKETS - 1 ? 2 ** (LATENCY_BUCKETS - 1) : 2 ** i;
    }
    return 2 ** (LATENCY_BUCKETS - 1);
  }

  reset(): void {
    this.calls = 0;
    this.failedCalls = 0;
    this.rejectedCalls = 0;
    this.usec = 0;
    this.histogram.fill(0);
  }
}

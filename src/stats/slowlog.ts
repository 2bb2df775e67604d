/**
 * SLOWLOG: the last `slowlog-max-len` commands that took at least
 * `slowlog-log-slower-than` microseconds, as Redis keeps them: an id, the
 * unix time, the duration, at most 32 arguments each cut to 128 bytes,
 * and the client's address and name.
 */

const MAX_ARGS = 32;
const MAX_ARG_BYTES = 128;

export interface SlowlogEntry {
  id: number;
  /** Unix time in seconds when the command ran. */
  time: number;
  durationUs: number;
  args: string[];
  clientAddress: string;
  clientName: string;
}

export class SlowLog {
  private entries: SlowlogEntry[] = [];
  private nextId = 0;

  constructor(public maxLen: number) {}

  get length(): number {
    return this.entries.length;
  }

  /** Newest first, as SLOWLOG GET returns them. */
  newest(count: number): SlowlogEntry[] {
    return count <= 0 ? [] : this.entries.slice(-count).reverse();
  }

  add(argv: readonly string[], durationUs: number, clientAddress: string, clientName: string): void {
    if (this.maxLen <= 0) return;
    const args: string[] = [];
    const shown = Math.min(argv.length, argv.length > MAX_ARGS ? MAX_ARGS - 1 : MAX_ARGS);
    for (let i = 0; i < shown; i++) {
      const arg = argv[i]!;
      args.push(arg.length > MAX_ARG_BYTES ? `${arg.slice(0, MAX_ARG_BYTES)}... (${arg.length - MAX_ARG_BYTES} more bytes)` : arg);
    }
    if (argv.length > MAX_ARGS) args.push(`... (${argv.length - MAX_ARGS + 1} more arguments)`);
    this.entries.push({ id: this.nextId++, time: Math.floor(Date.now() / 1000), durationUs: Math.round(durationUs), args, clientAddress, clientName });
    this.trim();
  }

  trim(): void {
    if (this.entries.length > this.maxLen) this.entries.splice(0, this.entries.length - Math.max(0, this.maxLen));
  }

  reset(): void {
    this.entries = [];
  }
}

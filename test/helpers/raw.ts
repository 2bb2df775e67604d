import type { Socket } from "bun";

/**
 * A raw TCP client for tests that speak bytes: the seed's nc sessions,
 * hand-written RESP, frames split at odd offsets, malformed input.
 * Received bytes accumulate as a latin1 string.
 */
export class RawClient {
  private received = "";
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private socket: Socket<RawClient> | null) {}

  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    const client = new RawClient(null);
    client.socket = await Bun.connect<RawClient>({
      hostname: host,
      port,
      data: client,
      socket: {
        data(s, chunk) {
          s.data.received += Buffer.from(chunk).toString("latin1");
          s.data.wake();
        },
        drain(s) {
          s.data.flushUnsent();
        },
        close(s) {
          s.data.closed = true;
          s.data.wake();
        },
        end(s) {
          s.data.closed = true;
          s.data.wake();
        },
      },
    });
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Writes everything, however much the socket takes at once (the rest goes out on drain). */
  write(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
    if (this.unsent.length > 0) {
      this.unsent.push(bytes);
      return;
    }
    const written = this.socket!.write(bytes);
    if (written < bytes.length) this.unsent.push(bytes.subarray(Math.max(0, written)));
  }

  private unsent: Buffer[] = [];

  private flushUnsent(): void {
    while (this.unsent.length > 0) {
      const head = this.unsent[0]!;
      const written = this.socket!.write(head);
      if (written < head.length) {
        this.unsent[0] = head.subarray(Math.max(0, written));
        return;
      }
      this.unsent.shift();
    }
  }

  /** Sends HELLO 3 and takes its whole reply (the map ends with `modules`, an empty array): RESP3 from here on. */
  async resp3(): Promise<void> {
    this.write(resp("HELLO", "3"));
    await this.waitFor((r) => r.endsWith("$7\r\nmodules\r\n*0\r\n"));
    await this.bytes(this.received.length);
  }

  /** Waits until `predicate(received)` holds, or throws after timeoutMs with what arrived. */
  async waitFor(predicate: (received: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (this.closed) throw new Error(`connection closed; received ${JSON.stringify(this.received)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /** Reads exactly `n` lines (ending in \n) and removes them from the buffer. */
  async lines(n: number, timeoutMs = 5000): Promise<string[]> {
    await this.waitFor((r) => r.split("\n").length - 1 >= n, timeoutMs);
    const parts = this.received.split("\n");
    const taken = parts.slice(0, n);
    this.received = parts.slice(n).join("\n");
    return taken.map((l) => l.replace(/\r$/, ""));
  }

  /** Reads exactly `n` bytes and removes them from the buffer. */
  async bytes(n: number, timeoutMs = 5000): Promise<string> {
    await this.waitFor((r) => r.length >= n, timeoutMs);
    const taken = this.received.slice(0, n);
    this.received = this.received.slice(n);
    return taken;
  }

  /** Sends a line of the text protocol and returns the next reply line. */
  async command(line: string): Promise<string> {
    this.write(line + "\r\n");
    return (await this.lines(1))[0]!;
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.closed, timeoutMs).catch((err) => {
      if (!this.closed) throw err;
    });
  }

  get pending(): string {
    return this.received;
  }

  close(): void {
    this.socket?.end();
  }
}

/** A RESP bulk string reply, as the server sends `value` (a one-byte-per-char string). */
export function bulk(value: string): string {
  return `$${value.length}\r\n${value}\r\n`;
}

/** Encodes a command as a RESP multibulk request. */
export function resp(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, "latin1")}\r\n${a}\r\n`).join("");
}

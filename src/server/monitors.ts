import { quoteArg } from "../protocol/inline.ts";
import type { Logger } from "../util/log.ts";
import type { Client } from "./client.ts";

/**
 * MONITOR: every command the server runs, streamed to the clients that
 * asked, one `+<unix time.µs> [0 <client address>] "arg" …` line each, as
 * redis-cli monitor expects. Passwords are redacted before they get here.
 *
 * A monitor that does not read would hold every command the server runs;
 * past MAX_UNSENT bytes queued it is disconnected (Redis lets it grow).
 */

const MAX_UNSENT = 32 * 1024 * 1024;

export class Monitors {
  private readonly clients = new Set<Client>();

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.clients.size;
  }

  add(client: Client): void {
    client.monitor = true;
    this.clients.add(client);
  }

  remove(client: Client): void {
    this.clients.delete(client);
  }

  /** Sends one line for `argv`, run by `from`; returns the bytes sent (for total_net_output_bytes). */
  feed(from: { readonly address: string }, argv: readonly string[]): number {
    // Unix time in µs (gettimeofday in Redis): performance's clock, so lines never go back within a millisecond.
    const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const seconds = Math.floor(now / 1e6);
    const micros = String(now % 1e6).padStart(6, "0");
    let line = `+${seconds}.${micros} [0 ${from.address}]`;
    for (const arg of argv) line += " " + quoteArg(arg);
    const bytes = Buffer.from(line + "\r\n", "latin1");
    let sent = 0;
    for (const monitor of this.clients) {
      if (monitor.closed) {
        this.clients.delete(monitor);
        continue;
      }
      if (monitor.outputBufferBytes > MAX_UNSENT) {
        this.log.warning(`MONITOR client id=${monitor.id} addr=${monitor.address} closed: ${monitor.outputBufferBytes} bytes unsent`);
        this.clients.delete(monitor);
        monitor.closed = true;
        monitor.socket.terminate();
        continue;
      }
      monitor.send(bytes, 0, bytes.length);
      sent += bytes.length;
    }
    return sent;
  }
}

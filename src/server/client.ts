import type { Socket } from "bun";
import type { Transaction } from "../commands/transactions.ts";
import type { ClientState } from "../commands/types.ts";
import { RESP2, type Protocol } from "../protocol/reply.ts";
import { RequestParser } from "../protocol/request-parser.ts";

/**
 * One connection: its parser, the output that the socket has not yet
 * accepted, and the state commands see through ClientState.
 */
export class Client implements ClientState {
  readonly parser = new RequestParser();
  readonly createdAt = Date.now();
  lastInteraction = this.createdAt;
  name = "";
  libName = "";
  libVersion = "";
  resp: Protocol = RESP2;
  lastCommand = "NULL";
  closeAfterReply = false;
  closed = false;
  /**
   * Replies wait while the AOF records of this client's writes are not
   * written yet (see ReplyGate): kept in the gate's buffer at
   * [heldStart, heldEnd), or queued here when they must outlive the turn.
   */
  held = false;
  heldStart = 0;
  heldEnd = 0;
  /** Too many unsent replies: its requests are not parsed until they drain. */
  readPaused = false;
  /** Since when its unsent replies are over the soft output limit (0: they are not). */
  softLimitSince = 0;
  /** The socket is not being read (socket.pause()). */
  socketPaused = false;
  /** A command of this client logged a change that is not yet committed. */
  logged = false;
  /** In MONITOR mode: receives every command; may not touch keys. */
  monitor = false;
  /** Bytes the socket did not take yet, in order; drained by the `drain` event. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  // Last: the fields above are read for every request.
  transaction: Transaction | null = null;
  watching: Set<string> | null = null;
  watchedKeyChanged = false;

  constructor(
    readonly id: number,
    readonly socket: Socket<Client>,
    readonly address: string,
    readonly localAddress: string,
  ) {}

  /** Whether AUTH succeeded or no password is required; the parser is stricter until then. */
  get authenticated(): boolean {
    return !this.parser.unauthenticated;
  }
  set authenticated(value: boolean) {
    this.parser.unauthenticated = !value;
  }

  get queryBufferBytes(): number {
    return this.parser.bufferedBytes;
  }

  /** Replies not yet sent: queued here, or held in the gate's buffer. */
  get outputBufferBytes(): number {
    return this.pendingBytes + this.heldEnd - this.heldStart;
  }

  /**
   * Sends buffer[start, end), bytes that live in a shared buffer: what the
   * socket does not take now is copied and queued, and goes out in order on
   * `drain`.
   */
  send(buffer: Buffer, start: number, end: number): void {
    if (this.closed || start === end) return;
    if (this.pendingBytes > 0 || this.held) {
      this.queue(buffer, start, end);
      return;
    }
    const written = this.socket.write(buffer, start, end - start);
    if (written < 0) return;
    if (written < end - start) this.queue(buffer, start + written, end);
  }

  /** Keeps a copy of buffer[start, end) to send after what is already queued. */
  queue(buffer: Buffer, start: number, end: number): void {
    if (start === end) return;
    this.pending.push(Buffer.from(buffer.subarray(start, end)));
    this.pendingBytes += end - start;
  }

  /** Writes queued output; true when everything has gone out. */
  drain(): boolean {
    if (this.held) return false;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const written = this.socket.write(head);
      if (written < 0) return false;
      this.pendingBytes -= Math.max(0, written);
      if (written < head.length) {
        this.pending[0] = head.subarray(written);
        return false;
      }
      this.pending.shift();
    }
    return true;
  }

  get hasPendingOutput(): boolean {
    return this.outputBufferBytes > 0;
  }
}

/**
 * A client with no connection behind it: what AOF records are replayed as,
 * and what unit tests run commands as.
 */
export function detachedClient(id: number, address: string, localAddress: string): ClientState {
  const now = Date.now();
  return {
    id,
    address,
    localAddress,
    createdAt: now,
    lastInteraction: now,
    name: "",
    libName: "",
    libVersion: "",
    resp: RESP2,
    authenticated: true,
    lastCommand: "NULL",
    closeAfterReply: false,
    monitor: false,
    queryBufferBytes: 0,
    outputBufferBytes: 0,
    transaction: null,
    watching: null,
    watchedKeyChanged: false,
  };
}

import type { AppendOnlyFile } from "../persistence/append-only-file.ts";
import { OutputBuffer } from "../protocol/reply.ts";
import type { Client } from "./client.ts";

/**
 * Keeps replies from leaving before the AOF records they depend on are
 * safe: written to the file under every policy, fsynced too under
 * `appendfsync always`.
 *
 * Once a command of an event-loop turn logged a change, every reply of
 * that turn is held (a reader's too: it may show the change). At the end
 * of the turn (setImmediate runs after all of the turn's socket callbacks)
 * the turn's records go to the file in one write and, under `always`, one
 * fsync (group commit), and then the held replies go out. Until then they
 * wait in one buffer shared by the turn, each client's replies in one range
 * of it, so holding a reply costs a copy and no allocation. The server
 * holds a pipelined read's replies the same way, logged change or not, so
 * that they leave in one burst (Server.flush says why).
 *
 * The fsync runs on the event loop, as Redis does it. Running it on a worker
 * thread and serving other clients meanwhile was measured slower: 22-25k
 * against 31-37k SET/s at -c 50 -P 1 on this machine's virtual disk; the
 * thread hand-off costs more than the overlap gains.
 *
 * When the disk refuses a write or an fsync, the writers' replies stay
 * held (their writes are not acknowledged) and the server cron calls
 * `commit` again until the disk takes them; readers are answered.
 */
export class ReplyGate {
  /** Clients with replies held in the current turn (or since a failed commit). */
  private held: Client[] = [];
  private scheduled = false;
  /** This turn's held replies, back to back. */
  private replies = new OutputBuffer();
  /**
   * The list and buffer of the turn being released, swapped with the two
   * above on each commit: a commit allocates nothing (at -P 1 a fresh list
   * and closure per commit were a third or more of a SET's garbage), and a client whose
   * release lets it run more commands (resumeIfDrained) holds their replies
   * for the next commit without touching the ones being sent.
   */
  private releasing: Client[] | null = [];
  private releasingReplies: OutputBuffer | null = new OutputBuffer();

  constructor(
    private readonly aof: AppendOnlyFile,
    /** Sends what a client was held back from sending; called once per client per release. */
    private readonly release: (client: Client) => void,
  ) {}

  /** Something was logged: commit at the end of this turn. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.endTurn);
  }

  /**
   * Whether a reply sent now waits for the end of the turn: always once the
   * turn logged a change, and also when the caller asks (`pipelined`).
   * Never while the disk refuses writes: writes are refused then, reads go on.
   */
  holds(pipelined: boolean): boolean {
    return (this.scheduled || pipelined) && this.aof.writeError === null;
  }

  /** Holds a client's replies until the next commit. */
  private hold(client: Client): void {
    if (client.held) return;
    client.held = true;
    this.held.push(client);
    this.schedule();
  }

  /** Keeps the first `length` bytes of `bytes`, a reply to `client`, until the commit. */
  keep(client: Client, bytes: Buffer, length: number): void {
    this.hold(client);
    const replies = this.replies;
    if (client.heldStart === client.heldEnd) {
      client.heldStart = client.heldEnd = replies.length;
    } else if (client.heldEnd !== replies.length) {
      // Another client's reply came in between: move this client's range to the end.
      const size = client.heldEnd - client.heldStart;
      replies.reserve(size);
      replies.buf.copy(replies.buf, replies.length, client.heldStart, client.heldEnd);
      client.heldStart = replies.length;
      replies.length += size;
    }
    replies.copyFrom(bytes, 0, length);
    client.heldEnd = replies.length;
  }

  /** Whether anything waits (the cron retries then). */
  get waiting(): boolean {
    return this.held.length > 0 || this.aof.writeError !== null;
  }

  private readonly endTurn = (): void => {
    this.scheduled = false;
    this.commit();
  };

  /**
   * Writes (and under `always` fsyncs) what was logged, then releases the
   * held clients. If the disk refuses, only the clients whose own writes
   * are in the unwritten records stay held; readers go on.
   */
  commit(): void {
    const ok = this.aof.write() && (this.aof.policy !== "always" || this.aof.unsyncedBytes === 0 || this.aof.fsyncNow());
    if (ok) {
      this.aof.markHealthy();
      this.releaseEverything();
    } else {
      this.releaseHeld(true);
    }
  }

  /** Lets every held reply go (also at shutdown, once the AOF is flushed and fsynced). */
  releaseEverything(): void {
    this.releaseHeld(false);
  }

  /** Sends the held replies; with `keepWriters`, those of clients whose writes are not in the file stay held. */
  private releaseHeld(keepWriters: boolean): void {
    const held = this.held;
    const replies = this.replies;
    // (null while a release is under way: a nested one gets fresh ones.)
    this.held = this.releasing ?? [];
    this.replies = this.releasingReplies ?? new OutputBuffer();
    this.releasing = null;
    this.releasingReplies = null;
    for (let i = 0; i < held.length; i++) {
      const client = held[i]!;
      const { heldStart, heldEnd } = client;
      client.heldStart = client.heldEnd = 0;
      if (keepWriters && client.logged) {
        // Still held past this turn: its replies move out of the turn's buffer.
        client.queue(replies.buf, heldStart, heldEnd);
        this.held.push(client);
        continue;
      }
      client.held = false;
      client.logged = false;
      if (client.closed) continue;
      client.send(replies.buf, heldStart, heldEnd);
      this.release(client);
    }
    held.length = 0;
    replies.shrink();
    this.releasing = held;
    this.releasingReplies = replies;
  }
}

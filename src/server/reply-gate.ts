import type { AppendOnlyFile } from "../persistence/append-only-file.ts";
import type { Client } from "./client.ts";

/**
 * Keeps replies from leaving before the AOF records they depend on are
 * safe: written to the file under every policy, fsynced too under
 * `appendfsync always`.
 *
 * Once a command of an event-loop turn logged a change, every reply of
 * that turn is held (a reader's too: it may show the change). At the end
 * of the turn (setImmediate runs after all of the turn's socket callbacks)
 * the turn's records go to the file in one write. Under `always` the turn's
 * clients then wait for an fsync run on a worker thread; while it runs, the
 * event loop goes on with other clients, whose writes form the next batch,
 * fsynced as soon as the one before completes (group commit, pipelined).
 * A client waiting for an fsync has its further input set aside, so no
 * later reply of its can overtake a write that is not yet durable.
 *
 * When the disk refuses a write or an fsync, the affected replies stay
 * held (the writes are not acknowledged) and the server cron calls
 * `commit` again until the disk takes them.
 */
export class ReplyGate {
  /** Clients with replies held in the current turn. */
  private held: Client[] = [];
  /** Written, waiting for the next fsync (`always`). */
  private unsynced: Client[] = [];
  /** The batch whose fsync is running, or null. */
  private syncing: Client[] | null = null;
  private scheduled = false;

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

  /** Whether a reply sent now must wait (records of this turn unwritten, or an fsync pending). */
  get closed(): boolean {
    if (this.aof.writeError !== null) return false; // while the disk refuses writes, reads go on
    return this.scheduled || this.syncing !== null || this.unsynced.length > 0;
  }

  /** Holds a client's replies until the next commit that covers them. */
  hold(client: Client): void {
    if (client.held) return;
    client.held = true;
    this.held.push(client);
    this.schedule();
  }

  /** Whether anything waits (the cron retries then). */
  get waiting(): boolean {
    return this.held.length > 0 || this.unsynced.length > 0 || this.aof.writeError !== null;
  }

  private readonly endTurn = (): void => {
    this.scheduled = false;
    this.commit();
  };

  /** Writes what was logged, then releases or (under `always`) queues the held clients for an fsync. */
  commit(): void {
    if (!this.aof.write()) return;
    const held = this.held;
    this.held = [];
    if (this.aof.policy !== "always" || !this.aof.isOpen) {
      this.aof.markHealthy();
      this.releaseAll(held);
      return;
    }
    for (const client of held) {
      client.waitingForDisk = true;
      this.unsynced.push(client);
    }
    this.startSync();
  }

  private startSync(): void {
    if (this.syncing !== null || (this.unsynced.length === 0 && this.aof.unsyncedBytes === 0)) return;
    const batch = this.unsynced;
    this.unsynced = [];
    this.syncing = batch;
    this.aof.syncInBackground((ok) => {
      this.syncing = null;
      if (!ok) {
        this.unsynced = batch.concat(this.unsynced);
        return;
      }
      this.aof.markHealthy();
      this.releaseAll(batch);
      this.startSync();
    });
  }

  /** Shutdown, after the AOF was written and fsynced: everything held may go. */
  releaseEverything(): void {
    const all = [...this.held, ...this.unsynced, ...(this.syncing ?? [])];
    this.held = [];
    this.unsynced = [];
    this.syncing = null;
    this.releaseAll(all);
  }

  private releaseAll(clients: Client[]): void {
    for (const client of clients) {
      client.held = false;
      client.waitingForDisk = false;
      if (!client.closed) this.release(client);
    }
  }
}

import { existsSync, readdirSync, statSync, truncateSync, unlinkSync } from "node:fs";
import type { PersistenceState } from "../commands/types.ts";
import type { Config } from "../config/config.ts";
import type { Keyspace } from "../store/keyspace.ts";
import type { Logger } from "../util/log.ts";
import type { RecordSink } from "./aof-reader.ts";
import { readAof } from "./aof-loader.ts";
import { AofRewrite, RewriteAborted } from "./aof-rewrite.ts";
import { AppendOnlyFile } from "./append-only-file.ts";
import { describeError } from "./errors.ts";

/** After a failed automatic rewrite, wait this long before trying again (doubling up to an hour). */
const REWRITE_RETRY_MIN_MS = 60_000;
const REWRITE_RETRY_MAX_MS = 3_600_000;

/**
 * Everything about the AOF's life in one place: loading it at startup,
 * logging changes, the everysec fsync schedule, rewrites (BGREWRITEAOF and
 * automatic), and turning appendonly on and off at runtime. When replies
 * may go out is server/reply-gate.ts's business.
 */
export class Persistence implements PersistenceState {
  readonly aof: AppendOnlyFile;
  enabled: boolean;
  /** True while the AOF is replayed: nothing is logged then. */
  loading = false;
  private rewrite: AofRewrite | null = null;
  rewriteScheduled = false;
  lastRewriteOk = true;
  lastRewriteMs = -1;
  rewrites = 0;
  rewriteFailures = 0;
  private rewriteStartedAt = 0;
  private nextAutoRewriteAt = 0;

  constructor(
    private readonly config: Config,
    private readonly db: Keyspace,
    private readonly log: Logger,
  ) {
    this.enabled = config.values.appendonly === "yes";
    this.aof = new AppendOnlyFile(config.values.appendfsync, log);
  }

  get path(): string {
    return this.config.values.appendfilename;
  }

  // ---- PersistenceState (INFO) ---------------------------------------------

  get rewriteInProgress(): boolean {
    return this.rewrite !== null;
  }
  get currentRewriteMs(): number {
    return this.rewrite === null ? -1 : performance.now() - this.rewriteStartedAt;
  }
  get currentSize(): number {
    return this.aof.size;
  }
  get baseSize(): number {
    return this.aof.baseSize;
  }
  get pendingBytes(): number {
    return this.aof.pendingBytes;
  }
  get lastWriteOk(): boolean {
    return this.aof.writeError === null;
  }
  get fsyncPolicy(): string {
    return this.aof.policy;
  }

  /** Why writes must be refused now (the AOF cannot be written), or null. */
  get writeError(): string | null {
    return this.enabled ? this.aof.writeError : null;
  }

  // ---- Startup -------------------------------------------------------------

  /**
   * Replays the AOF into the keyspace through `replay`, then opens it for
   * appending. A torn tail is cut off (with a warning naming the offset)
   * unless aof-load-truncated is no; corruption throws AofCorruptError.
   */
  async load(replay: RecordSink): Promise<void> {
    if (!this.enabled) return;
    this.removeStaleTempFiles();
    if (existsSync(this.path) && statSync(this.path).size > 0) {
      this.loading = true;
      this.db.expiryPaused = true;
      try {
        const result = await readAof(this.path, replay, this.log);
        if (result.tornAt >= 0) {
          const lost = result.bytes - result.tornAt;
          if (this.config.values["aof-load-truncated"] === "no") {
            throw new Error(
              `The AOF ${this.path} ends with a torn record at offset ${result.tornAt} (${lost} bytes; ${result.tornReason}) ` +
                `and aof-load-truncated is no. Fix it with: atomic_server --check-aof --fix ${this.path}`,
            );
          }
          this.log.warning(
            `!!! Warning: the AOF ${this.path} ends with a torn record at offset ${result.tornAt} ` +
              `(${lost} bytes; ${result.tornReason}), probably from a crash while writing. ` +
              `Truncating the AOF at offset ${result.tornAt}; everything before it was loaded.`,
          );
          truncateSync(this.path, result.tornAt);
        }
        this.db.now = Date.now();
        this.db.expiryPaused = false;
        const expired = this.db.removeExpired();
        const seconds = (result.ms / 1000).toFixed(3);
        const rate = (result.bytes / (1024 * 1024) / Math.max(result.ms / 1000, 1e-6)).toFixed(1);
        this.log.notice(
          `DB loaded from append only file: ${seconds} seconds (${result.records} records, ${rate} MB/s, ` +
            `${this.db.size} keys${expired > 0 ? `, ${expired} expired while the server was down were dropped` : ""})`,
        );
      } finally {
        this.loading = false;
        this.db.expiryPaused = false;
      }
    }
    // CONFIG SET appendonly no may have come while loading.
    if (this.enabled && !this.rewriteScheduled) this.aof.open(this.path);
  }

  /** A crash during a rewrite leaves its temp file; the AOF itself is whole, so the temp file is only garbage. */
  private removeStaleTempFiles(): void {
    for (const name of readdirSync(".")) {
      if (/^temp-rewriteaof-\d+\.aof$/.test(name)) {
        this.log.notice(`Removing ${name}, left by an AOF rewrite that did not finish`);
        unlinkSync(name);
      }
    }
  }

  // ---- Logging ---------------------------------------------------------------

  /** Logs a change. Returns whether it was logged (appendonly on, not loading). */
  propagate(argv: readonly string[]): boolean {
    if (!this.enabled || this.loading) return false;
    this.aof.append(argv);
    return true;
  }

  /** propagate() for a record that is already RESP: source[start, end). */
  propagateBytes(source: Buffer, start: number, end: number): boolean {
    if (!this.enabled || this.loading) return false;
    this.aof.appendBytes(source, start, end);
    return true;
  }

  /** Called by the server cron: the fsync schedule and automatic rewrites. */
  tick(now: number): void {
    if (!this.enabled) return;
    this.aof.tick(now);
    if (this.rewrite === null) {
      if (this.rewriteScheduled) {
        this.rewriteScheduled = false;
        this.startRewrite("scheduled");
      } else if (this.shouldRewrite(now)) {
        const { size, baseSize } = this.aof;
        this.startRewrite(
          baseSize === 0
            ? `automatic, the AOF reached ${size} bytes and was never rewritten`
            : `automatic, the AOF grew by ${Math.round(((size - baseSize) * 100) / baseSize)}%`,
        );
      }
    }
  }

  private shouldRewrite(now: number): boolean {
    const percentage = this.config.values["auto-aof-rewrite-percentage"];
    if (percentage === 0 || !this.aof.isOpen || now < this.nextAutoRewriteAt) return false;
    if (this.aof.size < this.config.values["auto-aof-rewrite-min-size"]) return false;
    const base = Math.max(this.aof.baseSize, 1);
    return ((this.aof.size - base) * 100) / base >= percentage;
  }

  // ---- Rewrites ------------------------------------------------------------

  startRewrite(reason: string): string | null {
    if (this.rewrite !== null) return "ERR Background append only file rewriting already in progress";
    if (this.loading) return "ERR Background append only file rewriting can't start while loading";
    const takeOver = this.enabled;
    const rewrite = new AofRewrite(this.db, this.aof, this.path, takeOver, () => this.config.values["rdb-key-save-delay"], this.log);
    this.rewrite = rewrite;
    this.rewrites++;
    const started = performance.now();
    this.rewriteStartedAt = started;
    this.log.notice(`Background append only file rewriting started (${reason})`);
    rewrite.run().then(
      (size) => {
        if (this.rewrite === rewrite) this.rewrite = null;
        this.lastRewriteOk = true;
        this.rewriteFailures = 0;
        this.lastRewriteMs = Math.round(performance.now() - started);
        if (takeOver) this.aof.baseSize = size;
        this.log.notice(
          `Background AOF rewrite finished successfully: ${rewrite.keysWritten} keys, ${size} bytes, ${this.lastRewriteMs} ms`,
        );
      },
      (err) => {
        if (this.rewrite === rewrite) this.rewrite = null;
        this.lastRewriteMs = Math.round(performance.now() - started);
        if (err instanceof RewriteAborted) {
          this.log.notice("Background AOF rewrite aborted");
          return;
        }
        this.lastRewriteOk = false;
        this.rewriteFailures++;
        const wait = Math.min(REWRITE_RETRY_MAX_MS, REWRITE_RETRY_MIN_MS * 2 ** (this.rewriteFailures - 1));
        this.nextAutoRewriteAt = Date.now() + wait;
        this.log.warning(
          `Background AOF rewrite failed: ${describeError(err)}; the current AOF stays in use ` +
            `(the next automatic attempt waits ${Math.round(wait / 1000)} s)`,
        );
      },
    );
    return null;
  }

  // ---- Runtime changes and shutdown ----------------------------------------

  setFsyncPolicy(policy: AppendOnlyFile["policy"]): void {
    this.aof.policy = policy;
    if (policy === "always" && this.aof.isOpen) {
      this.aof.write();
      this.aof.fsyncNow();
    }
  }

  /**
   * CONFIG SET appendonly. Switching on writes the whole keyspace as a new
   * AOF first; writes meanwhile are held unacknowledged until the file exists.
   * Switching off flushes, fsyncs and closes the file.
   */
  setEnabled(on: boolean): void {
    if (on === this.enabled) return;
    this.rewrite?.abort();
    this.rewrite = null;
    this.rewriteScheduled = false;
    if (on) {
      this.enabled = true;
      if (this.loading) this.rewriteScheduled = true;
      else this.startRewrite("appendonly switched on");
    } else {
      if (!this.aof.close()) this.log.warning(`appendonly switched off, but the AOF could not be flushed: ${this.aof.writeError}`);
      this.aof.writeError = null;
      this.enabled = false;
    }
  }

  /** Shutdown: stop any rewrite, write and fsync the AOF. False if that failed. */
  close(): boolean {
    this.rewrite?.abort();
    if (!this.enabled) return true;
    const ok = this.aof.close();
    if (!ok) this.log.warning(`Error flushing the AOF at shutdown: ${this.aof.writeError}`);
    return ok;
  }
}

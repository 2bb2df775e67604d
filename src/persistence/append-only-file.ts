import { close, closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { FsyncPolicy } from "../config/options.ts";
import { OutputBuffer } from "../protocol/reply.ts";
import type { Logger } from "../util/log.ts";
import { describeError } from "./errors.ts";

/**
 * Under `everysec`, an fsync starts before its second is up once this much
 * was written since the last one. The turn's AOF write waits while an fsync
 * of the same file allocates disk blocks for what it flushes (ext4's delayed
 * allocation), so the less each fsync carries, the shorter those waits: as
 * Redis's aof-rewrite-incremental-fsync does for a rewrite's file. Under
 * bench/compare.ts goal 6's load over 1M keys (6-8 MB of AOF a second),
 * eight 20-25 s runs of each build (bench/rewrite-turns.sh): turns in
 * which the event loop slept 2 ms or more went from 29 to 7, those of 5 ms
 * or more from 11 to 2 (BENCHMARKS.md). Under 512 KiB of writes a second it
 * is one fsync a second, as before.
 */
const EARLY_FSYNC_BYTES = 512 * 1024;

/**
 * The append-only file as the server writes it: each write command's effect
 * is encoded as a RESP record into a buffer, and the buffer is written to
 * the file once per event-loop turn, before any reply of that turn goes out
 * (server/reply-gate.ts holds those replies until then). A process crash
 * therefore never loses an acknowledged write; the fsync policy decides what
 * a power loss can cost.
 *
 * Writes go through node:fs `writeSync` on a descriptor rather than a
 * Bun.file writer. Measured on Bun 1.4.5: when a FileSink write hits ENOSPC
 * midway, the part it could not write is dropped (a 30 KiB write kept 24 KiB,
 * later flushes returned 0) and the error surfaces later as an uncaught
 * exception. Here a short write is either rolled back with ftruncate or kept
 * and counted, the rest stays buffered, and it is retried until the disk
 * takes it.
 */
export class AppendOnlyFile {
  private fd = -1;
  /** Records not yet written to the file. */
  private readonly pending = new OutputBuffer();
  /** Bytes in the file. */
  size = 0;
  /** Size after the last rewrite, or at startup: auto-rewrite measures growth from here. */
  baseSize = 0;
  /** Bytes written since the last fsync started. */
  private unsynced = 0;
  private fsyncInFlight = false;
  lastFsyncAt = Date.now();
  /** Set while writes are failing: the strerror-style reason (MISCONF quotes it). */
  writeError: string | null = null;
  /**
   * Told how long (ms) the event loop waited on the file, under Redis's
   * LATENCY event names: `aof-write`, `aof-fsync-always`, and the rewrite's
   * `aof-rewrite-diff-write`, `aof-rewrite-done-fsync`, `aof-rename`.
   */
  onLatency: (event: string, ms: number) => void = () => {};

  constructor(
    public policy: FsyncPolicy,
    private readonly log: Logger,
  ) {}

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Bytes logged so far, written or not: a position in the record stream. */
  get appended(): number {
    return this.size + this.pending.length;
  }

  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Opens (or creates) the file for appending. Throws with the OS's reason. */
  open(path: string): void {
    const fd = openSync(path, "a");
    this.attach(fd, fstatSync(fd).size);
    this.baseSize = this.size;
  }

  /** Continues appending to another descriptor (a rewrite's new file, now renamed into place). */
  attach(fd: number, size: number): void {
    // The old descriptor may be the last reference to a replaced file: closing
    // it frees all its blocks, which took 52 ms on the event loop for a 70 MB
    // AOF. Redis closes it on a background thread; so does this.
    if (this.fd >= 0) close(this.fd, () => {});
    this.fd = fd;
    this.size = size;
    this.unsynced = 0;
  }

  /** Logs one command. */
  append(argv: readonly string[]): void {
    encodeRecord(this.pending, argv);
  }

  /** Logs one command already encoded as a record (a request as it arrived): source[start, end). */
  appendBytes(source: Buffer, start: number, end: number): void {
    this.pending.copyFrom(source, start, end - start);
  }

  /** Bytes written but not yet fsynced. */
  get unsyncedBytes(): number {
    return this.unsynced;
  }

  /** A write (and under `always`, its fsync) succeeded: writes are accepted again. */
  markHealthy(): void {
    if (this.writeError === null) return;
    this.log.warning("AOF write error looks solved, writes are accepted again.");
    this.writeError = null;
  }

  /** Writes buffered records to the file; false if some could not be written. */
  write(): boolean {
    if (this.fd < 0) return this.pending.length === 0;
    const buf = this.pending.buf;
    let offset = 0;
    const length = this.pending.length;
    if (length === 0) return true;
    const start = performance.now();
    while (offset < length) {
      let written: number;
      try {
        written = writeSync(this.fd, buf, offset, length - offset);
      } catch (err) {
        this.onLatency("aof-write", performance.now() - start);
        this.failed(err, offset);
        return false;
      }
      offset += written;
      this.size += written;
      this.unsynced += written;
    }
    this.onLatency("aof-write", performance.now() - start);
    this.pending.length = 0;
    this.pending.shrink();
    return true;
  }

  /**
   * A write failed after `offset` bytes of the buffer went in. Like Redis,
   * take back the part of a record that did land (a torn record mid-file
   * would make the file unloadable); if even that fails, keep it as written
   * and drop it from the buffer so the file stays a prefix of the stream.
   */
  private failed(err: unknown, offset: number): void {
    const reason = describeError(err);
    if (offset > 0) {
      const written = offset;
      try {
        ftruncateSync(this.fd, this.size - written);
        this.size -= written;
        this.unsynced -= written;
      } catch {
        this.pending.buf.copyWithin(0, offset, this.pending.length);
        this.pending.length -= offset;
      }
    }
    if (this.writeError === null) this.log.warning(`Error writing to the AOF file: ${reason}`);
    this.writeError = reason;
  }

  /** fsync now, on the event loop (the `always` policy, shutdown). fdatasync, as Redis uses: the data and the file size, not the timestamps. */
  fsyncNow(): boolean {
    if (this.fd < 0) return true;
    const start = performance.now();
    try {
      fdatasyncSync(this.fd);
      if (this.policy === "always") this.onLatency("aof-fsync-always", performance.now() - start);
    } catch (err) {
      const reason = describeError(err);
      if (this.writeError === null) this.log.warning(`Error fsyncing the AOF file: ${reason}`);
      this.writeError = reason;
      return false;
    }
    this.unsynced = 0;
    this.lastFsyncAt = Date.now();
    return true;
  }

  /**
   * Called by the server cron: the `everysec` fsync, run on a worker
   * thread so the event loop never waits for the disk. It starts once a
   * second, or sooner once EARLY_FSYNC_BYTES were written since the last.
   */
  tick(now: number): void {
    if (this.policy !== "everysec" || this.unsynced === 0 || this.fsyncInFlight) return;
    if (now - this.lastFsyncAt < 1000 && this.unsynced < EARLY_FSYNC_BYTES) return;
    const fd = this.fd;
    this.fsyncInFlight = true;
    this.unsynced = 0;
    this.lastFsyncAt = now;
    fdatasync(fd, (err) => {
      this.fsyncInFlight = false;
      // A rewrite that replaced the file meanwhile fsynced everything this covered.
      if (err && fd === this.fd) {
        const reason = describeError(err);
        if (this.writeError === null) this.log.warning(`Error fsyncing the AOF file in the background: ${reason}`);
        this.writeError = reason;
        this.unsynced = Math.max(this.unsynced, 1); // fsync again once the disk recovers
      }
    });
  }

  /** Writes, fsyncs and closes the file (shutdown, or appendonly switched off). Returns false if that failed. */
  close(): boolean {
    const ok = this.write() && this.fsyncNow();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    return ok;
  }
}

/** A command as an AOF record: a RESP array of bulk strings (arguments are byte strings). */
export function encodeRecord(out: OutputBuffer, argv: readonly string[]): void {
  out.header(42 /* '*' */, argv.length);
  for (const arg of argv) {
    out.header(36 /* '$' */, arg.length);
    out.write(arg);
    out.crlf();
  }
}

import { closeSync, fsync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { OutputBuffer, ReplyWriter } from "../protocol/reply.ts";
import type { Keyspace } from "../store/keyspace.ts";
import type { Entries } from "../store/entries.ts";
import type { Snapshot, SnapshotVisitor } from "../store/snapshot.ts";
import type { Logger } from "../util/log.ts";
import type { AppendOnlyFile } from "./append-only-file.ts";

/**
 * Work per event-loop turn, so requests keep being answered during a
 * rewrite. Under a busy load a turn is this slice plus the turn's requests,
 * so the slice is what a request waits for. PINGs beside a 50-client mixed
 * load waited over 10 ms 54-89 times in 30 s with 4 ms slices (six runs),
 * 2-29 times with 2 ms (six; redis-server 1-19), at the same throughput;
 * 1 ms slices halved the rewrite's share of the loop and cost 10-15% of the
 * load's throughput (BENCHMARKS.md, "Profile after run 17").
 */
const SLICE_MS = 2;
const SLOTS_PER_CHECK = 2048;
/**
 * Encoded records are written out at this size. The buffer they are encoded
 * into is new for each rewrite, and every page of it a page fault when first
 * touched: at 1 MiB it grew to 2 MiB, and a rewrite under load took about
 * twice the faults per ms that it takes at 256 KiB.
 */
const WRITE_BYTES = 256 * 1024;
/** The tail is copied in pieces this big, a piece per turn. */
const COPY_BYTES = 1024 * 1024;
/** Rewrites that take longer than this log their progress at each tenth. */
const PROGRESS_AFTER_MS = 1000;

export class RewriteAborted extends Error {}

/**
 * Compacts the AOF without forking and without stalling the event loop:
 *
 * 1. At instant T0, take a Snapshot of the keyspace and note how many bytes
 *    the AOF stream had (`tailFrom`). Writes keep going to the old file.
 * 2. A slice per turn, write the snapshot as SET records into a temp file
 *    beside the AOF.
 * 3. Copy the old file's bytes after `tailFrom` (the writes since T0) into
 *    the temp file, a piece per turn, then fsync it off the event loop.
 * 4. In one turn: copy the last few bytes, fsync, rename the temp file over
 *    the AOF (atomic), fsync the directory, and keep appending to the new
 *    file's descriptor.
 *
 * Until the rename the old file is the AOF and holds every acknowledged
 * write; from the rename on, the new one does. A crash at any point leaves
 * one or the other, whole, plus at most a stale temp file that the next
 * start removes.
 */
export class AofRewrite {
  readonly tempPath = `temp-rewriteaof-${process.pid}.aof`;
  private fd = -1;
  private aborted = false;
  private readonly out = new OutputBuffer();
  private readonly records = new SetRecords(this.out);
  private snapshot: Snapshot | null = null;

  get keysWritten(): number {
    return this.records.count;
  }

  constructor(
    private readonly db: Keyspace,
    /** The live AOF; not open when appendonly was just switched on (nothing to copy then). */
    private readonly aof: AppendOnlyFile,
    private readonly path: string,
    /** Whether the AOF continues in the new file (false: appendonly is off, the file is just written). */
    private readonly takeOver: boolean,
    /** Redis's rdb-key-save-delay, in microseconds per key (testing). */
    private readonly keyDelayUs: () => number,
    private readonly log: Logger,
  ) {}

  /** Stops the rewrite and removes its temp file now; `run` then rejects with RewriteAborted. */
  abort(): void {
    this.aborted = true;
    this.db.endSnapshot(this.snapshot);
    this.discardTempFile();
  }

  private discardTempFile(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.tempPath);
    } catch {}
  }

  /**
   * Writes the snapshot's keys into the temp file, a slice per turn, and
   * returns the bytes written. The snapshot is let go of when this returns,
   * not when run() does: after a FLUSHALL during the rewrite it is all that
   * holds the flushed keyspace, which the keyspace counts as released at
   * endSnapshot, for the next idle collection to free.
   */
  private async writeSnapshot(): Promise<number> {
    const snapshot = this.db.beginSnapshot();
    this.snapshot = snapshot;
    let written = 0;
    const started = performance.now();
    let reported = 0;
    while (!snapshot.done) {
      reported = this.reportProgress(snapshot, started, reported);
      await this.yieldTurn();
      const delay = this.keyDelayUs();
      const deadline = performance.now() + SLICE_MS;
      const slots = delay > 0 ? Math.max(1, Math.floor(10_000 / delay)) : SLOTS_PER_CHECK;
      do {
        snapshot.read(slots, this.records);
        if (this.out.length >= WRITE_BYTES) written += this.writeOut();
      } while (!snapshot.done && delay === 0 && performance.now() < deadline);
      if (delay > 0) await Bun.sleep((slots * delay) / 1000);
    }
    this.db.endSnapshot(snapshot);
    this.snapshot = null;
    written += this.writeOut();
    this.out.shrink();
    return written;
  }

  private writeOut(): number {
    const written = writeAll(this.fd, this.out.buf, this.out.length);
    this.out.length = 0;
    return written;
  }

  /** Runs the rewrite; resolves with the new file's size once it is the AOF. Cleans up on failure. */
  async run(): Promise<number> {
    try {
      try {
        unlinkSync(this.tempPath);
      } catch {}
      this.fd = openSync(this.tempPath, "a");
      // Taken in the turn the snapshot begins (writeSnapshot's first step).
      const tailFrom = this.aof.isOpen ? this.aof.appended : -1;
      const written = await this.writeSnapshot();

      // Writes made since T0 follow the snapshot. Reads see only what the
      // AOF wrote; records still buffered go to whichever file is live then.
      let copied = tailFrom;
      if (tailFrom >= 0) {
        const source = openSync(this.path, "r");
        try {
          while (this.aof.size - copied > COPY_BYTES) {
            await this.yieldTurn();
            copied += copyRange(source, this.fd, copied, COPY_BYTES);
          }
          await fsyncAsync(this.fd);
          this.checkAborted();
          // The last step runs in one turn: no record can be written in between.
          const diffStart = performance.now();
          while (copied < this.aof.size) copied += copyRange(source, this.fd, copied, this.aof.size - copied);
          this.aof.onLatency("aof-rewrite-diff-write", performance.now() - diffStart);
        } finally {
          closeSync(source);
        }
      } else {
        await fsyncAsync(this.fd);
        this.checkAborted();
      }
      // The event loop waits for these: LATENCY's events under Redis's names for the same steps.
      let stepStart = performance.now();
      fsyncSync(this.fd);
      this.aof.onLatency("aof-rewrite-done-fsync", performance.now() - stepStart);
      stepStart = performance.now();
      renameSync(this.tempPath, this.path);
      syncDirectory();
      this.aof.onLatency("aof-rename", performance.now() - stepStart);
      const size = written + (tailFrom >= 0 ? copied - tailFrom : 0);
      if (this.takeOver) this.aof.attach(this.fd, size);
      else closeSync(this.fd);
      this.fd = -1;
      return size;
    } catch (err) {
      this.db.endSnapshot(this.snapshot);
      this.discardTempFile();
      throw this.aborted ? new RewriteAborted("rewrite aborted") : err;
    }
  }

  /**
   * Logs each tenth of the snapshot read once the rewrite has run a second
   * (short ones say nothing until they finish); returns the last tenth logged.
   */
  private reportProgress(snapshot: Snapshot, started: number, reported: number): number {
    const tenth = Math.floor((snapshot.cursor * 10) / Math.max(1, snapshot.end));
    const ms = performance.now() - started;
    if (tenth <= reported || ms < PROGRESS_AFTER_MS) return reported;
    const perSecond = this.keysWritten / (ms / 1000);
    const eta = (ms / snapshot.cursor) * (snapshot.end - snapshot.cursor) / 1000;
    this.log.notice(
      `Rewriting AOF: ${tenth * 10}% (${this.keysWritten} keys written, ${Math.round(perSecond)} keys/s, about ${eta.toFixed(0)} s left)`,
    );
    return tenth;
  }

  private async yieldTurn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.checkAborted();
  }

  private checkAborted(): void {
    if (this.aborted) throw new RewriteAborted("rewrite aborted");
  }
}

function writeAll(fd: number, buf: Buffer, length: number): number {
  let offset = 0;
  while (offset < length) offset += writeSync(fd, buf, offset, length - offset);
  return length;
}

/** Copies up to `length` bytes of `source` at `position` to the end of `target`; returns how many. */
function copyRange(source: number, target: number, position: number, length: number): number {
  const buf = Buffer.allocUnsafe(Math.min(length, COPY_BYTES));
  let done = 0;
  while (done < length) {
    const n = readSync(source, buf, 0, Math.min(buf.length, length - done), position + done);
    if (n === 0) throw new Error(`the AOF ended at ${position + done} while ${length - done} more bytes were expected`);
    writeAll(target, buf, n);
    done += n;
  }
  return done;
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
function syncDirectory(): void {
  const dir = openSync(".", "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Writes each key a snapshot visits as the record that recreates it: SET
 * key value, with PXAT for a key with a TTL. A record is a request, an
 * array of bulk strings, so the reply writer's RESP2 frames make it; a key
 * read in place goes from the arena to the buffer as bytes (its bulkBytes).
 */
export class SetRecords implements SnapshotVisitor {
  count = 0;
  private readonly resp: ReplyWriter;

  constructor(out: OutputBuffer) {
    this.resp = new ReplyWriter(out);
  }

  live(entries: Entries, slot: number, expireAt: number): void {
    this.begin(expireAt);
    entries.readKey(slot, this.resp);
    entries.readValue(slot, this.resp);
    this.end(expireAt);
  }

  kept(source: Buffer, start: number, keyLength: number, valueLength: number, expireAt: number): void {
    this.begin(expireAt);
    this.resp.bulkBytes(source, start, keyLength);
    this.resp.bulkBytes(source, start + keyLength, valueLength);
    this.end(expireAt);
  }

  private begin(expireAt: number): void {
    this.resp.array(expireAt === 0 ? 3 : 5);
    this.resp.bulk("SET");
  }

  private end(expireAt: number): void {
    if (expireAt !== 0) {
      this.resp.bulk("PXAT");
      this.resp.bulk(String(expireAt));
    }
    this.count++;
  }
}

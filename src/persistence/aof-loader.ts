import { arityAccepts, lookupRealCommand, type Command } from "../commands/table.ts";
import type { Logger } from "../util/log.ts";
import { AofFormatError, AofReader, type RecordSink } from "./aof-reader.ts";

/**
 * Read size: each chunk is parsed and replayed in one event-loop turn, so
 * this bounds a -LOADING reply's wait (a 1 MiB chunk took ~50 ms).
 */
const CHUNK_BYTES = 256 * 1024;
/** Files at least this big get a progress line at every tenth of the file. */
const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;
const PROGRESS_STEPS = 10;

export interface LoadResult {
  records: number;
  bytes: number;
  /** Where the torn last record starts (the file is whole up to there), or -1. */
  tornAt: number;
  /** Why the tail is torn, for the warning. */
  tornReason: string;
  ms: number;
}

/** The file is damaged before its tail; loading it would silently lose or invent data. */
export class AofCorruptError extends Error {
  constructor(
    readonly path: string,
    /** Where the bad record starts: the last whole-record boundary. */
    readonly recordOffset: number,
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`Bad file format reading the append only file ${path}: ${problem} at offset ${offset}`);
  }
}

/**
 * Reads an AOF from the start and hands every record to `sink`, a chunk per
 * event-loop turn (reads are asynchronous, so the server answers -LOADING
 * meanwhile). `sink` may throw AofFormatError for a record it cannot
 * replay; it is reported like a format error at that record.
 *
 * A record cut off by the end of the file is a torn tail (a crash while
 * writing): reported, not fatal. So is a record that turns into NUL bytes
 * up to the end of the file, which some filesystems leave after a power
 * loss when the size was updated but the data was not. Anything else
 * malformed is corruption: AofCorruptError.
 */
export async function readAof(path: string, sink: RecordSink, log: Logger | null): Promise<LoadResult> {
  const file = Bun.file(path);
  const size = file.size;
  const reader = new AofReader();
  const blocks = new TransactionBlocks(sink);
  const started = performance.now();
  let lastStep = 0;
  for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
    const chunk = Buffer.from(await file.slice(offset, Math.min(size, offset + CHUNK_BYTES)).arrayBuffer());
    try {
      reader.feed(chunk, blocks.record);
    } catch (err) {
      if (!(err instanceof AofFormatError)) throw err;
      // The file ends in NUL bytes that begin inside the bad record (a header is at most 22 bytes).
      const zeros = await trailingZerosStart(file, err.recordOffset, size);
      if (zeros < size && zeros <= err.offset + 22) {
        if (blocks.openAt >= 0) return finish(reader.records, size, blocks.openAt, UNFINISHED_TRANSACTION, started);
        return finish(reader.records, size, err.recordOffset, "NUL bytes fill the rest of the file", started);
      }
      throw new AofCorruptError(path, err.recordOffset, err.offset, err.problem);
    }
    const done = offset + chunk.length;
    const step = Math.floor((done * PROGRESS_STEPS) / size);
    if (log !== null && size >= PROGRESS_MIN_BYTES && step > lastStep && done < size) {
      lastStep = step;
      log.notice(progressLine(done, size, reader.records, performance.now() - started));
    }
  }
  if (blocks.openAt >= 0) return finish(reader.records, size, blocks.openAt, UNFINISHED_TRANSACTION, started);
  return finish(reader.records, size, reader.tornAt, "the file ends inside it", started);
}

const UNFINISHED_TRANSACTION = "the file ends inside a MULTI/EXEC transaction";

/**
 * EXEC logs its changes between MULTI and EXEC records. They reach the sink
 * only once EXEC is read, so a transaction is replayed whole or, when the
 * file ends before its EXEC (a crash mid-write), not at all: the tail is
 * torn at its MULTI, as Redis reverts an incomplete transaction.
 */
class TransactionBlocks {
  private held: [string[], number][] | null = null;
  /** Where the MULTI of a transaction still waiting for its EXEC starts, or -1. */
  openAt = -1;

  constructor(private readonly sink: RecordSink) {}

  readonly record = (argv: string[], offset: number): void => {
    if (argv.length === 1 && /^multi$/i.test(argv[0]!)) {
      if (this.held !== null) throw new AofFormatError(offset, offset, "MULTI inside a transaction");
      this.held = [];
      this.openAt = offset;
    } else if (argv.length === 1 && /^exec$/i.test(argv[0]!)) {
      const held = this.held;
      if (held === null) throw new AofFormatError(offset, offset, "EXEC without MULTI");
      this.held = null;
      this.openAt = -1;
      for (const [record, at] of held) this.sink(record, at);
    } else if (this.held !== null) {
      this.held.push([argv, offset]);
    } else {
      this.sink(argv, offset);
    }
  };
}

function finish(records: number, bytes: number, tornAt: number, tornReason: string, started: number): LoadResult {
  return { records, bytes, tornAt, tornReason, ms: performance.now() - started };
}

function progressLine(done: number, total: number, records: number, ms: number): string {
  const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);
  const rate = done / (1024 * 1024) / (ms / 1000);
  const eta = rate > 0 ? (total - done) / (1024 * 1024) / rate : 0;
  return (
    `Loading AOF: ${Math.floor((done * 100) / total)}% (${mb(done)} of ${mb(total)} MB, ` +
    `${records} records, ${Math.round(records / (ms / 1000))} records/s, ${rate.toFixed(1)} MB/s, about ${eta.toFixed(0)} s left)`
  );
}

/** Where the run of NUL bytes that ends the file begins (not before `from`); `size` when the last byte is not NUL. */
async function trailingZerosStart(file: ReturnType<typeof Bun.file>, from: number, size: number): Promise<number> {
  let end = size;
  while (end > from) {
    const start = Math.max(from, end - CHUNK_BYTES);
    const bytes = new Uint8Array(await file.slice(start, end).arrayBuffer());
    for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== 0) return start + i + 1;
    end = start;
  }
  return from;
}

/** The command a record runs; AofFormatError when no write command of that name and arity exists. */
export function commandForRecord(argv: string[], offset: number): Command {
  const command = lookupRealCommand(argv[0]!);
  if (command === undefined) throw new AofFormatError(offset, offset, `unknown command '${argv[0]!.slice(0, 64)}'`);
  const { name } = command.spec;
  // Only changes are logged; anything else (SHUTDOWN, CONFIG…) in the file did not come from a server.
  if (!command.write && name !== "select") throw new AofFormatError(offset, offset, `'${name}' is not a write command`);
  if (!arityAccepts(command.spec, argv.length)) {
    throw new AofFormatError(offset, offset, `wrong number of arguments (${argv.length - 1}) for '${name}'`);
  }
  return command;
}

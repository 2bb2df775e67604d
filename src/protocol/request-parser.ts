import { parseLength } from "../util/numbers.ts";
import { splitInlineArgs } from "./inline.ts";

/**
 * Turns a client's byte stream into commands. Like Redis's
 * processInputBuffer, the first byte of each request picks the protocol:
 * `*` starts a RESP multibulk request, anything else is an inline (text)
 * line, which is how the seed's `SET key value` sessions over nc arrive.
 *
 * Arguments come out as byte strings (one char per byte, latin1), which are
 * binary-safe and cheap to hash and store. Given a FrameSink, a request
 * that is whole in the buffer comes out as a Frame instead: byte ranges, so
 * the server's hottest commands (GET, SET, MGET, MSET, DEL) make no strings at all. Each
 * request's strings were the main garbage per request, and freeing them
 * made the allocator hand pages back and fault them in again.
 *
 * Parsing state survives across reads, so a frame split at any byte is
 * resumed where it stopped; a large bulk argument is collected chunk by chunk
 * and joined once, never re-parsed per read.
 */

export const INLINE_MAX_SIZE = 64 * 1024;
/**
 * Limits from the configuration (proto-max-bulk-len, client-query-buffer-limit),
 * shared by every parser; the server sets them at startup and on CONFIG SET.
 */
export const requestLimits = {
  maxBulkLength: 512 * 1024 * 1024,
};
const MULTIBULK_MAX_LEN = 1024 * 1024;
/** Before AUTH, requests are kept small, as in Redis: nothing a stranger sends can make the server buffer much. */
const UNAUTHENTICATED_MAX_ARGS = 10;
const UNAUTHENTICATED_MAX_BULK = 16384;

const CR = 13;
const LF = 10;

/**
 * Receives each parsed command; returning false stops parsing after it (the
 * client is closing, or its replies wait to be read). What was not parsed
 * stays buffered and is parsed by the next `feed`, even an empty one.
 */
export type CommandSink = (argv: string[], inline: boolean) => boolean;

/**
 * Receives each complete request that arrived whole in one read, as byte
 * ranges of the receive buffer (valid only during the call); returns what a
 * CommandSink returns. Commands that can work on bytes then make no argument
 * strings at all; the others call `frame.argv()`.
 */
export type FrameSink = (frame: Frame) => boolean;

/**
 * Told about the whole requests of a pipeline before they run: `ahead` gets
 * each (the one about to run first), as byte ranges valid only during the
 * call, then `done` is called once. The server prefetches their keys
 * (Keyspace.prefetch).
 */
export interface FrameLookahead {
  ahead(frame: Frame): void;
  done(): void;
}

/** The most requests one lookahead covers. */
export const LOOKAHEAD_FRAMES = 32;

/** Receives an error about a single inline request; the connection stays usable. */
export type InlineErrorSink = (message: string) => void;

export class ProtocolError extends Error {}

/**
 * Canonical strings for frequent first arguments (command names). A request
 * whose name matches one gets that string instead of a fresh one (no
 * allocation), and its number, its id, by which the server finds the
 * command in an array. The table is typed arrays: its first entry by shape
 * (length and first byte), the next of the same shape, and each name's
 * bytes. A lookup per request costs few cache lines: JavaScript arrays of
 * strings, or a Map, were a chain of dependent cache misses each (perf
 * samples of the GET path, BENCHMARKS.md "Profile after run 29").
 */
const MAX_INTERNED_LENGTH = 16;
const MAX_INTERNED = 1024;
/** By shape, length * 256 + first byte: the shape's first id + 1 (0: none). */
const firstByShape = new Int16Array((MAX_INTERNED_LENGTH + 1) * 256);
/** By id: the next id + 1 of the same shape (0: none). */
const nextOfShape = new Int16Array(MAX_INTERNED);
/** By id: the name's bytes at id * MAX_INTERNED_LENGTH. */
const internedBytes = new Uint8Array(MAX_INTERNED * MAX_INTERNED_LENGTH);
/** By id: the name. */
export const internedNames: string[] = [];

/** Adds names to the table (names already in it, over 16 bytes, or not Latin-1 are skipped). */
export function internCommandNames(names: Iterable<string>): void {
  for (const name of names) {
    if (name.length === 0 || name.length > MAX_INTERNED_LENGTH || internedNames.includes(name)) continue;
    if (!/^[\x00-\xff]*$/.test(name)) continue;
    if (internedNames.length >= MAX_INTERNED) throw new Error("too many interned names");
    const id = internedNames.length;
    internedNames.push(name);
    for (let i = 0; i < name.length; i++) internedBytes[id * MAX_INTERNED_LENGTH + i] = name.charCodeAt(i);
    const shape = name.length * 256 + name.charCodeAt(0);
    nextOfShape[id] = firstByShape[shape]!;
    firstByShape[shape] = id + 1;
  }
}

/** The id of the interned name equal to buf[start, start + length), or -1. */
function internedId(buf: Buffer, start: number, length: number): number {
  if (length === 0 || length > MAX_INTERNED_LENGTH) return -1;
  next: for (let stored = firstByShape[length * 256 + buf[start]!]!; stored !== 0; stored = nextOfShape[stored - 1]!) {
    const at = (stored - 1) * MAX_INTERNED_LENGTH - start;
    for (let i = start + 1; i < start + length; i++) if (internedBytes[at + i] !== buf[i]) continue next;
    return stored - 1;
  }
  return -1;
}

/** Requests with more arguments than this are parsed into strings as they arrive, never as a Frame. */
export const MAX_FRAME_ARGS = 32;

/** A whole RESP request as it lies in the receive buffer. */
export class Frame {
  buf: Buffer = Buffer.alloc(0);
  /** The request's bytes are buf[start, end): a RESP array of bulk strings, as the AOF records commands. */
  start = 0;
  end = 0;
  argc = 0;
  /** The command name's id (internedNames), when it is one of the interned names (any known command, in lower or upper case); else -1. */
  nameId = -1;
  /** Argument i is buf[starts[i], starts[i] + lengths[i]). */
  readonly starts = new Int32Array(MAX_FRAME_ARGS);
  readonly lengths = new Int32Array(MAX_FRAME_ARGS);

  /** The arguments as byte strings, as a CommandSink gets them. */
  argv(): string[] {
    const argv: string[] = [];
    for (let i = 0; i < this.argc; i++) {
      const start = this.starts[i]!;
      argv.push(i === 0 && this.nameId >= 0 ? internedNames[this.nameId]! : this.buf.latin1Slice(start, start + this.lengths[i]!));
    }
    return argv;
  }
}

/**
 * Where lookAhead parses the requests after the current one (each is parsed
 * again when its turn comes). One for all parsers: a lookahead runs to its
 * end before anything else is parsed.
 */
const aheadFrame = new Frame();

/**
 * The request being handed to a frame sink, also one for all parsers: the
 * sink is done with it when it returns, before anything else is parsed.
 * Shared, its fields and argument arrays stay in the cache from one request
 * to the next; a frame per connection was a few cache misses per request
 * at 50 connections.
 */
const currentFrame = new Frame();

export class RequestParser {
  /** Unconsumed bytes, or chunks not yet joined while a long frame arrives. */
  private chunks: Buffer[] = [];
  private chunksLength = 0;
  /** Bytes (counted from chunks[0]) needed before parsing can progress. */
  private needed = 0;

  // An in-progress multibulk request.
  private argv: string[] | null = null;
  private argsLeft = 0;
  private bulkLength = -1;
  /** The client has not authenticated yet (a password is required): Redis's tighter limits apply. */
  unauthenticated = false;
  /** The sink asked to stop: keep the rest, parse it at the next feed. */
  private stopped = false;

  /** Bytes buffered but not yet parsed (Redis's qbuf). */
  get bufferedBytes(): number {
    return this.chunksLength;
  }

  /**
   * Parses what can be parsed and hands each command to `sink`, or, when
   * `frameSink` is given, each request that is whole in the buffer to it.
   * Throws ProtocolError on malformed RESP, after which the connection must close.
   */
  feed(chunk: Buffer, sink: CommandSink, inlineError: InlineErrorSink, frameSink?: FrameSink, lookahead?: FrameLookahead): void {
    let buf: Buffer;
    if (this.chunksLength === 0) {
      buf = chunk;
    } else if (this.chunksLength + chunk.length < this.needed) {
      // Still short: keep a private copy, as the runtime may reuse the read buffer.
      this.chunks.push(Buffer.from(chunk));
      this.chunksLength += chunk.length;
      return;
    } else {
      // Enough to go on: one copy joins what was kept with this chunk.
      this.chunks.push(chunk);
      buf = Buffer.concat(this.chunks, this.chunksLength + chunk.length);
      this.chunks = [];
      this.chunksLength = 0;
    }
    this.needed = 0;

    let pos = 0;
    const end = buf.length;
    /** Requests after the current one that a lookahead already covered. */
    let lookedAhead = 0;
    while (pos < end && !this.stopped) {
      if (this.argv === null) {
        if (buf[pos] !== 42 /* '*' */) {
          const next = this.parseInline(buf, pos, sink, inlineError);
          if (next === pos) break;
          pos = next;
          continue;
        }
        if (frameSink !== undefined && !this.unauthenticated) {
          const next = this.parseFrame(buf, pos, end, currentFrame);
          if (next > 0) {
            if (lookedAhead > 0) lookedAhead--;
            else if (lookahead !== undefined && next < end) lookedAhead = this.lookAhead(buf, next, end, lookahead);
            if (!frameSink(currentFrame)) this.stopped = true;
            pos = next;
            continue;
          }
        }
        const cr = indexOfCR(buf, pos, end);
        if (cr < 0 || cr + 1 >= end) {
          if (end - pos > INLINE_MAX_SIZE) throw new ProtocolError("Protocol error: too big mbulk count string");
          break;
        }
        if (buf[cr + 1] !== LF) throw new ProtocolError(NO_LF_AFTER_CR);
        const count = parseLength(buf, pos + 1, cr);
        if (count === null || count > MULTIBULK_MAX_LEN) throw new ProtocolError("Protocol error: invalid multibulk length");
        if (this.unauthenticated && count > UNAUTHENTICATED_MAX_ARGS) throw new ProtocolError("Protocol error: unauthenticated multibulk length");
        pos = cr + 2;
        if (count <= 0) continue;
        this.argv = [];
        this.argsLeft = count;
      }

      // Inside a multibulk request: read `$len\r\n<bytes>\r\n` arguments.
      while (this.argsLeft > 0) {
        if (this.bulkLength < 0) {
          if (pos >= end) break;
          const cr = indexOfCR(buf, pos, end);
          if (cr < 0 || cr + 1 >= end) {
            if (end - pos > INLINE_MAX_SIZE) throw new ProtocolError("Protocol error: too big bulk count string");
            break;
          }
          if (buf[pos] !== 36 /* '$' */) {
            throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(buf[pos]!)}'`);
          }
          if (buf[cr + 1] !== LF) throw new ProtocolError(NO_LF_AFTER_CR);
          const length = parseLength(buf, pos + 1, cr);
          if (!isBulkLength(length)) throw new ProtocolError("Protocol error: invalid bulk length");
          if (this.unauthenticated && length > UNAUTHENTICATED_MAX_BULK) throw new ProtocolError("Protocol error: unauthenticated bulk length");
          this.bulkLength = length;
          pos = cr + 2;
        }
        if (end - pos < this.bulkLength + 2) {
          this.needed = this.bulkLength + 2;
          break;
        }
        if (!endsInCRLF(buf, pos + this.bulkLength)) throw new ProtocolError(bulkNotTerminated(this.bulkLength));
        const argv = this.argv!;
        const id = argv.length === 0 ? internedId(buf, pos, this.bulkLength) : -1;
        argv.push(id >= 0 ? internedNames[id]! : buf.latin1Slice(pos, pos + this.bulkLength));
        pos += this.bulkLength + 2;
        this.bulkLength = -1;
        this.argsLeft--;
      }
      if (this.argsLeft > 0) break;

      const argv = this.argv!;
      this.argv = null;
      if (!sink(argv, false)) this.stopped = true;
    }

    if (pos < end) {
      const rest = Buffer.from(buf.subarray(pos)); // a private copy, as above
      this.chunks.push(rest);
      this.chunksLength = rest.length;
      // Stopped: parse the rest at the next feed; else wait for more bytes.
      if (this.stopped) this.needed = 0;
      else if (this.needed === 0) this.needed = rest.length + 1;
    }
    this.stopped = false;
  }

  /**
   * Hands `lookahead` the current frame and the whole requests that follow
   * it from `pos`, up to LOOKAHEAD_FRAMES in all, when at least one does;
   * returns how many of those that follow it covered.
   */
  private lookAhead(buf: Buffer, pos: number, end: number, lookahead: FrameLookahead): number {
    let covered = 0;
    while (covered < LOOKAHEAD_FRAMES - 1 && pos < end && buf[pos] === 42 /* '*' */) {
      const next = this.parseFrame(buf, pos, end, aheadFrame);
      if (next < 0) break;
      if (covered === 0) lookahead.ahead(currentFrame);
      lookahead.ahead(aheadFrame);
      covered++;
      pos = next;
    }
    if (covered > 0) lookahead.done();
    return covered;
  }

  /**
   * Reads the request at `pos` (a `*`) into `frame` when all of it is in the
   * buffer, it is well formed and has 1 to MAX_FRAME_ARGS arguments, and
   * returns the position after it. Otherwise returns -1 and leaves it to
   * the incremental parsing in feed(), which also reports the errors.
   */
  private parseFrame(buf: Buffer, pos: number, end: number, frame: Frame): number {
    let cr = indexOfCR(buf, pos, end);
    if (cr < 0 || cr + 1 >= end || buf[cr + 1] !== LF) return -1;
    const count = parseLength(buf, pos + 1, cr);
    if (count === null || count <= 0 || count > MAX_FRAME_ARGS) return -1;
    let p = cr + 2;
    for (let i = 0; i < count; i++) {
      if (p >= end || buf[p] !== 36 /* '$' */) return -1;
      cr = indexOfCR(buf, p, end);
      if (cr < 0 || cr + 1 >= end || buf[cr + 1] !== LF) return -1;
      const length = parseLength(buf, p + 1, cr);
      if (!isBulkLength(length)) return -1;
      p = cr + 2;
      if (end - p < length + 2 || !endsInCRLF(buf, p + length)) return -1;
      frame.starts[i] = p;
      frame.lengths[i] = length;
      p += length + 2;
    }
    frame.buf = buf;
    frame.start = pos;
    frame.end = p;
    frame.argc = count;
    frame.nameId = internedId(buf, frame.starts[0]!, frame.lengths[0]!);
    return p;
  }

  /**
   * Parses one inline line at `pos`. Returns the position after it, or `pos`
   * itself when the line is not complete yet.
   */
  private parseInline(buf: Buffer, pos: number, sink: CommandSink, inlineError: InlineErrorSink): number {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) {
      if (buf.length - pos > INLINE_MAX_SIZE) throw new ProtocolError("Protocol error: too big inline request");
      return pos;
    }
    const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
    const args = splitInlineArgs(buf.latin1Slice(pos, lineEnd));
    if (args === null) {
      inlineError("ERR Protocol error: unbalanced quotes in request");
    } else if (args.length > 0 && !sink(args, true)) {
      this.stopped = true;
    }
    return lf + 1;
  }
}

/**
 * The first CR at or after `from`, or -1. Header lines (`*3`, `$16`) are a
 * few bytes long, so a plain loop beats a call into native indexOf.
 */
function indexOfCR(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === CR) return i;
  return -1;
}

/**
 * Redis skips the two bytes after a header's CR and after a bulk string
 * unread. Here a frame's bytes go to the AOF as they arrived, so anything
 * but CRLF there would be a record the loader cannot read back: refuse it.
 */
const NO_LF_AFTER_CR = "Protocol error: expected '\\n' after '\\r'";

function bulkNotTerminated(length: number): string {
  return `Protocol error: expected '\\r\\n' after a bulk string of ${length} bytes`;
}

function endsInCRLF(buf: Buffer, at: number): boolean {
  return buf[at] === CR && buf[at + 1] === LF;
}

/** Whether a parsed `$<n>` header is a bulk length this server accepts (proto-max-bulk-len). */
function isBulkLength(length: number | null): length is number {
  return length !== null && length >= 0 && length <= requestLimits.maxBulkLength;
}

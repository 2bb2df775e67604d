import { parseLength } from "../protocol/request-parser.ts";

/**
 * Splits AOF bytes into records. Unlike the client request parser, this one
 * knows where each record starts in the file, accepts nothing but RESP
 * arrays of bulk strings (no inline lines), and says exactly what it found
 * where, because those offsets are what an operator needs to repair a file.
 *
 * Chunks are fed in file order; a record cut by a chunk boundary is kept
 * until the rest arrives. A record still incomplete at the end of the file
 * is a torn tail, reported by `tornAt`.
 */

export class AofFormatError extends Error {
  constructor(
    /** Offset of the record that is bad (where --fix would cut). */
    readonly recordOffset: number,
    /** Offset of the byte that is wrong. */
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`${problem} at offset ${offset}`);
  }
}

/** Receives each record and the offset it starts at. */
export type RecordSink = (argv: string[], offset: number) => void;

const CR = 13;
const LF = 10;
/** Same limits as client requests: the AOF only holds what clients could send. */
const MAX_ARGS = 1024 * 1024;
const MAX_BULK = 512 * 1024 * 1024;

export class AofReader {
  /** Bytes not yet consumed: the start of an incomplete record, in pieces. */
  private carry: Buffer[] = [];
  private carryLength = 0;
  /** Bytes of carry needed before parsing can progress. */
  private needed = 0;
  /** File offset of carry's first byte (the incomplete record's start). */
  private carryOffset = 0;
  /** Complete records seen so far, and where the last one ended. */
  records = 0;
  validEnd = 0;

  /** Offset where an incomplete record starts, or -1 when every byte fed formed whole records. */
  get tornAt(): number {
    return this.carryLength > 0 ? this.carryOffset : -1;
  }

  /** Parses the next chunk; throws AofFormatError on bytes that are not AOF records. */
  feed(chunk: Buffer, sink: RecordSink): void {
    let buf: Buffer;
    if (this.carryLength === 0) {
      buf = chunk;
      this.carryOffset = this.validEnd;
    } else if (this.carryLength + chunk.length < this.needed) {
      this.carry.push(chunk);
      this.carryLength += chunk.length;
      return;
    } else {
      this.carry.push(chunk);
      buf = Buffer.concat(this.carry, this.carryLength + chunk.length);
    }
    this.carry = [];
    this.carryLength = 0;
    this.needed = 0;

    const base = this.carryOffset; // file offset of buf[0]
    let pos = 0;
    while (pos < buf.length) {
      const start = pos;
      const parsed = this.parseRecord(buf, pos, base);
      if (parsed === null) break;
      pos = parsed.end;
      this.records++;
      this.validEnd = base + pos;
      sink(parsed.argv, base + start);
    }
    if (pos < buf.length) {
      this.carry = [buf.subarray(pos)];
      this.carryLength = buf.length - pos;
      this.carryOffset = base + pos;
    }
  }

  /** One record at `pos`, or null when the buffer ends inside it (setting `needed`). */
  private parseRecord(buf: Buffer, pos: number, base: number): { argv: string[]; end: number } | null {
    const recordOffset = base + pos;
    const fail = (at: number, problem: string): never => {
      throw new AofFormatError(recordOffset, base + at, problem);
    };
    if (buf[pos] !== 42 /* '*' */) fail(pos, `expected '*' (a RESP array), found ${describeByte(buf[pos]!)}`);
    const countEnd = lineEnd(buf, pos + 1);
    if (countEnd === -1) return this.short(0);
    if (countEnd === -2) fail(pos, "array header is not a number followed by CRLF");
    const count = parseLength(buf, pos + 1, countEnd);
    if (count === null || count < 1 || count > MAX_ARGS) fail(pos, `invalid array length '${buf.latin1Slice(pos + 1, countEnd)}'`);
    let p = countEnd + 2;
    const argv: string[] = [];
    for (let i = 0; i < count!; i++) {
      if (p >= buf.length) return this.short(0);
      if (buf[p] !== 36 /* '$' */) fail(p, `expected '$' (a bulk string), found ${describeByte(buf[p]!)}`);
      const lenEnd = lineEnd(buf, p + 1);
      if (lenEnd === -1) return this.short(0);
      if (lenEnd === -2) fail(p, "bulk header is not a number followed by CRLF");
      const length = parseLength(buf, p + 1, lenEnd);
      if (length === null || length < 0 || length > MAX_BULK) fail(p, `invalid bulk length '${buf.latin1Slice(p + 1, lenEnd)}'`);
      const dataStart = lenEnd + 2;
      const dataEnd = dataStart + length!;
      if (dataEnd + 2 > buf.length) {
        // Remaining bytes known: wait for them instead of re-parsing per chunk.
        return this.short(dataEnd + 2 - pos);
      }
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) fail(dataEnd, `expected CRLF after a ${length}-byte bulk string, found ${describeByte(buf[dataEnd]!)}`);
      argv.push(buf.latin1Slice(dataStart, dataEnd));
      p = dataEnd + 2;
    }
    return { argv, end: p };
  }

  /** The record is cut off by the end of the buffer; `needed` is how long it is when known. */
  private short(needed: number): null {
    this.needed = needed;
    return null;
  }
}

/**
 * The CR of the line starting at `from`: -1 when the buffer ends first,
 * -2 when the line is too long to be a header or CR is not followed by LF.
 */
function lineEnd(buf: Buffer, from: number): number {
  const limit = Math.min(buf.length, from + 21);
  for (let i = from; i < limit; i++) {
    if (buf[i] === CR) {
      if (i + 1 >= buf.length) return -1;
      return buf[i + 1] === LF ? i : -2;
    }
  }
  return limit === buf.length ? -1 : -2;
}

function describeByte(byte: number | undefined): string {
  if (byte === undefined) return "the end of the file";
  if (byte >= 0x20 && byte < 0x7f) return `'${String.fromCharCode(byte)}'`;
  return `byte 0x${byte.toString(16).padStart(2, "0")}`;
}

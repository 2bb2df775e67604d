import { parseLength } from "../util/numbers.ts";

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
  /** Bytes not yet consumed, in pieces: the rest of a record cut by a chunk's end. */
  private carry: Buffer[] = [];
  private carryLength = 0;
  /** Bytes of carry needed before parsing can progress (a bulk of known length). */
  private needed = 0;
  /** File offset of carry's first byte. */
  private carryOffset = 0;

  // The record being parsed, resumed where the previous chunk ended, so a
  // record of many arguments is not re-assembled and re-parsed per chunk.
  private argv: string[] | null = null;
  private argsLeft = 0;
  private bulkLength = -1;
  private recordOffset = 0;

  /** Complete records seen so far, and where the last one ended. */
  records = 0;
  validEnd = 0;

  /** Offset where an incomplete record starts, or -1 when every byte fed formed whole records. */
  get tornAt(): number {
    if (this.argv !== null) return this.recordOffset;
    return this.carryLength > 0 ? this.carryOffset : -1;
  }

  /** Parses the next chunk; throws AofFormatError on bytes that are not AOF records. */
  feed(chunk: Buffer, sink: RecordSink): void {
    let buf: Buffer;
    if (this.carryLength === 0) {
      buf = chunk;
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
    const fail = (at: number, problem: string): never => {
      throw new AofFormatError(this.recordOffset, base + at, problem);
    };
    let pos = 0;
    while (pos < buf.length) {
      if (this.argv === null) {
        this.recordOffset = base + pos;
        if (buf[pos] !== 42 /* '*' */) fail(pos, `expected '*' (a RESP array), found ${describeByte(buf[pos])}`);
        const countEnd = lineEnd(buf, pos + 1);
        if (countEnd === -1) break;
        if (countEnd === -2) fail(pos, "array header is not a number followed by CRLF");
        const count = parseLength(buf, pos + 1, countEnd);
        if (count === null || count < 1 || count > MAX_ARGS) fail(pos, `invalid array length '${buf.latin1Slice(pos + 1, countEnd)}'`);
        this.argv = [];
        this.argsLeft = count!;
        pos = countEnd + 2;
      }
      while (this.argsLeft > 0) {
        if (this.bulkLength < 0) {
          if (pos >= buf.length) break;
          if (buf[pos] !== 36 /* '$' */) fail(pos, `expected '$' (a bulk string), found ${describeByte(buf[pos])}`);
          const lenEnd = lineEnd(buf, pos + 1);
          if (lenEnd === -1) break;
          if (lenEnd === -2) fail(pos, "bulk header is not a number followed by CRLF");
          const length = parseLength(buf, pos + 1, lenEnd);
          if (length === null || length < 0 || length > MAX_BULK) fail(pos, `invalid bulk length '${buf.latin1Slice(pos + 1, lenEnd)}'`);
          this.bulkLength = length!;
          pos = lenEnd + 2;
        }
        const dataEnd = pos + this.bulkLength;
        if (dataEnd + 2 > buf.length) {
          this.needed = dataEnd + 2 - pos; // wait for the whole bulk instead of re-joining per chunk
          break;
        }
        if (buf[dataEnd] !== CR) fail(dataEnd, `expected CRLF after a ${this.bulkLength}-byte bulk string, found ${describeByte(buf[dataEnd])}`);
        if (buf[dataEnd + 1] !== LF) fail(dataEnd + 1, `expected LF after CR, found ${describeByte(buf[dataEnd + 1])}`);
        this.argv!.push(buf.latin1Slice(pos, dataEnd));
        pos = dataEnd + 2;
        this.bulkLength = -1;
        this.argsLeft--;
      }
      if (this.argsLeft > 0) break;
      const argv = this.argv!;
      this.argv = null;
      this.records++;
      this.validEnd = base + pos;
      sink(argv, this.recordOffset);
    }
    if (pos < buf.length) {
      this.carry = [buf.subarray(pos)];
      this.carryLength = buf.length - pos;
    }
    this.carryOffset = base + pos;
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

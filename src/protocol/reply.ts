import { formatDouble } from "../util/numbers.ts";
import { copyBytes } from "../util/bytes.ts";
import { needsQuotes, quoteArg, stringNeedsQuotes } from "./inline.ts";

/**
 * Reply encoding. Commands describe replies through ReplyWriter (ok, bulk,
 * array…) and never see bytes or sockets; the writer encodes for the
 * protocol the client speaks:
 *
 * - RESP2 (the default for RESP clients), RESP3 (after `HELLO 3`), and
 * - TEXT, for requests that arrived as inline lines (the seed's nc
 *   sessions): plain lines as the seed shows them, `OK`, the value,
 *   `(nil)`, digits, `ERR …`, one array element per line. A value that
 *   would not read as itself on a line (needsQuotes) is double-quoted
 *   with redis-cli's escapes, the form a request writes it in.
 */

export const TEXT = 0;
export const RESP2 = 2;
export const RESP3 = 3;
export type Protocol = typeof TEXT | typeof RESP2 | typeof RESP3;

const INITIAL_CAPACITY = 64 * 1024;

/** A growable byte buffer that replies are encoded into before one socket write. */
export class OutputBuffer {
  buf: Buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  length = 0;

  reserve(bytes: number): void {
    const required = this.length + bytes;
    if (required <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < required) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Writes a byte string (one char per byte). */
  write(s: string): void {
    this.reserve(s.length);
    this.length += this.buf.latin1Write(s, this.length);
  }

  /**
   * Writes a RESP header such as `$16\r\n` or `*2\r\n` byte by byte: for
   * the short lengths of typical replies this is several times cheaper than
   * building the header string and copying it in.
   */
  header(type: number, n: number): void {
    if (n < 0 || n > 999_999_999) {
      this.write(String.fromCharCode(type) + n + "\r\n");
      return;
    }
    this.reserve(13);
    const buf = this.buf;
    let p = this.length;
    buf[p++] = type;
    let divisor = 1;
    while (divisor * 10 <= n) divisor *= 10;
    for (; divisor >= 1; divisor = (divisor / 10) | 0) buf[p++] = 48 + (((n / divisor) | 0) % 10);
    buf[p++] = 13;
    buf[p++] = 10;
    this.length = p;
  }

  /** Copies source[start, start + length) to the end. */
  copyFrom(source: Buffer, start: number, length: number): void {
    this.reserve(length);
    copyBytes(source, start, length, this.buf, this.length);
    this.length += length;
  }

  crlf(): void {
    this.reserve(2);
    this.buf[this.length++] = 13;
    this.buf[this.length++] = 10;
  }

  /** Drops a buffer that a huge reply grew, so one large GET does not pin memory. */
  shrink(): void {
    this.length = 0;
    if (this.buf.length > 4 * INITIAL_CAPACITY) this.buf = Buffer.allocUnsafe(INITIAL_CAPACITY);
  }
}

export class ReplyWriter {
  protocol: Protocol = RESP2;
  /** Error replies written since startup or CONFIG RESETSTAT (INFO's total_error_replies). */
  errors = 0;
  /** The same, by error code, the reply's first word (INFO errorstats). */
  readonly errorCodes = new Map<string, number>();

  constructor(readonly out: OutputBuffer) {}

  ok(): void {
    this.out.write(this.protocol === TEXT ? "OK\n" : "+OK\r\n");
  }

  /** A simple string (`+PONG`); must not contain CR or LF. */
  status(s: string): void {
    this.out.write(this.protocol === TEXT ? s + "\n" : "+" + s + "\r\n");
  }

  /** An error; `message` starts with its code, e.g. `ERR syntax error`. */
  error(message: string): void {
    this.errors++;
    const space = message.indexOf(" ");
    const code = space === -1 ? message : message.slice(0, space);
    // At most 128 codes, as Redis: error texts come partly from clients.
    const count = this.errorCodes.get(code);
    if (count !== undefined || this.errorCodes.size < 128) this.errorCodes.set(code, (count ?? 0) + 1);
    // CR/LF would break the frame; Redis replaces them with spaces too.
    const safe = message.includes("\r") || message.includes("\n") ? message.replace(/[\r\n]/g, " ") : message;
    this.out.write(this.protocol === TEXT ? safe + "\n" : "-" + safe + "\r\n");
  }

  integer(n: number | bigint): void {
    if (this.protocol === TEXT) this.out.write(n + "\n");
    else if (typeof n === "number") this.out.header(58 /* : */, n);
    else this.out.write(":" + n + "\r\n");
  }

  bulk(s: string): void {
    if (this.protocol === TEXT) {
      this.out.write(stringNeedsQuotes(s) ? quoteArg(s) : s);
      this.out.write("\n");
      return;
    }
    this.out.header(36 /* $ */, s.length);
    this.out.write(s);
    this.out.crlf();
  }

  /** A bulk string whose bytes are source[start, start + length) (a stored value, copied as it lies). */
  bulkBytes(source: Buffer, start: number, length: number): void {
    if (this.protocol === TEXT) {
      if (needsQuotes(source, start, start + length)) this.out.write(quoteArg(source.latin1Slice(start, start + length)));
      else this.out.copyFrom(source, start, length);
      this.out.write("\n");
      return;
    }
    this.out.header(36 /* $ */, length);
    this.out.copyFrom(source, start, length);
    this.out.crlf();
  }

  bulkOrNull(s: string | null | undefined): void {
    if (s === null || s === undefined) this.nullBulk();
    else this.bulk(s);
  }

  /** A missing value: `$-1` in RESP2, `_` in RESP3, `(nil)` in text. */
  nullBulk(): void {
    this.out.write(this.protocol === RESP3 ? "_\r\n" : this.protocol === RESP2 ? "$-1\r\n" : "(nil)\n");
  }

  /** A missing array (e.g. SET … GET on nothing is a bulk; this is for arrays). */
  nullArray(): void {
    this.out.write(this.protocol === RESP3 ? "_\r\n" : this.protocol === RESP2 ? "*-1\r\n" : "(nil)\n");
  }

  /** Starts an array of `n` elements; the caller writes them next. */
  array(n: number): void {
    if (this.protocol === TEXT) {
      if (n === 0) this.out.write("(empty array)\n");
      return;
    }
    this.out.header(42 /* * */, n);
  }

  /** Starts a map of `n` key/value pairs (a flat array of 2n in RESP2). */
  map(n: number): void {
    if (this.protocol === RESP3) this.out.write("%" + n + "\r\n");
    else this.array(n * 2);
  }

  /** Starts a set of `n` elements (an array in RESP2). */
  set(n: number): void {
    if (this.protocol === RESP3) this.out.write("~" + n + "\r\n");
    else this.array(n);
  }

  double(x: number): void {
    const text = formatDouble(x);
    if (this.protocol === RESP3) this.out.write("," + text + "\r\n");
    else this.bulk(text);
  }

  bool(b: boolean): void {
    if (this.protocol === RESP3) this.out.write(b ? "#t\r\n" : "#f\r\n");
    else this.integer(b ? 1 : 0);
  }

  /**
   * Free text such as INFO or CLIENT LIST: a verbatim string in RESP3, and
   * in text its lines as they are (redis-cli prints these raw too).
   */
  verbatim(text: string): void {
    if (this.protocol === RESP3) {
      this.out.write("=" + (text.length + 4) + "\r\ntxt:");
      this.out.write(text);
      this.out.write("\r\n");
    } else if (this.protocol === TEXT) {
      this.out.write(text);
      this.out.write("\n");
    } else {
      this.bulk(text);
    }
  }

  /** An array of simple strings, as HELP subcommands reply. */
  statusArray(lines: readonly string[]): void {
    this.array(lines.length);
    for (const line of lines) this.status(line);
  }

  bulkArray(items: readonly string[]): void {
    this.array(items.length);
    for (const item of items) this.bulk(item);
  }
}

/**
 * Splitting of inline commands (`SET k "a b"\r\n` typed into telnet) with the
 * exact semantics of Redis's `sdssplitargs` (src/sds.c).
 *
 * Rules:
 *  - Arguments are separated by runs of C-locale isspace bytes
 *    (space, \t, \n, \v, \f, \r) between arguments. Inside an unquoted
 *    argument only space, \t, \n, \r end it: \v and \f are kept as data.
 *  - "double quotes" support \n \r \t \b \a, \xHH (exactly two hex digits,
 *    either case) and \<any other byte> meaning that byte (so \" and \\).
 *    A \x not followed by two hex digits is just "x" after the backslash.
 *  - 'single quotes' only treat \' as an escape; every other byte is literal.
 *  - Quotes may start mid-argument (`foo"bar"` is "foobar"), but a closing
 *    quote must be followed by whitespace or the end of the line.
 *  - The line is a C string to sdssplitargs: a NUL byte ends it, so anything
 *    after the first \0 is ignored (an open quote at that point is an error).
 *
 * Returns the arguments ([] for an empty or blank line), or null on unbalanced
 * quotes / a closing quote followed by a non-blank byte.
 */

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const DQUOTE = 34;
const SQUOTE = 39;
const BACKSLASH = 92;
const LOWER_X = 120;

/** C-locale isspace. */
function isSpace(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR); // \t \n \v \f \r are 9..13
}

/** Value of a hex digit byte, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/** Escape letters understood inside double quotes (anything else maps to itself). */
function unescapeByte(c: number): number {
  switch (c) {
    case 110: // n
      return LF;
    case 114: // r
      return CR;
    case 116: // t
      return TAB;
    case 98: // b
      return 8;
    case 97: // a
      return 7;
    default:
      return c;
  }
}

export function splitInlineArgs(line: string): string[] | null {
  const nul = line.indexOf("\0");
  const len = nul === -1 ? line.length : nul;
  // Byte at i, or 0 past the end: mirrors reading the C string's terminator.
  const at = (i: number): number => (i < len ? line.charCodeAt(i) : 0);

  const args: string[] = [];
  let i = 0;
  for (;;) {
    while (i < len && isSpace(line.charCodeAt(i))) i++;
    if (i >= len) return args;

    // Fast path: take a run of plain bytes (no blanks, no quotes) as one
    // slice; the byte loop below only handles what follows it, if anything.
    let j = i;
    while (j < len) {
      const c = line.charCodeAt(j);
      if (c === SPACE || c === LF || c === CR || c === TAB || c === DQUOTE || c === SQUOTE) break;
      j++;
    }
    let current = line.slice(i, j);
    i = j;
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = at(i);
      if (inDouble) {
        if (c === BACKSLASH && at(i + 1) === LOWER_X && hexValue(at(i + 2)) >= 0 && hexValue(at(i + 3)) >= 0) {
          current += String.fromCharCode(hexValue(at(i + 2)) * 16 + hexValue(at(i + 3)));
          i += 3;
        } else if (c === BACKSLASH && i + 1 < len) {
          i++;
          current += String.fromCharCode(unescapeByte(line.charCodeAt(i)));
        } else if (c === DQUOTE) {
          if (i + 1 < len && !isSpace(line.charCodeAt(i + 1))) return null;
          done = true;
        } else if (i >= len) {
          return null; // unterminated "..."
        } else {
          current += line[i];
        }
      } else if (inSingle) {
        if (c === BACKSLASH && at(i + 1) === SQUOTE) {
          i++;
          current += "'";
        } else if (c === SQUOTE) {
          if (i + 1 < len && !isSpace(line.charCodeAt(i + 1))) return null;
          done = true;
        } else if (i >= len) {
          return null; // unterminated '...'
        } else {
          current += line[i];
        }
      } else if (i >= len || c === SPACE || c === LF || c === CR || c === TAB) {
        done = true;
      } else if (c === DQUOTE) {
        inDouble = true;
      } else if (c === SQUOTE) {
        inSingle = true;
      } else {
        current += line[i];
      }
      if (i < len) i++;
    }
    args.push(current);
  }
}

/**
 * Redis's sdscatrepr, the inverse of splitInlineArgs for double quotes: a
 * double-quoted string with C escapes, non-printable bytes as \xHH.
 */
export function quoteArg(arg: string): string {
  let out = '"';
  for (let i = 0; i < arg.length; i++) {
    const c = arg.charCodeAt(i);
    switch (c) {
      case 0x5c: out += "\\\\"; break;
      case 0x22: out += '\\"'; break;
      case 0x0a: out += "\\n"; break;
      case 0x0d: out += "\\r"; break;
      case 0x09: out += "\\t"; break;
      case 0x07: out += "\\a"; break;
      case 0x08: out += "\\b"; break;
      default:
        out += c >= 0x20 && c < 0x7f ? arg[i] : `\\x${c.toString(16).padStart(2, "0")}`;
    }
  }
  return out + '"';
}

/**
 * Whether a value shown on a text-protocol line must be quoted to read as
 * itself: a control byte (a newline would split one reply into two lines)
 * or a leading double quote (it would look quoted already). Bytes from
 * 0x80 up stay as they are, so UTF-8 text reads as text.
 */
export function needsQuotes(bytes: Uint8Array, start: number, end: number): boolean {
  if (end > start && bytes[start] === DQUOTE) return true;
  for (let i = start; i < end; i++) if (isControl(bytes[i]!)) return true;
  return false;
}

/** needsQuotes for a latin1 string (one char per byte). */
export function stringNeedsQuotes(s: string): boolean {
  if (s.charCodeAt(0) === DQUOTE) return true;
  for (let i = 0; i < s.length; i++) if (isControl(s.charCodeAt(i))) return true;
  return false;
}

function isControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

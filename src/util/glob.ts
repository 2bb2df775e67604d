/**
 * Glob-style matching with the exact semantics of Redis's `stringmatchlen`
 * (src/util.c), used by KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE, etc.
 *
 * Pattern syntax: `*` (any run, possibly empty), `?` (one byte), `[abc]`,
 * `[^abc]`, `[a-z]` (reversed ranges such as `[z-a]` are allowed), and `\`
 * escaping the next byte both inside and outside brackets.
 *
 * Redis quirks reproduced on purpose:
 *  - Matching stops as soon as the subject is exhausted, so a pattern made only
 *    of stars does NOT match the empty string (`globMatch("*", "")` is false).
 *    Redis's KEYS and SCAN short-circuit the exact pattern "*" before calling
 *    the matcher (so empty keys still show up); callers here should do the same.
 *  - An unterminated `[` class runs to the end of the pattern (`a[bc` matches
 *    "ab"); a lone trailing `[` matches nothing; `[^` matches any one byte.
 *  - `[a-]` is a range from `a` to `]` (the range test only needs three bytes
 *    left), and the class is then unterminated.
 *  - Escaped bytes inside a class are compared case-sensitively even in nocase
 *    mode, as in Redis.
 *  - Range bounds are compared as C `char`, which is signed on x86-64, so a
 *    range with one end below 0x80 and the other at/above 0x80 behaves like
 *    Redis on x86-64 (e.g. `[a-\xff]` covers 0x00-0x61 plus 0xff), including
 *    glibc's tolower quirks for such values in nocase mode.
 *  - Recursion is capped at 1000 nested stars; deeper patterns never match.
 *
 * Complexity: a star tries the rest of the pattern at each later position, but
 * once any star has exhausted the subject without a match, no outer star can
 * succeed by consuming more (it would need the same suffix to match even later),
 * so the whole match fails immediately. This is Redis's "skipLongerMatches"
 * optimisation and keeps patterns like `a*a*a*a*...b` polynomial.
 */

const STAR = 42; // *
const QUESTION = 63; // ?
const LBRACKET = 91; // [
const RBRACKET = 93; // ]
const BACKSLASH = 92; // \
const CARET = 94; // ^
const DASH = 45; // -

/** Redis gives up (no match) past this many nested stars. */
const MAX_NESTING = 1000;

/**
 * Set once a star exhausted the subject without matching: every enclosing star
 * can then stop as well. Module-level because matching is synchronous and never
 * re-entered; it is reset at the start of every top-level call.
 */
let skipLongerMatches = false;

/** C-locale tolower on an unsigned byte. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * glibc's C-locale tolower applied to a *signed* char value, as Redis does for
 * range bounds: negative values -128..-2 come back as their unsigned byte
 * (128..254), while -1 (0xff) is EOF and stays -1.
 */
function lowerSigned(c: number): number {
  if (c < -1) return c + 256;
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Reinterprets a byte as a signed C char (x86-64 ABI). */
function signedChar(c: number): number {
  return c >= 128 ? c - 256 : c;
}

/** Returns whether `subject` matches the glob `pattern` (Redis semantics). */
export function globMatch(pattern: string, subject: string, nocase = false): boolean {
  skipLongerMatches = false;
  return matchFrom(pattern, 0, subject, 0, nocase, 0);
}

function matchFrom(
  pattern: string,
  pi: number,
  subject: string,
  si: number,
  nocase: boolean,
  nesting: number,
): boolean {
  if (nesting > MAX_NESTING) return false;
  const plen = pattern.length;
  const slen = subject.length;

  while (pi < plen && si < slen) {
    const pc = pattern.charCodeAt(pi);

    if (pc === STAR) {
      while (pi + 1 < plen && pattern.charCodeAt(pi + 1) === STAR) pi++;
      if (pi + 1 === plen) return true; // trailing star eats the rest
      for (; si < slen; si++) {
        if (matchFrom(pattern, pi + 1, subject, si, nocase, nesting + 1)) return true;
        if (skipLongerMatches) return false;
      }
      skipLongerMatches = true;
      return false;
    } else if (pc === QUESTION) {
      si++;
    } else if (pc === LBRACKET) {
      const c = subject.charCodeAt(si);
      pi++;
      const negate = pi < plen && pattern.charCodeAt(pi) === CARET;
      if (negate) pi++;
      let matched = false;
      for (;;) {
        if (plen - pi >= 2 && pattern.charCodeAt(pi) === BACKSLASH) {
          pi++;
          if (pattern.charCodeAt(pi) === c) matched = true;
        } else if (pi >= plen) {
          // Unterminated class: step back so the shared advance below lands
          // exactly on the end of the pattern.
          pi--;
          break;
        } else if (pattern.charCodeAt(pi) === RBRACKET) {
          break;
        } else if (plen - pi >= 3 && pattern.charCodeAt(pi + 1) === DASH) {
          let start = signedChar(pattern.charCodeAt(pi));
          let end = signedChar(pattern.charCodeAt(pi + 2));
          let sc = signedChar(c);
          if (start > end) {
            const t = start;
            start = end;
            end = t;
          }
          if (nocase) {
            start = lowerSigned(start);
            end = lowerSigned(end);
            sc = lowerSigned(sc);
          }
          pi += 2;
          if (sc >= start && sc <= end) matched = true;
        } else {
          const lc = pattern.charCodeAt(pi);
          if (nocase ? lower(lc) === lower(c) : lc === c) matched = true;
        }
        pi++;
      }
      if (negate) matched = !matched;
      if (!matched) return false;
      si++;
    } else {
      // Literal byte; a backslash escapes the next byte unless it is the last
      // byte of the pattern, in which case it matches a literal backslash.
      if (pc === BACKSLASH && plen - pi >= 2) pi++;
      const lc = pattern.charCodeAt(pi);
      const c = subject.charCodeAt(si);
      if (nocase ? lower(lc) !== lower(c) : lc !== c) return false;
      si++;
    }

    pi++;
    if (si === slen) {
      while (pi < plen && pattern.charCodeAt(pi) === STAR) pi++;
      break;
    }
  }
  return pi === plen && si === slen;
}

/**
 * True when the pattern has no glob metacharacters (`*`, `?`, `[`, `\`), so
 * matching it is plain byte equality and KEYS/SCAN can do a direct lookup.
 * (Case-sensitive matching only: callers using nocase must still compare.)
 */
export function isPlainPattern(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === STAR || c === QUESTION || c === LBRACKET || c === BACKSLASH) return false;
  }
  return true;
}

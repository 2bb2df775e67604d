/**
 * Redis-exact number parsing and formatting for byte strings.
 *
 *  - parseInt64 / parseSafeInt: `string2ll` (src/util.c), the strict integer
 *    syntax behind INCR, EXPIRE, LRANGE indexes, ...; parseLength and
 *    parseSafeIntAt the same on bytes (request headers, stored values).
 *  - parseRedisFloat: `string2ld` (strtold on x86-64's 80-bit long double),
 *    used by INCRBYFLOAT / HINCRBYFLOAT.
 *  - formatRedisFloat: `ld2string(..., LD_STR_HUMAN)`, how INCRBYFLOAT prints,
 *    approximated from a double.
 *  - addRedisFloats: INCRBYFLOAT's whole parse + long double add + print,
 *    emulated exactly with BigInt (digit-for-digit identical to Redis).
 *  - formatDouble: `d2string` (Redis >= 7.2: integers via ll2string, other
 *    values via fpconv_dtoa's shortest round-trip digits), used for ZSCORE,
 *    WITHSCORES, RESP3 doubles, ...
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** string2ll rejects strings of this length or longer ("-9223372036854775808" is 20). */
const LONG_STR_SIZE = 21;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const ONE = 49;
const NINE = 57;

// ---------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------

/**
 * True when `s` has string2ll's shape: optional '-', then "0" alone or a
 * non-zero digit followed by digits. Rejects "", "-", "+1", "01", "-0", " 1".
 */
function isCanonicalInteger(s: string): boolean {
  const len = s.length;
  if (len === 0) return false;
  let i = 0;
  if (s.charCodeAt(0) === MINUS) {
    if (len === 1) return false;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === ZERO) return len === 1; // only "0" itself may start with 0
  if (first < ONE || first > NINE) return false;
  for (i++; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/** Parses a signed 64-bit integer with Redis `string2ll` rules; null if invalid or out of range. */
export function parseInt64(s: string): bigint | null {
  if (s.length >= LONG_STR_SIZE || !isCanonicalInteger(s)) return null;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? null : v;
}

/**
 * Fast path of parseInt64 for the common case: same syntax rules, but returns a
 * plain number, and null whenever the value is outside ±MAX_SAFE_INTEGER or
 * the string is longer than 16 chars (callers then fall back to parseInt64 to
 * tell "invalid" from "valid but large").
 */
export function parseSafeInt(s: string): number | null {
  const len = s.length;
  if (len === 0 || len > 16) return null;
  let i = 0;
  let c = s.charCodeAt(0);
  const negative = c === MINUS;
  if (negative) {
    if (len === 1) return null;
    i = 1;
    c = s.charCodeAt(1);
  }
  if (c === ZERO) return len === 1 ? 0 : null; // "0" only: "-0" and "01" are invalid
  if (c < ONE || c > NINE) return null;
  let v = c - ZERO;
  for (i++; i < len; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return null;
    // At most 16 digits: partial values stay below 2^64, and any rounding above
    // 2^53 can only keep them above MAX_SAFE, so the final check is exact.
    v = v * 10 + d;
  }
  if (v > MAX_SAFE) return null;
  return negative ? -v : v;
}

/** Parses the decimal between `start` and `end` as Redis's string2ll would; null if invalid. */
export function parseLength(buf: Uint8Array, start: number, end: number): number | null {
  if (start >= end || end - start > 18) return null;
  let i = start;
  let negative = false;
  if (buf[i] === 45 /* '-' */) {
    negative = true;
    i++;
    if (i === end) return null;
  }
  // string2ll: no leading zeros, so "$01" and "-0" are not lengths.
  if (buf[i] === 48 /* '0' */ && (negative || i + 1 < end)) return null;
  let value = 0;
  for (; i < end; i++) {
    const digit = buf[i]! - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** parseSafeInt for the bytes buf[start, end): the value within ±MAX_SAFE_INTEGER, else null. */
export function parseSafeIntAt(buf: Uint8Array, start: number, end: number): number | null {
  // More than 16 digits are past MAX_SAFE, and up to 18 parseLength is exact
  // enough to tell: a value rounded while accumulating ends above it too.
  const value = parseLength(buf, start, end);
  return value !== null && value <= MAX_SAFE && value >= -MAX_SAFE ? value : null;
}

/** The number of bytes `n` (an integer) takes in decimal, its sign included. */
export function decimalLength(n: number): number {
  let length = n < 0 ? 2 : 1;
  for (let v = Math.abs(n); v >= 10; v = Math.floor(v / 10)) length++;
  return length;
}

/** Writes the integer `n` in decimal so that it ends just before buf[end]. */
export function writeDecimal(buf: Uint8Array, end: number, n: number): void {
  let at = end;
  let v = Math.abs(n);
  do {
    const digit = v % 10;
    buf[--at] = ZERO + digit;
    v = (v - digit) / 10; // exact: a multiple of 10 below 2^53
  } while (v > 0);
  if (n < 0) buf[--at] = MINUS;
}

// ---------------------------------------------------------------------------
// Parsing floats (string2ld)
// ---------------------------------------------------------------------------

/** string2ld copies into a buffer of this size; longer strings are rejected. */
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

/**
 * x86-64 long double (64-bit significand, 15-bit exponent) range limits, as
 * exact rationals, for strtold's ERANGE behaviour:
 *  - values >= 2^16384 - 2^16319 (LDBL_MAX plus half an ulp) overflow to inf;
 *  - values <= 2^-16446 (half the smallest subnormal) underflow to zero.
 * Both are errors for string2ld. Computed lazily: only inputs whose decimal
 * exponent is 4932 or -4951 ever need them.
 */
let ldblOverflow: bigint | undefined;
const LDBL_UNDERFLOW_POW2 = 16446n;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/**
 * A float literal accepted by string2ld, in exact form: (−1)^negative ×
 * digits × 10^exp10, or ±infinity. `digits` is "" for zero.
 */
interface ScannedFloat {
  negative: boolean;
  infinite: boolean;
  digits: string;
  exp10: number;
}

/**
 * Validates `s` with string2ld's rules (see parseRedisFloat) and returns its
 * exact value, or null when Redis would reject it.
 */
function scanRedisFloat(s: string): ScannedFloat | null {
  const len = s.length;
  if (len === 0 || len >= MAX_LONG_DOUBLE_CHARS) return null;

  let i = 0;
  const sign = s.charCodeAt(0);
  const negative = sign === MINUS;
  if (negative || sign === PLUS) i = 1;

  const rest = len - i;
  if (rest === 3 || rest === 8) {
    const word = s.slice(i).toLowerCase();
    if (word === "inf" || word === "infinity") return { negative, infinite: true, digits: "", exp10: 0 };
  }

  // Mantissa: digits, optionally '.', digits; at least one digit overall.
  const intStart = i;
  while (i < len && isDigit(s.charCodeAt(i))) i++;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (i < len && s.charCodeAt(i) === DOT) {
    fracStart = ++i;
    while (i < len && isDigit(s.charCodeAt(i))) i++;
    fracEnd = i;
  }
  if (intEnd === intStart && fracEnd === fracStart) return null;

  // Exponent: only consumed by strtod when at least one digit follows, so a
  // dangling "e" / "e+" is left over and makes the string invalid below.
  let exponent = 0;
  if (i < len && (s.charCodeAt(i) | 0x20) === 101 /* e or E */) {
    let j = i + 1;
    let expNegative = false;
    if (j < len && (s.charCodeAt(j) === PLUS || s.charCodeAt(j) === MINUS)) {
      expNegative = s.charCodeAt(j) === MINUS;
      j++;
    }
    if (j < len && isDigit(s.charCodeAt(j))) {
      while (j < len && isDigit(s.charCodeAt(j))) {
        // Clamp: the mantissa has < 5120 digits, so any |exponent| beyond this
        // is out of range either way.
        if (exponent < 1e7) exponent = exponent * 10 + (s.charCodeAt(j) - ZERO);
        j++;
      }
      if (expNegative) exponent = -exponent;
      i = j;
    }
  }
  if (i !== len) return null; // trailing bytes (includes "0x..", " ", "nan", NUL)

  const digits = (s.slice(intStart, intEnd) + s.slice(fracStart, fracEnd)).replace(/^0+/, "");
  if (digits === "") return { negative, infinite: false, digits: "", exp10: 0 }; // zero: no ERANGE
  const exp10 = exponent - (fracEnd - fracStart);

  // Decimal exponent of the first significant digit decides the long double
  // range check; only the two boundary decades need exact arithmetic.
  const sigExp = exp10 + digits.length - 1;
  if (sigExp > 4932 || sigExp < -4951) return null;
  if (sigExp === 4932) {
    ldblOverflow ??= 2n ** 16384n - 2n ** 16319n;
    const D = BigInt(digits);
    const overflow = exp10 >= 0 ? D * 10n ** BigInt(exp10) >= ldblOverflow : D >= ldblOverflow * 10n ** BigInt(-exp10);
    if (overflow) return null;
  } else if (sigExp === -4951) {
    // exp10 < 0 here. Accept iff D * 10^exp10 > 2^-16446.
    if (BigInt(digits) * 2n ** LDBL_UNDERFLOW_POW2 <= 10n ** BigInt(-exp10)) return null;
  }
  return { negative, infinite: false, digits, exp10 };
}

/**
 * Parses a float the way Redis's string2ld does for INCRBYFLOAT: the whole
 * string must be what strtold accepts, with no leading/trailing whitespace.
 * Accepted: optional sign ('+' or '-'), decimal digits with an optional '.',
 * an optional exponent, or "inf"/"infinity" in any case. Rejected: empty
 * strings, NaN, hex floats (deliberately: real strtold accepts "0x1p3", we do
 * not), strings of 5120+ bytes, and values outside the long double range
 * (overflow, or underflow to zero).
 *
 * Values that fit a long double but not a double come back as ±Infinity or ±0
 * (e.g. "1e400", "1e-400"): Redis accepts them too. addRedisFloats handles
 * them exactly; a double-based caller will instead report "increment would
 * produce NaN or Infinity" for the infinite case.
 */
export function parseRedisFloat(s: string): number | null {
  const scanned = scanRedisFloat(s);
  if (scanned === null) return null;
  if (scanned.infinite) return scanned.negative ? -Infinity : Infinity;
  if (scanned.digits === "") return scanned.negative ? -0 : 0;
  return Number(s); // same grammar as JS's StrDecimalLiteral, correctly rounded
}

// ---------------------------------------------------------------------------
// Decimal digit helpers for formatting
// ---------------------------------------------------------------------------

/** A positive decimal value digits × 10^exp10, digits without leading/trailing zeros. */
interface Decimal {
  digits: string;
  exp10: number;
}

/**
 * Parses the output of Number#toString / toPrecision / toExponential for a
 * positive finite number ("123.45", "0.000012", "1.5e+21", "3.00e-7").
 */
function parseDecimal(text: string): Decimal {
  let mantissa = text;
  let exp = 0;
  const e = text.indexOf("e");
  if (e >= 0) {
    mantissa = text.slice(0, e);
    exp = Number(text.slice(e + 1));
  }
  const dot = mantissa.indexOf(".");
  let digits = mantissa;
  if (dot >= 0) {
    digits = mantissa.slice(0, dot) + mantissa.slice(dot + 1);
    exp -= mantissa.length - dot - 1;
  }
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === ZERO) start++;
  let end = digits.length;
  while (end > start + 1 && digits.charCodeAt(end - 1) === ZERO) {
    end--;
    exp++;
  }
  return { digits: digits.slice(start, end), exp10: exp };
}

/** Shortest round-trip decimal digits of a positive finite double. */
function shortestDecimal(x: number): Decimal {
  return parseDecimal(String(x));
}

const scratch = new DataView(new ArrayBuffer(8));

/** Exact sign of (x − d) for a positive finite double x and decimal d. */
function compareDoubleToDecimal(x: number, d: Decimal): number {
  scratch.setFloat64(0, x);
  const bits = scratch.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let m = bits & 0xfffffffffffffn;
  let e2: number;
  if (biased === 0) {
    e2 = -1074;
  } else {
    m += 1n << 52n;
    e2 = biased - 1075;
  }
  // Compare m * 2^e2 with D * 10^e10 after clearing negative exponents.
  let left = m;
  let right = BigInt(d.digits);
  if (e2 >= 0) left <<= BigInt(e2);
  else right <<= BigInt(-e2);
  if (d.exp10 >= 0) right *= 10n ** BigInt(d.exp10);
  else left *= 10n ** BigInt(-d.exp10);
  return left > right ? 1 : left < right ? -1 : 0;
}

/** True when y is the double immediately above or below x (x positive, finite). */
function isAdjacentDouble(x: number, y: number): boolean {
  scratch.setFloat64(0, x);
  const bits = scratch.getBigUint64(0);
  scratch.setBigUint64(0, bits + 1n);
  if (scratch.getFloat64(0) === y) return true;
  scratch.setBigUint64(0, bits - 1n);
  return scratch.getFloat64(0) === y;
}

/** Adds one unit in the last place to a string of decimal digits ("" → "1"). */
function incrementDigits(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits.charCodeAt(i) === NINE) i--;
  if (i < 0) return "1" + "0".repeat(digits.length);
  return digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1) + "0".repeat(digits.length - i - 1);
}

/**
 * Rounds d to at most `maxDecimals` fractional digits, half-to-even on exact
 * ties as printf does. `x` is the double d stands for: when d's dropped part is
 * exactly one half, x's exact binary value decides the direction. Returns null
 * when the result is zero.
 */
function roundDecimals(d: Decimal, maxDecimals: number, x: number): Decimal | null {
  const drop = -d.exp10 - maxDecimals;
  if (drop <= 0) return d;
  const n = d.digits.length;
  const keepLen = n - drop;
  if (keepLen < 0) return null; // below half a unit of the last kept place
  let keep = d.digits.slice(0, keepLen);
  const first = d.digits.charCodeAt(keepLen) - ZERO;
  let up: boolean;
  if (first !== 5 || keepLen + 1 < n) {
    up = first >= 5; // digits have no trailing zeros: more digits after a 5 means > half
  } else {
    const cmp = compareDoubleToDecimal(x, d);
    const lastKept = keepLen > 0 ? d.digits.charCodeAt(keepLen - 1) - ZERO : 0;
    up = cmp > 0 || (cmp === 0 && lastKept % 2 === 1);
  }
  if (up) keep = incrementDigits(keep);
  if (keep === "") return null;
  const r = parseDecimal(keep);
  if (r.digits === "0") return null;
  return { digits: r.digits, exp10: r.exp10 - maxDecimals };
}

/** Plain positional notation of digits × 10^exp10 (no exponent). */
function toPositional(d: Decimal): string {
  const { digits, exp10 } = d;
  if (exp10 >= 0) return digits + "0".repeat(exp10);
  const point = digits.length + exp10;
  if (point > 0) return digits.slice(0, point) + "." + digits.slice(point);
  return "0." + "0".repeat(-point) + digits;
}

// ---------------------------------------------------------------------------
// Formatting floats
// ---------------------------------------------------------------------------

const TWO_64 = 2 ** 64;

/**
 * How Redis prints an INCRBYFLOAT / HINCRBYFLOAT result: `%.17Lf` on a long
 * double, trailing zeros and a trailing '.' removed, "-0" turned into "0",
 * and "inf" / "-inf" (/ "nan") for non-finite values. Never uses an exponent:
 * 5e3 → "5000", 3e-5 → "0.00003", 1e-20 → "0" (17 decimals at most).
 *
 * Redis computes in 80-bit long double, whose ~19 significant digits absorb the
 * binary noise of short decimal inputs before the 17th decimal: SET x 0.1;
 * INCRBYFLOAT x 0.2 prints "0.3". Our arithmetic is in doubles (0.1 + 0.2 is
 * 0.30000000000000004), so we approximate Redis:
 *  - integers below 2^64 print exactly (a long double holds those exactly too);
 *  - other values print their shortest round-trip digits, except when those
 *    need 16+ significant digits while a decimal of at most 12 significant
 *    digits is the neighbouring double: then that short decimal is taken as
 *    the intended value and the last-bit noise is dropped
 *    (0.30000000000000004 → "0.3", 3.3000000000000003 → "3.3",
 *    0.7999999999999999 → "0.8").
 * Known differences from Redis: results whose true value needs more than 17
 * significant digits (Redis shows up to 17 decimals of a 64-bit significand),
 * noise larger than one ulp (e.g. 1 − 1.1 = −0.10000000000000009 here, "-0.1"
 * in Redis), and the rare 16–17 digit value that sits next to a short decimal.
 * For INCRBYFLOAT/HINCRBYFLOAT prefer addRedisFloats, which is exact.
 */
export function formatRedisFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return "0";

  const negative = x < 0;
  const ax = negative ? -x : x;
  let body: string;
  if (Number.isInteger(ax) && ax < TWO_64) {
    body = ax <= MAX_SAFE ? String(ax) : BigInt(ax).toString();
  } else {
    let d = shortestDecimal(ax);
    if (d.digits.length >= 16 && !Number.isInteger(ax)) {
      const shortText = ax.toPrecision(12);
      if (isAdjacentDouble(ax, Number(shortText))) d = parseDecimal(shortText);
    }
    const rounded = roundDecimals(d, 17, ax);
    if (rounded === null) return "0";
    body = toPositional(rounded);
  }
  return negative ? "-" + body : body;
}

/**
 * How Redis (>= 7.2) prints a double score/reply (`d2string`):
 *  - "nan", "inf", "-inf", and "0" / "-0" for zeros;
 *  - integral values within ±2^62 print as integers ("3", "100000000000000000");
 *  - everything else uses fpconv_dtoa: shortest round-trip digits laid out
 *    as plain integer when at most 7 trailing zeros are needed, as a plain
 *    decimal when the value has fewer than 7 fractional digits or its decimal
 *    exponent is within ±3, else in scientific notation with an unpadded
 *    exponent: 1.5 → "1.5", 1e20 → "1e+20", 1e-7 → "1e-7",
 *    12345.1234567 → "1.23451234567e+4".
 * fpconv uses Grisu2, which in rare cases (well under 1% of doubles) emits a
 * longer-than-shortest digit string; we always emit the true shortest digits.
 */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";

  const negative = x < 0;
  const ax = negative ? -x : x;
  const sign = negative ? "-" : "";

  // double2ll + ll2string: exact integers within ±LLONG_MAX/2 (as a double, 2^62).
  if (Number.isInteger(ax) && ax <= 2 ** 62) {
    return sign + (ax <= MAX_SAFE ? String(ax) : BigInt(ax).toString());
  }

  const { digits, exp10: K } = shortestDecimal(ax);
  const n = digits.length;
  const exp = Math.abs(K + n - 1); // |decimal exponent of the first digit|

  if (K >= 0 && exp < n + 7) return sign + digits + "0".repeat(K);
  if (K < 0 && (K > -7 || exp < 4)) {
    const point = n + K;
    if (point <= 0) return sign + "0." + "0".repeat(-point) + digits;
    return sign + digits.slice(0, point) + "." + digits.slice(point);
  }
  const mantissa = n > 1 ? digits[0] + "." + digits.slice(1) : digits;
  return sign + mantissa + "e" + (K + n - 1 < 0 ? "-" : "+") + String(exp);
}

// ---------------------------------------------------------------------------
// Exact INCRBYFLOAT arithmetic (x86-64 80-bit long double, emulated)
// ---------------------------------------------------------------------------

/**
 * A finite x87 extended-precision value (−1)^negative × m × 2^e, with
 * m < 2^64 (64-bit significand with explicit integer bit), or ±infinity.
 */
interface LongDouble {
  negative: boolean;
  infinite: boolean;
  m: bigint;
  e: number;
}

/** Smallest exponent of the last significand bit: the subnormal 2^-16445. */
const LD_MIN_EXP = -16445;
/** Largest exponent of the last significand bit: LDBL_MAX = (2^64 − 1) × 2^16320. */
const LD_MAX_EXP = 16320;
const TWO_63 = 1n << 63n;
const TWO_64_BIG = 1n << 64n;

function bitLength(x: bigint): number {
  return x.toString(2).length; // x > 0
}

/** Rounds the positive rational num/den to long double, half-to-even (FPU default). */
function roundToLongDouble(negative: boolean, num: bigint, den: bigint): LongDouble {
  // floor(log2(num/den)) is bitLength difference or one less.
  let lg = bitLength(num) - bitLength(den);
  const atLeast = lg >= 0 ? num >= den << BigInt(lg) : num << BigInt(-lg) >= den;
  if (!atLeast) lg--;
  let e = Math.max(lg - 63, LD_MIN_EXP); // 64 significant bits, fewer when subnormal
  let n = num;
  let d = den;
  if (e >= 0) d <<= BigInt(e);
  else n <<= BigInt(-e);
  let m = n / d;
  const twiceRem = (n - m * d) * 2n;
  if (twiceRem > d || (twiceRem === d && (m & 1n) === 1n)) m++;
  if (m === TWO_64_BIG) {
    m = TWO_63;
    e++;
  }
  if (e > LD_MAX_EXP) return { negative, infinite: true, m: 0n, e: 0 };
  return { negative, infinite: false, m, e };
}

/** strtold: the correctly rounded long double of a scanned literal. */
function scannedToLongDouble(f: ScannedFloat): LongDouble {
  if (f.infinite || f.digits === "") return { negative: f.negative, infinite: f.infinite, m: 0n, e: 0 };
  const D = BigInt(f.digits);
  return f.exp10 >= 0
    ? roundToLongDouble(f.negative, D * 10n ** BigInt(f.exp10), 1n)
    : roundToLongDouble(f.negative, D, 10n ** BigInt(-f.exp10));
}

/** x87 addition: exact sum rounded once. Returns null for NaN (inf + −inf). */
function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.infinite || b.infinite) {
    if (a.infinite && b.infinite && a.negative !== b.negative) return null;
    return a.infinite ? a : b;
  }
  if (a.m === 0n && b.m === 0n) {
    // (−0) + (−0) = −0; any other combination of zeros is +0.
    return { negative: a.negative && b.negative, infinite: false, m: 0n, e: 0 };
  }
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sa = (a.negative ? -a.m : a.m) << BigInt(a.e - e);
  const sb = (b.negative ? -b.m : b.m) << BigInt(b.e - e);
  const sum = sa + sb;
  if (sum === 0n) return { negative: false, infinite: false, m: 0n, e: 0 }; // x + (−x) = +0
  const negative = sum < 0n;
  const mag = negative ? -sum : sum;
  return e >= 0 ? roundToLongDouble(negative, mag << BigInt(e), 1n) : roundToLongDouble(negative, mag, 1n << BigInt(-e));
}

/** ld2string(LD_STR_HUMAN) of a finite long double: %.17Lf, trimmed. */
function formatLongDoubleHuman(x: LongDouble): string {
  const SCALE = 10n ** 17n;
  let scaled: bigint; // round-half-even(|x| × 10^17), as printf does
  if (x.e >= 0) {
    scaled = (x.m << BigInt(x.e)) * SCALE;
  } else {
    const num = x.m * SCALE;
    const den = 1n << BigInt(-x.e);
    scaled = num / den;
    const twiceRem = (num - scaled * den) * 2n;
    if (twiceRem > den || (twiceRem === den && (scaled & 1n) === 1n)) scaled++;
  }
  const text = scaled.toString().padStart(18, "0");
  const intPart = text.slice(0, -17);
  const fracPart = text.slice(-17).replace(/0+$/, "");
  const body = fracPart === "" ? intPart : intPart + "." + fracPart;
  return x.negative && body !== "0" ? "-" + body : body;
}

/**
 * Exactly what Redis prints for INCRBYFLOAT / HINCRBYFLOAT: parses both
 * operands like strtold into 80-bit long doubles, adds them with x87
 * rounding, and formats with ld2string's LD_STR_HUMAN (%.17Lf, trimmed).
 * Unlike formatRedisFloat(Number(a) + Number(b)) this reproduces Redis
 * digit for digit, including its long double artefacts:
 *   addRedisFloats("0.1", "0.2")      → "0.3"
 *   addRedisFloats("-14.486", "73679") → "73664.5140000000000029"
 *
 * Both operands must be accepted by parseRedisFloat (check that first to
 * reply "value is not a valid float"); otherwise this throws a RangeError.
 * Returns null when the sum is infinite or NaN, i.e. Redis's
 * "increment would produce NaN or Infinity".
 */
export function addRedisFloats(a: string, b: string): string | null {
  const fa = scanRedisFloat(a);
  const fb = scanRedisFloat(b);
  if (fa === null || fb === null) throw new RangeError("addRedisFloats: operand is not a valid float");
  const sum = addLongDouble(scannedToLongDouble(fa), scannedToLongDouble(fb));
  if (sum === null || sum.infinite) return null;
  return formatLongDoubleHuman(sum);
}

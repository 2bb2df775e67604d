import { describe, expect, test } from "bun:test";
import {
  addRedisFloats,
  formatDouble,
  formatRedisFloat,
  parseInt64,
  parseRedisFloat,
  parseSafeInt,
  decimalLength,
  parseSafeIntAt,
  writeDecimal,
} from "../../src/util/numbers.ts";
import { rng } from "../helpers/random.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

describe("parseInt64 (string2ll)", () => {
  test("accepts canonical integers", () => {
    expect(parseInt64("0")).toBe(0n);
    expect(parseInt64("1")).toBe(1n);
    expect(parseInt64("-1")).toBe(-1n);
    expect(parseInt64("99")).toBe(99n);
    expect(parseInt64("-99")).toBe(-99n);
    expect(parseInt64("9223372036854775807")).toBe(9223372036854775807n);
    expect(parseInt64("-9223372036854775808")).toBe(-9223372036854775808n);
  });

  test("rejects everything string2ll rejects", () => {
    for (const s of ["", "-", "+1", " 1", "1 ", "01", "00", "-0", "-01", "1.0", "1e3", "0x10", "abc", "1a", "\x001"]) {
      expect(parseInt64(s)).toBeNull();
    }
  });

  test("rejects out-of-range values", () => {
    expect(parseInt64("9223372036854775808")).toBeNull();
    expect(parseInt64("-9223372036854775809")).toBeNull();
    expect(parseInt64("18446744073709551616")).toBeNull();
    expect(parseInt64("100000000000000000000")).toBeNull(); // 21 chars
  });
});

describe("parseSafeInt (fast path)", () => {
  test("same syntax rules as parseInt64", () => {
    expect(parseSafeInt("0")).toBe(0);
    expect(parseSafeInt("42")).toBe(42);
    expect(parseSafeInt("-42")).toBe(-42);
    for (const s of ["", "-", "+1", " 1", "1 ", "01", "-0", "1.5", "x", "12a"]) {
      expect(parseSafeInt(s)).toBeNull();
    }
  });

  test("null outside the safe range or beyond 16 chars (caller falls back)", () => {
    expect(parseSafeInt("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseSafeInt("-9007199254740991")).toBeNull(); // 17 chars
    expect(parseSafeInt("-900719925474099")).toBe(-900719925474099);
    expect(parseSafeInt("9007199254740992")).toBeNull();
    expect(parseSafeInt("9999999999999999")).toBeNull();
    expect(parseSafeInt("12345678901234567")).toBeNull();
    expect(parseInt64("12345678901234567")).toBe(12345678901234567n);
  });

  test("never returns -0", () => {
    expect(Object.is(parseSafeInt("0"), 0)).toBe(true);
  });
});

describe("parseSafeIntAt, decimalLength, writeDecimal (INCR's in-place path)", () => {
  const samples = [
    "0", "1", "-1", "10", "-10", "9007199254740991", "-9007199254740991", "9007199254740992", "-9007199254740992",
    "9223372036854775807", "99999999999999999999", "", "-", "-0", "00", "01", "+1", " 1", "1 ", "1a", "0x10", "1.0", "\x001",
  ];

  test("parseSafeIntAt is string2ll on bytes anywhere in a buffer, null past ±MAX_SAFE_INTEGER", () => {
    const safe = BigInt(Number.MAX_SAFE_INTEGER);
    for (const text of samples) {
      const buf = Buffer.from("##" + text + "##", "latin1");
      const exact = parseInt64(text);
      const expected = exact !== null && exact <= safe && exact >= -safe ? Number(exact) : null;
      expect([text, parseSafeIntAt(buf, 2, 2 + text.length)]).toEqual([text, expected]);
    }
  });

  test("decimalLength and writeDecimal give String(n) for integers up to ±2^53", () => {
    const rand = rng(11);
    const values = [0, 1, -1, 9, 10, -9, -10, 99, 100, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 52, 1e15 - 1, 1e15];
    for (let i = 0; i < 2000; i++) values.push(Math.floor((rand() - 0.5) * 2 * 10 ** ((rand() * 16) | 0)));
    for (const n of values) {
      const text = String(n);
      expect([n, decimalLength(n)]).toEqual([n, text.length]);
      const buf = Buffer.alloc(text.length + 4, 35);
      writeDecimal(buf, 2 + text.length, n);
      expect(buf.latin1Slice(0, buf.length)).toBe("##" + text + "##");
      expect(parseSafeIntAt(buf, 2, 2 + text.length)).toBe(n);
    }
  });
});

describe("parseRedisFloat (string2ld)", () => {
  test("decimal forms strtold accepts", () => {
    expect(parseRedisFloat("1")).toBe(1);
    expect(parseRedisFloat("-1.5")).toBe(-1.5);
    expect(parseRedisFloat("+1.5")).toBe(1.5);
    expect(parseRedisFloat("1.")).toBe(1);
    expect(parseRedisFloat(".5")).toBe(0.5);
    expect(parseRedisFloat("-.5")).toBe(-0.5);
    expect(parseRedisFloat("5.0e3")).toBe(5000);
    expect(parseRedisFloat("2E-2")).toBe(0.02);
    expect(parseRedisFloat("1e+2")).toBe(100);
    expect(parseRedisFloat("007")).toBe(7);
    expect(parseRedisFloat("10.50")).toBe(10.5);
    expect(Object.is(parseRedisFloat("-0"), -0)).toBe(true);
    expect(parseRedisFloat("0e999999")).toBe(0);
  });

  test("infinities in any case, with optional sign", () => {
    expect(parseRedisFloat("inf")).toBe(Infinity);
    expect(parseRedisFloat("+inf")).toBe(Infinity);
    expect(parseRedisFloat("-inf")).toBe(-Infinity);
    expect(parseRedisFloat("INF")).toBe(Infinity);
    expect(parseRedisFloat("Infinity")).toBe(Infinity);
    expect(parseRedisFloat("-infinity")).toBe(-Infinity);
    expect(parseRedisFloat("infin")).toBeNull();
    expect(parseRedisFloat("infinityy")).toBeNull();
  });

  test("rejections", () => {
    const bad = [
      "", " ", " 1", "1 ", " 1 ", "\t1", "1\n", "+", "-", ".", "e5", "1e", "1e+", "1e-", "1.2.3", "--1", "+-1",
      "nan", "NaN", "-nan", "nan(123)", "0x10", "0X1p3", "-0x1", "1,5", "1_000", "abc", "1\x00", "1\x002",
    ];
    for (const s of bad) expect(parseRedisFloat(s)).toBeNull();
  });

  test("strings of 5120 bytes or more are rejected", () => {
    expect(parseRedisFloat("1." + "0".repeat(5117))).toBe(1); // 5119 bytes
    expect(parseRedisFloat("1." + "0".repeat(5118))).toBeNull(); // 5120 bytes
    expect(parseRedisFloat("1" + "0".repeat(5000))).toBeNull(); // > LDBL_MAX
  });

  test("long double range: accepted beyond double range, rejected beyond long double's", () => {
    expect(parseRedisFloat("1e400")).toBe(Infinity);
    expect(parseRedisFloat("-1e400")).toBe(-Infinity);
    expect(parseRedisFloat("1e-400")).toBe(0);
    expect(parseRedisFloat("1e4932")).toBe(Infinity);
    expect(parseRedisFloat("1.18973149535723176505e4932")).toBe(Infinity);
    expect(parseRedisFloat("1.18973149535723176506e4932")).toBeNull(); // rounds to inf: ERANGE
    expect(parseRedisFloat("1e4933")).toBeNull();
    expect(parseRedisFloat("1.9e-4951")).toBe(0); // rounds to the smallest subnormal
    expect(parseRedisFloat("1.8e-4951")).toBeNull(); // rounds to zero: ERANGE
    expect(parseRedisFloat("1e-4952")).toBeNull();
    expect(parseRedisFloat("0.00001e-4946")).toBeNull();
  });
});

describe("formatRedisFloat (ld2string LD_STR_HUMAN)", () => {
  test("fixed notation without exponent, trailing zeros trimmed", () => {
    expect(formatRedisFloat(10.5 + 0.1)).toBe("10.6");
    expect(formatRedisFloat(5.0e3)).toBe("5000");
    expect(formatRedisFloat(5.0e3 + 2.0e2)).toBe("5200");
    expect(formatRedisFloat(3.0e-5)).toBe("0.00003");
    expect(formatRedisFloat(1.25)).toBe("1.25");
    expect(formatRedisFloat(-1.25)).toBe("-1.25");
    expect(formatRedisFloat(1e20)).toBe("100000000000000000000");
    expect(formatRedisFloat(1e25)).toBe("10000000000000000000000000");
    expect(formatRedisFloat(2 ** 63)).toBe("9223372036854775808");
    expect(formatRedisFloat(17179869184 + 1.5)).toBe("17179869185.5");
  });

  test("at most 17 decimals; negative zero prints as 0", () => {
    expect(formatRedisFloat(1e-20)).toBe("0");
    expect(formatRedisFloat(-1e-20)).toBe("0");
    expect(formatRedisFloat(-0)).toBe("0");
    expect(formatRedisFloat(0)).toBe("0");
    expect(formatRedisFloat(1.5e-17)).toBe("0.00000000000000002");
    expect(formatRedisFloat(1.234e-10)).toBe("0.0000000001234");
    // Exact binary tie at the 18th decimal rounds half-to-even, like printf.
    expect(formatRedisFloat(2 ** -18)).toBe("0.00000381469726562");
  });

  test("non-finite values", () => {
    expect(formatRedisFloat(Infinity)).toBe("inf");
    expect(formatRedisFloat(-Infinity)).toBe("-inf");
    expect(formatRedisFloat(NaN)).toBe("nan");
  });

  test("one-ulp double noise is hidden to match Redis's long double output", () => {
    expect(formatRedisFloat(0.1 + 0.2)).toBe("0.3");
    expect(formatRedisFloat(1.1 + 2.2)).toBe("3.3");
    expect(formatRedisFloat(0.7 + 0.1)).toBe("0.8");
    // Genuine 16-17 digit values are kept.
    expect(formatRedisFloat(1 / 3)).toBe("0.3333333333333333");
    expect(formatRedisFloat(2 / 3)).toBe("0.6666666666666666");
    expect(formatRedisFloat(0.12345678901234567)).toBe("0.12345678901234566");
  });

  test("documented difference: larger double noise stays visible (Redis: -0.1)", () => {
    expect(formatRedisFloat(1 - 1.1)).toBe("-0.10000000000000009");
    expect(addRedisFloats("1", "-1.1")).toBe("-0.1");
  });
});

describe("addRedisFloats (exact INCRBYFLOAT emulation)", () => {
  test("documented INCRBYFLOAT examples", () => {
    expect(addRedisFloats("10.50", "0.1")).toBe("10.6");
    expect(addRedisFloats("10.6", "-5")).toBe("5.6");
    expect(addRedisFloats("5.0e3", "2.0e2")).toBe("5200");
    expect(addRedisFloats("0.1", "0.2")).toBe("0.3");
    expect(addRedisFloats("17179869184", "1.5")).toBe("17179869185.5");
  });

  test("digit-for-digit long double artefacts (values from real x87 + glibc)", () => {
    expect(addRedisFloats("-14.486", "73679")).toBe("73664.5140000000000029");
    expect(addRedisFloats("88765", "276.64072")).toBe("89041.64072000000000173");
    expect(addRedisFloats("18940", "3.365e-10")).toBe("18940.00000000033650061");
    expect(addRedisFloats("46868", "-39.373")).toBe("46828.62699999999999889");
    expect(addRedisFloats("66e-13", "38e-3")).toBe("0.0380000000066");
    expect(addRedisFloats("65042", "28e-16")).toBe("65042.00000000000000355");
  });

  test("zeros and signs", () => {
    expect(addRedisFloats("1", "-1")).toBe("0");
    expect(addRedisFloats("-0", "-0")).toBe("0");
    expect(addRedisFloats("0.024390243902439025", "-0.024390243902439025")).toBe("0");
    expect(addRedisFloats("0", "-2.5")).toBe("-2.5");
    expect(addRedisFloats("-1e-20", "0")).toBe("0");
  });

  test("values outside double range are handled exactly", () => {
    // Neither 1e30 nor 1e400 is exact in a 64-bit significand; Redis prints the binary value.
    expect(addRedisFloats("1e30", "0")).toBe("1000000000000000000024696061952");
    const big = addRedisFloats("1e400", "0")!;
    expect(big.length).toBe(401);
    expect(big.startsWith("10000000000000000000281880683947586514")).toBe(true);
    expect(addRedisFloats("1e-400", "1")).toBe("1");
    expect(addRedisFloats("18446744073709551615", "1")).toBe("18446744073709551616");
  });

  test("non-finite results return null", () => {
    expect(addRedisFloats("0", "inf")).toBeNull();
    expect(addRedisFloats("-inf", "1")).toBeNull();
    expect(addRedisFloats("inf", "-inf")).toBeNull();
    expect(addRedisFloats("1.1e4932", "1.1e4932")).toBeNull(); // overflows to inf
  });

  test("invalid operands throw", () => {
    expect(() => addRedisFloats("abc", "1")).toThrow(RangeError);
    expect(() => addRedisFloats("1", " 1")).toThrow(RangeError);
  });
});

describe("formatDouble (d2string, Redis >= 7.2)", () => {
  test("specials and zeros", () => {
    expect(formatDouble(Infinity)).toBe("inf");
    expect(formatDouble(-Infinity)).toBe("-inf");
    expect(formatDouble(NaN)).toBe("nan");
    expect(formatDouble(0)).toBe("0");
    expect(formatDouble(-0)).toBe("-0");
  });

  test("integers within ±2^62 print as integers", () => {
    expect(formatDouble(3)).toBe("3");
    expect(formatDouble(-42)).toBe("-42");
    expect(formatDouble(1e17)).toBe("100000000000000000");
    expect(formatDouble(2 ** 62)).toBe("4611686018427387904");
    expect(formatDouble(-(2 ** 62))).toBe("-4611686018427387904");
    expect(formatDouble(2 ** 62 + 1024)).toBe("4611686018427389000"); // past 2^62: fpconv
    expect(formatDouble(5e18)).toBe("5e+18");
    expect(formatDouble(1e20)).toBe("1e+20");
    expect(formatDouble(3.1385e23)).toBe("3.1385e+23");
  });

  test("shortest round-trip digits", () => {
    expect(formatDouble(1.5)).toBe("1.5");
    expect(formatDouble(0.1)).toBe("0.1");
    expect(formatDouble(3.3)).toBe("3.3");
    expect(formatDouble(0.1 + 0.2)).toBe("0.30000000000000004");
    expect(formatDouble(1 / 3)).toBe("0.3333333333333333");
    expect(formatDouble(-6935.18)).toBe("-6935.18");
    expect(formatDouble(123.456)).toBe("123.456");
  });

  test("fpconv layout: when scientific notation kicks in", () => {
    expect(formatDouble(0.0001)).toBe("0.0001");
    expect(formatDouble(0.0551036)).toBe("0.0551036");
    expect(formatDouble(1e-7)).toBe("1e-7");
    expect(formatDouble(1.2345678e-5)).toBe("1.2345678e-5");
    expect(formatDouble(4.405370000000001e-6)).toBe("4.405370000000001e-6");
    expect(formatDouble(12345.1234567)).toBe("1.23451234567e+4");
    expect(formatDouble(1234.123456)).toBe("1234.123456");
    expect(formatDouble(-4.511470128879213e-102)).toBe("-4.511470128879213e-102");
    expect(formatDouble(5e-324)).toBe("5e-324");
    expect(formatDouble(1.7976931348623157e308)).toBe("1.7976931348623157e+308");
  });
});

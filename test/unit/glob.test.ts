import { describe, expect, test } from "bun:test";
import { globMatch, isPlainPattern } from "../../src/util/glob.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

describe("globMatch basics", () => {
  test("literals", () => {
    expect(globMatch("hello", "hello")).toBe(true);
    expect(globMatch("hello", "hell")).toBe(false);
    expect(globMatch("hello", "helloo")).toBe(false);
    expect(globMatch("", "")).toBe(true);
    expect(globMatch("", "a")).toBe(false);
  });

  test("star", () => {
    expect(globMatch("*", "anything")).toBe(true);
    expect(globMatch("h*llo", "hllo")).toBe(true);
    expect(globMatch("h*llo", "heeeello")).toBe(true);
    expect(globMatch("*llo", "hello")).toBe(true);
    expect(globMatch("he*", "he")).toBe(true);
    expect(globMatch("a*b*c", "axxbyyc")).toBe(true);
    expect(globMatch("a*b*c", "axxbyy")).toBe(false);
    expect(globMatch("a**b", "ab")).toBe(true);
    expect(globMatch("user:*:name", "user:42:name")).toBe(true);
  });

  test("a pattern of only stars does not match the empty subject (Redis quirk)", () => {
    expect(globMatch("*", "")).toBe(false);
    expect(globMatch("**", "")).toBe(false);
    expect(globMatch("?", "")).toBe(false);
  });

  test("question mark", () => {
    expect(globMatch("h?llo", "hello")).toBe(true);
    expect(globMatch("h?llo", "hallo")).toBe(true);
    expect(globMatch("h?llo", "hllo")).toBe(false);
    expect(globMatch("??", "ab")).toBe(true);
    expect(globMatch("??", "abc")).toBe(false);
  });

  test("character classes", () => {
    expect(globMatch("h[ae]llo", "hello")).toBe(true);
    expect(globMatch("h[ae]llo", "hallo")).toBe(true);
    expect(globMatch("h[ae]llo", "hillo")).toBe(false);
    expect(globMatch("h[^e]llo", "hallo")).toBe(true);
    expect(globMatch("h[^e]llo", "hello")).toBe(false);
    expect(globMatch("h[a-b]llo", "hbllo")).toBe(true);
    expect(globMatch("h[a-b]llo", "hcllo")).toBe(false);
    expect(globMatch("[0-9][0-9]", "42")).toBe(true);
  });

  test("reversed ranges are allowed", () => {
    expect(globMatch("[z-a]", "m")).toBe(true);
    expect(globMatch("[9-0]", "5")).toBe(true);
    expect(globMatch("[^z-a]", "m")).toBe(false);
  });

  test("escapes outside brackets", () => {
    expect(globMatch("a\\*b", "a*b")).toBe(true);
    expect(globMatch("a\\*b", "axb")).toBe(false);
    expect(globMatch("\\?", "?")).toBe(true);
    expect(globMatch("\\?", "x")).toBe(false);
    expect(globMatch("\\[x]", "[x]")).toBe(true);
    // A trailing backslash is a literal backslash.
    expect(globMatch("a\\", "a\\")).toBe(true);
  });

  test("escapes inside brackets", () => {
    expect(globMatch("[\\]]", "]")).toBe(true);
    expect(globMatch("[\\^a]", "^")).toBe(true);
    expect(globMatch("[\\-]", "-")).toBe(true);
    expect(globMatch("[a\\-z]", "m")).toBe(false);
    expect(globMatch("[a\\-z]", "-")).toBe(true);
  });

  test("unterminated and odd classes behave like Redis", () => {
    // Unterminated class runs to the end of the pattern.
    expect(globMatch("a[bc", "ab")).toBe(true);
    expect(globMatch("a[bc", "ac")).toBe(true);
    expect(globMatch("a[bc", "abc")).toBe(false);
    // A lone '[' matches nothing; '[^' matches any single byte.
    expect(globMatch("[", "[")).toBe(false);
    expect(globMatch("[^", "x")).toBe(true);
    expect(globMatch("[^", "xy")).toBe(false);
    // "[a-]" is the range ']'..'a' (0x5d..0x61) and then unterminated.
    expect(globMatch("[a-]", "_")).toBe(true);
    expect(globMatch("[a-]", "-")).toBe(false);
    // "[]" is an empty class followed by nothing: matches nothing.
    expect(globMatch("[]", "]")).toBe(false);
    // Trailing backslash inside a class is a literal backslash.
    expect(globMatch("[a\\", "\\")).toBe(true);
  });

  test("nocase", () => {
    expect(globMatch("HELLO", "hello", true)).toBe(true);
    expect(globMatch("HELLO", "hello")).toBe(false);
    expect(globMatch("h[A-C]llo", "hbllo", true)).toBe(true);
    expect(globMatch("h[a-c]llo", "hBllo", true)).toBe(true);
    expect(globMatch("h[E]llo", "hello", true)).toBe(true);
    // Escaped class members compare case-sensitively even with nocase.
    expect(globMatch("[\\E]", "e", true)).toBe(false);
  });

  test("byte strings (latin1) compare as bytes; range bounds are signed chars", () => {
    expect(globMatch("\xff*", "\xff\x00\x80")).toBe(true);
    expect(globMatch("[\x80-\xff]", "\x90")).toBe(true);
    expect(globMatch("[\x80-\xff]", "a")).toBe(false);
    // On x86-64 char is signed: 'a'..0xff is the signed range -1..97.
    expect(globMatch("[a-\xff]", "\x00")).toBe(true);
    expect(globMatch("[a-\xff]", "\xff")).toBe(true);
    expect(globMatch("[a-\xff]", "b")).toBe(false);
    expect(globMatch("[a-\xff]", "\x90")).toBe(false);
  });
});

describe("globMatch pathological patterns", () => {
  test("a*a*a*...b against a long run of a's fails quickly", () => {
    const pattern = "a*".repeat(60) + "b";
    expect(globMatch(pattern, "a".repeat(20000))).toBe(false);
    expect(globMatch(pattern, "a".repeat(20000) + "b")).toBe(true);
  });

  test("Redis regression: long nested loops", () => {
    const pattern = "a*".repeat(75) + "b";
    expect(globMatch(pattern, "a".repeat(50))).toBe(false);
  });

  test("nesting is capped at 1000 stars like Redis (no match past it)", () => {
    // By plain glob semantics this would match; Redis reports no match.
    expect(globMatch("*?".repeat(50000), "a".repeat(50000))).toBe(false);
    // Within the cap it matches.
    expect(globMatch("*?".repeat(500), "a".repeat(600))).toBe(true);
  });
});

describe("isPlainPattern", () => {
  test("detects metacharacters", () => {
    expect(isPlainPattern("user:1000")).toBe(true);
    expect(isPlainPattern("")).toBe(true);
    expect(isPlainPattern("a]b^c-d")).toBe(true);
    expect(isPlainPattern("user:*")).toBe(false);
    expect(isPlainPattern("user:?")).toBe(false);
    expect(isPlainPattern("user:[ab]")).toBe(false);
    expect(isPlainPattern("user\\:1")).toBe(false);
  });

  test("plain patterns match exactly their own text", () => {
    for (const p of ["abc", "a]b", "^x", "-"]) {
      expect(isPlainPattern(p)).toBe(true);
      expect(globMatch(p, p)).toBe(true);
      expect(globMatch(p, p + "x")).toBe(false);
    }
  });
});

import { describe, expect, test } from "bun:test";
import { splitInlineArgs } from "../../src/protocol/inline.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

describe("splitInlineArgs", () => {
  test("plain words separated by blanks", () => {
    expect(splitInlineArgs("SET key value")).toEqual(["SET", "key", "value"]);
    expect(splitInlineArgs("  PING  ")).toEqual(["PING"]);
    expect(splitInlineArgs("a\tb\r\nc")).toEqual(["a", "b", "c"]);
  });

  test("empty and blank lines give no arguments", () => {
    expect(splitInlineArgs("")).toEqual([]);
    expect(splitInlineArgs("   ")).toEqual([]);
    expect(splitInlineArgs(" \t\r\n\v\f")).toEqual([]);
  });

  test("\\v and \\f are skipped between arguments but kept inside one", () => {
    expect(splitInlineArgs("\va\fb")).toEqual(["a\fb"]);
    expect(splitInlineArgs("a\vb c")).toEqual(["a\vb", "c"]);
  });

  test("double quotes with escapes", () => {
    expect(splitInlineArgs('SET k "hello world"')).toEqual(["SET", "k", "hello world"]);
    expect(splitInlineArgs('"a\\nb\\rc\\td\\be\\af"')).toEqual(["a\nb\rc\td\be\x07f"]);
    expect(splitInlineArgs('"q\\"uote" "back\\\\slash"')).toEqual(['q"uote', "back\\slash"]);
    expect(splitInlineArgs('"\\z"')).toEqual(["z"]);
    expect(splitInlineArgs('""')).toEqual([""]);
    expect(splitInlineArgs('"" ""')).toEqual(["", ""]);
  });

  test("\\xHH hex escapes", () => {
    expect(splitInlineArgs('"\\x41\\x62\\xff\\x00"')).toEqual(["Ab\xff\x00"]);
    expect(splitInlineArgs('"\\xAf"')).toEqual(["\xaf"]);
    // Not two hex digits: backslash-x is just "x".
    expect(splitInlineArgs('"\\x4g"')).toEqual(["x4g"]);
    expect(splitInlineArgs('"\\x"')).toEqual(["x"]);
  });

  test("single quotes: only \\' is an escape", () => {
    expect(splitInlineArgs("'hello world'")).toEqual(["hello world"]);
    expect(splitInlineArgs("'it\\'s'")).toEqual(["it's"]);
    expect(splitInlineArgs("'a\\nb'")).toEqual(["a\\nb"]);
    expect(splitInlineArgs("'\"'")).toEqual(['"']);
    expect(splitInlineArgs("''")).toEqual([""]);
  });

  test("quotes can start in the middle of an argument", () => {
    expect(splitInlineArgs('foo"bar baz"')).toEqual(["foobar baz"]);
    expect(splitInlineArgs("key:'x y' next")).toEqual(["key:x y", "next"]);
  });

  test("closing quote must be followed by a blank or end of line", () => {
    expect(splitInlineArgs('"foo"bar')).toBeNull();
    expect(splitInlineArgs("'foo'bar")).toBeNull();
    expect(splitInlineArgs('"foo""bar"')).toBeNull();
    expect(splitInlineArgs('"foo"\tbar')).toEqual(["foo", "bar"]);
    expect(splitInlineArgs('"foo"\vbar')).toEqual(["foo", "bar"]);
  });

  test("unbalanced quotes are an error", () => {
    expect(splitInlineArgs('SET k "unterminated')).toBeNull();
    expect(splitInlineArgs("SET k 'unterminated")).toBeNull();
    expect(splitInlineArgs('"ends with backslash\\')).toBeNull();
    expect(splitInlineArgs("'it\\'")).toBeNull();
  });

  test("a NUL byte ends the line (C string semantics)", () => {
    expect(splitInlineArgs("SET a b\0c d")).toEqual(["SET", "a", "b"]);
    expect(splitInlineArgs("\0PING")).toEqual([]);
    expect(splitInlineArgs('"abc\0def"')).toBeNull();
  });

  test("latin1 bytes pass through unchanged", () => {
    expect(splitInlineArgs("SET \xe9t\xe9 \xff")).toEqual(["SET", "\xe9t\xe9", "\xff"]);
  });
});

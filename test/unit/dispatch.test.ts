import { describe, expect, test } from "bun:test";
import { dispatch } from "../../src/commands/dispatch.ts";
import { makeContext } from "../helpers/context.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** What a command wrote, as text, and a fresh start for the next one. */
function take(ctx: ReturnType<typeof makeContext>): string {
  const text = ctx.out.buf.latin1Slice(0, ctx.out.length);
  ctx.out.length = 0;
  return text;
}

describe("dispatch", () => {
  test("runs a command and writes its reply", () => {
    const ctx = makeContext();
    dispatch(ctx, ["SET", "k", "v"]);
    dispatch(ctx, ["get", "k"]);
    expect(take(ctx)).toBe("+OK\r\n$1\r\nv\r\n");
  });

  test("a handler that throws gets an error reply instead of its partial one, and is logged", () => {
    const ctx = makeContext();
    dispatch(ctx, ["SET", "a", "1"]);
    take(ctx);
    const realRead = ctx.db.readInto.bind(ctx.db);
    let calls = 0;
    ctx.db.readInto = (key, sink) => {
      if (++calls === 2) throw new Error("boom");
      return realRead(key, sink);
    };
    // MGET writes its array header and the first value before the second lookup throws.
    dispatch(ctx, ["MGET", "a", "b"]);
    expect(take(ctx)).toBe("-ERR internal error in 'mget': boom\r\n");
    expect(ctx.server.warnings).toHaveLength(1);
    expect(ctx.server.warnings[0]).toContain("command 'mget' from 127.0.0.1:50000 threw: Error: boom");
    // The server goes on serving.
    ctx.db.readInto = realRead;
    dispatch(ctx, ["MGET", "a", "b"]);
    expect(take(ctx)).toBe("*2\r\n$1\r\n1\r\n$-1\r\n");
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The wire protocols against a real server over raw sockets: the seed's
 * inline text sessions, RESP pipelining and split frames, binary safety,
 * protocol errors, QUIT and half-closed connections.
 */

let server: RunningServer;
const open: RawClient[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

afterAll(async () => {
  for (const c of open.splice(0)) c.close();
  await server.stop();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  open.push(c);
  return c;
}

/** A RESP bulk string reply for a byte string. */
function bulk(s: string): string {
  return `$${s.length}\r\n${s}\r\n`;
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

describe("inline (seed) protocol", () => {
  test("the seed's example session, line by line as nc sends it", async () => {
    const c = await connect();
    // nc sends bare \n line endings.
    c.write("SET value1 active\n");
    expect(await c.lines(1)).toEqual(["OK"]);
    c.write("GET value1\n");
    expect(await c.lines(1)).toEqual(["active"]);
    c.write("SET value2 10 20\n");
    expect(await c.lines(1)).toEqual(["OK"]);
    c.write("GET value2\n");
    expect(await c.lines(1)).toEqual(["10"]);
    c.write("TTL value2\n");
    const ttl = Number((await c.lines(1))[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(20);
    c.write("SET key something\n");
    expect(await c.lines(1)).toEqual(["OK"]);
    c.write("DEL key\n");
    expect(await c.lines(1)).toEqual(["1"]);
    c.write("GET key\n");
    expect(await c.lines(1)).toEqual(["(nil)"]);
    c.write("DEL key\n");
    expect(await c.lines(1)).toEqual(["0"]);
    // The raw bytes of text replies are plain \n-terminated lines.
    c.write("GET value1\n");
    expect(await c.bytes("active\n".length)).toBe("active\n");
    expect(c.pending).toBe("");
  });

  test("\\n and \\r\\n line endings, mixed in one write", async () => {
    const c = await connect();
    c.write("SET le:1 one\nSET le:2 two\r\nGET le:1\r\nGET le:2\nECHO x\r\nECHO y\n");
    // \r\n-terminated requests still get plain \n-terminated replies.
    expect(await c.bytes("OK\nOK\none\ntwo\nx\ny\n".length)).toBe("OK\nOK\none\ntwo\nx\ny\n");
  });

  test("empty and blank lines get no reply", async () => {
    const c = await connect();
    c.write("\n\r\n   \r\n\t\nECHO alive\n\n");
    expect(await c.bytes(6)).toBe("alive\n");
    c.write(resp("PING"));
    expect(await c.bytes(7)).toBe("+PONG\r\n");
    expect(c.pending).toBe("");
  });

  test("PING as an inline line answers Redis's bytes, as redis-benchmark's PING_INLINE and HAProxy's redis-check expect", async () => {
    const c = await connect();
    c.write("PING\r\n");
    expect(await c.bytes(7)).toBe("+PONG\r\n");
    c.write("PING hello\n");
    expect(await c.bytes(11)).toBe("$5\r\nhello\r\n");
    // Its errors, and every other command, stay text lines.
    expect(await c.command("PING a b")).toBe("ERR wrong number of arguments for 'ping' command");
    c.write("ECHO after\n");
    expect(await c.bytes(6)).toBe("after\n");
    expect(c.pending).toBe("");
  });

  test("quoted arguments with escapes", async () => {
    const c = await connect();
    expect(await c.command('SET "q:a b" "x\\ny\\tz\\x00w\\x41"')).toBe("OK");
    expect(await c.command('STRLEN "q:a b"')).toBe("8");
    expect(await c.command("SET 'q:single' 'it\\'s \"raw\" \\n'")).toBe("OK");
    expect(await c.command('ECHO "hello world"')).toBe("hello world");
    expect(await c.command("EXISTS q:a")).toBe("0");
    // The exact bytes, read back over RESP.
    c.write(resp("GET", "q:a b") + resp("GET", "q:single"));
    const first = bulk("x\ny\tz\0wA");
    const second = bulk('it\'s "raw" \\n');
    expect(await c.bytes(first.length + second.length)).toBe(first + second);
  });

  test("a value that would not read as itself on a line comes back double-quoted, in the form a request writes it", async () => {
    const c = await connect();
    expect(await c.command('SET q:nl "x\\ny\\tz\\x00w\\x41\\xff"')).toBe("OK");
    expect(await c.command('SET q:quote "\\"hi\\" there"')).toBe("OK");
    expect(await c.command("SET q:utf8 \xc3\xa9t\xc3\xa9")).toBe("OK"); // "été" in UTF-8, typed as it is
    expect(await c.command('SET q:plain "two words"')).toBe("OK");
    // One reply, one line; each quoted one is a request argument that writes the same bytes.
    c.write("GET q:nl\nGET q:quote\nGET q:utf8\nGET q:plain\nMGET q:nl q:plain\n");
    const lines = await c.lines(6);
    expect(lines).toEqual(['"x\\ny\\tz\\x00wA\\xff"', '"\\"hi\\" there"', "\xc3\xa9t\xc3\xa9", "two words", '"x\\ny\\tz\\x00wA\\xff"', "two words"]);
    expect(c.pending).toBe("");
    expect(await c.command(`SET q:copy ${lines[0]}`)).toBe("OK");
    c.write(resp("GET", "q:copy") + resp("GET", "q:nl"));
    const value = bulk("x\ny\tz\0wA\xff");
    expect(await c.bytes(2 * value.length)).toBe(value + value);
    // Keys too: KEYS gives one per line.
    expect(await c.command('SET "q:key\\r\\n" v')).toBe("OK");
    c.write("KEYS q:key*\n");
    expect(await c.lines(1)).toEqual(['"q:key\\r\\n"']);
  });

  test("unknown command: error line and the connection stays usable", async () => {
    const c = await connect();
    expect(await c.command("NOSUCHCMD a b")).toBe("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ");
    expect(await c.command("ECHO alive")).toBe("alive");
    c.write(resp("NOSUCHCMD", "x"));
    const line = "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' \r\n";
    expect(await c.bytes(line.length)).toBe(line);
    c.write(resp("PING"));
    expect(await c.bytes(7)).toBe("+PONG\r\n");
    expect(c.closed).toBe(false);
  });

  test("wrong arity in inline mode is an ERR line", async () => {
    const c = await connect();
    expect(await c.command("GET")).toBe("ERR wrong number of arguments for 'get' command");
    expect(await c.command("ECHO alive")).toBe("alive");
  });

  test("unbalanced quotes: ERR Protocol error line, and the connection stays open", async () => {
    const c = await connect();
    expect(await c.command('SET k "abc')).toBe("ERR Protocol error: unbalanced quotes in request");
    expect(await c.command("SET k 'abc")).toBe("ERR Protocol error: unbalanced quotes in request");
    expect(await c.command('SET k "abc"def')).toBe("ERR Protocol error: unbalanced quotes in request");
    expect(await c.command("GET k")).toBe("(nil)");
    expect(await c.command('SET k "fine"')).toBe("OK");
    expect(await c.command("GET k")).toBe("fine");
    expect(c.closed).toBe(false);
  });

  test("arrays print one element per line; empty arrays as (empty array)", async () => {
    const c = await connect();
    expect(await c.command("MSET arr:1 a arr:2 b")).toBe("OK");
    c.write("MGET arr:1 nope arr:2\n");
    expect(await c.lines(3)).toEqual(["a", "(nil)", "b"]);
    expect(await c.command("KEYS nothing:*")).toBe("(empty array)");
  });

  test("an inline request just under the 64 KiB limit is accepted", async () => {
    const c = await connect();
    const value = "v".repeat(64 * 1024 - 100);
    c.write(`SET inline:big ${value}`); // no newline yet
    await Bun.sleep(20);
    c.write("\n");
    expect(await c.lines(1)).toEqual(["OK"]);
    expect(await c.command("STRLEN inline:big")).toBe(String(value.length));
  });

  test("max inline size: more than 64 KiB without a newline is a protocol error and closes", async () => {
    const c = await connect();
    const other = await connect();
    expect(await other.command("SET inline:keep yes")).toBe("OK");
    c.write("x".repeat(40 * 1024));
    await Bun.sleep(20);
    c.write("x".repeat(40 * 1024));
    await c.waitClosed();
    expect(c.pending).toBe("-ERR Protocol error: too big inline request\r\n");
    expect(await other.command("GET inline:keep")).toBe("yes");
  });
});

describe("RESP", () => {
  test("1000 pipelined commands in one write get 1000 replies in order", async () => {
    const c = await connect();
    let request = "";
    let expected = "";
    for (let i = 0; i < 500; i++) {
      request += resp("SET", `pipe:${i}`, `value-${i}`);
      expected += "+OK\r\n";
    }
    for (let i = 0; i < 499; i++) {
      request += resp("GET", `pipe:${i}`);
      expected += bulk(`value-${i}`);
    }
    request += resp("DBSIZE");
    c.write(request);
    const got = await c.bytes(expected.length);
    expect(got === expected).toBe(true);
    const tail = await c.lines(1);
    expect(Number(tail[0]!.slice(1))).toBeGreaterThanOrEqual(500);
    expect(tail[0]!.startsWith(":")).toBe(true);
  });

  test("1000 pipelined INCRs count to 1000", async () => {
    const c = await connect();
    c.write(resp("INCR", "pipe:counter").repeat(1000) + resp("GET", "pipe:counter"));
    let expected = "";
    for (let i = 1; i <= 1000; i++) expected += `:${i}\r\n`;
    expected += bulk("1000");
    expect((await c.bytes(expected.length)) === expected).toBe(true);
  });

  test("a frame split across writes at every offset", async () => {
    const c = await connect();
    const setLength = resp("SET", "split:key", "va\r\nl\0ue").length;
    const frame = resp("SET", "split:key", "va\r\nl\0ue") + resp("GET", "split:key");
    const reply = "+OK\r\n" + bulk("va\r\nl\0ue");
    for (let cut = 1; cut < frame.length; cut++) {
      c.write(frame.slice(0, cut));
      await Bun.sleep(1);
      // Nothing can be answered before the SET frame is complete; never a partial GET.
      if (cut < setLength) expect(c.pending).toBe("");
      else expect(["", "+OK\r\n"]).toContain(c.pending);
      c.write(frame.slice(cut));
      expect(await c.bytes(reply.length)).toBe(reply);
    }
    expect(c.pending).toBe("");
  });

  test("a frame written byte by byte, and in three pieces", async () => {
    const c = await connect();
    const frame = resp("SET", "split:bytes", "a\r\nb") + "GET split:bytes\r\n";
    for (const ch of frame) {
      c.write(ch);
      await Bun.sleep(0);
    }
    expect(await c.bytes("+OK\r\n".length)).toBe("+OK\r\n");
    // The inline GET replies in text: the value's CR LF quoted, one line.
    expect(await c.bytes('"a\\r\\nb"\n'.length)).toBe('"a\\r\\nb"\n');
    const get = resp("GET", "split:bytes");
    for (let a = 1; a < get.length; a += 3) {
      for (let b = a + 1; b < get.length; b += 5) {
        c.write(get.slice(0, a));
        await Bun.sleep(0);
        c.write(get.slice(a, b));
        await Bun.sleep(0);
        c.write(get.slice(b));
        expect(await c.bytes(bulk("a\r\nb").length)).toBe(bulk("a\r\nb"));
      }
    }
  });

  test("binary-safe keys and values (CR LF, NUL, every byte) round-trip", async () => {
    const c = await connect();
    const key = "bin:\r\n\0\xff key";
    const value = ALL_BYTES + "\r\n\0" + ALL_BYTES;
    c.write(resp("SET", key, value) + resp("GET", key) + resp("STRLEN", key) + resp("EXISTS", key));
    const expected = "+OK\r\n" + bulk(value) + `:${value.length}\r\n` + ":1\r\n";
    expect(await c.bytes(expected.length)).toBe(expected);
    // The same key spelled differently is a different key.
    c.write(resp("EXISTS", "bin:\r\n\0\xfe key") + resp("EXISTS", "bin:") + resp("DEL", key) + resp("GET", key));
    expect(await c.bytes(":0\r\n:0\r\n:1\r\n$-1\r\n".length)).toBe(":0\r\n:0\r\n:1\r\n$-1\r\n");
  });

  test("empty key and empty value", async () => {
    const c = await connect();
    c.write(resp("SET", "", "") + resp("GET", "") + resp("EXISTS", "") + resp("DEL", ""));
    expect(await c.bytes("+OK\r\n$0\r\n\r\n:1\r\n:1\r\n".length)).toBe("+OK\r\n$0\r\n\r\n:1\r\n:1\r\n");
  });

  test("a 2 MiB value in one frame round-trips (replies larger than the flush threshold)", async () => {
    const c = await connect();
    const value = ALL_BYTES.repeat((2 * 1024 * 1024) / 256);
    c.write(resp("SET", "big:value", value));
    expect(await c.bytes(5, 10_000)).toBe("+OK\r\n");
    c.write(resp("GET", "big:value") + resp("GET", "big:value") + resp("PING"));
    const expected = bulk(value) + bulk(value) + "+PONG\r\n";
    expect((await c.bytes(expected.length, 10_000)) === expected).toBe(true);
  });

  test("*0 and empty lines between RESP frames are ignored", async () => {
    const c = await connect();
    c.write("*0\r\n" + resp("PING") + "\r\n*0\r\n" + resp("ECHO", "x"));
    expect(await c.bytes("+PONG\r\n$1\r\nx\r\n".length)).toBe("+PONG\r\n$1\r\nx\r\n");
    await Bun.sleep(20);
    expect(c.pending).toBe("");
  });
});

describe("protocol errors close the connection; others are unaffected", () => {
  const cases: [string, string][] = [
    ["*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"],
    ["*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    // Lengths follow Redis's string2ll: no leading zeros.
    ["*1\r\n$01\r\nx\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*01\r\n$1\r\nx\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    [`*1\r\n$${512 * 1024 * 1024 + 1}\r\n`, "-ERR Protocol error: invalid bulk length\r\n"],
  ];
  for (const [input, reply] of cases) {
    test(`malformed ${JSON.stringify(input)}`, async () => {
      const bystander = await connect();
      expect(await bystander.command("SET proto:intact yes")).toBe("OK");
      const c = await connect();
      c.write(input);
      await c.waitClosed();
      expect(c.closed).toBe(true);
      expect(c.pending).toBe(reply);
      // The other client and the data are untouched.
      expect(await bystander.command("GET proto:intact")).toBe("yes");
      expect(await bystander.command("ECHO alive")).toBe("alive");
      expect(bystander.closed).toBe(false);
    });
  }

  test("commands before the malformed frame run and are answered; nothing after it runs", async () => {
    const c = await connect();
    c.write(resp("SET", "proto:before", "1") + "ECHO x\r\n*1\r\n$abc\r\n" + resp("SET", "proto:after", "1"));
    await c.waitClosed();
    expect(c.pending).toBe("+OK\r\nx\n-ERR Protocol error: invalid bulk length\r\n");
    const other = await connect();
    other.write(resp("EXISTS", "proto:before") + resp("EXISTS", "proto:after"));
    expect(await other.bytes(8)).toBe(":1\r\n:0\r\n");
  });

  test("a malformed frame split across writes", async () => {
    const c = await connect();
    c.write("*2\r\n$4\r\nECHO\r\n$");
    await Bun.sleep(10);
    expect(c.pending).toBe("");
    c.write("x1\r\nab\r\n");
    await c.waitClosed();
    expect(c.pending).toBe("-ERR Protocol error: invalid bulk length\r\n");
  });
});

describe("closing", () => {
  test("RESP QUIT replies +OK then closes; later commands are not run", async () => {
    const c = await connect();
    c.write(resp("SET", "quit:a", "1") + resp("QUIT") + resp("SET", "quit:b", "1"));
    await c.waitClosed();
    expect(c.pending).toBe("+OK\r\n+OK\r\n");
    const other = await connect();
    other.write(resp("EXISTS", "quit:a") + resp("EXISTS", "quit:b"));
    expect(await other.bytes(8)).toBe(":1\r\n:0\r\n");
  });

  test("inline QUIT replies OK then closes", async () => {
    const c = await connect();
    c.write("ECHO a\nQUIT\nECHO b\n");
    await c.waitClosed();
    expect(c.pending).toBe("a\nOK\n");
  });

  test("a client that half-closes after sending (socket.end) still gets every reply", async () => {
    const received = await new Promise<string>((resolve, reject) => {
      let data = "";
      const socket = net.connect({ host: "127.0.0.1", port: server.port });
      socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
      socket.on("error", reject);
      socket.on("close", () => resolve(data));
      socket.on("connect", () => {
        socket.write(resp("SET", "half:a", "v\r\n") + resp("GET", "half:a") + "GET half:a\n" + resp("INCR", "half:n").repeat(100));
        socket.end();
      });
    });
    let expected = "+OK\r\n" + bulk("v\r\n") + '"v\\r\\n"\n';
    for (let i = 1; i <= 100; i++) expected += `:${i}\r\n`;
    expect(received).toBe(expected);
  });

  test("a Bun socket that shuts down its write side still gets its replies", async () => {
    const value = "h".repeat(300 * 1024); // more than one socket write's worth
    const received = await new Promise<string>((resolve) => {
      let data = "";
      Bun.connect({
        hostname: "127.0.0.1",
        port: server.port,
        socket: {
          open(s) {
            s.write(resp("SET", "half:big", value) + resp("GET", "half:big") + resp("PING"));
            s.shutdown();
          },
          data(_s, chunk) {
            data += Buffer.from(chunk).toString("latin1");
          },
          close() {
            resolve(data);
          },
        },
      });
    });
    const expected = "+OK\r\n" + bulk(value) + "+PONG\r\n";
    expect(received.length).toBe(expected.length);
    expect(received === expected).toBe(true);
  });
});

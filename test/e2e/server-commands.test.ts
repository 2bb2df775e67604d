import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { SYNTAX, NOT_INTEGER, arity, errorOf } from "../helpers/replies.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * Connection and server commands end to end, against Redis 7's replies and
 * error texts (src/server.c, networking.c, config.c; tests/unit/info.tcl,
 * introspection.tcl, introspection-2.tcl).
 */

let server: RunningServer;
let r: Redis;
const extraClients: Redis[] = [];
const rawClients: RawClient[] = [];

beforeAll(async () => {
  server = await startServer();
  r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  for (const raw of rawClients) raw.close();
  for (const client of extraClients) client.disconnect();
  await r?.quit();
  await server?.stop();
});

beforeEach(async () => {
  await r.call("FLUSHALL");
});


async function raw(): Promise<RawClient> {
  const client = await RawClient.connect(server.port);
  rawClients.push(client);
  return client;
}

/** Sends one RESP command on a raw connection and returns the first reply line. */
async function rawCall(client: RawClient, ...args: string[]): Promise<string> {
  client.write(resp(...args));
  return (await client.lines(1))[0]!;
}

async function rawId(client: RawClient): Promise<number> {
  const line = await rawCall(client, "CLIENT", "ID");
  expect(line).toMatch(/^:\d+$/);
  return Number(line.slice(1));
}

/** CLIENT LIST as one record of fields per client. */
async function clientList(...args: string[]): Promise<Record<string, string>[]> {
  const text = (await r.call("CLIENT", "LIST", ...args)) as string;
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => Object.fromEntries(line.split(" ").map((field) => [field.slice(0, field.indexOf("=")), field.slice(field.indexOf("=") + 1)])));
}

/** INFO text as sections of name → value. */
function parseInfo(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const line of text.split("\r\n")) {
    if (line.startsWith("# ")) {
      current = new Map();
      sections.set(line.slice(2), current);
    } else if (line !== "") {
      const colon = line.indexOf(":");
      current!.set(line.slice(0, colon), line.slice(colon + 1));
    }
  }
  return sections;
}

describe("PING, ECHO, SELECT, AUTH", () => {
  test("PING with and without an argument", async () => {
    expect(await r.call("PING")).toBe("PONG");
    expect(await r.call("PING", "hello world")).toBe("hello world");
    expect(await r.call("PING", "")).toBe("");
    expect(await errorOf(r.call("PING", "a", "b"))).toBe(arity("ping"));
    const client = await raw();
    client.write(resp("PING") + resp("PING", "x y"));
    expect(await client.lines(3)).toEqual(["+PONG", "$3", "x y"]);
  });

  test("ECHO", async () => {
    expect(await r.call("ECHO", "hello")).toBe("hello");
    expect(await r.call("ECHO", "")).toBe("");
    const bytes = Buffer.from([0, 1, 0xff, 13, 10]);
    expect(Buffer.compare((await r.callBuffer("ECHO", bytes)) as Buffer, bytes)).toBe(0);
    expect(await errorOf(r.call("ECHO"))).toBe(arity("echo"));
    expect(await errorOf(r.call("ECHO", "a", "b"))).toBe(arity("echo"));
  });

  test("SELECT 0 works, other databases do not exist", async () => {
    expect(await r.call("SELECT", "0")).toBe("OK");
    expect(await errorOf(r.call("SELECT", "1"))).toBe("ERR DB index is out of range");
    expect(await errorOf(r.call("SELECT", "-1"))).toBe("ERR DB index is out of range");
    expect(await errorOf(r.call("SELECT", "abc"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("SELECT", "1.0"))).toBe(NOT_INTEGER);
    expect(await errorOf(r.call("SELECT", "9999999999"))).toBe("ERR value is out of range, value must between -2147483648 and 2147483647");
    expect(await errorOf(r.call("SELECT"))).toBe(arity("select"));
    await r.call("SET", "still", "here");
    expect(await r.call("GET", "still")).toBe("here");
  });

  test("AUTH without a configured password", async () => {
    expect(await errorOf(r.call("AUTH", "secret"))).toBe(
      "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
    );
    expect(await r.call("AUTH", "default", "anything")).toBe("OK");
    expect(await errorOf(r.call("AUTH", "bob", "secret"))).toBe("WRONGPASS invalid username-password pair or user is disabled.");
    expect(await errorOf(r.call("AUTH", "a", "b", "c"))).toBe(SYNTAX);
    expect(await errorOf(r.call("AUTH"))).toBe(arity("auth"));
    expect(await r.call("PING")).toBe("PONG");
  });
});

describe("errors for unknown commands and wrong arity", () => {
  test("unknown command", async () => {
    expect(await errorOf(r.call("FOOBAR", "a", "b"))).toBe("ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' ");
    expect(await errorOf(r.call("foobar"))).toBe("ERR unknown command 'foobar', with args beginning with: ");
    expect(await errorOf(r.call("GETT", "key"))).toBe("ERR unknown command 'GETT', with args beginning with: 'key' ");
  });

  test("unknown command: arguments are quoted up to about 128 bytes", async () => {
    const long = "x".repeat(200);
    expect(await errorOf(r.call("NOPE", long, "second"))).toBe(`ERR unknown command 'NOPE', with args beginning with: '${"x".repeat(128)}' `);
    const many = Array.from({ length: 40 }, (_, i) => `a${String(i).padStart(2, "0")}`);
    // Each argument takes 6 bytes ('a00' plus a space): after 21 of them 126 bytes are
    // used, so the 22nd is cut to the 2 bytes left, and Redis stops there.
    const expected =
      many
        .slice(0, 21)
        .map((a) => `'${a}' `)
        .join("") + "'a2' ";
    expect(await errorOf(r.call("NOPE", ...many))).toBe(`ERR unknown command 'NOPE', with args beginning with: ${expected}`);
    // The last argument is cut to what is left of the 128 bytes.
    const args = ["y".repeat(100), "z".repeat(100)];
    expect(await errorOf(r.call("NOPE", ...args))).toBe(`ERR unknown command 'NOPE', with args beginning with: '${"y".repeat(100)}' '${"z".repeat(25)}' `);
  });

  test("wrong number of arguments", async () => {
    expect(await errorOf(r.call("GET"))).toBe(arity("get"));
    expect(await errorOf(r.call("gEt", "a", "b"))).toBe(arity("get"));
    expect(await errorOf(r.call("SET", "a"))).toBe(arity("set"));
    expect(await errorOf(r.call("DBSIZE", "x"))).toBe(arity("dbsize"));
    expect(await errorOf(r.call("TIME", "x"))).toBe(arity("time"));
    expect(await errorOf(r.call("CLIENT"))).toBe(arity("client"));
    expect(await errorOf(r.call("CONFIG"))).toBe(arity("config"));
  });

  test("unknown subcommands and subcommand arity", async () => {
    expect(await errorOf(r.call("CLIENT", "FOO"))).toBe("ERR unknown subcommand 'FOO'. Try CLIENT HELP.");
    expect(await errorOf(r.call("client", "foo", "bar"))).toBe("ERR unknown subcommand 'foo'. Try CLIENT HELP.");
    expect(await errorOf(r.call("CONFIG", "FOO"))).toBe("ERR unknown subcommand 'FOO'. Try CONFIG HELP.");
    expect(await errorOf(r.call("COMMAND", "FOO"))).toBe("ERR unknown subcommand 'FOO'. Try COMMAND HELP.");
    expect(await errorOf(r.call("CLIENT", "x".repeat(200)))).toBe(`ERR unknown subcommand '${"x".repeat(128)}'. Try CLIENT HELP.`);

    expect(await errorOf(r.call("CLIENT", "ID", "x"))).toBe(arity("client|id"));
    expect(await errorOf(r.call("CLIENT", "GETNAME", "x"))).toBe(arity("client|getname"));
    expect(await errorOf(r.call("CLIENT", "SETNAME"))).toBe(arity("client|setname"));
    expect(await errorOf(r.call("CLIENT", "SETINFO", "LIB-NAME"))).toBe(arity("client|setinfo"));
    expect(await errorOf(r.call("CLIENT", "INFO", "x"))).toBe(arity("client|info"));
    expect(await errorOf(r.call("CLIENT", "KILL"))).toBe(arity("client|kill"));
    expect(await errorOf(r.call("CLIENT", "HELP", "x"))).toBe(arity("client|help"));
    expect(await errorOf(r.call("CONFIG", "GET"))).toBe(arity("config|get"));
    expect(await errorOf(r.call("CONFIG", "SET", "maxmemory"))).toBe(arity("config|set"));
    expect(await errorOf(r.call("CONFIG", "SET", "maxmemory", "1", "hz"))).toBe(arity("config|set"));
    expect(await errorOf(r.call("CONFIG", "RESETSTAT", "x"))).toBe(arity("config|resetstat"));
    expect(await errorOf(r.call("COMMAND", "COUNT", "x"))).toBe(arity("command|count"));
    expect(await errorOf(r.call("COMMAND", "HELP", "x"))).toBe(arity("command|help"));
  });
});

describe("CLIENT", () => {
  test("ID, SETNAME, GETNAME", async () => {
    const id = (await r.call("CLIENT", "ID")) as number;
    expect(id).toBeGreaterThan(0);
    expect(await r.call("CLIENT", "ID")).toBe(id);
    expect(await r.call("CLIENT", "GETNAME")).toBeNull();
    expect(await r.call("CLIENT", "SETNAME", "my-client")).toBe("OK");
    expect(await r.call("CLIENT", "GETNAME")).toBe("my-client");
    for (const bad of ["has space", "new\nline", "tab\t", "é"]) {
      expect(await errorOf(r.call("CLIENT", "SETNAME", bad))).toBe("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    expect(await r.call("CLIENT", "GETNAME")).toBe("my-client");
    // An empty name clears it.
    expect(await r.call("CLIENT", "SETNAME", "")).toBe("OK");
    expect(await r.call("CLIENT", "GETNAME")).toBeNull();
  });

  test("IDs are unique and increasing", async () => {
    const a = await raw();
    const b = await raw();
    const idA = await rawId(a);
    const idB = await rawId(b);
    expect(idB).toBeGreaterThan(idA);
    expect(idA).not.toBe((await r.call("CLIENT", "ID")) as number);
  });

  test("LIST and INFO describe clients in Redis's format", async () => {
    await r.call("CLIENT", "SETNAME", "lister");
    const myId = (await r.call("CLIENT", "ID")) as number;
    const other = await raw();
    const otherId = await rawId(other);
    const list = await clientList();
    const mine = list.find((c) => c.id === String(myId))!;
    const theirs = list.find((c) => c.id === String(otherId))!;
    expect(mine).toBeDefined();
    expect(theirs).toBeDefined();
    expect(mine.name).toBe("lister");
    expect(mine.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(mine.laddr).toBe(`127.0.0.1:${server.port}`);
    expect(mine.db).toBe("0");
    expect(mine.cmd).toBe("client|list");
    expect(theirs.cmd).toBe("client|id");
    expect(theirs.name).toBe("");
    const fields = Object.keys(mine);
    for (const field of ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "multi", "qbuf", "omem", "tot-mem", "events", "cmd", "user", "resp", "lib-name", "lib-ver"]) {
      expect(fields).toContain(field);
    }
    expect(fields.slice(0, 5)).toEqual(["id", "addr", "laddr", "fd", "name"]);

    const info = (await r.call("CLIENT", "INFO")) as string;
    expect(info.endsWith("\n")).toBe(true);
    expect(info.split("\n").filter(Boolean)).toHaveLength(1);
    expect(info).toMatch(new RegExp(`^id=${myId} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${server.port} `));
    expect(info).toContain(" name=lister ");
    expect(info).toContain(" cmd=client|info ");

    expect((await clientList("ID", String(otherId))).map((c) => c.id)).toEqual([String(otherId)]);
    expect((await clientList("ID", String(otherId), String(myId))).map((c) => c.id).sort()).toEqual([String(myId), String(otherId)].sort());
    expect(await clientList("ID", "999999")).toEqual([]);
    expect((await clientList("TYPE", "normal")).length).toBe(list.length);
    expect(await clientList("TYPE", "pubsub")).toEqual([]);
    expect(await errorOf(r.call("CLIENT", "LIST", "ID", "abc"))).toBe("ERR Invalid client ID");
    expect(await errorOf(r.call("CLIENT", "LIST", "TYPE", "bogus"))).toBe("ERR Unknown client type 'bogus'");
    expect(await errorOf(r.call("CLIENT", "LIST", "BOGUS"))).toBe(SYNTAX);
    await r.call("CLIENT", "SETNAME", "");
  });

  test("SETINFO", async () => {
    expect(await r.call("CLIENT", "SETINFO", "LIB-NAME", "mylib")).toBe("OK");
    expect(await r.call("CLIENT", "SETINFO", "lib-ver", "1.2.3")).toBe("OK");
    const info = (await r.call("CLIENT", "INFO")) as string;
    expect(info).toContain(" lib-name=mylib ");
    expect(info.trimEnd()).toMatch(/ lib-ver=1\.2\.3$/);
    expect(await errorOf(r.call("CLIENT", "SETINFO", "bogus", "x"))).toBe("ERR Unrecognized option 'bogus'");
    expect(await errorOf(r.call("CLIENT", "SETINFO", "LIB-NAME", "has space"))).toBe("ERR LIB-NAME cannot contain spaces, newlines or special characters.");
    expect(await errorOf(r.call("CLIENT", "SETINFO", "lib-ver", "a\nb"))).toBe("ERR lib-ver cannot contain spaces, newlines or special characters.");
  });

  test("KILL ID closes that connection and replies with a count", async () => {
    const victim = await raw();
    const id = await rawId(victim);
    expect(await r.call("CLIENT", "KILL", "ID", String(id))).toBe(1);
    await victim.waitClosed();
    expect(victim.closed).toBe(true);
    expect((await clientList()).some((c) => c.id === String(id))).toBe(false);
    expect(await r.call("CLIENT", "KILL", "ID", String(id))).toBe(0);
    expect(await r.call("PING")).toBe("PONG");
  });

  test("KILL ADDR and the old CLIENT KILL ip:port form", async () => {
    const first = await raw();
    const firstId = await rawId(first);
    const firstAddr = (await clientList()).find((c) => c.id === String(firstId))!.addr!;
    expect(await r.call("CLIENT", "KILL", "ADDR", firstAddr)).toBe(1);
    await first.waitClosed();

    const second = await raw();
    const secondId = await rawId(second);
    const secondAddr = (await clientList()).find((c) => c.id === String(secondId))!.addr!;
    expect(await r.call("CLIENT", "KILL", secondAddr)).toBe("OK");
    await second.waitClosed();
    expect(await errorOf(r.call("CLIENT", "KILL", secondAddr))).toBe("ERR No such client");
    expect(await errorOf(r.call("CLIENT", "KILL", "1.2.3.4:5"))).toBe("ERR No such client");
    expect(await r.call("CLIENT", "KILL", "ADDR", "1.2.3.4:5")).toBe(0);
  });

  test("KILL with several filters needs all of them to match", async () => {
    const victim = await raw();
    const id = await rawId(victim);
    const addr = (await clientList()).find((c) => c.id === String(id))!.addr!;
    expect(await r.call("CLIENT", "KILL", "ID", String(id), "ADDR", "1.2.3.4:5")).toBe(0);
    expect(await r.call("CLIENT", "KILL", "ID", String(id), "ADDR", addr, "LADDR", `127.0.0.1:${server.port}`, "USER", "default")).toBe(1);
    await victim.waitClosed();
  });

  test("KILL SKIPME: the caller is spared unless SKIPME no", async () => {
    const myId = (await r.call("CLIENT", "ID")) as number;
    expect(await r.call("CLIENT", "KILL", "ID", String(myId))).toBe(0);
    expect(await r.call("CLIENT", "KILL", "ID", String(myId), "SKIPME", "yes")).toBe(0);
    expect(await r.call("PING")).toBe("PONG");

    const self = await raw();
    const selfId = await rawId(self);
    self.write(resp("CLIENT", "KILL", "ID", String(selfId), "SKIPME", "no"));
    expect(await self.lines(1)).toEqual([":1"]);
    await self.waitClosed();

    // The old form kills the caller too.
    const other = await raw();
    const otherId = await rawId(other);
    const otherAddr = (await clientList()).find((c) => c.id === String(otherId))!.addr!;
    other.write(resp("CLIENT", "KILL", otherAddr));
    expect(await other.lines(1)).toEqual(["+OK"]);
    await other.waitClosed();
  });

  test("KILL TYPE normal closes every other client", async () => {
    const victims = [await raw(), await raw(), await raw()];
    for (const v of victims) await rawId(v);
    const killed = (await r.call("CLIENT", "KILL", "TYPE", "normal")) as number;
    expect(killed).toBeGreaterThanOrEqual(3);
    for (const v of victims) await v.waitClosed();
    expect(await r.call("PING")).toBe("PONG");
    expect(await r.call("CLIENT", "KILL", "TYPE", "pubsub")).toBe(0);
    expect(await r.call("CLIENT", "KILL", "TYPE", "master")).toBe(0);
  });

  test("KILL filter errors", async () => {
    expect(await errorOf(r.call("CLIENT", "KILL", "ID", "0"))).toBe("ERR client-id should be greater than 0");
    expect(await errorOf(r.call("CLIENT", "KILL", "ID", "-5"))).toBe("ERR client-id should be greater than 0");
    expect(await errorOf(r.call("CLIENT", "KILL", "ID", "notanumber"))).toBe("ERR client-id should be greater than 0");
    expect(await errorOf(r.call("CLIENT", "KILL", "TYPE", "bogus"))).toBe("ERR Unknown client type 'bogus'");
    expect(await errorOf(r.call("CLIENT", "KILL", "USER", "nosuchuser"))).toBe("ERR No such user 'nosuchuser'");
    expect(await errorOf(r.call("CLIENT", "KILL", "SKIPME", "bogus"))).toBe(SYNTAX);
    expect(await errorOf(r.call("CLIENT", "KILL", "BOGUSFILTER", "x"))).toBe(SYNTAX);
    expect(await errorOf(r.call("CLIENT", "KILL", "ID", "5", "SKIPME"))).toBe(SYNTAX);
    expect(await r.call("PING")).toBe("PONG");
  });

  test("HELP", async () => {
    const help = (await r.call("CLIENT", "HELP")) as string[];
    expect(help[0]).toBe("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help.slice(-2)).toEqual(["HELP", "    Print this help."]);
  });
});

describe("COMMAND", () => {
  test("COUNT, LIST and the full table agree", async () => {
    const count = (await r.call("COMMAND", "COUNT")) as number;
    const all = (await r.call("COMMAND")) as unknown[][];
    expect(all).toHaveLength(count);
    const list = (await r.call("COMMAND", "LIST")) as string[];
    const topLevel = list.filter((name) => !name.includes("|"));
    expect(topLevel).toHaveLength(count);
    expect(new Set(topLevel)).toEqual(new Set(all.map((entry) => entry[0] as string)));
    for (const name of ["get", "set", "getex", "expire", "scan", "client", "config", "info", "command", "ping"]) expect(topLevel).toContain(name);
    // Subcommands are listed by their full names, as in Redis 7.
    for (const name of ["client|kill", "client|list", "config|get", "config|set", "command|info", "object|encoding"]) expect(list).toContain(name);
    expect(await errorOf(r.call("COMMAND", "LIST", "BOGUS"))).toBe(SYNTAX);
    expect(await errorOf(r.call("COMMAND", "LIST", "FILTERBY", "BOGUS", "x"))).toBe(SYNTAX);
  });

  test("INFO get", async () => {
    const [get] = (await r.call("COMMAND", "INFO", "get")) as unknown[][];
    expect(get!.slice(0, 7)).toEqual(["get", 2, ["readonly", "fast"], 1, 1, 1, ["@read", "@string", "@fast"]]);
    expect(get!).toHaveLength(10);
    expect(get![9]).toEqual([]);
    const [set, mset, nope] = (await r.call("COMMAND", "INFO", "SET", "mset", "nope")) as unknown[][];
    expect(set!.slice(0, 7)).toEqual(["set", -3, ["write", "denyoom"], 1, 1, 1, ["@write", "@string", "@slow"]]);
    expect(mset!.slice(0, 6)).toEqual(["mset", -3, ["write", "denyoom"], 1, -1, 2]);
    expect(nope).toBeNull();
    // Subcommands of a container are listed with their full names.
    const [client] = (await r.call("COMMAND", "INFO", "client")) as unknown[][];
    const subs = (client![9] as unknown[][]).map((entry) => entry[0]);
    expect(subs).toContain("client|kill");
    expect(subs).toContain("client|id");
  });

  test("INFO of an unknown command is a null bulk in RESP2", async () => {
    const client = await raw();
    client.write(resp("COMMAND", "INFO", "nope"));
    expect(await client.lines(2)).toEqual(["*1", "$-1"]);
  });

  test("DOCS get", async () => {
    const docs = (await r.call("COMMAND", "DOCS", "get")) as unknown[];
    expect(docs[0]).toBe("get");
    const fields = docs[1] as unknown[];
    const map = new Map<string, unknown>();
    for (let i = 0; i < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1]);
    expect(map.get("summary")).toBe("Returns the string value of a key.");
    expect(map.get("since")).toBe("1.0.0");
    expect(map.get("group")).toBe("string");
    expect(map.get("complexity")).toBe("O(1)");
    expect(await r.call("COMMAND", "DOCS", "nope")).toEqual([]);
    const two = (await r.call("COMMAND", "DOCS", "GET", "set")) as unknown[];
    expect([two[0], two[2]]).toEqual(["get", "set"]);
  });

  test("LIST FILTERBY PATTERN", async () => {
    const get = ((await r.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "get*")) as string[]).sort();
    expect(get).toEqual(["get", "getdel", "getex", "getrange", "getset"]);
    expect(((await r.call("COMMAND", "LIST", "FILTERBY", "pattern", "GET*")) as string[]).sort()).toEqual(get);
    expect(((await r.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "*expire*")) as string[]).sort()).toEqual(
      ["expire", "expireat", "expiretime", "pexpire", "pexpireat", "pexpiretime"].sort(),
    );
    expect(((await r.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*")) as string[]).sort()).toEqual(
      ["config|get", "config|help", "config|resetstat", "config|set"],
    );
    expect(await r.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "nomatch*")).toEqual([]);
  });
});

describe("CONFIG", () => {
  test("GET with glob patterns", async () => {
    const pairs = (await r.call("CONFIG", "GET", "maxmemory*")) as string[];
    const map = new Map<string, string>();
    for (let i = 0; i < pairs.length; i += 2) map.set(pairs[i]!, pairs[i + 1]!);
    expect(map.get("maxmemory")).toBe("0");
    expect(map.get("maxmemory-policy")).toBeDefined();
    for (const name of map.keys()) expect(name.startsWith("maxmemory")).toBe(true);
    expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", "0"]);
    expect(await r.call("CONFIG", "GET", "MAXMEMORY")).toEqual(["maxmemory", "0"]);
    expect(await r.call("CONFIG", "GET", "port")).toEqual(["port", String(server.port)]);
    expect(await r.call("CONFIG", "GET", "nosuchoption")).toEqual([]);
    // Several patterns; an option matched twice is listed once.
    const several = (await r.call("CONFIG", "GET", "port", "maxmemory", "p*")) as string[];
    const names = several.filter((_, i) => i % 2 === 0);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("port");
    expect(names).toContain("maxmemory");
  });

  test("SET maxmemory 10mb then GET", async () => {
    try {
      expect(await r.call("CONFIG", "SET", "maxmemory", "10mb")).toBe("OK");
      expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", String(10 * 1024 * 1024)]);
      const info = parseInfo((await r.call("INFO", "memory")) as string);
      expect(info.get("Memory")!.get("maxmemory")).toBe(String(10 * 1024 * 1024));
      expect(await r.call("CONFIG", "SET", "MAXMEMORY", "5000")).toBe("OK");
      expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", "5000"]);
    } finally {
      await r.call("CONFIG", "SET", "maxmemory", "0");
    }
  });

  test("SET of an immutable option, an unknown option, a bad value", async () => {
    expect(await errorOf(r.call("CONFIG", "SET", "port", "1234"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
    );
    expect(await errorOf(r.call("CONFIG", "SET", "nosuch", "1"))).toBe("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    expect(await errorOf(r.call("CONFIG", "SET", "maxmemory", "lots"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
    );
    expect(await errorOf(r.call("CONFIG", "SET", "maxmemory", "-1"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
    );
    expect(await errorOf(r.call("CONFIG", "SET", "timeout", "abc"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
    );
    expect(await errorOf(r.call("CONFIG", "SET", "timeout", "-1"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive",
    );
    const policy = await errorOf(r.call("CONFIG", "SET", "maxmemory-policy", "bogus"));
    expect(policy.startsWith("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: ")).toBe(true);
    for (const name of ["noeviction", "allkeys-lru", "volatile-lru", "allkeys-random", "volatile-random", "volatile-ttl"]) expect(policy).toContain(name);
    expect(await errorOf(r.call("CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter",
    );
    expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", "0"]);
  });

  test("SET with several pairs is all or nothing", async () => {
    const before = (await r.call("CONFIG", "GET", "maxmemory-policy")) as string[];
    try {
      expect(await errorOf(r.call("CONFIG", "SET", "maxmemory", "5mb", "maxmemory-policy", "bogus"))).toMatch(
        /^ERR CONFIG SET failed \(possibly related to argument 'maxmemory-policy'\) - /,
      );
      expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", "0"]);
      expect(await errorOf(r.call("CONFIG", "SET", "maxmemory", "5mb", "port", "1"))).toBe(
        "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
      );
      expect(await errorOf(r.call("CONFIG", "SET", "timeout", "100", "nosuch", "1"))).toBe(
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
      );
      // Names are all checked before any value: the unknown name is reported, not the bad value.
      expect(await errorOf(r.call("CONFIG", "SET", "timeout", "abc", "nosuch", "1"))).toBe(
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
      );
      expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", "0"]);
      expect(await r.call("CONFIG", "GET", "timeout")).toEqual(["timeout", "0"]);

      expect(await r.call("CONFIG", "SET", "maxmemory", "5mb", "maxmemory-policy", "allkeys-random", "timeout", "300")).toBe("OK");
      expect(await r.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", String(5 * 1024 * 1024)]);
      expect(await r.call("CONFIG", "GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "allkeys-random"]);
      expect(await r.call("CONFIG", "GET", "timeout")).toEqual(["timeout", "300"]);
    } finally {
      await r.call("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", before[1]!, "timeout", "0");
    }
  });

  test("RESETSTAT", async () => {
    await r.call("SET", "k", "v");
    for (let i = 0; i < 5; i++) await r.call("GET", "k");
    await r.call("GET", "missing");
    let stats = parseInfo((await r.call("INFO", "stats")) as string).get("Stats")!;
    expect(Number(stats.get("keyspace_hits"))).toBeGreaterThanOrEqual(5);
    expect(Number(stats.get("keyspace_misses"))).toBeGreaterThanOrEqual(1);
    expect(await r.call("CONFIG", "RESETSTAT")).toBe("OK");
    stats = parseInfo((await r.call("INFO", "stats")) as string).get("Stats")!;
    expect(stats.get("keyspace_hits")).toBe("0");
    expect(stats.get("keyspace_misses")).toBe("0");
    expect(stats.get("expired_keys")).toBe("0");
    expect(Number(stats.get("total_commands_processed"))).toBeLessThanOrEqual(2);
    expect(await r.call("GET", "k")).toBe("v");
  });

  test("total_error_replies counts every error reply, RESP and text, and RESETSTAT zeroes it", async () => {
    const errors = async () => Number(parseInfo((await r.call("INFO", "stats")) as string).get("Stats")!.get("total_error_replies"));
    expect(await r.call("CONFIG", "RESETSTAT")).toBe("OK");
    expect(await errors()).toBe(0);
    await errorOf(r.call("NOSUCH"));
    await errorOf(r.call("GET"));
    const text = await raw();
    expect(await text.command('SET "unbalanced')).toBe("ERR Protocol error: unbalanced quotes in request");
    expect(await errors()).toBe(3);
    expect(await r.call("CONFIG", "RESETSTAT")).toBe("OK");
    expect(await errors()).toBe(0);
  });

  test("HELP", async () => {
    const help = (await r.call("CONFIG", "HELP")) as string[];
    expect(help[0]).toBe("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help.slice(-2)).toEqual(["HELP", "    Print this help."]);
  });
});

describe("INFO, TIME, DBSIZE", () => {
  test("the default INFO", async () => {
    const text = (await r.call("INFO")) as string;
    const sections = parseInfo(text);
    for (const name of ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Keyspace"]) {
      expect([name, sections.has(name)]).toEqual([name, true]);
    }
    expect(sections.get("Persistence")!.get("loading")).toBe("0");
    expect(text).toContain("\r\nloading:0\r\n");
    expect(sections.get("Server")!.get("redis_version")).toMatch(/^7\.\d+\.\d+$/);
    expect(sections.get("Server")!.get("tcp_port")).toBe(String(server.port));
    expect(sections.get("Replication")!.get("role")).toBe("master");
    expect(Number(sections.get("Clients")!.get("connected_clients"))).toBeGreaterThanOrEqual(1);
    // Every line is a header, a name:value pair, or the blank line between sections.
    for (const line of text.split("\r\n")) expect(line === "" || line.startsWith("# ") || /^[a-z_0-9]+:/.test(line)).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(await r.call("INFO", "default")).toBeDefined();
  });

  test("the Keyspace section", async () => {
    expect((await r.call("INFO", "keyspace")) as string).toBe("# Keyspace\r\n");
    await r.call("SET", "a", "1");
    await r.call("SET", "b", "2", "EX", "100");
    await r.call("SET", "c", "3", "PX", "100000");
    const text = (await r.call("INFO", "keyspace")) as string;
    expect(text).toMatch(/^# Keyspace\r\ndb0:keys=3,expires=2,avg_ttl=\d+\r\n$/);
    // Both TTLs are 100 s, so the estimate is just under 100,000 ms.
    const avgTtl = Number(/avg_ttl=(\d+)/.exec(text)![1]);
    expect(avgTtl).toBeGreaterThan(90_000);
    expect(avgTtl).toBeLessThanOrEqual(100_000);
    const full = (await r.call("INFO")) as string;
    expect(full).toMatch(/\r\n# Keyspace\r\ndb0:keys=3,expires=2,avg_ttl=\d+\r\n$/);
  });

  test("INFO <section> returns only that section", async () => {
    const memory = (await r.call("INFO", "memory")) as string;
    const sections = parseInfo(memory);
    expect([...sections.keys()]).toEqual(["Memory"]);
    expect(memory.startsWith("# Memory\r\n")).toBe(true);
    for (const field of ["used_memory", "used_memory_human", "maxmemory", "maxmemory_policy"]) expect(sections.get("Memory")!.has(field)).toBe(true);
    expect([...parseInfo((await r.call("INFO", "SERVER")) as string).keys()]).toEqual(["Server"]);
    expect([...parseInfo((await r.call("INFO", "server", "clients")) as string).keys()]).toEqual(["Server", "Clients"]);
    expect(await r.call("INFO", "nosuchsection")).toBe("");
  });

  test("TIME", async () => {
    const before = Date.now();
    const [seconds, micros] = (await r.call("TIME")) as [string, string];
    const after = Date.now();
    expect(seconds).toMatch(/^\d+$/);
    expect(micros).toMatch(/^\d+$/);
    expect(Number(micros)).toBeLessThan(1_000_000);
    const ms = Number(seconds) * 1000 + Number(micros) / 1000;
    expect(ms).toBeGreaterThanOrEqual(before - 1000);
    expect(ms).toBeLessThanOrEqual(after + 1000);
  });

  test("DBSIZE", async () => {
    expect(await r.call("DBSIZE")).toBe(0);
    await r.call("MSET", "a", "1", "b", "2");
    expect(await r.call("DBSIZE")).toBe(2);
    await r.call("SET", "c", "3", "PX", "20");
    await Bun.sleep(60);
    await r.call("GET", "c");
    expect(await r.call("DBSIZE")).toBe(2);
  });
});

describe("SHUTDOWN", () => {
  test("option errors leave the server running", async () => {
    expect(await errorOf(r.call("SHUTDOWN", "ABORT"))).toBe("ERR No shutdown in progress.");
    expect(await errorOf(r.call("SHUTDOWN", "BOGUS"))).toBe(SYNTAX);
    expect(await errorOf(r.call("SHUTDOWN", "ABORT", "BOGUS"))).toBe(SYNTAX);
    expect(await r.call("PING")).toBe("PONG");
  });

  test("on its own server: illegal combinations are refused, then the process exits with 0", async () => {
    const own = await startServer();
    try {
      const client = await RawClient.connect(own.port);
      const bystander = await RawClient.connect(own.port);
      expect(await rawCall(bystander, "PING")).toBe("+PONG");
      expect(await rawCall(client, "SHUTDOWN", "SAVE", "NOSAVE")).toBe("-ERR syntax error");
      expect(await rawCall(client, "SHUTDOWN", "ABORT", "NOW")).toBe("-ERR syntax error");
      expect(await rawCall(client, "PING")).toBe("+PONG");
      client.write(resp("SHUTDOWN", "NOSAVE"));
      await client.waitClosed();
      await bystander.waitClosed();
      // Like Redis, a successful SHUTDOWN sends no reply.
      expect(client.pending).toBe("");
      const code = await Promise.race([own.proc.exited, Bun.sleep(10_000).then(() => "timeout")]);
      expect(code).toBe(0);
    } finally {
      await own.stop();
    }
  });
});

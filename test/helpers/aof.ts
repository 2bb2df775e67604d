import Redis from "ioredis";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningServer } from "./server.ts";

/** Helpers for persistence tests: clients that fail fast when the server dies, AOF bytes, log waits. */

/** An ioredis client that neither queues nor retries: a command either gets its reply or fails. */
export function connectOnce(port: number): Redis {
  return new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
}

export async function ready(client: Redis): Promise<Redis> {
  if (client.status !== "ready") await new Promise((resolve, reject) => client.once("ready", resolve).once("error", reject));
  return client;
}

export function aofBytes(dir: string, name = "appendonly.aof"): Buffer {
  const path = join(dir, name);
  return existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
}

/** The AOF as a list of commands (argv arrays), parsed strictly. */
export function aofCommands(bytes: Buffer): string[][] {
  const text = bytes.toString("latin1");
  const commands: string[][] = [];
  let pos = 0;
  const line = (): string => {
    const end = text.indexOf("\r\n", pos);
    if (end < 0) throw new Error(`unterminated line at ${pos}`);
    const l = text.slice(pos, end);
    pos = end + 2;
    return l;
  };
  while (pos < text.length) {
    const header = line();
    if (!header.startsWith("*")) throw new Error(`expected '*' at ${pos}: ${header}`);
    const argv: string[] = [];
    for (let n = Number(header.slice(1)); n > 0; n--) {
      const len = Number(line().slice(1));
      argv.push(text.slice(pos, pos + len));
      pos += len + 2;
    }
    commands.push(argv);
  }
  return commands;
}

/** Encodes commands as AOF records. */
export function aofRecords(...commands: string[][]): Buffer {
  return Buffer.from(
    commands.map((argv) => `*${argv.length}\r\n` + argv.map((a) => `$${Buffer.byteLength(a, "latin1")}\r\n${a}\r\n`).join("")).join(""),
    "latin1",
  );
}

/** Waits until the server's log contains `text`. */
export async function logContains(server: RunningServer, text: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const found = () => (typeof text === "string" ? server.logs().includes(text) : text.test(server.logs()));
  while (!found()) {
    if (Date.now() > deadline) throw new Error(`log never contained ${text}:\n${server.logs()}`);
    await Bun.sleep(20);
  }
  return server.logs();
}

/** INFO persistence as a map. */
export async function persistenceInfo(client: Redis): Promise<Record<string, string>> {
  const text = await client.info("persistence");
  return Object.fromEntries(
    text
      .split("\r\n")
      .filter((l) => l.includes(":"))
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
  );
}

export async function waitUntil(predicate: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

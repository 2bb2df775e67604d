/**
 * `bun bench/unread-client.ts`: a client pipelines 1,000 GETs of a 1 MiB
 * value and never reads. Prints each server's resident memory before and
 * while that client sits there, ./atomic_server next to redis-server with
 * default settings (both --appendonly no, their own temp dirs).
 */
import { resolve } from "node:path";
import {
  cleanupAll,
  ensureRedisTools,
  ensureServerBinary,
  formatBytes,
  freePorts,
  installCleanupHandlers,
  makeTempDir,
  readRss,
  respCommand,
  startServer,
  stopProcess,
  waitForPing,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const REQUESTS = 1000;
const VALUE = 1024 * 1024;
const log = (msg: string) => console.error(`[bench:unread-client] ${msg}`);

installCleanupHandlers();
await ensureRedisTools(log);
await ensureServerBinary(ROOT, true, log);
const [oursPort, redisPort] = freePorts(2);
const servers = [
  startServer("atomic_server", [resolve(ROOT, "atomic_server"), "--port", String(oursPort), "--bind", "127.0.0.1", "--dir", makeTempDir("unread-ours"), "--appendonly", "no"], oursPort!),
  startServer("redis-server", ["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", makeTempDir("unread-redis"), "--daemonize", "no"], redisPort!),
];
try {
  for (const server of servers) {
    await waitForPing(server);
    await respCommand(server.port, ["SETRANGE", "big", String(VALUE - 1), "x"]);
    const before = readRss(server.proc.pid);
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
    socket.pause(); // never reads
    socket.write(Buffer.from("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(REQUESTS)));
    await Bun.sleep(3000);
    const during = readRss(server.proc.pid);
    const started = performance.now();
    await respCommand(server.port, ["PING"]);
    const pingMs = performance.now() - started;
    console.log(
      `${server.name.padEnd(14)} resident ${formatBytes(before)} before, ${formatBytes(during)} with ${REQUESTS} unread ${formatBytes(VALUE)} replies ` +
        `(+${formatBytes(during - before)}); another client's PING meanwhile: ${pingMs.toFixed(1)} ms`,
    );
    socket.terminate();
  }
} finally {
  for (const server of servers) await stopProcess(server.proc);
  await cleanupAll();
}

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** The server's stderr is read asynchronously: wait for a line rather than race it. */
async function logsContaining(server: RunningServer, text: string | RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  const found = () => (typeof text === "string" ? server.logs().includes(text) : text.test(server.logs()));
  while (!found() && Date.now() < deadline) await Bun.sleep(20);
  return server.logs();
}

/** The names of the process's threads (Linux). */
function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim());
}

function environment(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
}

/** 2,000 SETs in one pipeline, answered: enough allocation for the JS heap to ask for new blocks. */
async function someLoad(port: number): Promise<void> {
  const client = await RawClient.connect(port);
  let batch = "";
  for (let i = 0; i < 2000; i++) batch += resp("SET", `key:${i}`, "x".repeat(100));
  client.write(batch);
  await client.bytes(2000 * 5, 10_000);
  client.close();
}

/**
 * How the server starts and stops: SIGTERM and SIGINT end it cleanly
 * (exit 0, a last log line), like SHUTDOWN; connected clients see their
 * connection closed rather than a hang.
 */

describe("lifecycle", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} stops the server with exit code 0 and closes clients`, async () => {
      const server = await startServer();
      const client = await RawClient.connect(server.port);
      client.write(resp("SET", "k", "v"));
      expect(await client.bytes(5)).toBe("+OK\r\n");
      server.proc.kill(signal);
      expect(await server.proc.exited).toBe(0);
      await client.waitClosed();
      expect(await logsContaining(server, "ready to exit")).toContain(`Received ${signal}`);
      expect(server.logs()).toContain("ready to exit");
      await server.stop();
    });
  }

  test("it restarts itself in place with the runtime's settings: no JSC warm-up thread, same pid", async () => {
    const server = await startServer();
    await someLoad(server.port);
    // startServer's pid is the one answering: execve kept it.
    expect(environment(server.proc.pid)).toContain("BUN_JSC_useWarmUpMarkedBlocks=0");
    expect(threadNames(server.proc.pid)).not.toContain("JSCWarmUp");
    expect(server.logs()).not.toContain("could not restart");
    await server.stop();
  });

  test("the restarted process's allocator keeps freed memory for reuse: mimalloc reads the purge settings", async () => {
    // mimalloc prints its options at process init when verbose: once for the
    // first start (Bun's defaults), once after the restart.
    const server = await startServer([], { env: { MIMALLOC_VERBOSE: "1" } });
    const logs = await logsContaining(server, /process init[\s\S]*process init[\s\S]*option 'purge_holes'/);
    const options = (name: string) => [...logs.matchAll(new RegExp(`option '${name}': (\\d+)`, "g"))].map((m) => m[1]);
    expect(options("purge_holes")).toEqual(["1", "0"]);
    expect(options("purge_delay")).toEqual(["100", "10000"]);
    expect(environment(server.proc.pid)).toContain("MIMALLOC_PURGE_DELAY=10000");
    await server.stop();
  });

  test("an operator's own value for a runtime setting wins (and the warm-up thread then runs)", async () => {
    const server = await startServer([], { env: { BUN_JSC_useWarmUpMarkedBlocks: "1" } });
    expect(environment(server.proc.pid)).toContain("BUN_JSC_useWarmUpMarkedBlocks=1");
    const deadline = Date.now() + 10_000;
    while (!threadNames(server.proc.pid).includes("JSCWarmUp") && Date.now() < deadline) await someLoad(server.port);
    expect(threadNames(server.proc.pid)).toContain("JSCWarmUp");
    await server.stop();
  });

  test("the startup log names the version, port and policy, then says it is ready", async () => {
    const server = await startServer();
    const logs = await logsContaining(server, "Ready to accept connections");
    expect(logs).toMatch(new RegExp(`AtomicKV \\d+\\.\\d+\\.\\d+ .*port=${server.port} .*policy=allkeys-lru`));
    expect(logs).toContain("Ready to accept connections tcp");
    await server.stop();
  });
});

import { describe, expect, test } from "bun:test";
import { RawClient, resp } from "../helpers/raw.ts";
import { startServer, type RunningServer } from "../helpers/server.ts";

/** The server's stderr is read asynchronously: wait for a line rather than race it. */
async function logsContaining(server: RunningServer, text: string | RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  const found = () => (typeof text === "string" ? server.logs().includes(text) : text.test(server.logs()));
  while (!found() && Date.now() < deadline) await Bun.sleep(20);
  return server.logs();
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

  test("the startup log names the version, port and policy, then says it is ready", async () => {
    const server = await startServer();
    const logs = await logsContaining(server, "Ready to accept connections");
    expect(logs).toMatch(new RegExp(`AtomicKV \\d+\\.\\d+\\.\\d+ .*port=${server.port} .*policy=allkeys-lru`));
    expect(logs).toContain("Ready to accept connections tcp");
    await server.stop();
  });
});

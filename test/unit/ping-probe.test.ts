import { afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { RespConnection } from "../../bench/lib.ts";
import { PingProbe, pingStats } from "../../bench/ping-probe.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

test("pingStats counts the waits over the goal and leaves an empty set as NaN", () => {
  const stats = pingStats([1, 2, 30, 4], 10);
  expect(stats).toMatchObject({ count: 4, maxMs: 30, overGoal: 1 });
  expect(pingStats([], 10).maxMs).toBeNaN();
});

/** A server that answers PING, and on STALL <ms> blocks its only thread that long first. */
const STALLING_SERVER = `
const server = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(socket, chunk) {
      const text = chunk.toString("latin1");
      const stall = /STALL\\r\\n\\$\\d+\\r\\n(\\d+)/.exec(text);
      if (stall) {
        Bun.sleepSync(Number(stall[1]));
        socket.write("+OK\\r\\n");
      }
      socket.write("+PONG\\r\\n".repeat(text.split("PING").length - 1));
    },
  },
});
console.log(server.port);
`;

describe("PingProbe (the stall probe of bench/compare.ts and bench/persistence.ts)", () => {
  let child: Subprocess<"ignore", "pipe", "inherit"> | null = null;
  afterEach(() => {
    child?.kill("SIGKILL");
    child = null;
  });

  async function startStallingServer(): Promise<number> {
    child = Bun.spawn([process.execPath, "-e", STALLING_SERVER], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    return Number(new TextDecoder().decode(value).trim());
  }

  test("a 60 ms stall shows as one wait of about 60 ms, and the PINGs around it as short ones", async () => {
    const port = await startStallingServer();
    const probe = await PingProbe.start(port, 1);
    const other = await RespConnection.open(port);
    await Bun.sleep(100);
    const before = performance.now();
    expect(await other.command(["STALL", "60"])).toBe("OK");
    const after = performance.now();
    await Bun.sleep(100);
    other.close();
    await probe.stop();

    expect(probe.errors).toBe(0);
    const waits = probe.waits();
    expect(waits.length).toBe(probe.sent.length);
    // One in flight at a time, ~1 ms apart: about 200 in the 200 ms around the stall.
    expect(waits.length).toBeGreaterThan(20);
    const held = waits.filter((_, i) => probe.replied[i]! >= before && probe.sent[i]! <= after);
    // The PING in flight when the stall began, or the one sent ~1 ms later, waits it out.
    expect(Math.max(...held)).toBeGreaterThan(45);
    const quiet = waits.filter((_, i) => probe.sent[i]! > after + 20);
    expect(quiet.length).toBeGreaterThan(5);
    expect(Math.max(...quiet)).toBeLessThan(45);
  });

  test("stop() reports a connection the server dropped", async () => {
    const port = await startStallingServer();
    const probe = await PingProbe.start(port, 1);
    await Bun.sleep(50);
    child!.kill("SIGKILL");
    await child!.exited;
    await expect(probe.stop()).rejects.toThrow(/closed/);
  });
});

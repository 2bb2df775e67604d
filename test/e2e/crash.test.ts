import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type Redis from "ioredis";
import { connectOnce, ready } from "../helpers/aof.ts";
import { makeDataDir, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The promise the AOF makes: a write the server acknowledged survives a
 * crash of the process (kill -9), whatever the fsync policy. Several
 * connections write distinct keys and one increments a counter, all
 * waiting for each reply; the server is killed mid-load, restarted on the
 * same directory, and every acknowledged write must be there.
 */

const WRITERS = 4;
const LOAD_MS = 800;

interface Load {
  /** Per writer, the highest n whose `SET w{writer}:{n}` was acknowledged. */
  acked: number[];
  /** The last INCR reply received. */
  counter: number;
  stop(): Promise<void>;
}

function startLoad(clients: Redis[], counterClient: Redis): Load {
  let running = true;
  const load: Load = { acked: new Array(clients.length).fill(-1), counter: 0, stop: async () => {} };
  const writers = clients.map(async (client, w) => {
    for (let n = 0; running; n++) {
      try {
        await client.set(`w${w}:${n}`, `value-${w}-${n}`);
      } catch {
        return; // the server is gone: this write was not acknowledged
      }
      load.acked[w] = n;
    }
  });
  const incrementer = (async () => {
    while (running) {
      try {
        load.counter = await counterClient.incr("counter");
      } catch {
        return;
      }
    }
  })();
  load.stop = async () => {
    running = false;
    await Promise.all([...writers, incrementer]);
  };
  return load;
}

describe("acknowledged writes survive kill -9", () => {
  for (const fsync of ["always", "everysec", "no"] as const) {
    test(`appendfsync ${fsync}`, async () => {
      const dir = makeDataDir();
      try {
        const server = await startServer(["--appendfsync", fsync], { dir });
        const clients = await Promise.all(Array.from({ length: WRITERS }, () => ready(connectOnce(server.port))));
        const counterClient = await ready(connectOnce(server.port));
        const load = startLoad(clients, counterClient);
        await Bun.sleep(LOAD_MS);
        expect(await server.kill("SIGKILL")).not.toBe(0);
        await load.stop();
        for (const c of [...clients, counterClient]) c.disconnect();
        const written = load.acked.reduce((sum, n) => sum + n + 1, 0);
        expect(written).toBeGreaterThan(100); // the load really ran

        const restarted = await startServer(["--appendfsync", fsync], { dir });
        const check = await ready(connectOnce(restarted.port));
        for (let w = 0; w < WRITERS; w++) {
          const keys = Array.from({ length: load.acked[w]! + 1 }, (_, n) => `w${w}:${n}`);
          if (keys.length === 0) continue;
          const values = await check.mget(keys);
          const missing = keys.filter((k, i) => values[i] !== `value-${k.slice(1).replace(":", "-")}`);
          expect(missing).toEqual([]);
        }
        // The counter is the last acknowledged value, or one more if the
        // INCR in flight at the crash was logged but not yet answered.
        const counter = Number(await check.get("counter"));
        expect(counter === load.counter || counter === load.counter + 1).toBe(true);
        check.disconnect();
        expect(await restarted.stop()).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

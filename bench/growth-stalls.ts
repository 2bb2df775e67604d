/**
 * Stalls while the keyspace grows: inserts 1.1M keys (16-byte keys, 32-byte
 * values) into a Keyspace, twice (the second time after a flush), timing each
 * set() and printing every one that took over 1 ms as `keys:ms`.
 *
 *   bun bench/growth-stalls.ts
 *
 * A stall here is a stall of the whole server (every client waits).
 */
import { Keyspace } from "../src/store/keyspace.ts";

const KEYS = 1_100_000;
const keyspace = new Keyspace();
const keys = Array.from({ length: KEYS }, (_, i) => `key:${String(i).padStart(12, "0")}`);
const value = "x".repeat(32);
for (let round = 1; round <= 2; round++) {
  keyspace.flush();
  const stalls: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const start = performance.now();
    keyspace.set(keys[i]!, value);
    const ms = performance.now() - start;
    if (ms > 1) stalls.push(`${i}:${ms.toFixed(1)}ms`);
  }
  console.log(`round ${round}: ${stalls.join(" ") || "no set() over 1 ms"}`);
}

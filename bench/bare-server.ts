/**
 * A floor for comparisons: a `Bun.listen` server that parses and stores
 * nothing. It counts the `*`s in each read (one per RESP request, as long as
 * no value holds a `*`, which redis-benchmark's do not) and writes one
 * constant bulk reply per request, so redis-benchmark against it measures
 * Bun's socket layer and event loop alone (BENCHMARKS.md, "Profile after
 * run 13"; bench/tail-floor.sh runs it next to AtomicKV and redis-server,
 * bench/read-stages/bare-timed.ts times its two steps).
 *
 *   bun build --compile bench/bare-server.ts --outfile /tmp/bare-server
 *   /tmp/bare-server 7003
 */
import type { Socket } from "bun";

const REPLY = Buffer.from("$3\r\nxxx\r\n");
const MAX_BATCH = 64;
const replies = Buffer.alloc(REPLY.length * MAX_BATCH);
for (let i = 0; i < MAX_BATCH; i++) REPLY.copy(replies, i * REPLY.length);

/** The requests in a read: its `*`s. */
export function countRequests(chunk: Buffer): number {
  let requests = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 42) requests++;
  return requests;
}

/** One constant reply per request, up to MAX_BATCH to a write. */
export function answer(socket: Socket<unknown>, requests: number): void {
  for (; requests > 0; requests -= MAX_BATCH) socket.write(replies, 0, Math.min(requests, MAX_BATCH) * REPLY.length);
}

/** Listens on 127.0.0.1:`port`; `data` handles each read (by default: count, then answer). */
export function listen(port: number, data = (socket: Socket<unknown>, chunk: Buffer) => answer(socket, countRequests(chunk))): void {
  Bun.listen({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket) {
        socket.setNoDelay(true); // as AtomicKV and Redis do
      },
      data,
    },
  });
}

if (import.meta.main) {
  const port = Number(process.argv[2] ?? 7003);
  listen(port);
  console.log(`bare server on 127.0.0.1:${port}`);
}

/**
 * bench/bare-server.ts with the stage log around its one step: the reply's
 * socket write is its `flush`, counting the requests its `parse`. The floor
 * that bench/read-stages.sh sets AtomicKV's stages against.
 */
import * as stageLog from "./stage-log.ts";

const REPLY = Buffer.from("$3\r\nxxx\r\n");
const MAX_BATCH = 64;
const replies = Buffer.alloc(REPLY.length * MAX_BATCH);
for (let i = 0; i < MAX_BATCH; i++) REPLY.copy(replies, i * REPLY.length);

Bun.listen({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 7003),
  socket: {
    open(socket) {
      socket.setNoDelay(true);
    },
    data(socket, chunk) {
      const t0 = Bun.nanoseconds();
      let requests = 0;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 42) requests++;
      const counted = Bun.nanoseconds();
      for (; requests > 0; requests -= MAX_BATCH) socket.write(replies, 0, Math.min(requests, MAX_BATCH) * REPLY.length);
      stageLog.read(t0, t0, counted, Bun.nanoseconds());
    },
  },
});

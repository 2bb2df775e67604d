/**
 * bench/bare-server.ts with the stage log around its two steps: counting
 * the requests is its `parse`, the reply's socket write its `flush`. The
 * floor that bench/read-stages.sh sets AtomicKV's stages against.
 */
import { answer, countRequests, listen } from "../bare-server.ts";
import * as stageLog from "./stage-log.ts";

listen(Number(process.argv[2] ?? 7003), (socket, chunk) => {
  const t0 = Bun.nanoseconds();
  const requests = countRequests(chunk);
  const counted = Bun.nanoseconds();
  answer(socket, requests);
  stageLog.read(t0, t0, counted, Bun.nanoseconds());
});

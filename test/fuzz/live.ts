import fc from "fast-check";
import { readFileSync } from "node:fs";
import { RawClient, resp } from "../helpers/raw.ts";
import { cutsArb, hostileStreamArb, splitAt } from "./inputs.ts";

/**
 * Fuzzes a live server: hostile connections send mutated RESP and noise,
 * a few at a time, while one well-behaved client writes and reads back
 * its own keys. Reports what was tried and anything that went wrong;
 * used by test/e2e/fuzz.test.ts (short) and bench/fuzz.ts (long).
 */

export interface FuzzReport {
  inputs: number;
  bytesSent: number;
  goodChecks: number;
  wrongAnswers: string[];
  serverDied: boolean;
  rssStartBytes: number;
  rssMaxBytes: number;
}

function rss(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
  } catch {
    return 0;
  }
}

async function sendHostile(port: number, pieces: Buffer[]): Promise<void> {
  await new Promise<void>((done) => {
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        done();
      }
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        async open(socket) {
          for (const piece of pieces) {
            if (piece.length > 0) socket.write(piece);
            await Bun.sleep(0);
          }
          setTimeout(() => {
            socket.end();
            finish();
          }, 5);
        },
        data() {},
        close: finish,
        error: finish,
        connectError: finish,
      },
    }).catch(finish);
  });
}

export async function fuzzLiveServer(port: number, pid: number, inputs: number, seed: number, concurrency = 8): Promise<FuzzReport> {
  const report: FuzzReport = { inputs: 0, bytesSent: 0, goodChecks: 0, wrongAnswers: [], serverDied: false, rssStartBytes: rss(pid), rssMaxBytes: 0 };
  const samples = fc.sample(fc.tuple(hostileStreamArb, cutsArb), { numRuns: inputs, seed });
  const good = await RawClient.connect(port);
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const [bytes, cuts] = samples[next++]!;
      report.inputs++;
      report.bytesSent += bytes.length;
      await sendHostile(port, splitAt(bytes, cuts));
    }
  };
  const checker = async () => {
    for (let i = 0; next < samples.length; i++) {
      const value = `good-${seed}-${i}`;
      good.write(resp("SET", `fuzz:good:${i % 50}`, value) + resp("GET", `fuzz:good:${i % 50}`));
      const lines = await good.lines(3, 10_000).catch(() => null);
      if (lines === null) {
        report.serverDied = true;
        return;
      }
      if (lines[0] !== "+OK" || lines[2] !== value) report.wrongAnswers.push(JSON.stringify(lines));
      report.goodChecks++;
      report.rssMaxBytes = Math.max(report.rssMaxBytes, rss(pid));
      await Bun.sleep(1);
    }
  };
  await Promise.all([...Array.from({ length: concurrency }, worker), checker()]);
  good.write(resp("PING"));
  const pong = await good.lines(1, 10_000).catch(() => null);
  if (pong?.[0] !== "+PONG") report.serverDied = true;
  good.close();
  return report;
}

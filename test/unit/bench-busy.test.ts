import { afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { busyProcesses, describeBusy } from "../../bench/lib.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

const children: Subprocess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function spawn(cmd: string[]): Subprocess {
  const child = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  children.push(child);
  return child;
}

describe.skipIf(process.platform !== "linux")("busyProcesses (bench/compare.ts's check for a machine that is not quiet)", () => {
  test("names a process spinning on a core and leaves out one that sleeps", async () => {
    const spinner = spawn([process.execPath, "-e", "for (;;) {}"]);
    const sleeper = spawn(["sleep", "30"]);
    await Bun.sleep(200); // past the spinner's startup
    const busy = await busyProcesses(500, 0.3);
    const spinning = busy.find((p) => p.pid === spinner.pid);
    expect(spinning).toBeDefined();
    expect(spinning!.cpu).toBeGreaterThan(0.3);
    expect(spinning!.cpu).toBeLessThan(1.5);
    expect(busy.some((p) => p.pid === sleeper.pid)).toBe(false);
    expect(busy.some((p) => p.pid === process.pid)).toBe(false);
    expect(describeBusy(busy)).toContain(`(pid ${spinner.pid}) `);
  });

  test("says none when nothing is busy", () => {
    expect(describeBusy([])).toBe("none");
    expect(describeBusy([{ pid: 7, comm: "redis-benchmark", cpu: 0.912 }])).toBe("redis-benchmark (pid 7) 91%");
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppendOnlyFile } from "../../src/persistence/append-only-file.ts";
import { Logger } from "../../src/util/log.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The `everysec` schedule that the server cron drives through tick(): an
 * fsync once a second, sooner once 512 KiB were written since the last one,
 * never two at once. unsyncedBytes falls to 0 when an fsync starts.
 */
describe("AppendOnlyFile: the everysec fsync schedule", () => {
  const dir = mkdtempSync(join(tmpdir(), "atomickv-aof-schedule-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Appends SET records until at least `bytes` more are written to the file. */
  function writeAtLeast(aof: AppendOnlyFile, bytes: number): void {
    const value = "v".repeat(1000);
    const target = aof.unsyncedBytes + bytes;
    for (let i = 0; aof.unsyncedBytes < target; i++) {
      aof.append(["SET", `key:${i}`, value]);
      expect(aof.write()).toBe(true);
    }
  }

  test("under 512 KiB written it waits for the second", () => {
    const aof = new AppendOnlyFile("everysec", new Logger());
    aof.open(join(dir, "small.aof"));
    writeAtLeast(aof, 100 * 1024);
    const written = aof.unsyncedBytes;
    aof.tick(aof.lastFsyncAt + 100);
    expect(aof.unsyncedBytes).toBe(written); // 100 ms in, ~100 KiB: not yet
    aof.tick(aof.lastFsyncAt + 999);
    expect(aof.unsyncedBytes).toBe(written);
    const due = aof.lastFsyncAt + 1000;
    aof.tick(due);
    expect(aof.unsyncedBytes).toBe(0); // the second is up
    expect(aof.lastFsyncAt).toBe(due);
    aof.close();
  });

  test("at 512 KiB it starts before the second is up, and never two at once", () => {
    const aof = new AppendOnlyFile("everysec", new Logger());
    const path = join(dir, "large.aof");
    aof.open(path);
    const before = aof.lastFsyncAt;
    writeAtLeast(aof, 512 * 1024);
    aof.tick(before + 100);
    expect(aof.unsyncedBytes).toBe(0); // 100 ms in, 512 KiB: started early
    expect(aof.lastFsyncAt).toBe(before + 100);
    // While that one runs, no second one starts, however much is written.
    writeAtLeast(aof, 600 * 1024);
    const during = aof.unsyncedBytes;
    aof.tick(before + 200);
    expect(aof.unsyncedBytes).toBe(during);
    aof.close();
    expect(readFileSync(path).length).toBe(aof.size);
  });

  test("under `no` and `always` tick() never fsyncs", () => {
    for (const policy of ["no", "always"] as const) {
      const aof = new AppendOnlyFile(policy, new Logger());
      aof.open(join(dir, `${policy}.aof`));
      writeAtLeast(aof, 600 * 1024);
      const written = aof.unsyncedBytes;
      aof.tick(aof.lastFsyncAt + 5000);
      expect(aof.unsyncedBytes).toBe(written);
      aof.close();
    }
  });
});

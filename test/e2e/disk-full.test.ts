import { describe, expect, test } from "bun:test";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { connectOnce, logContains, persistenceInfo, ready, waitUntil } from "../helpers/aof.ts";
import { startServer } from "../helpers/server.ts";
import { fill, mountSmallTmpfs, unmount } from "../helpers/tmpfs.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * A full disk, for real: the data directory is a small tmpfs, filled up by
 * another file. Needs root (mount); elsewhere the test says it was skipped.
 */

describe("a full disk", () => {
  test("writes are refused with -MISCONF, reads go on, and writing resumes by itself when space returns", async () => {
    const dir = mountSmallTmpfs();
    if (dir === null) {
      console.warn("skipped: cannot mount a tmpfs here (needs root); the full-disk behaviour was not tested");
      return;
    }
    try {
      // hz 1: the key below is expired by a read (lazy expiry), not by the cron first.
      const server = await startServer(["--hz", "1"], { dir });
      const writer = await ready(connectOnce(server.port));
      const other = await ready(connectOnce(server.port));
      await writer.set("before", "1");
      await writer.set("expiring", "1", "PX", 300);
      fill(join(dir, "filler"));

      // The write that hits the full disk is applied in memory but not
      // acknowledged: its reply waits until the record is in the file.
      let heldReply: string | null = null;
      const held = writer.set("during", "x".repeat(8192)).then((r) => (heldReply = r));
      await logContains(server, "Error writing to the AOF file: No space left on device");
      expect(await other.set("refused", "1").catch((e: Error) => e.message)).toBe(
        "MISCONF Errors writing to the AOF file: No space left on device",
      );
      expect(await other.get("before")).toBe("1"); // reads are served
      await Bun.sleep(300);
      expect(await other.get("expiring")).toBeNull(); // even one whose lazy expiry logs a DEL that cannot be written yet
      expect((await persistenceInfo(other)).aof_last_write_status).toBe("err");
      expect(heldReply).toBeNull();

      unlinkSync(join(dir, "filler"));
      expect(await held).toBe("OK");
      await logContains(server, "AOF write error looks solved");
      expect(await other.set("after", "1")).toBe("OK");
      expect((await persistenceInfo(other)).aof_last_write_status).toBe("ok");
      writer.disconnect();
      other.disconnect();
      await server.kill("SIGKILL");

      const restarted = await startServer([], { dir });
      const r = await ready(connectOnce(restarted.port));
      expect(await r.get("before")).toBe("1");
      expect(await r.strlen("during")).toBe(8192);
      expect(await r.get("refused")).toBeNull();
      expect(await r.get("after")).toBe("1");
      expect(restarted.logs()).not.toContain("torn");
      r.disconnect();
      await restarted.stop();
    } finally {
      unmount(dir);
    }
  });

  test("under appendfsync always too", async () => {
    const dir = mountSmallTmpfs();
    if (dir === null) {
      console.warn("skipped: cannot mount a tmpfs here (needs root)");
      return;
    }
    try {
      const server = await startServer(["--appendfsync", "always"], { dir });
      const c = await ready(connectOnce(server.port));
      const reader = await ready(connectOnce(server.port));
      await c.set("k", "v");
      fill(join(dir, "filler"));
      const pending = c.set("big", "y".repeat(16384));
      await waitUntil(async () => (await persistenceInfo(reader)).aof_last_write_status === "err", 5000, "the write error");
      expect(await reader.get("k")).toBe("v");
      unlinkSync(join(dir, "filler"));
      expect(await pending).toBe("OK");
      c.disconnect();
      reader.disconnect();
      await server.kill("SIGKILL");
      const restarted = await startServer([], { dir });
      const r = await ready(connectOnce(restarted.port));
      expect(await r.strlen("big")).toBe(16384);
      r.disconnect();
      await restarted.stop();
    } finally {
      unmount(dir);
    }
  });
});

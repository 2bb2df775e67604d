import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real full disk for tests: a 512 KiB tmpfs, filled up by another file.
 * Mounting needs root; elsewhere `mountSmallTmpfs` returns null and the
 * test says it was skipped.
 */

export function mountSmallTmpfs(): string | null {
  const dir = mkdtempSync(join(tmpdir(), "atomickv-full-"));
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", dir]);
  if (mounted.exitCode === 0) return dir;
  rmSync(dir, { recursive: true, force: true });
  return null;
}

export function unmount(dir: string): void {
  Bun.spawnSync(["umount", "-l", dir]); // lazy: a server a failed test left running may still hold it
  rmSync(dir, { recursive: true, force: true });
}

/** Fills the filesystem to the last byte with another file. */
export function fill(path: string): void {
  const fd = openSync(path, "w");
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          if (writeSync(fd, chunk) < size) break;
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compile, RELEASE_TARGETS } from "../../scripts/build.ts";
import { downloadPackages, ensureArchitecture, ensureCommand, unpackPackages } from "../helpers/debian.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { freePort, waitForPing } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The arm64 (Graviton) release binary, built as `bun run build:release`
 * builds it, runs here under qemu-user with Debian's arm64 glibc unpacked
 * into a sysroot: it serves SET/GET, writes its AOF and exits cleanly.
 */

const ROOT = resolve(import.meta.dir, "../..");
const DEB_CACHE = join(ROOT, "node_modules/.cache/debian-packages");
const tmp = mkdtempSync(join(tmpdir(), "atomickv-arm64-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Installs qemu and the arm64 sysroot; returns the qemu command prefix, or why it cannot. */
function prepareEmulator(): string[] | string {
  const missing = ensureCommand("qemu-aarch64-static", "qemu-user-static") ?? ensureArchitecture("arm64");
  if (missing !== null) return missing;
  const debs = downloadPackages(["libc6:arm64"], DEB_CACHE);
  if (typeof debs === "string") return debs;
  const sysroot = join(tmp, "sysroot");
  const unpacked = unpackPackages(debs, sysroot);
  if (unpacked !== null) return unpacked;
  return ["qemu-aarch64-static", "-L", sysroot];
}

describe("the linux-arm64 release binary under qemu-user", () => {
  test(
    "reports its target, serves SET/GET, writes its AOF and exits 0 on SIGTERM",
    async () => {
      const emulator = prepareEmulator();
      if (typeof emulator === "string") {
        console.warn(`skipped: cannot run arm64 binaries here: ${emulator}`);
        return;
      }
      const binary = join(tmp, "atomic_server-linux-arm64");
      compile(RELEASE_TARGETS["linux-arm64"], binary);
      // ELF e_machine (offset 18) is EM_AARCH64, 183: this could not run natively on x64.
      const header = readFileSync(binary).subarray(0, 20);
      expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(header.readUInt16LE(18)).toBe(183);

      const version = Bun.spawnSync([...emulator, binary, "--version"], { stdout: "pipe", stderr: "pipe" });
      expect(version.exitCode).toBe(0);
      expect(version.stdout.toString()).toMatch(/^AtomicKV \S+ commit=\S+ bun=\S+ target=bun-linux-arm64 \(linux-arm64\)\n$/);

      const port = await freePort();
      const dir = join(tmp, "data");
      const proc = Bun.spawn([...emulator, binary, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir], {
        stdout: "ignore",
        stderr: "pipe",
      });
      try {
        // JIT-compiled code under emulation starts slowly.
        await waitForPing(port, 60_000);
        const client = await RawClient.connect(port);
        client.write(resp("SET", "graviton", "arm64") + resp("GET", "graviton") + resp("INFO", "server"));
        expect(await client.lines(3, 20_000)).toEqual(["+OK", "$5", "arm64"]);
        expect(await client.waitFor((s) => s.includes("arch_bits"), 20_000)).toMatch(/os:linux \S+ arm64\r\n/);
        client.close();
        expect(readFileSync(join(dir, "appendonly.aof"), "latin1")).toContain("graviton");
      } finally {
        proc.kill("SIGTERM");
      }
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toContain("ready to exit");
    },
    240_000,
  );
});

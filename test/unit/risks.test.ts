import { describe, expect, test } from "bun:test";
import { Config } from "../../src/config/config.ts";
import type { OptionName } from "../../src/config/options.ts";
import { cgroupMemoryLimit, configRisks } from "../../src/config/risks.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

function config(settings: Partial<Record<OptionName, string>>): Config {
  const c = new Config();
  for (const [name, value] of Object.entries(settings)) c.set(name as OptionName, value!, "flag");
  return c;
}

const messages = (settings: Partial<Record<OptionName, string>>, limit: number | null = null) =>
  configRisks(config(settings), limit).map((r) => `${r.level}: ${r.message}`);

describe("configRisks", () => {
  test("the defaults: no password on 0.0.0.0 is a notice (protected mode refuses outsiders)", () => {
    const risks = messages({});
    expect(risks).toHaveLength(1);
    expect(risks[0]).toStartWith("notice: no password set: protected mode serves only loopback clients on 0.0.0.0 port 8080");
  });

  test("no password with protected mode off on a public address is a warning; loopback-only binds are quiet", () => {
    expect(messages({ "protected-mode": "no" })[0]).toStartWith("warning: no password and protected mode off on 0.0.0.0 port 8080");
    expect(messages({ "protected-mode": "no", bind: "127.0.0.1 ::1" })).toEqual([]);
    expect(messages({ bind: "127.0.0.1" })).toEqual([]);
  });

  test("a short password on a public address", () => {
    expect(messages({ requirepass: "secret" })).toEqual([
      "warning: requirepass is 6 characters on 0.0.0.0 port 8080: AUTH is not rate-limited; use a long random password (openssl rand -hex 32).",
    ]);
    expect(messages({ requirepass: "x".repeat(32) })).toEqual([]);
  });

  test("a container memory limit without maxmemory, or with maxmemory too close to it", () => {
    const safe = { bind: "127.0.0.1" };
    expect(messages(safe, 512 * 2 ** 20)[0]).toStartWith("warning: memory limit 512.00M (cgroup) and no maxmemory");
    expect(messages({ ...safe, maxmemory: "400mb" }, 512 * 2 ** 20)[0]).toStartWith("warning: maxmemory 400.00M is over 60% of the memory limit 512.00M");
    expect(messages({ ...safe, maxmemory: "256mb" }, 512 * 2 ** 20)).toEqual([]);
    expect(messages(safe, null)).toEqual([]);
  });

  test("persistence off, or fsync left to the OS", () => {
    expect(messages({ bind: "127.0.0.1", appendonly: "no" })).toEqual(["warning: appendonly is off: nothing is persisted, and a restart loses every key."]);
    expect(messages({ bind: "127.0.0.1", appendfsync: "no" })[0]).toStartWith("notice: appendfsync no:");
  });
});

describe("cgroupMemoryLimit", () => {
  const reader = (files: Record<string, string>) => (path: string) => {
    if (!(path in files)) throw new Error("ENOENT");
    return files[path]!;
  };
  test("cgroup v2: a number, or max", () => {
    expect(cgroupMemoryLimit(reader({ "/sys/fs/cgroup/memory.max": "536870912\n" }))).toBe(536870912);
    expect(cgroupMemoryLimit(reader({ "/sys/fs/cgroup/memory.max": "max\n" }))).toBeNull();
  });
  test("cgroup v1: its huge 'unlimited' number is no limit", () => {
    expect(cgroupMemoryLimit(reader({ "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n" }))).toBeNull();
    expect(cgroupMemoryLimit(reader({ "/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n" }))).toBe(1073741824);
  });
  test("no cgroup files: no limit", () => {
    expect(cgroupMemoryLimit(reader({}))).toBeNull();
  });
});

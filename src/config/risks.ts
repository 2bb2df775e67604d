import { readFileSync } from "node:fs";
import type { Config } from "./config.ts";
import { formatHumanBytes } from "./units.ts";

/**
 * Configuration that works but is likely to hurt, said once at startup:
 * warnings for what can lose data or expose it, notices for what only
 * limits the server.
 */

export interface Risk {
  level: "warning" | "notice";
  message: string;
}

const LOOPBACK = /^(127\.|::1$|localhost$|-?::1$)/;

/** The memory limit of this process's cgroup (a container's limit), or null when there is none. */
export function cgroupMemoryLimit(read: (path: string) => string = (p) => readFileSync(p, "latin1")): number | null {
  for (const path of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    let text: string;
    try {
      text = read(path).trim();
    } catch {
      continue;
    }
    if (text === "max") return null;
    const limit = Number(text);
    // cgroup v1 reports "no limit" as a number near 2^63.
    if (Number.isFinite(limit) && limit > 0 && limit < 2 ** 60) return limit;
    return null;
  }
  return null;
}

export function configRisks(config: Config, memoryLimit: number | null): Risk[] {
  const v = config.values;
  const risks: Risk[] = [];
  const publicBind = v.bind.filter((address) => !LOOPBACK.test(address));
  const where = `${publicBind.join(",")} port ${v.port}${v["tls-port"] > 0 ? ` and TLS port ${v["tls-port"]}` : ""}`;
  if (publicBind.length > 0 && v.requirepass === "") {
    if (v["protected-mode"] === "no") {
      risks.push({
        level: "warning",
        message: `no password and protected mode off on ${where}: anyone who can reach it can read, change and delete every key. Set --requirepass, or bind to 127.0.0.1.`,
      });
    } else {
      risks.push({
        level: "notice",
        message: `no password set: protected mode serves only loopback clients on ${where}; others are refused until --requirepass is set.`,
      });
    }
  }
  if (publicBind.length > 0 && v.requirepass !== "" && v.requirepass.length < 16) {
    risks.push({ level: "warning", message: `requirepass is ${v.requirepass.length} characters on ${where}: AUTH is not rate-limited; use a long random password (openssl rand -hex 32).` });
  }
  if (memoryLimit !== null && v.maxmemory === 0) {
    risks.push({
      level: "warning",
      message: `memory limit ${formatHumanBytes(memoryLimit)} (cgroup) and no maxmemory: the kernel will kill the server before it evicts anything. Set --maxmemory to about half the limit.`,
    });
  } else if (memoryLimit !== null && v.maxmemory > memoryLimit * 0.6) {
    risks.push({
      level: "warning",
      message: `maxmemory ${formatHumanBytes(v.maxmemory)} is over 60% of the memory limit ${formatHumanBytes(memoryLimit)} (cgroup): the process's resident size runs up to ~1.5x maxmemory plus ~45 MB, so it may be killed first.`,
    });
  }
  if (v.appendonly === "no") {
    risks.push({ level: "warning", message: "appendonly is off: nothing is persisted, and a restart loses every key." });
  } else if (v.appendfsync === "no") {
    risks.push({ level: "notice", message: "appendfsync no: a crash of the process loses no acknowledged write, but a power loss can lose the last ~30 s of them." });
  }
  return risks;
}

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Debian packages for the tests that check what we ship (qemu-user for the
 * arm64 binary, the packages a distroless image is made of, systemd-analyze).
 * A test asks for what it needs; where it cannot be had (no apt-get, not
 * root, no registry), it gets the reason to print and skips.
 */

let updated = false;

function run(cmd: string[]): { ok: boolean; output: string } {
  const result = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: result.exitCode === 0, output: result.stdout.toString() + result.stderr.toString() };
}

function aptGet(args: string[], cwd?: string): { ok: boolean; output: string } {
  const result = Bun.spawnSync(["apt-get", ...args], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return { ok: result.exitCode === 0, output: result.stdout.toString() + result.stderr.toString() };
}

function canUseApt(): string | null {
  if (Bun.which("apt-get") === null) return "apt-get is not available";
  if (process.getuid?.() !== 0) return "installing Debian packages needs root";
  return null;
}

function update(): string | null {
  if (updated) return null;
  const result = aptGet(["update", "-qq"]);
  if (!result.ok) return `apt-get update failed: ${result.output.trim().split("\n").pop()}`;
  updated = true;
  return null;
}

/** Makes `command` available, installing `pkg` when it is missing. Returns null, or why it cannot. */
export function ensureCommand(command: string, pkg: string): string | null {
  if (Bun.which(command) !== null) return null;
  const blocked = canUseApt() ?? update();
  if (blocked !== null) return `${command} is missing and ${blocked}`;
  const result = aptGet(["install", "-y", "-qq", "--no-install-recommends", pkg]);
  if (!result.ok || Bun.which(command) === null) return `could not install ${pkg}: ${result.output.trim().split("\n").pop()}`;
  return null;
}

/** Lets apt download packages of a foreign architecture (arm64 on x64). Returns null, or why it cannot. */
export function ensureArchitecture(arch: string): string | null {
  const native = run(["dpkg", "--print-architecture"]).output.trim();
  if (native === arch) return null;
  const foreign = run(["dpkg", "--print-foreign-architectures"]).output.split(/\s+/);
  if (foreign.includes(arch)) return null;
  const blocked = canUseApt();
  if (blocked !== null) return blocked;
  if (!run(["dpkg", "--add-architecture", arch]).ok) return `dpkg --add-architecture ${arch} failed`;
  updated = false;
  return update();
}

/**
 * Downloads the .deb files of `packages` (names may carry `:arch`) into
 * `cacheDir`, once, and returns their paths; or a string saying why not.
 */
export function downloadPackages(packages: string[], cacheDir: string): string[] | string {
  mkdirSync(cacheDir, { recursive: true });
  const native = run(["dpkg", "--print-architecture"]).output.trim();
  const debFor = (pkg: string) => {
    const [name, arch = native] = pkg.split(":");
    return readdirSync(cacheDir).find((f) => f.startsWith(`${name}_`) && (f.endsWith(`_${arch}.deb`) || f.endsWith("_all.deb")));
  };
  const missing = packages.filter((pkg) => debFor(pkg) === undefined);
  if (missing.length > 0) {
    if (Bun.which("apt-get") === null) return "apt-get is not available";
    let result = aptGet(["download", ...missing], cacheDir);
    if (!result.ok && process.getuid?.() === 0) {
      // The package lists may be missing or stale on a fresh machine.
      updated = false;
      const blocked = update();
      if (blocked !== null) return blocked;
      result = aptGet(["download", ...missing], cacheDir);
    }
    if (!result.ok) return `apt-get download ${missing.join(" ")} failed: ${result.output.trim().split("\n").pop()}`;
  }
  const paths: string[] = [];
  for (const pkg of packages) {
    const deb = debFor(pkg);
    if (deb === undefined) return `no .deb for ${pkg} after apt-get download`;
    paths.push(join(cacheDir, deb));
  }
  return paths;
}

/** Unpacks .deb files into `root` with `dpkg -x` (no maintainer scripts run, as when distroless is built). */
export function unpackPackages(debs: string[], root: string): string | null {
  mkdirSync(root, { recursive: true });
  for (const deb of debs) {
    const result = run(["dpkg", "-x", deb, root]);
    if (!result.ok) return `dpkg -x ${deb} failed: ${result.output.trim()}`;
  }
  return existsSync(root) ? null : `${root} was not created`;
}

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/**
 * Builds the single executable with `bun build --compile`.
 *
 *   bun scripts/build.ts            ./atomic_server for this machine (`bun run build`)
 *   bun scripts/build.ts --release  dist/atomic_server-linux-{x64,arm64} and dist/SHA256SUMS
 *                                   (`bun run build:release`)
 *
 * Binaries are minified and carry their source map inside, so a stack trace
 * names src/ lines. The git commit (ATOMICKV_COMMIT overrides it, for builds
 * without .git such as the Docker one) and the target are compiled in for
 * `--version`. Bun fetches a foreign target's runtime from the npm registry.
 */

const ROOT = resolve(import.meta.dir, "..");

export const RELEASE_TARGETS = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
} as const;

export type ReleasePlatform = keyof typeof RELEASE_TARGETS;

function git(args: string[]): string | null {
  if (Bun.which("git") === null) return null; // the Docker build stage has no git
  const result = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return result.exitCode === 0 ? result.stdout.toString().trim() : null;
}

export function buildCommit(): string {
  const given = process.env.ATOMICKV_COMMIT?.trim();
  if (given) return given;
  const head = git(["rev-parse", "--short=12", "HEAD"]);
  if (head === null) return "unknown";
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]);
  return dirty ? `${head}-dirty` : head;
}

function nativeTarget(): string {
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
    return `bun-${process.platform}-${process.arch}`;
  }
  return RELEASE_TARGETS[`linux-${process.arch}`];
}

/** Compiles src/main.ts into `outfile` for `target`; throws with bun's output on failure. */
export function compile(target: string, outfile: string, commit = buildCommit()): void {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = Bun.spawnSync(
    [
      // --bytecode: parsed ahead of time, ~12 ms less from exec to the first PONG (BENCHMARKS.md).
      // It needs --format=esm for main.ts's top-level await.
      process.execPath, "build", "--compile", "--minify", "--sourcemap", "--bytecode", "--format=esm",
      `--target=${target}`,
      "--define", `ATOMICKV_BUILD_COMMIT=${JSON.stringify(commit)}`,
      "--define", `ATOMICKV_BUILD_TARGET=${JSON.stringify(target)}`,
      join(ROOT, "src/main.ts"), "--outfile", outfile,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  // The map is embedded in the executable; the copy bun writes beside it is not needed.
  rmSync(`${outfile}.map`, { force: true });
  if (result.exitCode !== 0) {
    throw new Error(`bun build --target=${target} failed:\n${result.stdout}${result.stderr}`);
  }
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function release(): void {
  const dist = join(ROOT, "dist");
  rmSync(dist, { recursive: true, force: true });
  const commit = buildCommit();
  const sums: string[] = [];
  for (const [platform, target] of Object.entries(RELEASE_TARGETS)) {
    const outfile = join(dist, `atomic_server-${platform}`);
    compile(target, outfile, commit);
    sums.push(`${sha256(outfile)}  ${basename(outfile)}`);
    console.log(`${outfile}  ${(statSync(outfile).size / 2 ** 20).toFixed(1)} MiB  ${target}  ${commit}`);
  }
  // `sha256sum -c SHA256SUMS` checks them, from inside dist/.
  writeFileSync(join(dist, "SHA256SUMS"), sums.join("\n") + "\n");
  console.log(`${join(dist, "SHA256SUMS")}`);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.length === 1 && args[0] === "--release") {
    release();
  } else if (args.length === 0) {
    const outfile = join(ROOT, "atomic_server");
    compile(nativeTarget(), outfile);
    console.log(`${outfile}  ${(statSync(outfile).size / 2 ** 20).toFixed(1)} MiB  ${nativeTarget()}  ${buildCommit()}`);
  } else {
    console.error("usage: bun scripts/build.ts [--release]");
    process.exit(2);
  }
}

import pkg from "../package.json" with { type: "json" };

/** AtomicKV's own version (INFO reports Redis compatibility separately). */
export const VERSION: string = pkg.version;

// Set by scripts/build.ts through `bun build --define`; absent when run from source.
declare const ATOMICKV_BUILD_COMMIT: string | undefined;
declare const ATOMICKV_BUILD_TARGET: string | undefined;

/** The git commit the binary was built from ("-dirty" when the tree had changes), or "source". */
export const BUILD_COMMIT: string = typeof ATOMICKV_BUILD_COMMIT === "string" ? ATOMICKV_BUILD_COMMIT : "source";

/** The `bun build --target` the binary was compiled for, or "source". */
export const BUILD_TARGET: string = typeof ATOMICKV_BUILD_TARGET === "string" ? ATOMICKV_BUILD_TARGET : "source";

/** The `--version` line: everything needed to tell two binaries apart. */
export function versionLine(): string {
  return `AtomicKV ${VERSION} commit=${BUILD_COMMIT} bun=${Bun.version} target=${BUILD_TARGET} (${process.platform}-${process.arch})`;
}

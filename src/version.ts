import pkg from "../package.json" with { type: "json" };

/** AtomicKV's own version (INFO reports Redis compatibility separately). */
export const VERSION: string = pkg.version;

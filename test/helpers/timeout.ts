import { setDefaultTimeout } from "bun:test";

/**
 * End-to-end tests start real servers and wait on real sockets; a loaded
 * CI machine needs more than bun's 5 s default per test. Every test file
 * calls this at its top: Bun 1.4.5 scopes setDefaultTimeout to the file
 * it runs in (called from the preload, it covered only the first file)
 * and reads no timeout from bunfig.toml.
 */
export function useTestTimeout(): void {
  setDefaultTimeout(30_000);
}

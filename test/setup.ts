import { setDefaultTimeout } from "bun:test";

// End-to-end tests start real servers and wait on real sockets; a loaded
// CI machine needs more than bun's 5 s default per test.
setDefaultTimeout(30_000);

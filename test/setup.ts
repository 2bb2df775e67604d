import { afterAll, setDefaultTimeout } from "bun:test";
import { killLeftoverServers } from "./helpers/server.ts";

// End-to-end tests start real servers and wait on real sockets; a loaded
// CI machine needs more than bun's 5 s default per test.
setDefaultTimeout(30_000);

// A test that fails before stopping its server must not leave it running.
afterAll(killLeftoverServers);

import { afterAll } from "bun:test";
import { killLeftoverServers } from "./helpers/server.ts";

// Per-test timeouts are set by each test file (helpers/timeout.ts says why).

// A test that fails before stopping its server must not leave it running.
afterAll(killLeftoverServers);

import { connectionCommands } from "./connection.ts";
import { infoCommands } from "./info.ts";
import { introspectionCommands } from "./introspection.ts";
import { keyCommands } from "./keys.ts";
import { serverCommands } from "./server.ts";
import { stringCommands } from "./strings.ts";
import type { CommandSpec } from "./types.ts";

/**
 * The command table: every command's spec, looked up by name. Names are
 * stored in lower and upper case so the common spellings hit without
 * allocating a lower-cased copy per request.
 */
export const ALL_COMMANDS: readonly CommandSpec[] = [
  ...stringCommands,
  ...keyCommands,
  ...connectionCommands,
  ...serverCommands,
  ...infoCommands,
  ...introspectionCommands,
].sort((a, b) => a.name.localeCompare(b.name));

const byName = new Map<string, CommandSpec>();
for (const spec of ALL_COMMANDS) {
  if (byName.has(spec.name)) throw new Error(`command ${spec.name} defined twice`);
  byName.set(spec.name, spec);
  byName.set(spec.name.toUpperCase(), spec);
}

export function lookupCommand(name: string): CommandSpec | undefined {
  return byName.get(name) ?? byName.get(name.toLowerCase());
}

import { globMatch } from "../util/glob.ts";
import { subcommandArg } from "./args.ts";
import { ALL_COMMANDS, lookupCommand } from "./table.ts";
import { Errors, type CommandContext, type CommandSpec } from "./types.ts";

/**
 * COMMAND and its subcommands, generated from the command table. Clients
 * call these on connect (redis-cli reads COMMAND DOCS for its hints), so the
 * shapes follow Redis 7 exactly.
 */

/** Redis's order of ACL categories in COMMAND INFO (acl.c ACLCommandCategories). */
const CATEGORY_ORDER = [
  "@keyspace", "@read", "@write", "@set", "@sortedset", "@list", "@hash", "@string", "@bitmap", "@hyperloglog", "@geo",
  "@stream", "@pubsub", "@admin", "@fast", "@slow", "@blocking", "@dangerous", "@connection", "@transaction", "@scripting",
];

function aclCategories(spec: CommandSpec): string[] {
  const categories = [`@${spec.group === "generic" ? "keyspace" : spec.group}`];
  if (spec.flags.includes("write")) categories.push("@write");
  if (spec.flags.includes("readonly")) categories.push("@read");
  if (spec.flags.includes("admin")) categories.push("@admin", "@dangerous");
  categories.push(spec.flags.includes("fast") ? "@fast" : "@slow");
  // In Redis's order ("@read @string @fast" for GET); names it lacks go last.
  const rank = (c: string) => (CATEGORY_ORDER.includes(c) ? CATEGORY_ORDER.indexOf(c) : CATEGORY_ORDER.length);
  return categories.sort((a, b) => rank(a) - rank(b));
}

function writeInfo(ctx: CommandContext, spec: CommandSpec): void {
  const { reply } = ctx;
  reply.array(10);
  reply.bulk(spec.name);
  reply.integer(spec.arity);
  reply.set(spec.flags.length);
  for (const flag of spec.flags) reply.status(flag);
  reply.integer(spec.keys[0]);
  reply.integer(spec.keys[1]);
  reply.integer(spec.keys[2]);
  const categories = aclCategories(spec);
  reply.set(categories.length);
  for (const category of categories) reply.status(category);
  reply.set(0); // tips
  reply.array(0); // key specifications
  const subcommands = spec.subcommands ?? [];
  reply.array(subcommands.length);
  for (const sub of subcommands) {
    reply.array(10);
    reply.bulk(`${spec.name}|${sub}`);
    reply.integer(-2);
    reply.set(0);
    reply.integer(0);
    reply.integer(0);
    reply.integer(0);
    reply.set(0);
    reply.set(0);
    reply.array(0);
    reply.array(0);
  }
}

function writeDocs(ctx: CommandContext, spec: CommandSpec): void {
  const { reply } = ctx;
  const fields: [string, string][] = [
    ["summary", spec.summary],
    ["since", spec.since],
    ["group", spec.group],
  ];
  if (spec.complexity) fields.push(["complexity", spec.complexity]);
  reply.map(fields.length);
  for (const [name, value] of fields) {
    reply.bulk(name);
    reply.bulk(value);
  }
}

/** Every command name COMMAND LIST shows: containers' subcommands by full name too, as in Redis 7. */
function listedNames(specs: readonly CommandSpec[]): string[] {
  return specs.flatMap((s) => [s.name, ...(s.subcommands ?? []).map((sub) => `${s.name}|${sub}`)]);
}

const COMMAND_ARITY = { count: 2, docs: -2, help: 2, info: -2, list: -2 } as const;

function command(ctx: CommandContext, argv: string[]): void {
  const { reply } = ctx;
  if (argv.length === 1) {
    reply.array(ALL_COMMANDS.length);
    for (const spec of ALL_COMMANDS) writeInfo(ctx, spec);
    return;
  }
  const sub = subcommandArg(ctx, argv, "command", COMMAND_ARITY);
  if (sub === null) return;
  switch (sub) {
    case "count":
      reply.integer(ALL_COMMANDS.length);
      return;
    case "info": {
      const specs = argv.length === 2 ? ALL_COMMANDS : argv.slice(2).map((name) => lookupCommand(name)?.spec);
      reply.array(specs.length);
      for (const spec of specs) {
        if (spec) writeInfo(ctx, spec);
        else reply.nullBulk(); // Redis's addReplyNull: $-1 in RESP2
      }
      return;
    }
    case "docs": {
      const specs = argv.length === 2 ? ALL_COMMANDS : argv.slice(2).flatMap((name) => lookupCommand(name)?.spec ?? []);
      reply.map(specs.length);
      for (const spec of specs) {
        reply.bulk(spec.name);
        writeDocs(ctx, spec);
      }
      return;
    }
    case "list": {
      let names: string[];
      if (argv.length === 5 && argv[2]!.toUpperCase() === "FILTERBY") {
        const kind = argv[3]!.toUpperCase();
        const value = argv[4]!;
        if (kind === "PATTERN") names = listedNames(ALL_COMMANDS).filter((name) => globMatch(value, name, true));
        else if (kind === "ACLCAT") names = listedNames(ALL_COMMANDS.filter((s) => aclCategories(s).includes(`@${value.toLowerCase()}`)));
        else if (kind === "MODULE") names = [];
        else {
          reply.error(Errors.syntax);
          return;
        }
      } else if (argv.length !== 2) {
        reply.error(Errors.syntax);
        return;
      } else {
        names = listedNames(ALL_COMMANDS);
      }
      reply.bulkArray(names);
      return;
    }
    case "help":
      reply.statusArray(COMMAND_HELP);
      return;
  }
}

const COMMAND_HELP = [
  "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "(no subcommand)",
  "    Return details about all commands.",
  "COUNT",
  "    Return the total number of commands in this server.",
  "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
  "    Return a list of all commands in this server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple commands.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple commands.",
  "HELP",
  "    Print this help.",
];

export const introspectionCommands: CommandSpec[] = [
  {
    name: "command",
    arity: -1,
    flags: ["loading", "stale"],
    keys: [0, 0, 0],
    group: "server",
    since: "2.8.13",
    summary: "Returns detailed information about all commands.",
    subcommands: ["count", "docs", "help", "info", "list"],
    handler: command,
  },
];

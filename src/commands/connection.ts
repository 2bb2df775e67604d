import { RESP2, RESP3, TEXT } from "../protocol/reply.ts";
import { COMPAT_REDIS_VERSION } from "./info.ts";
import { int32Arg, subcommandArg } from "./args.ts";
import { parseInt64 } from "../util/numbers.ts";
import { Errors, type ClientState, type CommandContext, type CommandSpec } from "./types.ts";

/** Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO and CLIENT. */

/**
 * PING answers in RESP even as an inline line: the seed's text protocol has
 * no PING, while Redis's probes send it inline and match Redis's bytes
 * (redis-benchmark's PING_INLINE, HAProxy's redis-check expecting +PONG).
 */
function ping(ctx: CommandContext, argv: string[]): void {
  const { reply } = ctx;
  if (argv.length > 2) {
    reply.error(Errors.arity("ping"));
    return;
  }
  const protocol = reply.protocol;
  if (protocol === TEXT) reply.protocol = RESP2;
  if (argv.length === 2) reply.bulk(argv[1]!);
  else reply.status("PONG");
  reply.protocol = protocol;
}

function echo(ctx: CommandContext, argv: string[]): void {
  ctx.reply.bulk(argv[1]!);
}

function quit(ctx: CommandContext): void {
  ctx.client.closeAfterReply = true;
  ctx.reply.ok();
}

/** One database, numbered 0, as in Redis Cluster; clients that SELECT 0 work. */
function select(ctx: CommandContext, argv: string[]): void {
  const db = int32Arg(ctx, argv[1]!);
  if (db === null) return;
  if (db !== 0) ctx.reply.error(Errors.dbIndex);
  else ctx.reply.ok();
}

/**
 * AUTH [username] password. With no password configured the default user
 * accepts any password by name, and a bare password is a configuration
 * mistake worth reporting, exactly as in Redis.
 */
function auth(ctx: CommandContext, argv: string[]): void {
  if (argv.length > 3) {
    ctx.reply.error(Errors.syntax);
    return;
  }
  const passwordSet = ctx.server.config.values.requirepass !== "";
  if (argv.length === 2 && !passwordSet) {
    ctx.reply.error(
      "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
    );
    return;
  }
  const user = argv.length === 3 ? argv[1]! : "default";
  if (!authenticate(ctx, user, argv[argv.length - 1]!)) {
    ctx.reply.error(Errors.wrongpass);
    return;
  }
  ctx.reply.ok();
}

/** One user, `default`, as Redis without ACL files: any password when none is set. */
function authenticate(ctx: CommandContext, user: string, password: string): boolean {
  const ok = user === "default" && ctx.server.checkPassword(ctx.client, password);
  if (ok) ctx.client.authenticated = true;
  return ok;
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]] */
function hello(ctx: CommandContext, argv: string[]): void {
  let protocol = ctx.client.resp;
  if (argv.length >= 2) {
    const version = Number(argv[1]);
    if (!/^\d+$/.test(argv[1]!)) {
      ctx.reply.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version !== 2 && version !== 3) {
      ctx.reply.error("NOPROTO unsupported protocol version");
      return;
    }
    protocol = version === 3 ? RESP3 : RESP2;
  }
  let name: string | null = null;
  for (let i = 2; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (option === "AUTH" && i + 2 < argv.length) {
      if (!authenticate(ctx, argv[i + 1]!, argv[i + 2]!)) {
        ctx.reply.error(Errors.wrongpass);
        return;
      }
      i += 2;
    } else if (option === "SETNAME" && i + 1 < argv.length) {
      name = argv[++i]!;
      if (!validClientName(name)) {
        ctx.reply.error(INVALID_NAME);
        return;
      }
    } else {
      ctx.reply.error(`ERR Syntax error in HELLO option '${argv[i]}'`);
      return;
    }
  }
  if (!ctx.client.authenticated) {
    ctx.reply.error(
      "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
    );
    return;
  }
  if (name !== null) ctx.client.name = name;
  ctx.client.resp = protocol;
  // The reply already speaks the negotiated protocol, as in Redis.
  if (ctx.reply.protocol !== TEXT) ctx.reply.protocol = protocol;
  const { reply } = ctx;
  reply.map(7);
  reply.bulk("server");
  reply.bulk("redis");
  reply.bulk("version");
  reply.bulk(COMPAT_REDIS_VERSION);
  reply.bulk("proto");
  reply.integer(protocol);
  reply.bulk("id");
  reply.integer(ctx.client.id);
  reply.bulk("mode");
  reply.bulk("standalone");
  reply.bulk("role");
  reply.bulk("master");
  reply.bulk("modules");
  reply.array(0);
}

const INVALID_NAME = "ERR Client names cannot contain spaces, newlines or special characters.";

/** Redis allows printable ASCII without spaces in client names. */
function validClientName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** CLIENT LIST's flags, as Redis spells them: O monitor, x in MULTI, d a watched key changed, N none. */
function clientFlags(client: ClientState): string {
  const flags = (client.monitor ? "O" : "") + (client.transaction !== null ? "x" : "") + (client.watchedKeyChanged ? "d" : "");
  return flags === "" ? "N" : flags;
}

/** One line of CLIENT LIST / CLIENT INFO, in Redis's field order. */
export function describeClient(client: ClientState, now: number): string {
  const age = Math.floor((now - client.createdAt) / 1000);
  const idle = Math.floor((now - client.lastInteraction) / 1000);
  return (
    `id=${client.id} addr=${client.address} laddr=${client.localAddress} fd=-1 name=${client.name} ` +
    `age=${age} idle=${idle} flags=${clientFlags(client)} db=0 sub=0 psub=0 ssub=0 multi=${client.transaction?.queued.length ?? -1} ` +
    `qbuf=${client.queryBufferBytes} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
    `obl=0 oll=0 omem=${client.outputBufferBytes} tot-mem=${client.queryBufferBytes + client.outputBufferBytes} ` +
    `events=r cmd=${client.lastCommand} user=default redir=-1 resp=${client.resp} ` +
    `lib-name=${client.libName} lib-ver=${client.libVersion}`
  );
}

const CLIENT_HELP = [
  "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>,",
  "    TYPE normal, USER <username>, SKIPME (YES|NO).",
  "LIST [TYPE normal] [ID <id> [<id> ...]]",
  "    Return information about client connections.",
  "SETINFO <option> <value>",
  "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "HELP",
  "    Print this help.",
];

const CLIENT_ARITY = { getname: 2, help: 2, id: 2, info: 2, kill: -3, list: -2, setinfo: 4, setname: 3 } as const;

function client(ctx: CommandContext, argv: string[]): void {
  const sub = subcommandArg(ctx, argv, "client", CLIENT_ARITY);
  if (sub === null) return;
  const { reply } = ctx;
  const now = Date.now();
  switch (sub) {
    case "id":
      reply.integer(ctx.client.id);
      return;
    case "getname":
      if (ctx.client.name === "") reply.nullBulk();
      else reply.bulk(ctx.client.name);
      return;
    case "setname":
      if (!validClientName(argv[2]!)) {
        reply.error(INVALID_NAME);
        return;
      }
      ctx.client.name = argv[2]!;
      reply.ok();
      return;
    case "setinfo": {
      const attr = argv[2]!.toLowerCase();
      if (attr !== "lib-name" && attr !== "lib-ver") {
        reply.error(`ERR Unrecognized option '${argv[2]}'`);
        return;
      }
      if (!validClientName(argv[3]!)) {
        // Redis names the attribute as the client wrote it.
        reply.error(`ERR ${argv[2]} cannot contain spaces, newlines or special characters.`);
        return;
      }
      if (attr === "lib-name") ctx.client.libName = argv[3]!;
      else ctx.client.libVersion = argv[3]!;
      reply.ok();
      return;
    }
    case "info":
      reply.verbatim(describeClient(ctx.client, now) + "\n");
      return;
    case "list":
      clientList(ctx, argv, now);
      return;
    case "kill":
      clientKill(ctx, argv);
      return;
    case "help":
      reply.statusArray(CLIENT_HELP);
      return;
  }
}

function clientList(ctx: CommandContext, argv: string[], now: number): void {
  let ids: Set<number> | null = null;
  for (let i = 2; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    if (option === "TYPE" && i + 1 < argv.length) {
      const type = argv[++i]!.toLowerCase();
      if (type !== "normal") {
        if (!["master", "replica", "pubsub"].includes(type)) {
          ctx.reply.error(`ERR Unknown client type '${argv[i]}'`);
          return;
        }
        ctx.reply.verbatim("");
        return;
      }
    } else if (option === "ID" && i + 1 < argv.length) {
      ids = new Set();
      for (i++; i < argv.length; i++) {
        const id = Number(argv[i]);
        if (!/^\d+$/.test(argv[i]!) || id <= 0) {
          ctx.reply.error("ERR Invalid client ID");
          return;
        }
        ids.add(id);
      }
    } else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  let text = "";
  for (const client of ctx.server.clients()) {
    if (ids === null || ids.has(client.id)) text += describeClient(client, now) + "\n";
  }
  ctx.reply.verbatim(text);
}

/** CLIENT KILL ip:port, or CLIENT KILL <filter> <value> ... (which replies with a count). */
function clientKill(ctx: CommandContext, argv: string[]): void {
  if (argv.length === 3) {
    const target = [...ctx.server.clients()].find((c) => c.address === argv[2]);
    if (target === undefined) {
      ctx.reply.error("ERR No such client");
      return;
    }
    kill(ctx, target);
    ctx.reply.ok();
    return;
  }
  const filters: ((c: ClientState) => boolean)[] = [];
  let skipMe = true;
  for (let i = 2; i < argv.length; i += 2) {
    if (i + 1 >= argv.length) {
      ctx.reply.error(Errors.syntax);
      return;
    }
    const option = argv[i]!.toUpperCase();
    const value = argv[i + 1]!;
    if (option === "ID") {
      const id = parseInt64(value);
      if (id === null || id < 1n) {
        ctx.reply.error("ERR client-id should be greater than 0");
        return;
      }
      filters.push((c) => c.id === Number(id));
    } else if (option === "ADDR") {
      filters.push((c) => c.address === value);
    } else if (option === "LADDR") {
      filters.push((c) => c.localAddress === value);
    } else if (option === "USER") {
      // The only user is "default", as in Redis without ACL users.
      if (value !== "default") {
        ctx.reply.error(`ERR No such user '${value}'`);
        return;
      }
    } else if (option === "TYPE") {
      const type = value.toLowerCase();
      if (!["normal", "master", "replica", "slave", "pubsub"].includes(type)) {
        ctx.reply.error(`ERR Unknown client type '${value}'`);
        return;
      }
      filters.push(() => type === "normal");
    } else if (option === "SKIPME") {
      const yesNo = value.toLowerCase();
      if (yesNo !== "yes" && yesNo !== "no") {
        ctx.reply.error(Errors.syntax);
        return;
      }
      skipMe = yesNo === "yes";
    } else {
      ctx.reply.error(Errors.syntax);
      return;
    }
  }
  let killed = 0;
  for (const c of [...ctx.server.clients()]) {
    if (skipMe && c.id === ctx.client.id) continue;
    if (filters.every((f) => f(c))) {
      kill(ctx, c);
      killed++;
    }
  }
  ctx.reply.integer(killed);
}

function kill(ctx: CommandContext, target: ClientState): void {
  // Killing oneself closes the connection after this reply, as in Redis.
  if (target.id === ctx.client.id) ctx.client.closeAfterReply = true;
  else ctx.server.killClient(target.id);
}

export const connectionCommands: CommandSpec[] = [
  { name: "ping", arity: -1, flags: ["fast"], keys: [0, 0, 0], group: "connection", since: "1.0.0", summary: "Returns the server's liveliness response.", handler: ping },
  { name: "echo", arity: 2, flags: ["fast"], keys: [0, 0, 0], group: "connection", since: "1.0.0", summary: "Returns the given string.", handler: echo },
  { name: "quit", arity: -1, flags: ["fast", "no_auth", "loading", "stale"], keys: [0, 0, 0], group: "connection", since: "1.0.0", summary: "Closes the connection.", handler: quit },
  { name: "select", arity: 2, flags: ["fast", "loading", "stale"], keys: [0, 0, 0], group: "connection", since: "1.0.0", summary: "Changes the selected database.", handler: select },
  { name: "auth", arity: -2, flags: ["fast", "no_auth", "loading", "stale"], keys: [0, 0, 0], group: "connection", since: "1.0.0", summary: "Authenticates the connection.", handler: auth },
  { name: "hello", arity: -1, flags: ["fast", "no_auth", "loading", "stale"], keys: [0, 0, 0], group: "connection", since: "6.0.0", summary: "Handshakes with the Redis server.", handler: hello },
  {
    name: "client",
    arity: -2,
    flags: ["loading", "stale"],
    keys: [0, 0, 0],
    group: "connection",
    since: "2.4.0",
    summary: "A container for client connection commands.",
    subcommands: ["getname", "help", "id", "info", "kill", "list", "setinfo", "setname"],
    handler: client,
  },
];

import { parseInt64, parseSafeInt } from "../util/numbers.ts";
import { Errors, type CommandContext } from "./types.ts";

/**
 * Argument parsing shared by commands. Each helper writes Redis's error
 * reply itself and returns null, so a handler can `if (x === null) return;`.
 */

/**
 * A C int argument (getIntFromObjectOrReply): SELECT's and COPY's DB index.
 * Outside the int range Redis answers with its own (ungrammatical) text.
 */
export function int32Arg(ctx: CommandContext, text: string): number | null {
  const value = parseInt64(text);
  if (value === null) {
    ctx.reply.error(Errors.notInteger);
    return null;
  }
  if (value < -2147483648n || value > 2147483647n) {
    ctx.reply.error("ERR value is out of range, value must between -2147483648 and 2147483647");
    return null;
  }
  return Number(value);
}

/** An int64 argument, as a number when it is safe and a bigint otherwise. */
export function int64Arg(ctx: CommandContext, text: string): number | bigint | null {
  const small = parseSafeInt(text);
  if (small !== null) return small;
  const big = parseInt64(text);
  if (big === null) ctx.reply.error(Errors.notInteger);
  return big;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * Turns a relative or absolute TTL argument into absolute Unix ms, with
 * Redis's int64 rules. `unitMs` is 1000 for seconds and 1 for ms; `absolute`
 * for EXAT/PXAT/EXPIREAT/PEXPIREAT.
 *  - `positiveOnly` (SET, SETEX, GETEX: t_string.c getExpireMillisecondsOrReply):
 *    a time <= 0, seconds above LLONG_MAX / 1000, or a relative time that
 *    overflows int64 once the current time is added get "invalid expire time".
 *  - otherwise (EXPIRE family: expire.c expireGenericCommand): negative times
 *    are fine (they delete); seconds outside ±LLONG_MAX / 1000 and a sum past
 *    LLONG_MAX get "invalid expire time".
 * Times beyond 2^53 ms are valid in Redis and are kept as (rounded) doubles.
 */
export function expireArg(
  ctx: CommandContext,
  text: string,
  unitMs: number,
  absolute: boolean,
  command: string,
  positiveOnly: boolean,
): number | null {
  let value: bigint;
  const small = parseSafeInt(text);
  if (small !== null) {
    if (positiveOnly && small <= 0) {
      ctx.reply.error(Errors.invalidExpire(command));
      return null;
    }
    // Fast path: a safe result is far inside every int64 limit above.
    const at = (absolute ? 0 : ctx.db.now) + small * unitMs;
    if (Number.isSafeInteger(at)) return at;
    value = BigInt(small);
  } else {
    const big = parseInt64(text);
    if (big === null) {
      ctx.reply.error(Errors.notInteger);
      return null;
    }
    value = big;
  }
  const base = absolute ? 0n : BigInt(ctx.db.now);
  const seconds = unitMs === 1000;
  let at: bigint | null;
  if (positiveOnly) {
    at = value <= 0n || (seconds && value > INT64_MAX / 1000n) ? null : value * BigInt(unitMs) + base;
    if (at !== null && at > INT64_MAX) at = null;
  } else if (seconds && (value > INT64_MAX / 1000n || value < INT64_MIN / 1000n)) {
    at = null;
  } else {
    const ms = value * BigInt(unitMs);
    at = ms > INT64_MAX - base ? null : ms + base;
  }
  if (at === null) {
    ctx.reply.error(Errors.invalidExpire(command));
    return null;
  }
  return Number(at);
}

/**
 * Redis 7 dispatches a container command's subcommands (OBJECT ENCODING,
 * CLIENT ID, ...) as commands of their own: an unknown one is answered
 * "unknown subcommand 'x'. Try OBJECT HELP." and a wrong argument count
 * "wrong number of arguments for 'object|encoding' command". `arities` maps
 * each lower-case subcommand to its arity (negative: a minimum), as in
 * Redis's command table. Records `command|sub` as the client's last command.
 * Returns the lower-case subcommand, or null after replying with the error.
 */
export function subcommandArg(ctx: CommandContext, argv: string[], command: string, arities: Readonly<Record<string, number>>): string | null {
  const sub = argv[1]!.toLowerCase();
  const arity = Object.hasOwn(arities, sub) ? arities[sub]! : undefined;
  if (arity === undefined) {
    ctx.reply.error(Errors.unknownSubcommand(argv[1]!, argv[0]!));
    return null;
  }
  // CLIENT LIST shows the full name (cmd=client|list), as Redis 7 does.
  ctx.client.lastCommand = `${command}|${sub}`;
  if (arity > 0 ? argv.length !== arity : argv.length < -arity) {
    ctx.reply.error(Errors.arity(`${command}|${sub}`));
    return null;
  }
  return sub;
}

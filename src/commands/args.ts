import { parseInt64, parseSafeInt } from "../util/numbers.ts";
import { Errors, type CommandContext } from "./types.ts";

/**
 * Argument parsing shared by commands. Each helper writes Redis's error
 * reply itself and returns null, so a handler can `if (x === null) return;`.
 */

/** An integer argument within JS's safe range (Redis accepts int64; larger values are rejected as out of range). */
export function integerArg(ctx: CommandContext, text: string): number | null {
  const value = parseSafeInt(text);
  if (value === null) {
    ctx.reply.error(Errors.notInteger);
    return null;
  }
  return value;
}

/** An int64 argument, as a number when it is safe and a bigint otherwise. */
export function int64Arg(ctx: CommandContext, text: string): number | bigint | null {
  const small = parseSafeInt(text);
  if (small !== null) return small;
  const big = parseInt64(text);
  if (big === null) ctx.reply.error(Errors.notInteger);
  return big;
}

/**
 * Turns a relative or absolute TTL argument into absolute Unix ms.
 * `unitMs` is 1000 for seconds and 1 for ms; `absolute` for EXAT/PXAT.
 * Non-positive and overflowing times get "invalid expire time" when
 * `positiveOnly` (SET, SETEX, GETEX); EXPIRE accepts them (they delete).
 */
export function expireArg(
  ctx: CommandContext,
  text: string,
  unitMs: number,
  absolute: boolean,
  command: string,
  positiveOnly: boolean,
): number | null {
  const value = parseSafeInt(text);
  if (value === null) {
    // A valid int64 too large for a timestamp is a bad expire time, not a bad integer.
    ctx.reply.error(parseInt64(text) === null ? Errors.notInteger : Errors.invalidExpire(command));
    return null;
  }
  if (positiveOnly && value <= 0) {
    ctx.reply.error(Errors.invalidExpire(command));
    return null;
  }
  const at = (absolute ? 0 : ctx.db.now) + value * unitMs;
  if (!Number.isSafeInteger(at)) {
    ctx.reply.error(Errors.invalidExpire(command));
    return null;
  }
  return at;
}

/** Case-insensitive equality with an upper-case option name. */
export function isOption(arg: string, upper: string): boolean {
  return arg.length === upper.length && arg.toUpperCase() === upper;
}

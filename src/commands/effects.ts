import type { CommandContext } from "./types.ts";

/**
 * Changes whose request would replay differently later, and what the AOF
 * logs for them instead (Redis rewrites these the same way): a relative or
 * seconds-based expiry becomes an absolute PXAT/PEXPIREAT, so a restart
 * never extends a TTL, and an expiry already past becomes a DEL.
 *
 * While the AOF loads (expiryPaused), a past expiry is stored as it is:
 * the records after it were logged while the key lived, and replay must
 * see it; the load drops expired keys at the end.
 */

/** Stores a value with an absolute expiry (0 = none); an expiry already past deletes the key instead. */
export function storeValue(ctx: CommandContext, key: string, value: string, expireAt: number): void {
  if (expireAt > 0 && expireAt <= ctx.db.now && !ctx.db.expiryPaused) {
    ctx.db.delete(key);
    ctx.effect = ["DEL", key];
    return;
  }
  ctx.db.set(key, value, expireAt);
  if (expireAt > 0) ctx.effect = ["SET", key, value, "PXAT", String(expireAt)];
}

/** Gives an existing key an absolute expiry; one already past deletes it. */
export function expireKey(ctx: CommandContext, key: string, expireAt: number): void {
  if (expireAt <= ctx.db.now && !ctx.db.expiryPaused) {
    ctx.db.delete(key);
    ctx.effect = ["DEL", key];
  } else {
    ctx.db.setExpire(key, expireAt);
    ctx.effect = ["PEXPIREAT", key, String(expireAt)];
  }
}

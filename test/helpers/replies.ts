/** Expected error replies, in Redis's words, and a way to capture one. */

export const SYNTAX = "ERR syntax error";
export const NOT_INTEGER = "ERR value is not an integer or out of range";
export const NOT_FLOAT = "ERR value is not a valid float";
export const invalidExpire = (command: string) => `ERR invalid expire time in '${command}' command`;
export const arity = (command: string) => `ERR wrong number of arguments for '${command}' command`;

/** The error text a command is answered with; fails when it succeeds. */
export async function errorOf(reply: Promise<unknown>): Promise<string> {
  try {
    const value = await reply;
    throw new Error(`expected an error reply, got ${JSON.stringify(value)}`);
  } catch (err) {
    if ((err as Error).message.startsWith("expected an error reply")) throw err;
    return (err as Error).message;
  }
}

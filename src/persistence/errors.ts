/**
 * The OS's reason for a failed file operation in strerror's words
 * ("No space left on device"), which is what Redis puts in its MISCONF
 * error and its log. Node-style errors read "ENOSPC: no space left on
 * device, write".
 */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const match = /^E[A-Z]+: ([^,]+)/.exec(message);
  const text = match ? match[1]! : message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

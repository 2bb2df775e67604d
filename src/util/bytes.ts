/**
 * Copies source[start, start + length) to target at `at`. Short runs (keys,
 * small values, replies) in a loop, which beats the native call; longer
 * ones with Buffer.copy.
 */
export function copyBytes(source: Buffer, start: number, length: number, target: Buffer, at: number): void {
  if (length > 64) source.copy(target, at, start, start + length);
  else for (let i = 0; i < length; i++) target[at + i] = source[start + i]!;
}

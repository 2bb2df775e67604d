/**
 * Redis's memory units: a plain number is bytes; k/kb/m/mb/g/gb suffixes
 * follow redis.conf (k = 1000, kb = 1024, …), case-insensitive.
 */
const MEMORY_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1024,
  m: 1000 * 1000,
  mb: 1024 * 1024,
  g: 1000 * 1000 * 1000,
  gb: 1024 * 1024 * 1024,
};

/** Parses `100mb`-style memory values; returns null when the text is not one. */
export function parseMemory(text: string): number | null {
  const match = /^(\d+)([a-z]*)$/i.exec(text.trim());
  if (!match) return null;
  const unit = MEMORY_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const value = Number(match[1]) * unit;
  return Number.isSafeInteger(value) ? value : null;
}

/** Formats bytes the way INFO's `*_human` fields do: `1.50M`, `812B`. */
export function formatHumanBytes(bytes: number): string {
  const units = ["B", "K", "M", "G", "T", "P"];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${bytes}B` : `${value.toFixed(2)}${units[i]}`;
}

// Node's latin1 fast paths, which Bun implements but @types/node does not
// declare. They move bytes to and from one-byte-per-char strings without
// going through UTF-8.
declare global {
  interface Buffer {
    latin1Slice(start?: number, end?: number): string;
    latin1Write(value: string, offset?: number, length?: number): number;
  }
}
export {};

import { copyFileSync, existsSync, truncateSync } from "node:fs";
import { AofCorruptError, commandForRecord, readAof } from "./aof-loader.ts";

/**
 * `atomic_server --check-aof [--fix] FILE`, Redis's redis-check-aof: reads
 * the file as the server would load it and reports the first bad offset.
 * With --fix, copies the file to a backup and truncates it to the last
 * whole record before the damage. Returns the exit code: 0 when the file
 * is (now) loadable, 1 when it is not, 2 when it cannot be read.
 */
export async function checkAof(path: string, fix: boolean, print: (line: string) => void): Promise<number> {
  if (!existsSync(path)) {
    print(`Cannot open ${path}: no such file`);
    return 2;
  }
  let cutAt: number;
  try {
    const result = await readAof(path, (argv, offset) => void commandForRecord(argv, offset), null);
    if (result.tornAt < 0) {
      print(`AOF ${path} is valid: ${result.records} records, ${result.bytes} bytes`);
      return 0;
    }
    cutAt = result.tornAt;
    print(
      `AOF ${path} has a torn last record at offset ${result.tornAt} (${result.bytes - result.tornAt} bytes; ${result.tornReason}); ` +
        `the ${result.records} records before it are valid`,
    );
  } catch (err) {
    if (!(err instanceof AofCorruptError)) {
      print(`Cannot read ${path}: ${(err as Error).message}`);
      return 2;
    }
    cutAt = err.recordOffset;
    print(`AOF ${path} is corrupt at offset ${err.offset}: ${err.problem}`);
    print(`The last whole record ends at offset ${err.recordOffset}; the ${Bun.file(path).size - err.recordOffset} bytes from there on would be lost by --fix.`);
  }
  if (!fix) {
    print(`To truncate it to ${cutAt} bytes (a backup is kept): atomic_server --check-aof --fix ${path}`);
    return 1;
  }
  const backup = backupName(path);
  copyFileSync(path, backup);
  truncateSync(path, cutAt);
  print(`Saved a copy as ${backup}; truncated ${path} to ${cutAt} bytes. Successfully truncated AOF ${path}`);
  return 0;
}

function backupName(path: string): string {
  let name = `${path}.bak`;
  for (let n = 1; existsSync(name); n++) name = `${path}.bak.${n}`;
  return name;
}

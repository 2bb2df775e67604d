import { describe, expect, test } from "bun:test";
import { attribute, liveCode, readJitDump } from "../../bench/jit-profile.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/** A jitdump (perf's format): a 40-byte header, then records; JIT_CODE_LOAD (id 0) holds the code's address, size, name and bytes. */
function jitDump(loads: { address: bigint; name: string; code: number[] }[]): Buffer {
  const header = Buffer.alloc(40);
  header.writeUInt32LE(0x4a695444, 0); // "JiTD"
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(40, 8);
  const records = loads.map(({ address, name, code }, i) => {
    const body = Buffer.alloc(40);
    body.writeUInt32LE(1234, 0); // pid
    body.writeUInt32LE(1234, 4); // tid
    body.writeBigUInt64LE(address, 8); // vma
    body.writeBigUInt64LE(address, 16); // code address
    body.writeBigUInt64LE(BigInt(code.length), 24);
    body.writeBigUInt64LE(BigInt(i), 32); // code index
    const rest = Buffer.concat([body, Buffer.from(name + "\0"), Buffer.from(code)]);
    const prefix = Buffer.alloc(16);
    prefix.writeUInt32LE(0, 0); // JIT_CODE_LOAD
    prefix.writeUInt32LE(16 + rest.length, 4);
    return Buffer.concat([prefix, rest]);
  });
  return Buffer.concat([header, ...records]);
}

describe("bench/jit-profile.ts", () => {
  test("reads code loads from a JIT dump; a later load over the same addresses replaces the earlier", () => {
    const dump = jitDump([
      { address: 0x1000n, name: "JSC-DFG: get#AAAA", code: [0x90, 0x90, 0x90, 0x90] },
      { address: 0x2000n, name: "JSC-FTL: flush#BBBB", code: [0xc3] },
      { address: 0x1002n, name: "JSC-FTL: get#CCCC", code: [0x55, 0xc3] },
    ]);
    const loads = readJitDump(dump);
    expect(loads.map((l) => [l.start, l.end, l.name])).toEqual([
      [0x1000n, 0x1004n, "JSC-DFG: get#AAAA"],
      [0x2000n, 0x2001n, "JSC-FTL: flush#BBBB"],
      [0x1002n, 0x1004n, "JSC-FTL: get#CCCC"],
    ]);
    expect([...loads[2]!.code]).toEqual([0x55, 0xc3]);
    expect(liveCode(loads).map((l) => l.name)).toEqual(["JSC-FTL: flush#BBBB", "JSC-FTL: get#CCCC"]);
  });

  test("counts each sample under its innermost JavaScript function and where its leaf landed", () => {
    const script = [
      "\t    7f00000010 JSC-FTL: get#CCCC (/tmp/perf-1234.map)\n\t    7f00000200 JSC-FTL: onData#DDDD (/tmp/perf-1234.map)\n",
      "\t    1bfcce6 [unknown] (/work/main/atomic_server)\n\t    7f00000200 JSC-FTL: onData#DDDD (/tmp/perf-1234.map)\n",
      "\tffffffff816de8f3 fput ([kernel.kallsyms])\n\t    1bfcce6 [unknown] (/work/main/atomic_server)\n",
      "\t    7bd [unknown] ([vdso])\n\t    7f00000200 JSC-FTL: onData#DDDD (/tmp/perf-1234.map)\n",
      "\t    7f00000010 JSC-FTL: get#CCCC (/tmp/perf-1234.map)\n",
    ].join("\n");
    const { counts, kinds, leaves, total } = attribute(script);
    expect(total).toBe(5);
    expect(Object.fromEntries(counts)).toEqual({ "get\tJIT": 2, "onData\tnative": 1, "(no JS)\tkernel": 1, "onData\tvdso": 1 });
    expect(Object.fromEntries(kinds)).toEqual({ JIT: 2, native: 1, kernel: 1, vdso: 1 });
    expect(Object.fromEntries(leaves.get("get")!)).toEqual({ "7f00000010": 2 });
  });
});

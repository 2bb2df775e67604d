/**
 * Where a request's CPU time goes, by JavaScript function: reads a `perf
 * record -g` of the server's main thread and the JIT dump JavaScriptCore
 * wrote (`BUN_JSC_useJITDump=1`), names the JIT code perf sampled, and
 * prints the time per request under each function, split by where the
 * sample landed (JIT code, the runtime's native code, libc, vDSO, kernel).
 * A sample counts under the innermost JavaScript function on its stack;
 * "(no JS)" is the event loop, the socket layer and the collector.
 *
 *   bun bench/jit-profile.ts PERF_DATA JIT_DUMP PID REQUESTS SAMPLE_HZ [ROWS]
 *
 * bench/jit-profile.sh records and calls this. `perf annotate` cannot read
 * JIT code; the dump holds its bytes, so `--disassemble FUNCTION` writes the
 * code perf sampled most in FUNCTION to stdout with the samples per address
 * (objdump). Samples land on the instruction after one that waits, so a
 * count under an instruction is mostly the load just before it.
 */
import { spawnSync } from "bun";

interface CodeLoad {
  start: bigint;
  end: bigint;
  name: string;
  code: Buffer;
}

/** JIT_CODE_LOAD records of a jitdump file (perf's format), in file order. */
export function readJitDump(bytes: Buffer): CodeLoad[] {
  const loads: CodeLoad[] = [];
  let at = bytes.readUInt32LE(8); // the header's size
  while (at + 16 <= bytes.length) {
    const id = bytes.readUInt32LE(at);
    const size = bytes.readUInt32LE(at + 4);
    if (size === 0) break;
    if (id === 0) {
      const body = at + 16;
      const start = bytes.readBigUInt64LE(body + 16);
      const codeSize = bytes.readBigUInt64LE(body + 24);
      const nameEnd = bytes.indexOf(0, body + 40);
      const name = bytes.toString("utf8", body + 40, nameEnd);
      loads.push({ start, end: start + codeSize, name, code: bytes.subarray(nameEnd + 1, nameEnd + 1 + Number(codeSize)) });
    }
    at += size;
  }
  return loads;
}

/** The code live at the end: a later load over the same addresses (freed code reused) replaces the earlier. */
export function liveCode(loads: CodeLoad[]): CodeLoad[] {
  const live: CodeLoad[] = [];
  for (const load of loads) {
    for (let i = live.length - 1; i >= 0; i--) if (live[i]!.start < load.end && load.start < live[i]!.end) live.splice(i, 1);
    live.push(load);
  }
  return live;
}

/** "JSC-FTL: get#BNx8sT" -> "get". */
function functionName(symbol: string): string {
  const name = symbol.replace(/^JSC-[A-Za-z]+: /, "").replace(/#\w+$/, "");
  return name === "" ? "(anonymous)" : name;
}

type Kind = "JIT" | "native" | "libc" | "vdso" | "kernel";

function kindOf(frame: string): Kind {
  if (frame.includes("[kernel")) return "kernel";
  if (frame.includes("/perf-")) return "JIT";
  if (frame.includes("libc.so")) return "libc";
  if (frame.includes("[vdso]")) return "vdso";
  return "native";
}

/** `perf script -F ip,sym,dso` output -> sample counts by (innermost JS function, leaf kind), and the leaf addresses per function. */
export function attribute(script: string): { counts: Map<string, number>; kinds: Map<Kind, number>; leaves: Map<string, Map<string, number>>; total: number } {
  const counts = new Map<string, number>();
  const kinds = new Map<Kind, number>();
  const leaves = new Map<string, Map<string, number>>();
  let total = 0;
  for (const sample of script.split("\n\n")) {
    const frames = sample.split("\n").map((line) => line.trim()).filter((line) => line !== "");
    if (frames.length === 0) continue;
    total++;
    const kind = kindOf(frames[0]!);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    const js = frames.find((frame) => frame.includes("/perf-"));
    const name = js === undefined ? "(no JS)" : functionName(js.replace(/^\S+\s+/, "").replace(/ \(.*$/, ""));
    const key = `${name}\t${kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (kind === "JIT") {
      const perAddress = leaves.get(name) ?? new Map<string, number>();
      const address = frames[0]!.split(/\s+/)[0]!;
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      leaves.set(name, perAddress);
    }
  }
  return { counts, kinds, leaves, total };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const disassembleAt = args.indexOf("--disassemble");
  const disassemble = disassembleAt >= 0 ? args.splice(disassembleAt, 2)[1]! : null;
  const [perfData, jitDump, pid, requestsText, hzText, rowsText] = args;
  if (!perfData || !jitDump || !pid || !requestsText || !hzText) {
    console.error("usage: bun bench/jit-profile.ts PERF_DATA JIT_DUMP PID REQUESTS SAMPLE_HZ [ROWS] [--disassemble FUNCTION]");
    process.exit(2);
  }
  const requests = Number(requestsText);
  const usPerSample = 1e6 / Number(hzText);
  const live = liveCode(readJitDump(Buffer.from(await Bun.file(jitDump).arrayBuffer())));
  await Bun.write(`/tmp/perf-${pid}.map`, live.map((c) => `${c.start.toString(16)} ${(c.end - c.start).toString(16)} ${c.name}`).join("\n") + "\n");
  const script = spawnSync(["perf", "script", "-i", perfData, "-F", "ip,sym,dso"], { stdout: "pipe", stderr: "ignore" }).stdout.toString();
  const { counts, kinds, leaves, total } = attribute(script);
  const perRequest = (samples: number) => ((samples * usPerSample) / requests).toFixed(3);
  console.log(`${total} samples, ${perRequest(total)} µs of CPU per request: ` + [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${perRequest(n)}`).join(", "));
  console.log("µs/request  where the sample landed  innermost JavaScript function");
  for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsText ?? 30))) {
    const [name, kind] = key.split("\t");
    console.log(`${perRequest(n).padStart(10)}  ${kind!.padEnd(22)} ${name}`);
  }
  if (disassemble !== null) {
    const addresses = leaves.get(disassemble);
    if (addresses === undefined) throw new Error(`no JIT samples in ${disassemble}`);
    const hottest = BigInt("0x" + [...addresses].sort((a, b) => b[1] - a[1])[0]![0]);
    const code = live.find((c) => c.start <= hottest && hottest < c.end)!;
    const bin = `/tmp/jit-profile-${pid}.bin`;
    await Bun.write(bin, code.code);
    const asm = spawnSync(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", `--adjust-vma=0x${code.start.toString(16)}`, bin], { stdout: "pipe" }).stdout.toString();
    console.log(`\n${code.name}, samples per address:`);
    for (const line of asm.split("\n")) {
      const address = line.match(/^\s*([0-9a-f]+):/)?.[1];
      if (address === undefined) continue;
      const n = addresses.get(address) ?? 0;
      console.log(`${n > 0 ? String(n).padStart(6) : "      "} ${line.trim()}`);
    }
  }
}

import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { OPTIONS } from "../../src/config/options.ts";
import { ensureCommand } from "../helpers/debian.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { runToExit, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * deploy/atomickv.service: it has what the issue asks for, `systemd-analyze
 * verify` (Debian's systemd 252) accepts it and the TLS drop-in that
 * docs/deploy-ec2.md writes, and its ExecStart command line, with the
 * environment file the doc creates, starts a server that answers.
 */

const ROOT = resolve(import.meta.dir, "../..");
const UNIT_FILE = join(ROOT, "deploy/atomickv.service");
const DOC_FILE = join(ROOT, "docs/deploy-ec2.md");
const UNIT_NAME = "atomickv.service";
const SYSTEM_UNITS = "/usr/lib/systemd/system";

const tmp = mkdtempSync(join(tmpdir(), "atomickv-systemd-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Directive {
  section: string;
  key: string;
  value: string;
}

/** The unit's `key=value` lines with their section; comments and blank lines dropped. */
function parseUnit(text: string): Directive[] {
  const directives: Directive[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (line.endsWith("\\")) throw new Error(`continued lines are not parsed here: ${line}`);
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`not a key=value line: ${line}`);
    directives.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return directives;
}

const unit = parseUnit(readFileSync(UNIT_FILE, "utf8"));

/** The last value of a [Service] (or other section's) key: later lines override earlier ones. */
function value(key: string, section = "Service"): string | undefined {
  return unit.filter((d) => d.section === section && d.key === key).at(-1)?.value;
}

function execStart(): string[] {
  const line = value("ExecStart");
  if (line === undefined) throw new Error("no ExecStart=");
  // Quotes, $VARIABLES and %specifiers would need systemd's own expansion; the unit uses none.
  expect(line).not.toMatch(/["'$%\\]/);
  return line.split(/\s+/);
}

/** The drop-ins docs/deploy-ec2.md writes with `sudo tee /etc/systemd/system/atomickv.service.d/NAME.conf … <<'EOF'`. */
function docDropIns(): Map<string, string> {
  const doc = readFileSync(DOC_FILE, "utf8");
  const dropIns = new Map<string, string>();
  const heredoc = /tee (\/etc\/systemd\/system\/atomickv\.service\.d\/[\w.-]+\.conf)[^\n]*<<'EOF'\n([\s\S]*?)\nEOF\n/g;
  for (const match of doc.matchAll(heredoc)) dropIns.set(match[1]!, match[2]! + "\n");
  return dropIns;
}

/**
 * A root tree for `systemd-analyze verify --root`: the system's own unit
 * files (sysinit.target and the rest our unit depends on), the files given
 * (paths inside the root), and an executable at ExecStart's path. verify only
 * checks that this path is an executable file, so a stub stands in for the
 * 100 MB binary; whether the command line works is the last test's business.
 * Nothing is installed into the host's /etc or /usr/local.
 */
function makeRoot(name: string, files: Record<string, string>): string {
  const root = join(tmp, name);
  mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
  const copy = Bun.spawnSync(["cp", "-a", SYSTEM_UNITS, join(root, "usr/lib/systemd/")], { stderr: "pipe" });
  if (copy.exitCode !== 0) throw new Error(`cp -a ${SYSTEM_UNITS}: ${copy.stderr.toString()}`);
  const binary = join(root, execStart()[0]!);
  mkdirSync(dirname(binary), { recursive: true });
  writeFileSync(binary, "#!/bin/sh\nexit 0\n");
  chmodSync(binary, 0o755);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/**
 * Runs `systemd-analyze verify` on /etc/systemd/system/atomickv.service in
 * `root`. verify exits 0 after most complaints (an unknown key or a value it
 * cannot parse is "ignoring"), so what counts is its output: every line about
 * our unit names it or its drop-in directory (both contain "atomickv") or the
 * binary. Other lines would be about the host's own units and are printed,
 * not failed on; `--recursive-errors=no` keeps them out of the exit code too.
 */
function verify(root: string): { exitCode: number; ours: string[]; other: string[] } {
  const run = Bun.spawnSync(["systemd-analyze", "verify", "--recursive-errors=no", `--root=${root}`, `/etc/systemd/system/${UNIT_NAME}`], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, SYSTEMD_LOG_LEVEL: "info", SYSTEMD_PAGER: "" },
  });
  const lines = (run.stdout.toString() + run.stderr.toString()).split("\n").filter((l) => l.trim() !== "");
  const isOurs = (l: string) => l.includes("atomickv") || l.includes("atomic_server");
  return { exitCode: run.exitCode ?? -1, ours: lines.filter(isOurs), other: lines.filter((l) => !isOurs(l)) };
}

/** null when systemd-analyze and the system's unit files are there (installing Debian's systemd if needed), else why not. */
function systemdAnalyze(): string | null {
  const missing = ensureCommand("systemd-analyze", "systemd");
  if (missing !== null) return missing;
  if (!existsSync(join(SYSTEM_UNITS, "sysinit.target"))) return `${SYSTEM_UNITS}/sysinit.target is missing`;
  return null;
}

const INSTALL_TIMEOUT = 300_000;

describe("deploy/atomickv.service", () => {
  test("has what the issue asks for", () => {
    expect(value("StateDirectory")).toBe("atomickv");
    expect(value("Restart")).toBe("on-failure");
    expect(value("ProtectSystem")).toBe("strict");
    expect(value("ProtectHome")).toBe("yes");
    expect(value("NoNewPrivileges")).toBe("yes");
    expect(value("PrivateTmp")).toBe("yes");
    expect(value("DynamicUser") === "yes" || (value("User") ?? "") !== "").toBe(true);
    // Redis keeps 32 descriptors beyond maxclients for itself; so does this limit.
    expect(Number(value("LimitNOFILE"))).toBeGreaterThanOrEqual(Number(OPTIONS.maxclients.defaultText) + 32);
    // JavaScriptCore's JIT needs writable and executable memory.
    expect(value("MemoryDenyWriteExecute") ?? "no").toBe("no");
    expect(value("KillSignal") ?? "SIGTERM").toBe("SIGTERM");
    expect(value("WantedBy", "Install")).toBe("multi-user.target");

    // Secrets come from a file systemd reads as root, the one the doc creates.
    const environmentFile = value("EnvironmentFile");
    expect(environmentFile).toBe("/etc/atomickv/atomickv.env");
    expect(readFileSync(DOC_FILE, "utf8")).toContain(environmentFile!);

    // The data directory is the StateDirectory.
    const argv = execStart();
    expect(argv[0]).toBe("/usr/local/bin/atomic_server");
    expect(argv[argv.indexOf("--dir") + 1]).toBe(`/var/lib/${value("StateDirectory")}`);
  });

  test(
    "systemd-analyze verify accepts it, alone and with the drop-ins docs/deploy-ec2.md writes",
    () => {
      const missing = systemdAnalyze();
      if (missing !== null) {
        console.warn("skipped: " + missing);
        return;
      }
      const unitText = readFileSync(UNIT_FILE, "utf8");
      const dropIns = docDropIns();
      expect([...dropIns.keys()]).toContain("/etc/systemd/system/atomickv.service.d/tls.conf");

      const cases: [string, Record<string, string>][] = [
        ["unit", { [`etc/systemd/system/${UNIT_NAME}`]: unitText }],
        ["unit-and-drop-ins", { [`etc/systemd/system/${UNIT_NAME}`]: unitText, ...Object.fromEntries([...dropIns].map(([p, t]) => [p.slice(1), t])) }],
      ];
      for (const [name, files] of cases) {
        const result = verify(makeRoot(name, files));
        if (result.other.length > 0) console.warn(`systemd-analyze verify (${name}), not about our unit:\n${result.other.join("\n")}`);
        expect({ name, ours: result.ours, exitCode: result.exitCode }).toEqual({ name, ours: [], exitCode: 0 });
      }
    },
    INSTALL_TIMEOUT,
  );

  test(
    "verify's complaints are caught: a misspelt key, a bad value, a missing binary, a bad specifier in a drop-in",
    () => {
      const missing = systemdAnalyze();
      if (missing !== null) {
        console.warn("skipped: " + missing);
        return;
      }
      const unitText = readFileSync(UNIT_FILE, "utf8");
      const tls = docDropIns().get("/etc/systemd/system/atomickv.service.d/tls.conf")!;
      const broken: [string, string, string | null][] = [
        ["misspelt-key", unitText.replace("ProtectSystem=strict", "ProtectSytem=strict"), null],
        ["bad-value", unitText.replace("Restart=on-failure", "Restart=on-failur"), null],
        ["missing-binary", unitText.replace("ExecStart=/usr/local/bin/atomic_server", "ExecStart=/usr/local/bin/atomic_srv"), null],
        ["bad-specifier", unitText, tls.replaceAll("%d/", "%Q/")],
      ];
      for (const [name, text, dropIn] of broken) {
        expect(text !== unitText || dropIn !== tls).toBe(true);
        const files: Record<string, string> = { [`etc/systemd/system/${UNIT_NAME}`]: text };
        if (dropIn !== null) files["etc/systemd/system/atomickv.service.d/tls.conf"] = dropIn;
        const result = verify(makeRoot(name, files));
        expect({ name, complained: result.ours.length > 0 }).toEqual({ name, complained: true });
      }
    },
    INSTALL_TIMEOUT,
  );

  test("its ExecStart command line, with the environment file the doc creates, starts a server that answers", async () => {
    // `--dir /var/lib/atomickv` becomes a temp dir; the test server's own --port and --bind (loopback) replace any in the unit.
    const dir = join(tmp, "data");
    const args: string[] = [];
    const argv = execStart().slice(1);
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--port" || arg === "--bind") {
        while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) i++;
        continue;
      }
      args.push(arg);
      if (arg === "--dir") args.push(argv[++i]!.startsWith("/var/lib/") ? dir : argv[i]!);
    }
    expect(args).toContain(dir);

    // As the doc writes it: ATOMICKV_REQUIREPASS=<openssl rand -hex 32>, read as systemd reads KEY=VALUE lines.
    const envFile = `ATOMICKV_REQUIREPASS=${randomBytes(32).toString("hex")}\n`;
    const env = Object.fromEntries(envFile.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const password = env.ATOMICKV_REQUIREPASS!;

    const server = await startServer(args, { dir, env });
    try {
      const c = await RawClient.connect(server.port);
      c.write(resp("PING"));
      expect((await c.lines(1))[0]).toBe("-NOAUTH Authentication required.");
      c.write(resp("AUTH", "default", password) + resp("SET", "k", "v") + resp("GET", "k"));
      expect(await c.lines(4)).toEqual(["+OK", "+OK", "$1", "v"]);
      c.close();
      // The doc's healthcheck: the environment file sourced, then --ping.
      expect((await runToExit(["--ping", "--port", String(server.port)], env)).code).toBe(0);
      expect(server.logs()).toContain(`dir=${dir}`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(readFileSync(join(dir, "appendonly.aof"), "latin1")).toContain("SET");
  });
});

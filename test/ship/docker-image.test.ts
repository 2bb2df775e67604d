import { afterAll, describe, expect, test } from "bun:test";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { downloadPackages, unpackPackages } from "../helpers/debian.ts";
import { parseDockerfile, type CopyStep, type Stage } from "../helpers/dockerfile.ts";
import { makeNetworkNamespace } from "../helpers/netns.ts";
import { RawClient, resp } from "../helpers/raw.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The Docker image, proven without a Docker engine. The test reads the
 * Dockerfile and does what `docker build` and `docker run` would:
 * - the build stage: its COPY lines from this checkout into a scratch
 *   directory, its RUN lines there with this machine's Bun, which must be
 *   the version its FROM line pins;
 * - the final stage: the root filesystem of its distroless base, made from
 *   the Debian 12 packages distroless is built from (`apt-get download`,
 *   `dpkg -x`) plus the files distroless writes itself (passwd, /tmp,
 *   /home/nonroot, the CA bundle), then its COPY lines;
 * - the container: a network namespace joined by a veth pair (the port is
 *   reached from outside, as through `-p 8080:8080`), /proc and /dev
 *   mounted, the ENTRYPOINT run with `chroot --userspec` as the USER, the
 *   HEALTHCHECK command run inside it, STOPSIGNAL to stop it.
 * It needs root (chroot, mount, ip netns) and skips, saying so, without it.
 */

const ROOT = resolve(import.meta.dir, "../..");
const DEB_CACHE = join(ROOT, "node_modules/.cache/debian-packages");
const tmp = mkdtempSync(join(tmpdir(), "atomickv-image-"));
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** What distroless's Debian 12 images are made of (github.com/GoogleContainerTools/distroless, base/ and cc/). */
const DISTROLESS_PACKAGES: Record<string, string[]> = {
  "static-debian12": ["base-files", "netbase", "tzdata", "ca-certificates"],
  "base-debian12": ["base-files", "netbase", "tzdata", "ca-certificates", "libc6", "libssl3"],
  "cc-debian12": ["base-files", "netbase", "tzdata", "ca-certificates", "libc6", "libssl3", "libgcc-s1", "libgomp1", "libstdc++6"],
};
const NONROOT = 65532;
const DISTROLESS_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
};

function sh(cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): { code: number; out: string } {
  const result = Bun.spawnSync(cmd, { ...options, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: result.stdout.toString() + result.stderr.toString() };
}

function cannotRun(): string | null {
  if (process.getuid?.() !== 0) return "needs root (chroot, mount, ip netns)";
  for (const tool of ["chroot", "mount", "umount", "mknod", "ip", "dpkg"]) {
    if (Bun.which(tool) === null) return `${tool} is not installed`;
  }
  return null;
}

/** Docker's COPY: a directory's contents go into the destination; a file lands at the destination path (or in it, with a trailing /). */
function copyInto(source: string, dest: string, destIsDir: boolean): void {
  if (statSync(source).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    cpSync(source, dest, { recursive: true });
  } else {
    const target = destIsDir ? join(dest, source.split("/").pop()!) : dest;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(source, target);
  }
}

function applyCopy(copy: CopyStep, from: (path: string) => string, root: string, workdir: string): void {
  const destPath = isAbsolute(copy.dest) ? copy.dest : join(workdir, copy.dest);
  const destIsDir = copy.dest.endsWith("/") || copy.sources.length > 1;
  for (const source of copy.sources) copyInto(from(source), join(root, destPath), destIsDir);
  if (copy.chown !== null) {
    const [uid, gid] = copy.chown.split(":").map(Number);
    sh(["chown", "-R", `${uid}:${gid ?? uid}`, join(root, destPath)]);
  }
}

/** Runs the build stage in `root`; returns the stage's filesystem root. */
function buildStage(stage: Stage, root: string): void {
  let workdir = "/";
  const args: Record<string, string> = {};
  for (const step of stage.steps) {
    if (step.kind === "workdir") {
      workdir = resolve(workdir, step.path);
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (step.kind === "arg") {
      if (step.value !== null) args[step.name] = step.value;
    } else if (step.kind === "copy") {
      if (step.copy.from !== null) throw new Error("the build stage copies from the build context only");
      applyCopy(step.copy, (source) => join(ROOT, source), root, workdir);
    } else {
      const { code, out } = sh(["sh", "-c", step.command], { cwd: join(root, workdir), env: { ...process.env, ...args } });
      if (code !== 0) throw new Error(`RUN ${step.command} failed:\n${out}`);
    }
  }
}

/** The distroless base: its packages unpacked, and the files distroless adds itself. */
function distrolessRoot(image: string, root: string): string | null {
  const match = image.match(/^gcr\.io\/distroless\/([a-z]+-debian12)(?::(.+))?$/);
  if (match === null) throw new Error(`the final stage must be a Debian 12 distroless image, not ${image}`);
  const packages = DISTROLESS_PACKAGES[match[1]!];
  if (packages === undefined) throw new Error(`no package list for ${image}`);
  const debs = downloadPackages(packages, DEB_CACHE);
  if (typeof debs === "string") return debs;
  const unpacked = unpackPackages(debs, root);
  if (unpacked !== null) return unpacked;
  writeFileSync(
    join(root, "etc/passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(join(root, "etc/group"), `root:x:0:\nnobody:x:65534:\nnonroot:x:${NONROOT}:\n`);
  mkdirSync(join(root, "tmp"), { recursive: true, mode: 0o1777 });
  sh(["chmod", "1777", join(root, "tmp")]);
  mkdirSync(join(root, "home/nonroot"), { recursive: true, mode: 0o700 });
  chownSync(join(root, "home/nonroot"), NONROOT, NONROOT);
  // The CA bundle is made by update-ca-certificates, a maintainer script dpkg -x does not run.
  const certs = join(root, "usr/share/ca-certificates/mozilla");
  const bundle = readdirSync(certs).map((f) => readFileSync(join(certs, f), "latin1")).join("");
  mkdirSync(join(root, "etc/ssl/certs"), { recursive: true });
  writeFileSync(join(root, "etc/ssl/certs/ca-certificates.crt"), bundle);
  for (const dir of ["proc", "dev", "sys"]) mkdirSync(join(root, dir), { recursive: true });
  return null;
}

function finalStage(stage: Stage, buildRoots: Map<string, string>, root: string): void {
  let workdir = stage.image.endsWith(":nonroot") ? "/home/nonroot" : "/";
  for (const step of stage.steps) {
    if (step.kind === "run") throw new Error("RUN in the final stage: distroless has no shell");
    if (step.kind === "workdir") {
      workdir = resolve(workdir, step.path);
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (step.kind === "copy") {
      const from = step.copy.from;
      const stageRoot = from === null ? null : buildRoots.get(from);
      if (stageRoot == null) throw new Error(`COPY --from=${from}: only copies from a build stage are supported`);
      applyCopy(step.copy, (source) => join(stageRoot, source), root, workdir);
    }
  }
}

/** The numeric uid:gid the container runs as. */
function userOf(stage: Stage): [number, number] {
  const user = stage.user ?? (stage.image.endsWith(":nonroot") ? `${NONROOT}` : "0");
  const [uid, gid] = user.split(":");
  if (!/^\d+$/.test(uid!)) throw new Error(`USER ${user}: use numeric ids, so Kubernetes' runAsNonRoot can check them`);
  return [Number(uid), Number(gid ?? uid)];
}

interface Container {
  address: string;
  /** Runs a command inside the container's filesystem, network and user; resolves with its exit code and output. */
  exec(command: string[], env?: Record<string, string>): Promise<{ code: number; out: string }>;
  /** Starts the image's ENTRYPOINT + CMD. */
  start(env: Record<string, string>): { proc: ReturnType<typeof Bun.spawn>; logs(): string };
}

function makeContainer(stage: Stage, root: string): Container | string {
  const netns = makeNetworkNamespace("image", "10.232");
  if (typeof netns === "string") return netns;
  const { name: ns, peerAddress: address } = netns;
  cleanups.push(() => {
    sh(["umount", "-l", join(root, "proc")]);
    sh(["umount", "-l", join(root, "dev")]);
    netns.remove();
  });
  // What Docker gives every container: /proc, and a /dev with the usual devices.
  for (const step of [
    ["mount", "-t", "proc", "proc", join(root, "proc")],
    ["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", join(root, "dev")],
  ]) {
    const { code, out } = sh(step);
    if (code !== 0) return `${step.join(" ")}: ${out.trim()}`;
  }
  for (const [name, major, minor] of [["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9]] as const) {
    sh(["mknod", "-m", "666", join(root, "dev", name), "c", String(major), String(minor)]);
  }

  const [uid, gid] = userOf(stage);
  const inside = (command: string[]) => ["ip", "netns", "exec", ns, "chroot", `--userspec=${uid}:${gid}`, "--groups=", root, ...command];
  const environment = (env: Record<string, string>) => ({ ...DISTROLESS_ENV, HOME: "/home/nonroot", ...stage.env, ...env });
  return {
    address,
    async exec(command, env = {}) {
      const proc = Bun.spawn(inside(command), { env: environment(env), stdout: "pipe", stderr: "pipe" });
      const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      return { code, out: stdout + stderr };
    },
    start(env) {
      const proc = Bun.spawn(inside([...stage.entrypoint, ...stage.cmd]), { env: environment(env), stdout: "ignore", stderr: "pipe" });
      let logs = "";
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) logs += decoder.decode(chunk);
      })();
      return { proc, logs: () => logs };
    },
  };
}

async function connect(host: string, port: number, timeoutMs = 20_000): Promise<RawClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await RawClient.connect(port, host);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await Bun.sleep(50);
    }
  }
}

/** The README's `docker build` and `docker run` lines. */
function readmeDockerCommands(): { build: string; run: string } {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const lines = readme.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim());
  const build = lines.find((l) => l.startsWith("docker build "));
  const run = lines.find((l) => l.startsWith("docker run "));
  if (build === undefined || run === undefined) throw new Error("README.md has no docker build / docker run line");
  return { build, run };
}

describe("the Docker image, built and run without a Docker engine", () => {
  test(
    "builds from the Dockerfile, runs as nonroot on distroless, serves with a password, keeps its AOF in the volume, is healthy, stops on STOPSIGNAL",
    async () => {
      const reason = cannotRun();
      if (reason !== null) {
        console.warn(`skipped: cannot assemble and run the image here: ${reason}`);
        return;
      }
      const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT }).stdout.toString().trim() || "test";
      const stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"), { ATOMICKV_COMMIT: commit });
      const build = stages.slice(0, -1);
      const final = stages[stages.length - 1]!;

      // The build stages: the official Bun image at the project's Bun version, which runs their RUN lines here.
      const pinned = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { packageManager: string }).packageManager.split("@")[1];
      const buildRoots = new Map<string, string>();
      for (const stage of build) {
        expect(stage.image).toBe(`oven/bun:${pinned}`);
        expect(Bun.version).toBe(pinned!);
        const root = join(tmp, `stage-${stage.name}`);
        buildStage(stage, root);
        buildRoots.set(stage.name!, root);
      }

      // The final stage's filesystem.
      const rootfs = join(tmp, "rootfs");
      const missing = distrolessRoot(final.image, rootfs);
      if (missing !== null) {
        console.warn(`skipped: cannot get distroless's Debian packages here: ${missing}`);
        return;
      }
      finalStage(final, buildRoots, rootfs);
      const [uid] = userOf(final);
      expect(uid).toBe(NONROOT);
      expect(final.expose).toEqual(["8080"]);
      expect(final.stopSignal).toBe("SIGTERM");
      const binary = final.entrypoint[0]!;
      expect(existsSync(join(rootfs, binary))).toBe(true);
      // Data goes to the volume, and the volume starts writable by the user the server runs as.
      const dirFlag = final.entrypoint.indexOf("--dir");
      expect(final.volumes).toEqual([final.entrypoint[dirFlag + 1]!]);
      const dataDir = final.volumes[0]!;
      expect(statSync(join(rootfs, dataDir)).uid).toBe(NONROOT);
      expect(final.healthcheck?.command).toEqual([binary, "--ping"]);
      const imageBytes = Number(sh(["du", "-sb", rootfs]).out.split(/\s/)[0]);
      console.log(`image root filesystem: ${(imageBytes / 2 ** 20).toFixed(1)} MiB, binary ${(statSync(join(rootfs, binary)).size / 2 ** 20).toFixed(1)} MiB`);

      // The README's commands name this image and this volume, and configure it the way the healthcheck can see.
      const readme = readmeDockerCommands();
      const tag = readme.build.match(/-t (\S+)/)?.[1];
      expect(tag).toBeDefined();
      expect(readme.run.split(/\s+/).pop()).toBe(tag!);
      expect(readme.build).toContain("--build-arg ATOMICKV_COMMIT=");
      expect(readme.run).toMatch(new RegExp(`-v \\S+:${dataDir}( |$)`));
      expect(readme.run).toContain("-p 8080:8080");
      expect(readme.run).toMatch(/-e ATOMICKV_REQUIREPASS( |$)/);

      const container = makeContainer(final, rootfs);
      if (typeof container === "string") {
        console.warn(`skipped: cannot make the container's namespace here: ${container}`);
        return;
      }
      const version = await container.exec([binary, "--version"]);
      expect(version.out).toStartWith(`AtomicKV `);
      expect(version.code).toBe(0);
      expect(version.out).toContain(` commit=${commit} `);

      const password = "s3cret-from-the-environment";
      const env = { ATOMICKV_REQUIREPASS: password };
      const first = container.start(env);
      try {
        // From outside the container, as through -p 8080:8080.
        const client = await connect(container.address, 8080);
        client.write(resp("GET", "k"));
        expect(await client.lines(1)).toEqual(["-NOAUTH Authentication required."]);
        client.write(resp("AUTH", password) + resp("SET", "k", "in-the-volume") + resp("GET", "k"));
        expect(await client.lines(4)).toEqual(["+OK", "+OK", "$13", "in-the-volume"]);
        client.close();

        const status = readFileSync(`/proc/${first.proc.pid}/status`, "latin1");
        expect(status).toMatch(new RegExp(`^Uid:\\s+${NONROOT}\\s+${NONROOT}\\s`, "m"));
        const aof = join(rootfs, dataDir, "appendonly.aof");
        expect(readFileSync(aof, "latin1")).toContain("in-the-volume");
        expect(statSync(aof).uid).toBe(NONROOT);

        const health = await container.exec(final.healthcheck!.command, env);
        expect(health).toEqual({ code: 0, out: "PONG\n" });
      } finally {
        first.proc.kill(final.stopSignal as NodeJS.Signals);
      }
      expect(await first.proc.exited).toBe(0);
      expect(first.logs()).toContain("ready to exit");
      // The restart with the runtime's settings (src/config/runtime.ts) works in the image too.
      expect(first.logs()).not.toContain("could not restart");
      expect((await container.exec(final.healthcheck!.command, env)).code).toBe(1);

      // A new container on the same volume has the data; without a password the port refuses outsiders.
      const second = container.start({});
      try {
        const outsider = await connect(container.address, 8080);
        outsider.write(resp("GET", "k"));
        expect((await outsider.lines(1))[0]).toStartWith("-DENIED");
        await outsider.waitClosed();
        const local = await container.exec(final.healthcheck!.command, {});
        expect(local).toEqual({ code: 0, out: "PONG\n" });
      } finally {
        second.proc.kill(final.stopSignal as NodeJS.Signals);
      }
      expect(await second.proc.exited).toBe(0);
      expect(second.logs()).toMatch(/loaded|Loading AOF|DB loaded/i);
      const third = container.start(env);
      try {
        const client = await connect(container.address, 8080);
        client.write(resp("AUTH", password));
        expect(await client.lines(1)).toEqual(["+OK"]);
        // Answers -LOADING until the AOF is replayed.
        for (let pong = ""; pong !== "+PONG"; await Bun.sleep(20)) {
          client.write(resp("PING"));
          pong = (await client.lines(1))[0]!;
        }
        client.write(resp("GET", "k"));
        expect(await client.lines(2)).toEqual(["$13", "in-the-volume"]);
        client.close();
      } finally {
        third.proc.kill(final.stopSignal as NodeJS.Signals);
      }
      expect(await third.proc.exited).toBe(0);
    },
    300_000,
  );
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import Redis from "ioredis";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, runToExit, startServer } from "../helpers/server.ts";
import { useTestTimeout } from "../helpers/timeout.ts";

useTestTimeout();

/**
 * The TLS port, with certificates the test makes itself: a CA, a server
 * certificate for 127.0.0.1 and a client certificate, all from openssl.
 */

let dir = "";
const pem = (name: string) => readFileSync(join(dir, name), "utf8");

function openssl(...args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`);
}

function issue(name: string, subject: string, altNames: string): void {
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
  writeFileSync(join(dir, `${name}.ext`), altNames);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
}

const haveOpenssl = Bun.which("openssl") !== null;

beforeAll(() => {
  if (!haveOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), "atomickv-tls-"));
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=AtomicKV test CA");
  issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  issue("client", "/CN=test client", "extendedKeyUsage=clientAuth\n");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function tlsArgs(tlsPort: number, extra: string[] = []): string[] {
  return ["--tls-port", String(tlsPort), "--tls-cert-file", join(dir, "server.crt"), "--tls-key-file", join(dir, "server.key"), ...extra];
}

describe("TLS", () => {
  test("Bun's RedisClient over rediss://, ioredis with tls and redis-cli --tls; the plain port stays plain", async () => {
    if (!haveOpenssl) {
      console.warn("skipped: openssl is not installed; TLS was not tested");
      return;
    }
    const tlsPort = await freePort();
    const server = await startServer(tlsArgs(tlsPort));
    expect(server.logs()).toContain(`tls-port=${tlsPort}`);

    const bun = new RedisClient(`rediss://127.0.0.1:${tlsPort}`, { tls: { ca: pem("ca.crt") } });
    await bun.set("over-tls", "yes");
    expect(await bun.get("over-tls")).toBe("yes");
    bun.close();

    const io = new Redis({ host: "127.0.0.1", port: tlsPort, tls: { ca: pem("ca.crt") } });
    expect(await io.get("over-tls")).toBe("yes");
    io.disconnect();

    if (Bun.which("redis-cli")) {
      const cli = Bun.spawnSync(["redis-cli", "--tls", "--cacert", join(dir, "ca.crt"), "-h", "127.0.0.1", "-p", String(tlsPort), "GET", "over-tls"]);
      expect(cli.stdout.toString().trim()).toBe("yes");
    } else {
      console.warn("redis-cli not installed: its --tls check was skipped");
    }

    const plain = new Redis({ host: "127.0.0.1", port: server.port });
    expect(await plain.get("over-tls")).toBe("yes");
    plain.disconnect();
    await server.stop();
  });

  test("tls-auth-clients yes: a client certificate signed by tls-ca-cert-file is required", async () => {
    if (!haveOpenssl) return;
    const tlsPort = await freePort();
    const server = await startServer(tlsArgs(tlsPort, ["--tls-ca-cert-file", join(dir, "ca.crt"), "--tls-auth-clients", "yes"]));
    const withCert = new Redis({ host: "127.0.0.1", port: tlsPort, tls: { ca: pem("ca.crt"), cert: pem("client.crt"), key: pem("client.key") } });
    expect(await withCert.ping()).toBe("PONG");
    withCert.disconnect();

    const errors: string[] = [];
    const without = new Redis({ host: "127.0.0.1", port: tlsPort, tls: { ca: pem("ca.crt") }, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    without.on("error", (e: Error) => errors.push(e.message));
    const outcome = await without.connect().then(
      () => without.ping().then(() => "served", () => "refused"),
      () => "refused",
    );
    expect(outcome).toBe("refused");
    without.disconnect();
    await server.stop();
  });

  test("a TLS port without a certificate, or with a missing file, stops startup naming the option", async () => {
    if (!haveOpenssl) return;
    const port = String(await freePort());
    const tlsPort = String(await freePort());
    const noCert = await runToExit(["--port", port, "--bind", "127.0.0.1", "--tls-port", tlsPort]);
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toContain("'tls-cert-file'");
    const missing = await runToExit(["--port", port, "--bind", "127.0.0.1", ...tlsArgs(Number(tlsPort)), "--tls-key-file", join(dir, "nope.key")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("'tls-key-file': no such file");
    const needsCa = await runToExit(["--port", port, "--bind", "127.0.0.1", ...tlsArgs(Number(tlsPort)), "--tls-auth-clients", "yes"]);
    expect(needsCa.code).toBe(1);
    expect(needsCa.stderr).toContain("'tls-ca-cert-file'");
  });
});

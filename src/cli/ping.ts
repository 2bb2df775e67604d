import type { Config } from "../config/config.ts";

/**
 * `atomic_server --ping`: a healthcheck that needs no shell and no
 * redis-cli (the distroless image has neither). It reads the same
 * configuration as the server (flags, ATOMICKV_* variables, config file),
 * connects to the server's port, authenticates when a password is set,
 * sends PING and exits 0 on PONG, 1 on anything else or after the timeout.
 */

const TIMEOUT_MS = 3_000;

function bulk(arg: string): string {
  return `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
}

function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join("")}`;
}

/** Where a local client reaches the server: loopback unless it listens on specific addresses only. */
export function pingAddress(bind: string[]): string {
  const local = ["0.0.0.0", "127.0.0.1", "localhost", "::", "::1"];
  if (bind.some((a) => local.includes(a))) return "127.0.0.1";
  return bind[0] ?? "127.0.0.1";
}

/** Sends PING (after AUTH when needed); resolves with the exit code, having printed the outcome. */
export async function ping(config: Config): Promise<number> {
  const { port, bind, requirepass } = config.values;
  const hostname = pingAddress(bind);
  const request = (requirepass !== "" ? command("AUTH", requirepass) : "") + command("PING");
  const expected = requirepass !== "" ? 2 : 1;

  const outcome = await new Promise<string>((resolve) => {
    let received = "";
    const timer = setTimeout(() => resolve(`no answer from ${hostname}:${port} within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    const settle = (result: string) => {
      clearTimeout(timer);
      resolve(result);
    };
    Bun.connect({
      hostname,
      port,
      socket: {
        open(socket) {
          socket.write(request);
        },
        data(socket, data) {
          received += data.toString("latin1");
          const lines = received.split("\r\n");
          const failed = lines.find((line) => line.startsWith("-"));
          // Settle before end(): end() runs the close handler synchronously.
          if (failed !== undefined) {
            settle(failed.slice(1));
            socket.end();
          } else if (lines.length > expected) {
            settle(lines[expected - 1] === "+PONG" ? "PONG" : `unexpected reply '${lines[expected - 1]}'`);
            socket.end();
          }
        },
        close() {
          settle(`connection to ${hostname}:${port} closed before PONG`);
        },
        error(_socket, err) {
          settle(`${hostname}:${port}: ${err.message}`);
        },
        connectError(_socket, err) {
          settle(`cannot connect to ${hostname}:${port}: ${err.message}`);
        },
      },
    }).catch((err: Error) => settle(`cannot connect to ${hostname}:${port}: ${err.message}`));
  });

  if (outcome === "PONG") {
    process.stdout.write("PONG\n");
    return 0;
  }
  process.stderr.write(`atomic_server --ping: ${outcome}\n`);
  return 1;
}

#!/usr/bin/env python3
"""The seed's benchmark, re-created: one single-threaded, blocking Python
client sending sequential SET commands over a raw TCP socket.

    python3 bench/seed-benchmark.py [--host 127.0.0.1] [--port 8080] [--requests 10000]

Each request is the inline command `SET key<i> value<i>\\r\\n` (AtomicKV and
redis-server both accept inline commands), sent with sendall(); the client
then recv()s until it holds the whole reply line (up to its `\\n`) and checks
it before sending the next one, so exactly one request is in flight. Redis
answers `+OK\\r\\n` (RESP); AtomicKV answers an inline command in the seed's
text protocol, `OK\\n`; both count as OK. The clock runs from the first send
to the last reply (connecting is not timed).

The seed reported 10,000 requests in 1.03 s: 9,683 requests/s. The last
line printed is `requests/s: N`, which bench/compare.ts reads.
"""

import argparse
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    if args.requests <= 0:
        parser.error("--requests must be positive")

    sock = socket.create_connection((args.host, args.port), timeout=30)
    try:
        started = time.perf_counter()
        for i in range(args.requests):
            sock.sendall(f"SET key{i} value{i}\r\n".encode())
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    print(f"error: connection closed after {i} replies", file=sys.stderr)
                    return 1
                reply += chunk
            if reply.rstrip(b"\r\n") not in (b"+OK", b"OK"):
                print(f"error: request {i}: unexpected reply {reply!r}", file=sys.stderr)
                return 1
        elapsed = time.perf_counter() - started
    finally:
        sock.close()

    print(f"Total requests: {args.requests}")
    print(f"Time taken: {elapsed:.3f} seconds")
    print(f"requests/s: {args.requests / elapsed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Slow clients do not hold the server: a client sending one byte a second is cut off while
normal requests on other connections are still served (one worker on purpose).

    scripts/slow-client.py                      # starts the release nosterm itself
                                                # (scripts/lib/nosterm_server.py: $NOSTERM_BIN,
                                                # else target/release/nosterm built by cargo)
    scripts/slow-client.py --addr 127.0.0.1:8080 --client-timeout 5

Loopback only; every socket has a timeout and the whole run is bounded (about 20 s).
Exit 0 when every check holds, 1 otherwise.
"""
import argparse
import os
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from nosterm_server import NostermServer, ServerError  # noqa: E402

HEAD = b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def request(addr, raw, timeout=5.0):
    """One request on a fresh connection: (status line, seconds)."""
    t = time.monotonic()
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - t


def slow_sender(addr, payload, limit_s):
    """Sends `payload` one byte a second on a new connection (see slow_sender_on)."""
    with socket.create_connection(addr, timeout=limit_s) as s:
        return slow_sender_on(s, addr, payload, limit_s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", help="host:port of a running server (loopback)")
    ap.add_argument("--client-timeout", type=float, default=3.0,
                    help="seconds; NOSTERM_CLIENT_TIMEOUT_MS of the server started here")
    args = ap.parse_args()
    server = None
    if args.addr:
        host, port = args.addr.rsplit(":", 1)
        assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"
        addr = (host, int(port))
    else:
        env = dict(os.environ,
                   NOSTERM_CLIENT_TIMEOUT_MS=str(int(args.client_timeout * 1000)),
                   NOSTERM_BODY_TIMEOUT_MS=str(int(args.client_timeout * 1000)))
        try:
            server = NostermServer(ROOT, data=os.path.join(ROOT, "data"),
                                   args=["--workers", "1"], env=env).start()
        except ServerError as e:
            print(f"slow-client: {e}", file=sys.stderr)
            return 1
        addr = server.addr
    limit = args.client_timeout + 3.0
    failures = []
    try:
        # 1. A slow request head.
        got, took, normal = slow_sender(addr, HEAD, limit)
        ok_normal = all(s.endswith("200 OK") and t < 1.0 for s, t in normal)
        print(f"slow head: answer {got or '(closed)'!r} after {took:.1f} s; "
              f"{len(normal)} normal requests meanwhile, all 200 in < 1 s: {ok_normal}")
        if "200" in got or took > limit or not ok_normal:
            failures.append("slow head")
        # 2. A complete head, then a body one byte a second.
        body = b'{"resourceType":"Parameters","parameter":[]}'
        head = (b"POST /fhir/CodeSystem/$lookup HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/fhir+json\r\nConnection: close\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        with socket.create_connection(addr, timeout=limit) as s:
            s.sendall(head)
            got, took, normal = slow_sender_on(s, addr, body, limit)
        ok_normal = all(s.endswith("200 OK") and t < 1.0 for s, t in normal)
        print(f"slow body: answer {got or '(closed)'!r} after {took:.1f} s; "
              f"{len(normal)} normal requests meanwhile, all 200 in < 1 s: {ok_normal}")
        if "408" not in got or not ok_normal:
            failures.append("slow body")
        # 3. An oversized head.
        big = (b"GET /fhir/metadata?x=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n")
        try:
            status, _ = request(addr, big)
        except OSError as e:
            status = f"(closed: {e})"
        print(f"70 kB request line: {status}")
        if "200" in status:
            failures.append("oversized head")
    finally:
        if server:
            server.stop()
    print("slow-client: " + ("ok" if not failures else "FAILED: " + ", ".join(failures)))
    return 1 if failures else 0


def slow_sender_on(s, addr, payload, limit_s):
    """Sends `payload` one byte a second on `s`; between bytes, a normal request on another
    connection. Returns (what the slow client got, seconds until cut off, normal answers)."""
    s.settimeout(0.01)
    t = time.monotonic()
    normal = []
    got = b""
    for b in payload:
        try:
            s.send(bytes([b]))
        except OSError:
            break
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            break
        except socket.timeout:
            pass
        except OSError:
            break
        normal.append(request(addr, HEAD))
        if time.monotonic() - t > limit_s:
            break
        time.sleep(1.0)
    s.settimeout(2.0)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    return got.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - t, normal


if __name__ == "__main__":
    sys.exit(main())

"""Soak driver for scripts/soak.sh: mixed traffic from several keep-alive connections, a reload
every RELOAD_EVERY seconds (alternating releases A and B), and one line per minute: requests,
failures, p50/p99 latency, RSS and open file descriptors of the server.

Fails (exit 1) on any failed request (5xx or connection error) or on growth beyond noise:
RSS at the end more than max(25 %, 64 MiB) above the first minute's, or open fds more than 16
above it. Loopback only; bounded by --duration. Reuses reload_soak.py (releases, requests).
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reload_soak as rs  # noqa: E402

# POSTed Parameters, with and without tx-resource: the other half of the mix.
TX_CS = {"resourceType": "CodeSystem", "url": "http://example.org/soak", "status": "active",
         "content": "complete",
         "concept": [{"code": f"c{i}", "display": f"Concept soak {i}"} for i in range(200)]}
POSTS = [
    ("/fhir/ValueSet/$validate-code", {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": rs.J245},
        {"name": "coding", "valueCoding": {"system": rs.R81, "code": "MME"}}]}),
    ("/fhir/ValueSet/$expand", {"resourceType": "Parameters", "parameter": [
        {"name": "tx-resource", "resource": TX_CS},
        {"name": "url", "valueUri": "http://example.org/soak?fhir_vs"},
        {"name": "filter", "valueString": "soak 1"}, {"name": "count", "valueInteger": 20}]}),
    ("/fhir/CodeSystem/$lookup", {"resourceType": "Parameters", "parameter": [
        {"name": "tx-resource", "resource": TX_CS},
        {"name": "system", "valueUri": "http://example.org/soak"},
        {"name": "code", "valueCode": "c42"}]}),
]
MIX = [("GET", r, None) for r in rs.REQUESTS] + [
    ("POST", p, json.dumps(b).encode()) for p, b in POSTS]
MIX += [("GET", "/fhir/metadata", None), ("GET", "/health/ready", None)]


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def percentile(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def run(args):
    url = urllib.parse.urlsplit(args.server)
    host, port = url.hostname, url.port
    assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"
    token = os.environ["NOSTERM_ADMIN_TOKEN"]
    link = Path(args.link)
    releases = {"A": Path(args.release_a).resolve(), "B": Path(args.release_b).resolve()}
    admin = rs.Client(host, port)
    stop = threading.Event()
    lock = threading.Lock()
    window = {"lat": [], "requests": 0, "failed": 0, "conn_errors": 0}
    totals = {"requests": 0, "failed": 0, "conn_errors": 0, "reloads": 0}
    samples = []

    def worker(i):
        c = rs.Client(host, port)
        n = i * 7
        # --rate paces each worker (open loop): a soak tests staying power, not peak throughput,
        # and a paced run leaves the cores to whatever else the machine is doing.
        period = args.connections / args.rate if args.rate > 0 else 0.0
        next_at = time.monotonic()
        while not stop.is_set():
            if period:
                next_at += period
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            method, path, body = MIX[n % len(MIX)]
            n += 1
            headers = {"Content-Type": "application/fhir+json"} if body else {}
            t0 = time.monotonic()
            try:
                status, data = c.request(method, path, body=body, headers=headers)
            except (OSError, rs.http.client.HTTPException) as e:
                with lock:
                    window["conn_errors"] += 1
                    if len(samples) < 10:
                        samples.append(f"connection error on {path}: {e!r}")
                c.close()
                continue
            ms = (time.monotonic() - t0) * 1000
            with lock:
                window["lat"].append(ms)
                window["requests"] += 1
                if status >= 500:
                    window["failed"] += 1
                    if len(samples) < 10:
                        samples.append(f"HTTP {status} on {path}: {data[:300]!r}")
        c.close()

    def reload_to(name):
        rs.repoint(link, releases[name])
        # A fresh connection each time: an idle keep-alive one is closed by the server after
        # --client-timeout-ms.
        admin.close()
        status, body = admin.request("POST", "/admin/reload",
                                     headers={"Authorization": f"Bearer {token}"})
        admin.close()
        if status != 200:
            raise SystemExit(f"reload to {name} failed: HTTP {status}: {body[:500]!r}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(args.connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    rows = []
    current, next_reload = "A", started + args.reload_every
    minute = 0
    print("| minute | requests | failed | p50 ms | p99 ms | RSS MiB | fds | reloads |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    while True:
        minute_end = started + (minute + 1) * args.interval
        end = min(minute_end, started + args.duration)
        while time.monotonic() < end:
            if time.monotonic() >= next_reload:
                current = "B" if current == "A" else "A"
                reload_to(current)
                totals["reloads"] += 1
                next_reload += args.reload_every
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        with lock:
            w = dict(window)
            window.update({"lat": [], "requests": 0, "failed": 0, "conn_errors": 0})
        for k in ("requests", "failed", "conn_errors"):
            totals[k] += w[k]
        row = {"minute": minute + 1, "requests": w["requests"],
               "failed": w["failed"] + w["conn_errors"],
               "p50_ms": round(percentile(w["lat"], 50), 2),
               "p99_ms": round(percentile(w["lat"], 99), 2),
               "rss_mib": round(rs.vmrss_kib(args.pid) / 1024, 1), "fds": fd_count(args.pid),
               "reloads": totals["reloads"]}
        rows.append(row)
        print("| {minute} | {requests} | {failed} | {p50_ms} | {p99_ms} | {rss_mib} | {fds} | "
              "{reloads} |".format(**row), flush=True)
        minute += 1
        if end >= started + args.duration:
            break
    stop.set()
    for t in threads:
        t.join(timeout=60)
    first, last = rows[0], rows[-1]
    rss_growth = last["rss_mib"] - first["rss_mib"]
    rss_ok = rss_growth <= max(0.25 * first["rss_mib"], 64.0)
    fd_ok = last["fds"] - first["fds"] <= 16
    ok = totals["failed"] == 0 and totals["conn_errors"] == 0 and rss_ok and fd_ok
    result = dict(totals, duration_s=round(time.monotonic() - started, 1),
                  connections=args.connections,
                  rss_mib_first_minute=first["rss_mib"], rss_mib_end=last["rss_mib"],
                  fds_first_minute=first["fds"], fds_end=last["fds"],
                  p99_ms_max=max(r["p99_ms"] for r in rows), rss_ok=rss_ok, fd_ok=fd_ok, ok=ok)
    return rs.report(result, samples)


def main():
    ap = argparse.ArgumentParser()
    rs.add_server_args(ap)
    ap.add_argument("--duration", type=float, default=3600)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--reload-every", type=float, default=180)
    ap.add_argument("--rate", type=float, default=0,
                    help="total requests per second over all connections (0: as fast as possible)")
    ap.add_argument("--interval", type=float, default=60, help="seconds per table row")
    sys.exit(run(ap.parse_args()))


if __name__ == "__main__":
    main()

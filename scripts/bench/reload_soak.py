#!/usr/bin/env python3
"""Driver of scripts/reload-soak.sh (python3 stdlib only): keeps firing $validate-code,
$lookup and $expand?filter= from several keep-alive connections while the server reloads,
alternating two releases, and checks that every answer is the answer of one release or the
other. Also builds the modified release (`make-release SRC DST`).

    reload_soak.py make-release SRC DST
    reload_soak.py run --server URL --link LINK --release-a DIR --release-b DIR --pid PID
                       [--duration S] [--connections N] [--reloads N]
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

R10 = "https://mos.esante.gouv.fr/NOS/TRE_R10-SexeAdministratif/FHIR/TRE-R10-SexeAdministratif"
R999 = "https://mos.esante.gouv.fr/NOS/TRE_R999-Essai/FHIR/TRE-R999-Essai"
A08 = "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality"
J245 = "https://mos.esante.gouv.fr/NOS/JDV_J245-Civilite-CISIS/FHIR/JDV-J245-Civilite-CISIS"
J07 = "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS"
R81 = "https://mos.esante.gouv.fr/NOS/TRE_R81-Civilite/FHIR/TRE-R81-Civilite"


# --------------------------------------------------------------------------------------------
# The modified release: R10 0.2.0 (F relabelled, M retired), R81 MME relabelled, a new table.

def edit_line(path, needle, fn):
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if needle in line:
            cr = line.endswith("\r")
            lines[i] = fn(line.rstrip("\r")) + ("\r" if cr else "")
            path.write_text("\n".join(lines), encoding="utf-8")
            return
    raise SystemExit(f"{needle!r} not found in {path}")


def make_release(src, dst):
    src, dst = Path(src), Path(dst)
    shutil.copytree(src, dst)
    cat = dst / "catalog.csv"
    r10_row = next(l.rstrip("\r") for l in cat.read_text(encoding="utf-8").split("\n")
                   if l.startswith("TRE_R10-SexeAdministratif,"))
    edit_line(cat, "TRE_R10-SexeAdministratif,", lambda l: l.replace(",0.1.0,", ",0.2.0,"))
    edit_line(cat, "TRE_R81-Civilite,", lambda l: l.replace(",0.1.0,", ",0.2.0,"))
    new_row = r10_row.replace("R10-SexeAdministratif", "R999-Essai").replace(
        "1.2.250.1.213.2.27", "1.2.250.1.213.2.99999")
    text = cat.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\r\n"
    cat.write_text(text + new_row + "\r\n", encoding="utf-8")
    shutil.copy(dst / "CodeSystem-TRE-R10-SexeAdministratif.csv", dst / "CodeSystem-TRE-R999-Essai.csv")
    r10 = dst / "CodeSystem-TRE-R10-SexeAdministratif.csv"
    edit_line(r10, "F,Féminin", lambda l: l.replace("F,Féminin", "F,Femme", 1))
    edit_line(r10, "M,Masculin", lambda l: l.replace(
        ",active,2013-06-28T00:00:00+01:00,,", ",retired,2013-06-28T00:00:00+01:00,2025-01-01,", 1))
    r81 = dst / "CodeSystem-TRE-R81-Civilite.csv"
    edit_line(r81, "MME,Madame", lambda l: l.replace("MME,Madame", "MME,Madame (épouse)", 1))


# --------------------------------------------------------------------------------------------
# Requests, and what makes two answers the same.

def q(**kw):
    return urllib.parse.urlencode(kw)


REQUESTS = [
    f"/fhir/CodeSystem/$lookup?{q(system=R10, code='F')}",
    f"/fhir/CodeSystem/$lookup?{q(system=R10, code='M')}",
    f"/fhir/CodeSystem/$lookup?{q(system=R10, code='F', version='0.1.0')}",
    f"/fhir/CodeSystem/$lookup?{q(system=R999, code='F')}",
    f"/fhir/CodeSystem/$lookup?{q(system=A08, code='R')}",
    f"/fhir/CodeSystem/$validate-code?{q(url=R10, code='F', display='Femme')}",
    f"/fhir/CodeSystem/$validate-code?{q(url=R10, code='M')}",
    f"/fhir/CodeSystem/$validate-code?{q(url=R81, code='MME', display='Madame')}",
    f"/fhir/ValueSet/$validate-code?{q(url=J245, system=R81, code='MME')}",
    f"/fhir/ValueSet/$validate-code?{q(url=J07, system='http://loinc.org', code='11488-4')}",
    f"/fhir/ValueSet/$expand?{q(url=J245, filter='ma')}",
    f"/fhir/ValueSet/$expand?{q(url=R81 + '?fhir_vs', filter='mad')}",
    f"/fhir/ValueSet/$expand?{q(url=R10 + '?fhir_vs', filter='f')}",
    f"/fhir/ValueSet/$expand?{q(url=R999 + '?fhir_vs', filter='m')}",
    f"/fhir/ValueSet/$expand?{q(url=J07, filter='compte rendu', count='10')}",
]

VOLATILE = {"timestamp", "id", "meta", "identifier"}


def normalize(v):
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    return v


def canon(status, body):
    try:
        doc = normalize(json.loads(body))
    except ValueError:
        doc = body.decode("utf-8", "replace")
    return json.dumps([status, doc], sort_keys=True, ensure_ascii=False)


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.getheader("connection", "").lower() == "close":
            self.close()
        return resp.status, data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --------------------------------------------------------------------------------------------

def repoint(link, target):
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def vmrss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def add_server_args(parser):
    """The server a driver talks to and the releases it switches between, as
    scripts/bench/soak-server.sh passes them to both drivers."""
    parser.add_argument("--server", required=True)
    parser.add_argument("--link", required=True)
    parser.add_argument("--release-a", required=True)
    parser.add_argument("--release-b", required=True)
    parser.add_argument("--pid", type=int, required=True)


def report(result, samples):
    """Prints a driver's result and its first failures; returns its exit status."""
    print(json.dumps(result, indent=2))
    for s in samples:
        print(f"  {s}", file=sys.stderr)
    return 0 if result["ok"] else 1


def run(args):
    url = urllib.parse.urlsplit(args.server)
    host, port = url.hostname, url.port
    token = os.environ["NOSTERM_ADMIN_TOKEN"]
    link = Path(args.link)
    releases = {"A": Path(args.release_a).resolve(), "B": Path(args.release_b).resolve()}
    admin = Client(host, port)

    def reload_to(name):
        repoint(link, releases[name])
        t0 = time.monotonic()
        status, body = admin.request("POST", "/admin/reload",
                                     headers={"Authorization": f"Bearer {token}"})
        wall = (time.monotonic() - t0) * 1000
        if status != 200:
            raise SystemExit(f"reload to {name} failed: HTTP {status}: {body[:2000]!r}")
        rep = json.loads(body)
        return wall, rep

    # Baselines, in the steady state (each release carrying the other's versions).
    reload_to("B")
    reload_to("A")
    probe = Client(host, port)

    def answers():
        return [canon(*probe.request("GET", r)) for r in REQUESTS]

    expected = {"A": answers()}
    if answers() != expected["A"]:
        raise SystemExit("answers are not deterministic under one release")
    reload_to("B")
    expected["B"] = answers()
    differing = sum(1 for a, b in zip(expected["A"], expected["B"]) if a != b)
    print(f"soak: {len(REQUESTS)} requests in rotation, {differing} answer differently in A and B",
          flush=True)
    reload_to("A")
    probe.close()

    rss_before = vmrss_kib(args.pid)
    stop = threading.Event()
    lock = threading.Lock()
    stats = {"requests": 0, "failed": 0, "conn_errors": 0, "mismatch": 0, "by_release": {"A": 0, "B": 0}}
    samples = []

    def worker(i):
        c = Client(host, port)
        n = i  # each connection starts elsewhere in the rotation
        local = {"requests": 0, "failed": 0, "conn_errors": 0, "mismatch": 0, "A": 0, "B": 0}
        while not stop.is_set():
            k = n % len(REQUESTS)
            n += 1
            try:
                status, body = c.request("GET", REQUESTS[k])
            except (OSError, http.client.HTTPException) as e:
                local["conn_errors"] += 1
                if len(samples) < 10:
                    samples.append(f"connection error on {REQUESTS[k]}: {e!r}")
                c.close()
                continue
            local["requests"] += 1
            got = canon(status, body)
            if status >= 500:
                local["failed"] += 1
            if got == expected["A"][k]:
                local["A"] += 1
            elif got == expected["B"][k]:
                local["B"] += 1
            else:
                local["mismatch"] += 1
                if len(samples) < 10:
                    samples.append(f"mismatch on {REQUESTS[k]}: {got[:600]}")
        c.close()
        with lock:
            for key in ("requests", "failed", "conn_errors", "mismatch"):
                stats[key] += local[key]
            stats["by_release"]["A"] += local["A"]
            stats["by_release"]["B"] += local["B"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    started = time.monotonic()
    for t in threads:
        t.start()

    reload_wall, reload_server, rss_peak = [], [], rss_before
    interval = args.duration / (args.reloads + 1)
    current = "A"
    for i in range(args.reloads):
        target = started + interval * (i + 1)
        time.sleep(max(0.0, target - time.monotonic()))
        current = "B" if current == "A" else "A"
        wall, rep = reload_to(current)
        reload_wall.append(wall)
        reload_server.append(rep["load_ms"] + rep["index_ms"])
        rss_peak = max(rss_peak, vmrss_kib(args.pid))
    time.sleep(max(0.0, started + args.duration - time.monotonic()))
    stop.set()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.monotonic() - started
    # Back to A; settle; RSS after.
    if current != "A":
        wall, rep = reload_to("A")
        reload_wall.append(wall)
        reload_server.append(rep["load_ms"] + rep["index_ms"])
    time.sleep(1.0)
    rss_after = vmrss_kib(args.pid)

    ok = stats["failed"] == 0 and stats["conn_errors"] == 0 and stats["mismatch"] == 0
    result = {
        "duration_s": round(elapsed, 1),
        "connections": args.connections,
        "requests": stats["requests"],
        "req_per_s": round(stats["requests"] / elapsed, 1),
        "answers_release_a": stats["by_release"]["A"],
        "answers_release_b": stats["by_release"]["B"],
        "failed": stats["failed"],
        "connection_errors": stats["conn_errors"],
        "inconsistent": stats["mismatch"],
        "reloads": len(reload_wall) + 3,  # + the 3 baseline reloads
        "reloads_under_load": len(reload_server),
        "reload_ms_wall_median": round(statistics.median(reload_wall), 1),
        "reload_ms_wall_min": round(min(reload_wall), 1),
        "reload_ms_wall_max": round(max(reload_wall), 1),
        "reload_ms_server_median": statistics.median(reload_server),
        "rss_kib_before": rss_before,
        "rss_kib_peak_during": rss_peak,
        "rss_kib_after": rss_after,
        "ok": ok,
    }
    return report(result, samples)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-release")
    m.add_argument("src")
    m.add_argument("dst")
    r = sub.add_parser("run")
    add_server_args(r)
    r.add_argument("--duration", type=float, default=60)
    r.add_argument("--connections", type=int, default=8)
    r.add_argument("--reloads", type=int, default=24)
    args = ap.parse_args()
    if args.cmd == "make-release":
        make_release(args.src, args.dst)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

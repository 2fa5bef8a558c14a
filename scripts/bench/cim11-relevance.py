#!/usr/bin/env python3
"""cim11-relevance.py BASE_URL [QUERIES_TSV] — hit@5 of nosterm beside cim_11.label_search.

Run with the python of .venv-cim11 (scripts/import-cim11 creates it): it imports `cim_11`.
For each query of the TSV (query <TAB> expected codes separated by "|"):
  nosterm   GET BASE_URL/ValueSet/$expand?url=http://id.who.int/icd/release/11/mms?fhir_vs
            &filter=<query>&count=5 (one request per query, in order: the result cache of the
            server is cold for each text)
  package   cim_11.label_search(query) (FTS5, AND of word prefixes, French labels; when it finds
            nothing, the same in English), first 5 results in its own order
hit@5 = an expected code is among the first five codes. Latency per query in ms (nosterm: the
HTTP round trip over loopback; package: the in-process call). Prints a table of the misses and
one summary line per engine. Standard library + cim_11 only.
"""

import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
import json

import cim_11

SYSTEM = "http://id.who.int/icd/release/11/mms"


def read_queries(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            q, expected = line.split("\t")
            out.append((q, set(expected.split("|"))))
    return out


def nosterm(base, q):
    url = (
        f"{base}/ValueSet/$expand?url={urllib.parse.quote(SYSTEM + '?fhir_vs', safe='')}"
        f"&filter={urllib.parse.quote(q)}&count=5"
    )
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    ms = (time.perf_counter() - t) * 1000
    codes = [c["code"] for c in body.get("expansion", {}).get("contains", [])]
    return codes[:5], ms


def package(q):
    t = time.perf_counter()
    found = cim_11.label_search(q)
    if not found:
        found = cim_11.label_search(q, lang="en")
    ms = (time.perf_counter() - t) * 1000
    return [c.icode for c in found[:5]], ms


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v) + 0.5) - 1))]


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    base = sys.argv[1].rstrip("/")
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "cim11-queries.tsv")
    queries = read_queries(path)
    results = {"nosterm": [], "label_search": []}
    print(f"{'query':28} {'expected':14} {'nosterm top 5':40} label_search top 5")
    for q, expected in queries:
        n_codes, n_ms = nosterm(base, q)
        p_codes, p_ms = package(q)
        n_hit = bool(expected & set(n_codes))
        p_hit = bool(expected & set(p_codes))
        results["nosterm"].append((n_hit, n_ms))
        results["label_search"].append((p_hit, p_ms))
        if not (n_hit and p_hit):
            mark = lambda h: "ok " if h else "MISS"  # noqa: E731
            print(
                f"{q[:28]:28} {'|'.join(sorted(expected))[:14]:14} "
                f"{mark(n_hit)} {' '.join(n_codes)[:35]:35} {mark(p_hit)} {' '.join(p_codes)}"
            )
    print()
    for name, rows in results.items():
        hits = sum(1 for h, _ in rows if h)
        ms = [m for _, m in rows]
        print(
            f"{name:13} hit@5 {hits}/{len(rows)} ({100 * hits / len(rows):.0f} %)  "
            f"p50 {statistics.median(ms):.2f} ms  p99 {pct(ms, 99):.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

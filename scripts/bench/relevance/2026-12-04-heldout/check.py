#!/usr/bin/env python3
"""Check the 2026-12-04 held-out relevance set (standard library only).

* every expected CIM-11 code exists in the ICD-11 MMS FHIR CodeSystem JSON
  (warns when a code is a notSelectable grouping or an X extension code);
* every NOS table exists in data/catalog.csv; for a JDV every expected code is a
  member listed in its CSV, for a TRE every expected code is an active concept;
* no query is repeated inside this set (case- and accent-folded);
* no query duplicates (case- and accent-folded) a query of the earlier sets.
  Only the duplicated query strings of THIS set are printed; the earlier files
  are never printed.
* prints counts per kind (from the '# kind: X' section markers).

Usage: python3 check.py [--cim11 PATH_TO_CodeSystem-cim11-mms.json] [--repo REPO_ROOT]
Exit status 0 when everything passes, 1 otherwise.
"""
import argparse
import csv
import glob
import json
import os
import sys
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
DEFAULT_CIM11 = "/tmp/cim11-main/CodeSystem-cim11-mms.json"

# Earlier sets, read only to detect duplicated queries (never printed).
EARLIER = [
    "scripts/bench/relevance/2026-12-04/*.tsv",
    "scripts/bench/cim11-queries.tsv",
    "tests/fixtures/search-queries.csv",
]


def fold(s):
    s = unicodedata.normalize("NFKD", s.lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    return " ".join(s.split())


def read_set(path, ncols):
    """Yield (kind, line_no, fields) for the data lines of a set file."""
    kind = None
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            if line.startswith("#"):
                body = line[1:].strip()
                if body.startswith("kind:"):
                    kind = body[len("kind:"):].split()[0]
                continue
            fields = line.split("\t")
            yield kind, no, fields if len(fields) == ncols else None, line


def load_cim11(path):
    with open(path, encoding="utf-8") as f:
        cs = json.load(f)
    codes = {}

    def walk(concepts):
        for c in concepts:
            ns = any(p.get("code") == "notSelectable" and p.get("valueBoolean")
                     for p in c.get("property", []))
            codes[c["code"]] = (c.get("display", ""), ns)
            walk(c.get("concept", []))

    walk(cs.get("concept", []))
    return codes


def load_nos(repo):
    data = os.path.join(repo, "data")
    tables = {}
    with open(os.path.join(data, "catalog.csv"), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            seg = row["url"].rstrip("/").rsplit("/", 1)[-1]
            kind = row["kind"]
            if kind == "TRE":
                fn = f"CodeSystem-{seg}.csv"
            elif kind == "JDV":
                fn = f"ValueSet-{seg}.csv"
            else:
                fn = f"{seg}.csv"
            tables[row["name"]] = (kind, os.path.join(data, fn))
    return tables


def table_codes(kind, path):
    """code -> (display, active) for a TRE; code -> (display, True) for JDV members."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if kind == "TRE":
                active = row.get("status", "active") == "active" and not row.get("valid_to")
                out[row["code"]] = (row.get("display", ""), active)
            else:
                out[row["code"]] = (row.get("display", ""), True)
    return out


def earlier_queries(repo):
    """Folded strings of every field of every line of the earlier sets,
    mapped to where they occur (file name, column index) so that a match on an
    expected-code or table column can be told from a match on a query column."""
    seen = {}
    files = []
    for pat in EARLIER:
        files.extend(sorted(glob.glob(os.path.join(repo, pat))))
    for path in files:
        with open(path, encoding="utf-8", newline="") as f:
            if path.endswith(".csv"):
                rows = csv.reader(f)
            else:
                rows = (l.rstrip("\r\n").split("\t") for l in f)
            for fields in rows:
                if not fields or (fields[0].lstrip().startswith("#")):
                    continue
                for i, x in enumerate(fields):
                    x = fold(x)
                    if x:
                        seen.setdefault(x, set()).add((os.path.relpath(path, repo), i, len(fields)))
    return seen, files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cim11", default=DEFAULT_CIM11)
    ap.add_argument("--repo", default=DEFAULT_REPO)
    args = ap.parse_args()
    errors = []
    warnings = []

    # ---- CIM-11
    cim = load_cim11(args.cim11)
    cim_kinds = Counter()
    cim_queries = []
    for kind, no, fields, line in read_set(os.path.join(HERE, "cim11.tsv"), 2):
        if fields is None:
            errors.append(f"cim11.tsv:{no}: expected 2 tab-separated fields: {line!r}")
            continue
        q, exp = fields
        cim_kinds[kind] += 1
        cim_queries.append((q, no))
        for code in exp.split("|"):
            code = code.strip()
            if code not in cim:
                errors.append(f"cim11.tsv:{no}: {q!r}: code {code} not in CIM-11")
            else:
                if cim[code][1]:
                    warnings.append(f"cim11.tsv:{no}: {q!r}: {code} is a notSelectable grouping")
                if code.startswith("X"):
                    warnings.append(f"cim11.tsv:{no}: {q!r}: {code} is an extension code")

    # ---- NOS
    tables = load_nos(args.repo)
    cache = {}
    nos_kinds = Counter()
    nos_tables = Counter()
    nos_queries = []
    for kind, no, fields, line in read_set(os.path.join(HERE, "nos.tsv"), 3):
        if fields is None:
            errors.append(f"nos.tsv:{no}: expected 3 tab-separated fields: {line!r}")
            continue
        t, q, exp = fields
        nos_kinds[kind] += 1
        nos_tables[t] += 1
        nos_queries.append((t, q, no))
        if t not in tables:
            errors.append(f"nos.tsv:{no}: table {t} not in data/catalog.csv")
            continue
        tkind, path = tables[t]
        if t not in cache:
            cache[t] = table_codes(tkind, path)
        if not cache[t]:
            errors.append(f"nos.tsv:{no}: table {t} has no readable CSV content ({path})")
            continue
        for code in exp.split("|"):
            code = code.strip()
            if code not in cache[t]:
                errors.append(f"nos.tsv:{no}: {q!r}: code {code} not in {t}")
            elif not cache[t][code][1]:
                errors.append(f"nos.tsv:{no}: {q!r}: code {code} is not active in {t}")

    # ---- duplicates inside this set
    c = Counter(fold(q) for q, _ in cim_queries)
    for q, n in c.items():
        if n > 1:
            errors.append(f"cim11.tsv: query repeated {n} times: {q!r}")
    c = Counter((t, fold(q)) for t, q, _ in nos_queries)
    for (t, q), n in c.items():
        if n > 1:
            errors.append(f"nos.tsv: query repeated {n} times in {t}: {q!r}")

    # ---- duplicates against the earlier sets
    seen, files = earlier_queries(args.repo)
    dup = []
    def where(q):
        return "; ".join(f"{f} column {i + 1}/{n}" for f, i, n in sorted(seen[fold(q)]))
    for q, no in cim_queries:
        if fold(q) in seen:
            dup.append(f"cim11.tsv:{no}: {q!r} [{where(q)}]")
    for t, q, no in nos_queries:
        if fold(q) in seen:
            dup.append(f"nos.tsv:{no}: {q!r} ({t}) [{where(q)}]")
    for d in dup:
        errors.append(f"duplicates an earlier set: {d}")

    # ---- report
    print(f"cim11.tsv: {len(cim_queries)} queries; by kind: "
          + ", ".join(f"{k}={v}" for k, v in sorted(cim_kinds.items())))
    print(f"nos.tsv: {len(nos_queries)} queries; by kind: "
          + ", ".join(f"{k}={v}" for k, v in sorted(nos_kinds.items())))
    print("nos.tsv by table:")
    for t, n in sorted(nos_tables.items()):
        print(f"  {t}: {n}")
    print(f"earlier sets compared: {len(files)} file(s), {len(seen)} folded strings; "
          f"duplicated queries: {len(dup)}")
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print("OK" if not errors else f"FAILED ({len(errors)} error(s))")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# bench-snomed.sh — SNOMED CT at International scale (issue 31), on a synthetic RF2 release
# that scripts/gen-synthetic-rf2 writes (≈367,000 concepts, 1.6 M descriptions, 1 M
# relationships with role groups, depth 20, a French language refset; never committed).
#
#   scripts/bench-snomed.sh                 # generates the release in a temporary folder
#   SCT_RF2=/tmp/rf2full scripts/bench-snomed.sh   # reuses one already generated
#
# What it measures, on the release binary, the NOS data beside the edition:
#   1. examples/sct_bench: reading the release and building the edition (in process), ECL
#      latency p50/p99 over 400 generated expressions of every kind (count and full list).
#   2. Cold start: `serve` with an empty index folder until "listening" (import + search index),
#      peak RSS (VmHWM) and serving RSS (VmRSS once ready).
#   3. Restart: the same folder again (catalog snapshot and index on disk), until "listening".
#   4. Over HTTP (one client, keep-alive, each request once, so no answer is cached):
#      `<< 404684003` (130,000 concepts) counted (count=0) and listed in full; text-filtered
#      `$expand` of the whole edition, English and French prefixes, p50/p99.
#   5. `$validate-code` against an ECL value set at 16 connections, as a ratio of
#      examples/fixed_handler.rs (scripts/bench-http.sh, scenario sct-validate).
# Every step is bounded in time; only loopback is used. Results: bench-out/bench-snomed-*.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p bench-out
REPORT=bench-out/bench-snomed-$STAMP.md
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-snomed.XXXXXX")
trap 'nosterm_stop_all; rm -rf "$WORK"' EXIT
log() { printf '[bench-snomed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

timeout 1800 cargo build --release --bin nosterm --example sct_bench --example fixed_handler
RF2=${SCT_RF2:-}
if [[ -z $RF2 ]]; then
  RF2=$WORK/rf2
  log "generating the synthetic release in $RF2"
  timeout 600 scripts/gen-synthetic-rf2 -q "$RF2"
fi

{
  echo "# SNOMED CT at scale — $STAMP"
  echo
  echo "Release: $RF2 ($(du -sh "$RF2" | cut -f1)); machine: $(nproc) cores."
  echo
  echo "## In process (examples/sct_bench)"
  echo
  timeout 900 target/release/examples/sct_bench "$RF2" 400
} | tee "$REPORT"

DATA=$WORK/data
mkdir -p "$DATA"
ln -s "$PWD/data" "$DATA/nos"
ln -s "$RF2" "$DATA/sct"
INDEX=$WORK/index

# serve_once LABEL: starts the server on $DATA/$INDEX, prints seconds to ready, peak and
# serving RSS (MB), leaves it running.
serve_once() {
  local t0 t1 pid
  t0=$(date +%s.%N)
  nosterm_start "bench-snomed-$1" --data "$DATA" --index "$INDEX" --ready listening \
    --timeout 900 --log "$WORK/$1.log"
  t1=$(date +%s.%N)
  pid=$NOSTERM_PID
  sleep 2
  printf '| %s | %.1f s | %s MB | %s MB |\n' "$1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    "$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/"$pid"/status)" \
    "$(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/"$pid"/status)"
}

# Not in a pipeline: the server it starts must stay this shell's (NOSTERM_* variables, trap).
{
  echo
  echo "## Server start (NOS + the edition, FHIR core on)"
  echo
  echo "| start | ready after | peak RSS | serving RSS |"
  echo "|---|---:|---:|---:|"
} | tee -a "$REPORT"
serve_once cold >"$WORK/cold.md"
nosterm_stop_all
serve_once restart >"$WORK/restart.md"
cat "$WORK/cold.md" "$WORK/restart.md" | tee -a "$REPORT"

BASE=$NOSTERM_FHIR
timeout 900 python3 - "$BASE" <<'PY' | tee -a "$REPORT"
import http.client, json, statistics, sys, time, urllib.parse
base = urllib.parse.urlparse(sys.argv[1])
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=120)
def get(path):
    t = time.perf_counter()
    conn.request("GET", base.path + path)
    r = conn.getresponse()
    body = r.read()
    return time.perf_counter() - t, r.status, body
def q(s):
    return urllib.parse.quote(s, safe="")
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, round((len(v) - 1) * p))]
print("\n## Over HTTP (one client, each request once)\n")
print("| request | time | total |")
print("|---|---:|---:|")
for label, path in [
    ("`<< 404684003` count=0", "/ValueSet/$expand?url=" + q("http://snomed.info/sct?fhir_vs=isa/404684003") + "&count=0"),
    ("`<< 404684003` full list (130,000 codes)", "/ValueSet/$expand?url=" + q("http://snomed.info/sct?fhir_vs=isa/404684003") + "&count=130000&activeOnly=false"),
    ("ECL refinement count", "/ValueSet/$expand?url=" + q("http://snomed.info/sct?fhir_vs=ecl/<< 404684003 : 363698007 = *") + "&count=0"),
]:
    dt, status, body = get(path)
    total = json.loads(body).get("expansion", {}).get("total") if status == 200 else status
    print(f"| {label} | {dt*1000:.0f} ms | {total} |")
words = ["frac", "fracture", "chron", "chronic dis", "lesion", "lésion", "gauche", "structure",
         "inflam", "acute", "droit", "syndrome", "renal", "hépat", "cardi", "pulmo", "tumeur",
         "douleur", "infect", "ulc", "hern", "calc", "stén", "sténose", "mild", "severe",
         "left", "right", "bone", "skin", "liver", "foie", "rein", "coeur", "os", "peau"]
times = {"en/fr prefixes, whole edition": [], "same, in `<< 404684003`": []}
for w in words:
    for label, url in [("en/fr prefixes, whole edition", "http://snomed.info/sct?fhir_vs"),
                       ("same, in `<< 404684003`", "http://snomed.info/sct?fhir_vs=isa/404684003")]:
        dt, status, _ = get("/ValueSet/$expand?url=" + q(url) + "&count=10&filter=" + q(w))
        assert status == 200, (w, status)
        times[label].append(dt)
print("\n| text filter ($expand count=10) | n | p50 | p99 |")
print("|---|---:|---:|---:|")
for label, v in times.items():
    print(f"| {label} | {len(v)} | {pct(v, .5)*1000:.1f} ms | {pct(v, .99)*1000:.1f} ms |")
PY
nosterm_stop_all

log "validate-code against an ECL value set, 16 connections (scripts/bench-http.sh)"
{
  echo
  echo "## \`\$validate-code\` against an ECL value set (scripts/bench-http.sh)"
  echo
  SCT_RF2=$RF2 NOS_DIR=data DATA=$DATA SCENARIOS=sct-validate CONNS=16 DURATION=${DURATION:-10} \
    RUNS=${RUNS:-3} START_TIMEOUT=900 timeout 1800 scripts/bench-http.sh 2>>"$WORK/bench-http.log" |
    sed -n '/^| scenario/,$p'
} | tee -a "$REPORT"
log "report: $REPORT"

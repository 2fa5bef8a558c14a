#!/usr/bin/env bash
# bench-cim11.sh — CIM-11 at scale: import, load, index, memory, relevance, $expand?filter load.
#
#   scripts/bench-cim11.sh [OUT_DIR]        (default bench-out/cim11; DURATION=10 RUNS=3 CONNS=16)
#
# What it prints, in one run, on the release build (or $NOSTERM_BIN; scripts/lib/server.sh):
#   import     wall time of scripts/import-cim11 (venv already there: the conversion only; the
#              first run also pip-installs cim-11-CERTIC, a few seconds more)
#   load       `nosterm check` on NOS + CIM-11: parse + catalog, no index (wall, peak RSS)
#   serve      `nosterm serve` on NOS + CIM-11 with an empty index folder: time until it answers
#              (load + tantivy index build), VmRSS once ready, and the peak RSS of the whole run
#              (/usr/bin/time -v, after the load below)
#   relevance  scripts/bench/cim11-relevance.py: hit@5 of nosterm vs cim_11.label_search on the
#              queries of scripts/bench/cim11-queries.tsv, p50/p99 of each (cold server cache)
#   load test  wrk, CONNS connections, DURATION s, RUNS runs, rotating over GET $expand?filter=…
#              &count=10 requests: on CIM-11 (each query of the TSV and its typing prefixes of 3+
#              characters) and on the NOS (the prefixes of bench-http.sh on J07, J02, J10). Medians
#              over the runs of req/s, p50, p99. After the first pass the server's result cache
#              is hot for both lists; the relevance step gives the cold figures.
# wrk runs on the same cores as the server (2 here): absolute figures are machine-bound.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench-out/cim11}"
DURATION="${DURATION:-10}"
RUNS="${RUNS:-3}"
CONNS="${CONNS:-16}"
command -v wrk >/dev/null || { echo "bench-cim11: wrk not installed (apt-get install -y wrk)" >&2; exit 1; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
echo "== import"
/usr/bin/time -f "import-cim11: %e s wall, %M KB peak RSS" scripts/import-cim11 "$OUT/data" 2>&1 | grep -v "schema\|database"

# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh
nosterm_binary
BOTH="$OUT/both"
rm -rf "$BOTH" "$OUT/index"
mkdir -p "$BOTH"
ln -s "$PWD/data" "$BOTH/nos"
ln -s "$OUT/data" "$BOTH/cim11"

echo "== load (nosterm check, NOS + CIM-11, no index)"
/usr/bin/time -f "check: %e s wall, %M KB peak RSS" "$NOSTERM_SERVER" check --data "$BOTH"
/usr/bin/time -f "check NOS only: %e s wall, %M KB peak RSS" "$NOSTERM_SERVER" check --data data

PORT="$(nosterm_free_port)"
BASE="http://127.0.0.1:$PORT/fhir"
trap nosterm_stop_all EXIT
START=$(date +%s.%N)
# Under /usr/bin/time -v (peak RSS of the whole run), so nosterm is the child of the pid started.
nosterm_start cim11 --port "$PORT" --ready listening --timeout 60 \
  --out "$OUT/serve.log" --err "$OUT/serve.time" --exec -- \
  /usr/bin/time -v "$NOSTERM_SERVER" serve --addr "127.0.0.1:$PORT" --data "$BOTH" --index "$OUT/index"
TIMER=$NOSTERM_PID
READY=$(python3 -c "print(f'{$(date +%s.%N) - $START:.2f}')")
SERVER="$(pgrep -P "$TIMER" nosterm || true)"
echo "== serve (NOS + CIM-11, index built from scratch)"
echo "ready after ${READY} s; $(grep -E 'VmRSS' /proc/"$SERVER"/status | tr -s ' \t' ' ')"

echo "== relevance"
.venv-cim11/bin/python scripts/bench/cim11-relevance.py "$BASE" | tee "$OUT/relevance.txt" | tail -3

echo "== load test: GET \$expand?filter, $CONNS connections, ${DURATION}s x $RUNS"
python3 - "$OUT" <<'PY'
import sys, urllib.parse
out = sys.argv[1]
q = lambda s: urllib.parse.quote(s, safe="")
icd = "http://id.who.int/icd/release/11/mms?fhir_vs"
texts = []
for line in open("scripts/bench/cim11-queries.tsv", encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    text = line.split("\t")[0]
    texts += [text[:i] for i in range(3, len(text))] + [text]
with open(f"{out}/cim11.tsv", "w") as f:
    for t in dict.fromkeys(texts):
        f.write(f"GET\t/fhir/ValueSet/$expand?url={q(icd)}&filter={q(t)}&count=10\t\n")
nos = [
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS",
    "https://mos.esante.gouv.fr/NOS/JDV_J02-XdsHealthcareFacilityTypeCode-CISIS/FHIR/JDV-J02-XdsHealthcareFacilityTypeCode-CISIS",
    "https://mos.esante.gouv.fr/NOS/JDV_J10-XdsFormatCode-CISIS/FHIR/JDV-J10-XdsFormatCode-CISIS",
]
prefixes = ["cr", "compte", "lettre", "radio", "kine", "echo", "consult", "hosp", "centre",
            "imag", "bio", "ordo", "attest", "synth", "pdf"]
with open(f"{out}/nos.tsv", "w") as f:
    for p in prefixes:
        for u in nos:
            f.write(f"GET\t/fhir/ValueSet/$expand?url={q(u)}&filter={q(p)}&count=10\t\n")
PY
for list in cim11 nos; do
  n=$(wc -l <"$OUT/$list.tsv")
  # Every request must answer 200 before the load.
  bad=$(cut -f2 "$OUT/$list.tsv" | while read -r path; do
    curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT$path"; done | grep -vc '^200$' || true)
  rows=()
  for r in $(seq 1 "$RUNS"); do
    line=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s -s scripts/bench/rotate.lua \
      "http://127.0.0.1:$PORT" -- "$OUT/$list.tsv" | grep '^BENCH')
    rows+=("$line")
  done
  printf '%s\n' "${rows[@]}" | python3 -c "
import sys, statistics
rows=[dict(kv.split('=') for kv in l.split()[1:]) for l in sys.stdin if l.strip()]
med=lambda k: statistics.median(float(r[k]) for r in rows)
errs=sum(int(r[k]) for r in rows for k in r if k.startswith('err_'))
print(f'$list ($n requests, $bad not 200): {med(\"rps\"):.0f} req/s (min {min(float(r[\"rps\"]) for r in rows):.0f}, max {max(float(r[\"rps\"]) for r in rows):.0f}), p50 {med(\"p50_us\")/1000:.2f} ms, p99 {med(\"p99_us\")/1000:.2f} ms, errors {errs}')
"
done
echo "RSS after load: $(grep -E 'VmRSS|VmHWM' /proc/"$SERVER"/status | tr -s ' \t' ' ' | tr '\n' ' ')"
nosterm_stop "$TIMER"   # stops nosterm, then time reports
grep -E "Maximum resident|Elapsed" "$OUT/serve.time" | sed 's/^\s*/serve (whole run): /'

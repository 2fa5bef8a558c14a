#!/usr/bin/env bash
# Start time and peak memory of `nosterm serve`: starts it, waits for `listening on`, prints
# the seconds to ready and VmHWM/VmRSS, sends a little traffic, prints VmHWM again, stops it.
# Usage: scripts/measure-start.sh DATA_DIR INDEX_DIR [PORT]   (NOSTERM_MEMPROBE=1 for stages;
# SYSTEM=url of the code system to query, default the synthetic table's)
set -euo pipefail
data=$1 index=$2 port=${3:-18931}
bin=${BIN:-target/release/nosterm}
log=$(mktemp)
start=$(date +%s.%N)
"$bin" serve --data "$data" --index "$index" --addr "127.0.0.1:$port" --workers 2 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 3000); do
  grep -q "listening on" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.05
done
ready=$(date +%s.%N)
mem() { grep -E 'VmHWM|VmRSS' /proc/$pid/status | tr -s ' \n' ' '; }
printf 'ready in %.2f s; %s\n' "$(echo "$ready - $start" | bc)" "$(mem)"
grep '^probe' "$log" || true
base="http://127.0.0.1:$port/fhir"
# Not a CodeSystem search: it renders whole code systems (gigabytes for a million concepts).
sys=${SYSTEM:-https://mos.esante.gouv.fr/NOS/TRE_Z99-ActeSynthetique/FHIR/TRE-Z99-ActeSynthetique}
for i in $(seq 1 200); do
  curl -s -o /dev/null "$base/CodeSystem/\$validate-code?url=$sys&code=X$i"
done
for q in comp rea "arthro genou" card; do
  curl -s -o /dev/null "$base/ValueSet/\$expand?url=$sys?fhir_vs&filter=$(printf %s "$q" | sed 's/ /%20/g')&count=20"
done
printf 'after traffic: %s\n' "$(mem)"

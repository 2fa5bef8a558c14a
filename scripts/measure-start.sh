#!/usr/bin/env bash
# Start time and peak memory of `nosterm serve`: starts it, waits for `listening on`, prints
# the seconds to ready and VmHWM/VmRSS, sends a little traffic, prints VmHWM again, stops it.
# Usage: scripts/measure-start.sh DATA_DIR INDEX_DIR [PORT]   (NOSTERM_MEMPROBE=1 for stages;
# SYSTEM=url of the code system to query, default the synthetic table's)
# The binary: $BIN, else $NOSTERM_BIN, else target/release/nosterm built by cargo
# (scripts/lib/server.sh).
set -euo pipefail
data=$1 index=$2 port=${3:-18931}
# shellcheck source=scripts/lib/server.sh
. "$(dirname "$0")/lib/server.sh"
NOSTERM_SERVER=${BIN:-}
nosterm_binary
trap nosterm_stop_all EXIT
start=$(date +%s.%N)
nosterm_start measure --port "$port" --data "$data" --index "$index" --ready listening \
  --timeout 150 -- --workers 2
ready=$(date +%s.%N)
pid=$NOSTERM_PID log=$NOSTERM_LOG
mem() { grep -E 'VmHWM|VmRSS' "/proc/$pid/status" | tr -s ' \n' ' '; }
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

#!/usr/bin/env bash
# Runs HL7's terminology-server conformance suite (tx-ecosystem) against the release server and
# fails if fewer tests pass than the floor recorded in tests/conformance-floor.txt.
#
#   scripts/conformance.sh                 # all suites, enforce the floor
#   TX_DIR=/path/to/tx-ecosystem scripts/conformance.sh --suite validation   # extra args go to txrun.py
#
# The suite (CC0) is read from $TX_DIR (default vendor/tx-ecosystem, else ../shared/tx-ecosystem).
# When $TX_DIR/tx-source/snomed holds HL7's SNOMED CT test subset (RF2), it is served beside
# data/ (the `snomed` and `sct-ecl` suites run on it), marked unpublished as HL7 names it:
# module 31000003106 → http://snomed.info/xsct/31000003106/version/….
# The server: $NOSTERM_BIN, else target/release/nosterm built by cargo (scripts/lib/server.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

TX_DIR="${TX_DIR:-}"
if [[ -z "$TX_DIR" ]]; then
  for d in vendor/tx-ecosystem ../shared/tx-ecosystem; do
    if [[ -f "$d/txrun.py" ]]; then TX_DIR="$d"; break; fi
  done
fi
if [[ -z "$TX_DIR" || ! -f "$TX_DIR/txrun.py" ]]; then
  echo "conformance: tx-ecosystem suite not found (set TX_DIR)" >&2
  exit 1
fi

# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh
OUT="$(mktemp -d)"
trap nosterm_stop_all EXIT
DATA=data
if [[ -d "$TX_DIR/tx-source/snomed/Terminology" ]]; then
  DATA="$OUT/data"
  mkdir -p "$DATA"
  ln -s "$PWD/data" "$DATA/nos"
  ln -s "$(cd "$TX_DIR/tx-source/snomed" && pwd)" "$DATA/snomed"
  export NOSTERM_SCT_UNPUBLISHED=31000003106
fi
nosterm_start conformance --data "$DATA" --ready listening --timeout 60 --log "$OUT/server.log"

timeout 900 python3 "$TX_DIR/txrun.py" --base "$NOSTERM_FHIR" --timeout 20 "$@" | tee "$OUT/tx.txt"
LAST="$(tail -n 1 "$OUT/tx.txt")"
PASSED="$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$LAST")"
FLOOR="$(grep -v '^#' tests/conformance-floor.txt | head -n 1 | tr -d '[:space:]')"
echo "conformance: $PASSED passed (floor $FLOOR)"
if [[ $# -eq 0 && "${PASSED:-0}" -lt "$FLOOR" ]]; then
  echo "conformance: below the floor" >&2
  exit 1
fi

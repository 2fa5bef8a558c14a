#!/usr/bin/env bash
# reload-soak.sh — reload under load: 0 failed requests, 0 connection errors, every answer from
# one release or the other, never a mix; reload time and RSS before/after.
#
#   scripts/reload-soak.sh [DURATION_S=60] [CONNECTIONS=8] [RELOADS=24]
#
# What it does (bounded: DURATION seconds of load, RELOADS reloads, loopback only):
#   1. builds the release binary (unless $NOSTERM_BIN names one), and two releases in a temp
#      dir: A = a copy of data/, B = A with TRE_R10 0.2.0 (F relabelled, M retired), TRE_R81
#      0.2.0 (MME relabelled) and a new table TRE_R999-Essai (scripts/bench/reload_soak.py
#      make-release)
#   2. starts `nosterm serve` on a free loopback port with --data TMP/current, a symlink to A,
#      and a random NOSTERM_ADMIN_TOKEN
#   3. records, in the steady state (each release carrying the other's versions), the answer
#      of every request of the rotation under A and under B ($lookup, $validate-code on
#      CodeSystem and ValueSet, $expand?filter= on JDVs and ?fhir_vs; pinned and unpinned;
#      the added table: 404 under A, found under B). Timestamps and ids are ignored.
#   4. CONNECTIONS python threads (http.client, keep-alive) fire the rotation for DURATION s
#      while the driver re-points the symlink and POSTs /admin/reload RELOADS times,
#      alternating B and A; each answer must equal its A answer or its B answer.
#   5. prints: requests, answers per release, failed (5xx), connection errors, inconsistent
#      answers, reloads, reload time (wall, as seen by the client, and load+index in the
#      server), VmRSS before the soak, peak during, after the last reload.
# Exit status 0 only when failed = connection errors = inconsistent = 0.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-60}"
CONNECTIONS="${2:-8}"
RELOADS="${3:-24}"
if (( RELOADS < 20 )); then echo "reload-soak: RELOADS must be >= 20" >&2; exit 2; fi

# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh
# shellcheck source=scripts/bench/soak-server.sh
. scripts/bench/soak-server.sh
soak_server reload-soak check
echo "reload-soak: server pid $SERVER on 127.0.0.1:$PORT; ${DURATION}s, $CONNECTIONS connections, $RELOADS reloads"

soak_drive reload-soak "$DURATION" scripts/bench/reload_soak.py run --duration "$DURATION" \
  --connections "$CONNECTIONS" --reloads "$RELOADS"

#!/usr/bin/env bash
# soak.sh — a long run of mixed traffic with reloads: nothing fails, nothing grows.
#
#   scripts/soak.sh [DURATION_S=3600] [CONNECTIONS=8] [RELOAD_EVERY_S=180]
#   RATE=N scripts/soak.sh …   paces the clients at N requests/s in all (default: as fast as they can)
#
# Builds the release binary (unless $NOSTERM_BIN names one) and two releases (A = data/, B = A
# edited, as reload-soak.sh does), starts `nosterm serve` on a free loopback port with an admin
# token (scripts/lib/server.sh), then for DURATION seconds CONNECTIONS keep-alive clients send
# the mix of scripts/bench/soak.py (GET $lookup, $validate-code, $expand; POST Parameters with
# and without tx-resource; metadata; health)
# while the data is reloaded every RELOAD_EVERY seconds. Every minute it prints a Markdown
# table row: requests, failed, p50/p99 latency, RSS, open fds (/proc/PID/fd), reloads so far.
# Exit 1 on any failed request (5xx, connection error), on RSS growth beyond max(25 %, 64 MiB)
# or fd growth beyond 16 from the first minute to the last, or if the server dies.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-3600}"
CONNECTIONS="${2:-8}"
RELOAD_EVERY="${3:-180}"

# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh
# shellcheck source=scripts/bench/soak-server.sh
. scripts/bench/soak-server.sh
soak_server soak
echo "soak: server pid $SERVER on 127.0.0.1:$PORT; ${DURATION}s, $CONNECTIONS connections, reload every ${RELOAD_EVERY}s"

soak_drive soak "$DURATION" scripts/bench/soak.py --duration "$DURATION" \
  --connections "$CONNECTIONS" --reload-every "$RELOAD_EVERY" --rate "${RATE:-0}"

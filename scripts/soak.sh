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
nosterm_binary
WORK="$(mktemp -d)"
cleanup() {
  nosterm_stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/releases"
cp -r data "$WORK/releases/a"
python3 scripts/bench/reload_soak.py make-release "$WORK/releases/a" "$WORK/releases/b"
ln -sfn "$WORK/releases/a" "$WORK/current"
NOSTERM_ADMIN_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
export NOSTERM_ADMIN_TOKEN
nosterm_start soak --ready listening --timeout 60 --data "$WORK/current" --index "$WORK/index" \
  --out "$WORK/server.out" --err "$WORK/server.err"
SERVER=$NOSTERM_PID PORT=$NOSTERM_PORT
echo "soak: server pid $SERVER on 127.0.0.1:$PORT; ${DURATION}s, $CONNECTIONS connections, reload every ${RELOAD_EVERY}s"

status=0
timeout "$(( ${DURATION%.*} + 300 ))" python3 scripts/bench/soak.py \
  --server "http://127.0.0.1:$PORT" --link "$WORK/current" \
  --release-a "$WORK/releases/a" --release-b "$WORK/releases/b" --pid "$SERVER" \
  --duration "$DURATION" --connections "$CONNECTIONS" --reload-every "$RELOAD_EVERY" --rate "${RATE:-0}" || status=$?
if ! kill -0 "$SERVER" 2>/dev/null; then echo "soak: the server died" >&2; exit 1; fi
exit $status

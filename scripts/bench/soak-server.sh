# shellcheck shell=bash
# Shared by scripts/soak.sh and scripts/reload-soak.sh, sourced after scripts/lib/server.sh from
# the repository root: two releases, a nosterm that the driver reloads between them, the driver.
#
# soak_server NAME [check]  WORK: a temp folder (removed on exit) with releases/a (a copy of
#                           data/), releases/b (A edited by reload_soak.py make-release) and
#                           current -> releases/a; with `check`, `nosterm check` on both
#                           releases; then nosterm serving WORK/current with a random
#                           NOSTERM_ADMIN_TOKEN (exported for the driver). Sets SERVER (its
#                           pid) and PORT.
# soak_drive NAME DURATION DRIVER ARG...  runs `python3 DRIVER ARG...` plus the server, link,
#                           releases and pid, and exits with its status, or 1 if the server
#                           died. The driver ends itself after DURATION (+ reloads and joins);
#                           a timeout of DURATION + 300 s is the backstop.

soak_server() {
  local name=$1 check=${2:-}
  nosterm_binary
  WORK="$(mktemp -d)"
  trap 'nosterm_stop_all; rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/releases"
  cp -r data "$WORK/releases/a"
  python3 scripts/bench/reload_soak.py make-release "$WORK/releases/a" "$WORK/releases/b"
  if [[ -n $check ]]; then
    "$NOSTERM_SERVER" check --data "$WORK/releases/a"
    "$NOSTERM_SERVER" check --data "$WORK/releases/b"
  fi
  ln -sfn "$WORK/releases/a" "$WORK/current"
  NOSTERM_ADMIN_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  export NOSTERM_ADMIN_TOKEN
  nosterm_start "$name" --ready listening --timeout 60 --data "$WORK/current" \
    --index "$WORK/index" --out "$WORK/server.out" --err "$WORK/server.err"
  SERVER=$NOSTERM_PID
  PORT=$NOSTERM_PORT
}

soak_drive() {
  local name=$1 duration=$2 status=0
  shift 2
  timeout "$(( ${duration%.*} + 300 ))" python3 "$@" \
    --server "http://127.0.0.1:$PORT" --link "$WORK/current" \
    --release-a "$WORK/releases/a" --release-b "$WORK/releases/b" --pid "$SERVER" || status=$?
  if ! kill -0 "$SERVER" 2>/dev/null; then echo "$name: the server died" >&2; exit 1; fi
  exit $status
}

# shellcheck shell=bash
# scripts/lib/server.sh — the bash entry of the one nosterm launcher. Its python entry is
# scripts/lib/nosterm_server.py, which this file calls to pick the binary and the port and to
# wait until the server is ready, so that both entries do these the same way.
#
#   . "$(dirname "$0")/lib/server.sh"        # from scripts/ (source it, do not run it)
#   trap nosterm_stop_all EXIT               # or call nosterm_stop_all from your own cleanup
#   nosterm_start main -- --workers 2        # serve data/ on a free loopback port, temp index
#   curl "$NOSTERM_FHIR/metadata"            # NOSTERM_PID PORT BASE FHIR LOG WORKDIR are set
#   nosterm_stop "$NOSTERM_PID"              # or let the trap do it
#
# nosterm_binary            sets NOSTERM_SERVER once: $NOSTERM_BIN, else target/release/nosterm
#                           after `cargo build --release --quiet` (a no-op when fresh). A script
#                           that builds the binary itself may set NOSTERM_SERVER beforehand.
# nosterm_free_port         prints a free loopback port.
# nosterm_start NAME [OPTION...] [-- ARG...]   starts `nosterm serve --addr 127.0.0.1:PORT
#                           --data DATA --index INDEX ARG...` in the background and returns once
#                           it is ready; else prints the log's tail, stops it and returns 1.
#   --port P                the port (default: a free one)
#   --data DIR              default $NOSTERM_DATA, else data/
#   --index DIR             default NAME-index in the server's temp folder (removed at stop)
#   --log FILE              stdout and stderr (default NAME.log in the temp folder)
#   --out FILE, --err FILE  stdout and stderr apart
#   --append                append to the log file(s) rather than start them empty
#   --ready health|listening  GET /health/ready answers 200 (default), or `listening on` in stdout
#   --timeout S             seconds allowed to become ready (default 120)
#   --setsid                in a session of its own: a Ctrl-C reaches the script, not the server
#   --exec                  ARG... is the whole command (a wrapper such as /usr/bin/time, another
#                           server); give --port, the port it listens on
#   The environment passes through: `NOSTERM_ADMIN_TOKEN=t nosterm_start a` or export it.
# nosterm_stop PID          SIGTERM (to a wrapper's children rather than to the wrapper, so that
#                           it can report), SIGKILL after 10 s, reaped; its temp folder removed.
# nosterm_stop_all          every server started here and not stopped yet.

NOSTERM_ROOT=${NOSTERM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NOSTERM_SERVER=${NOSTERM_SERVER:-}
_NOSTERM_PY=$NOSTERM_ROOT/scripts/lib/nosterm_server.py
_NOSTERM_PIDS=()
_NOSTERM_DIRS=()

nosterm_binary() {
  if [[ -z $NOSTERM_SERVER ]]; then
    NOSTERM_SERVER=$(python3 "$_NOSTERM_PY" binary) || return 1
  fi
}

nosterm_free_port() {
  python3 "$_NOSTERM_PY" port
}

nosterm_start() {
  local name=$1 port="" data=${NOSTERM_DATA:-$NOSTERM_ROOT/data} index="" out="" err=""
  local append="" ready=health timeout=120 setsid="" exec=""
  shift
  while (($#)); do
    case $1 in
      --port) port=$2; shift 2 ;;
      --data) data=$2; shift 2 ;;
      --index) index=$2; shift 2 ;;
      --log) out=$2; err=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      --err) err=$2; shift 2 ;;
      --append) append=1; shift ;;
      --ready) ready=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --setsid) setsid=1; shift ;;
      --exec) exec=1; shift ;;
      --) shift; break ;;
      *) echo "nosterm_start: unknown option '$1'" >&2; return 2 ;;
    esac
  done
  local workdir cmd=("$@")
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/nosterm-$name.XXXXXX") || return 1
  if [[ -z $exec ]]; then
    nosterm_binary || { rm -rf "$workdir"; return 1; }
    [[ -n $port ]] || port=$(nosterm_free_port)
    cmd=("$NOSTERM_SERVER" serve --addr "127.0.0.1:$port" --data "$data"
      --index "${index:-$workdir/$name-index}" "$@")
  elif [[ -z $port ]]; then
    echo "nosterm_start: --exec needs --port" >&2; rm -rf "$workdir"; return 2
  fi
  [[ -z $setsid ]] || cmd=(setsid "${cmd[@]}")
  out=${out:-$workdir/$name.log}
  err=${err:-$out}
  # Opened in append mode, so that one file can take both streams without overwrites.
  [[ -n $append ]] || { : >"$out"; : >"$err"; }
  "${cmd[@]}" >>"$out" 2>>"$err" &
  local pid=$!
  _NOSTERM_PIDS+=("$pid")
  _NOSTERM_DIRS+=("$workdir")
  if ! python3 "$_NOSTERM_PY" wait --name "$name" --pid "$pid" --port "$port" --ready "$ready" \
    --log "$out" --tail "$err" --timeout "$timeout"; then
    nosterm_stop "$pid"
    return 1
  fi
  # shellcheck disable=SC2034  # set for the caller
  NOSTERM_PID=$pid NOSTERM_PORT=$port NOSTERM_BASE=http://127.0.0.1:$port \
    NOSTERM_FHIR=http://127.0.0.1:$port/fhir NOSTERM_LOG=$out NOSTERM_WORKDIR=$workdir
}

# _nosterm_running PID — true while it runs (a zombie counts as gone).
_nosterm_running() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

nosterm_stop() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  if _nosterm_running "$pid"; then
    pkill -TERM -P "$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      _nosterm_running "$pid" || break
      sleep 0.05
    done
    if _nosterm_running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
  for i in "${!_NOSTERM_PIDS[@]}"; do
    if [[ ${_NOSTERM_PIDS[i]} == "$pid" ]]; then
      rm -rf "${_NOSTERM_DIRS[i]}"
      unset '_NOSTERM_PIDS[i]' '_NOSTERM_DIRS[i]'
    fi
  done
}

nosterm_stop_all() {
  local pid
  for pid in "${_NOSTERM_PIDS[@]}"; do
    nosterm_stop "$pid"
  done
}

#!/usr/bin/env bash
# bench-http.sh — end-to-end HTTP benchmark of the release nosterm server.
#
# What it measures
#   The real server (`target/release/nosterm serve`, real NOS tables from data/) answering
#   realistic terminology traffic over loopback, driven by wrk (fixed duration, keep-alive
#   connections, closed loop: each connection sends its next request when the previous
#   answer arrived). Four scenarios, each a list of a few hundred distinct requests built
#   from data/ and rotated over (scripts/bench/rotate.lua):
#     cs-validate    GET CodeSystem/$validate-code, every TRE table, by URL and by urn:oid,
#                    with and without display (plus one unknown code per table: result=false)
#     vs-validate    ValueSet/$validate-code on every JDV (J02, J04, J06, J07, J08, J10,
#                    J245, J246), by URL and urn:oid, half GET, half POST Parameters
#                    (plus one unknown code per JDV: result=false)
#     lookup         GET CodeSystem/$lookup, by URL and urn:oid
#     expand-filter  GET ValueSet/$expand?filter=<French prefix>&count=10 on J07, J02, J10
#   and the same load against examples/fixed_handler.rs: actix-web with nosterm's worker
#   count answering a fixed ~230-byte Parameters — the HTTP ceiling of this machine.
#
# How to read the table (printed at the end, also written to bench-out/bench-http-<date>.md)
#   req/s     median over the quiet runs (below) of RUNS runs of DURATION seconds each
#             (min–max in brackets)
#   p50, p99  per-request latency seen by wrk, median over the quiet runs (no correction for
#             coordinated omission: with a closed loop these are service times at that
#             concurrency)
#   errors    all runs summed: HTTP status > 399, plus socket connect/read/write errors and
#             timeouts (wrk --timeout 5s). Anything but 0 deserves a look at the raw output.
#   ratio     nosterm req/s ÷ fixed-handler req/s at the same connection count: the share of
#             the machine's plain HTTP capacity that is left once real work is done.
#   peak RSS  VmHWM of the server process during the run (reset before each run through
#             /proc/PID/clear_refs when the kernel allows it, otherwise lifetime peak);
#             "RSS after" is VmRSS sampled right after the run.
#   CPU       cores used during the run by the server, by wrk, and by everything else on the
#             machine (from /proc: server utime+stime, wrk's as a reaped child, all-core busy
#             time). "other" above BUSY_CORES (0.25) means another program competed: such
#             runs are left out of req/s, latencies, ratio ("quiet runs" k/N). Before each
#             run the script waits up to QUIET_WAIT s for a quiet machine; a row without any
#             quiet run is run again, up to EXTRA_RUNS times; if it still has none, its figures
#             come from all its runs and are marked †: rerun on a quiet machine.
#   wrk runs on the same cores as the server: on a 2-core machine, the 16-connection figures
#   are bounded by both. The ratio to the fixed handler is the figure that travels between
#   machines; absolute req/s do not. With 1 connection every request waits for a wake-up of
#   the server, then of wrk: on a VM with idle cores that wake-up latency dominates, and
#   1-connection figures can rise when the machine is busy. The request lists are small (a
#   few hundred distinct requests), so after the first pass any result cache is hot.
#   Before any load, every request of every list is sent once with curl: each must answer
#   HTTP 200 with JSON; the validate-code lists must answer mostly result=true (counts printed).
#
# Usage
#   scripts/bench-http.sh                       # DURATION=10 RUNS=3, connections 1 and 16
#   DURATION=5 RUNS=1 scripts/bench-http.sh     # quick look
#   scripts/bench-http.sh --data DIR            # another data folder (same as DATA=DIR), e.g.
#                                               # one made by scripts/gen-synthetic; a table of
#                                               # more than 10,000 rows gives 25 times more
#                                               # requests; without J02/J07/J10, every JDV is
#                                               # expanded; give START_TIMEOUT for large data
# Environment
#   DURATION (s, 10)  RUNS (3)  CONNS ("1 16")  WARMUP (s, 2: once per scenario, discarded)
#   BUSY_CORES (0.25)  QUIET_WAIT (s, 30)  EXTRA_RUNS (2)
#   DATA (data)  BUILD_TIMEOUT (s, 1800)  START_TIMEOUT (s, 60)
#   SCENARIOS (the four above)  SCT_RF2 (an RF2 folder served under DATA: adds the scenario
#   sct-validate, ValueSet/$validate-code of its concepts against ECL value sets; see
#   scripts/bench-snomed.sh)
#   NOSTERM_BIN (target/release/nosterm): another build of the server, e.g. an earlier commit's,
#               to compare two builds under the same conditions
#   NOSTERM_ANSWER_CACHE_BYTES (passed to the server; 0 measures every request worked out anew)
#   TOTAL_TIMEOUT (s, computed from the above; bounds everything after the build)
#
# Needs: bash, python3 (stdlib), curl, cargo; installs wrk with apt-get when missing
# (falls back to `cargo install oha`, GET requests only). Loopback only.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-"1 16"}
WARMUP=${WARMUP:-2}
DATA=${DATA:-data}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
START_TIMEOUT=${START_TIMEOUT:-60}
BUSY_CORES=${BUSY_CORES:-0.25}   # a run during which other programs used more is not "quiet"
QUIET_WAIT=${QUIET_WAIT:-30}
EXTRA_RUNS=${EXTRA_RUNS:-2}
SCENARIOS=${SCENARIOS:-cs-validate vs-validate lookup expand-filter}
FIXED=fixed-handler
# The fixed handler replays the vs-validate list (GET and POST mixed); it ignores the content.
FIXED_LIST=vs-validate

STAMP=$(date +%Y%m%d-%H%M%S)
OUT_DIR=$ROOT/bench-out
REPORT=$OUT_DIR/bench-http-$STAMP.md
RAW=$OUT_DIR/bench-http-$STAMP.raw   # wrk outputs, request lists, curl answers, server logs
WORK=$(mktemp -d /tmp/bench-http.XXXXXX)

NOSTERM_PID="" NOSTERM_BASE="" STARTUP_HWM_KB=""
FIXED_PID="" FIXED_BASE=""
WATCHDOG_PID=""
LOADGEN=""

log() { printf '[bench-http %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- processes -------------------------------------------------------------------------

# The servers are started and stopped by scripts/lib/server.sh (nosterm_start, nosterm_stop_all).
# shellcheck source=scripts/lib/server.sh
. "$ROOT/scripts/lib/server.sh"

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $WATCHDOG_PID ]]; then
        kill -TERM "$WATCHDOG_PID" 2>/dev/null || true
        wait "$WATCHDOG_PID" 2>/dev/null || true
    fi
    nosterm_stop_all
    rm -rf "$WORK"
    ((rc == 0)) || log "stopped (exit $rc); servers killed; partial output in $RAW"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'exit 143' TERM

# Sends TERM to this script after $1 seconds (the EXIT trap then kills the servers).
start_watchdog() {
    local limit=$1 main=$$
    (
        sleep "$limit" &
        sleeper=$!
        trap 'kill $sleeper 2>/dev/null; exit 0' TERM
        wait "$sleeper"
        echo "[bench-http] total time limit of ${limit}s reached, stopping" >&2
        kill -TERM "$main"
    ) &
    WATCHDOG_PID=$!
}

# start_server NAME [nosterm_start OPTION...] [-- ARG...] — nosterm_start in a session of its
# own, so that a Ctrl-C reaches this script (whose trap stops the servers) and wrk, not the
# servers (actix-web would shut down on SIGINT at once); ready at its "listening on" line;
# logs in $RAW/NAME.std*. Sets NOSTERM_PID and NOSTERM_BASE (nosterm_start).
start_server() {
    local name=$1
    shift
    nosterm_start "$name" --setsid --ready listening --timeout "$START_TIMEOUT" \
        --out "$RAW/$name.stdout" --err "$RAW/$name.stderr" "$@" ||
        die "$name did not start (logs in $RAW/$name.std*)"
    log "$name (pid $NOSTERM_PID): $(grep -m1 'listening on' "$RAW/$name.stdout")"
}

# proc_status_kb PID FIELD — e.g. VmHWM, VmRSS (kB); empty if unreadable.
proc_status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# cpu_snapshot PID — "SERVER LOADGEN BUSY TOTAL" CPU clock ticks so far: utime+stime of the
# server, of this script's reaped children (the load generator, once it has exited), busy
# time of all cores and busy+idle time of all cores (from /proc/stat; TOTAL ÷ cores is the
# wall-clock time in ticks, measured at the same instant as the rest).
cpu_snapshot() {
    local server self
    server=$(cat "/proc/$1/stat") && server=${server##*") "}   # fields now start at the 3rd
    self=$(cat "/proc/$$/stat") && self=${self##*") "}
    printf '%s %s %s\n' "$(awk '{ print $12 + $13 }' <<<"$server")" \
        "$(awk '{ print $14 + $15 }' <<<"$self")" \
        "$(machine_ticks)"
}

# machine_ticks — "BUSY TOTAL" clock ticks of all cores so far (see cpu_snapshot).
machine_ticks() {
    awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat
}

# reset_peak_rss PID — restarts VmHWM at the current RSS (Linux >= 4.0); "yes" if done.
reset_peak_rss() {
    if echo 5 >"/proc/$1/clear_refs" 2>/dev/null; then echo yes; else echo no; fi
}

# --- setup -----------------------------------------------------------------------------

ensure_load_generator() {
    if ! command -v wrk >/dev/null; then
        log "wrk missing: apt-get install -y wrk"
        { timeout --foreground 300 apt-get install -y wrk || { timeout --foreground 300 apt-get update &&
            timeout --foreground 300 apt-get install -y wrk; }; } >"$RAW/apt.log" 2>&1 ||
            log "apt-get failed: $(tail -n 3 "$RAW/apt.log")"
    fi
    if command -v wrk >/dev/null; then
        LOADGEN=wrk
    else
        PATH=$HOME/.cargo/bin:$PATH
        if ! command -v oha >/dev/null; then
            log "falling back to: cargo install --locked oha"
            timeout --foreground 1200 cargo install --locked oha >&2 || true
        fi
        command -v oha >/dev/null ||
            die "no load generator: neither 'apt-get install wrk' nor 'cargo install oha' worked"
        LOADGEN=oha
        log "oha fallback: only the GET requests of each list are replayed"
    fi
    log "load generator: $("$LOADGEN" --version 2>&1 | head -n 1)"
}

build() {
    log "cargo build --release (nosterm + example fixed_handler), at most ${BUILD_TIMEOUT}s"
    timeout --foreground "$BUILD_TIMEOUT" cargo build --release --bin nosterm --example fixed_handler ||
        die "cargo build --release failed or timed out"
}

# make_requests CATALOG_DIR — writes $WORK/<scenario>.tsv: METHOD, PATH, BODY, EXPECT, NOTE.
# EXPECT: true / false (validate-code result), retired (either), 200 (lookup, expand).
make_requests() {
    python3 - "$1" "$WORK" <<'PY'
import csv, json, os, re, sys
from urllib.parse import quote, urlencode

data_dir, out_dir = sys.argv[1], sys.argv[2]
OID = re.compile(r"[0-2](\.\d+)+")

def rows(path, limit=20000):
    """The rows of a CSV; of a larger table, about `limit` rows evenly spread over it (the
    request lists need a sample, not a million rows in memory)."""
    with open(path, "rb") as f:
        step = max(1, (sum(1 for _ in f) - 1) // limit)
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [r for i, r in enumerate(csv.DictReader(f)) if i % step == 0]

def table_share(t, k):
    """Requests per table: k, or 25 k for a large table (more than 10,000 rows)."""
    return k * 25 if int(t.get("rows") or 0) > 10000 else k

catalog = rows(os.path.join(data_dir, "catalog.csv"))
oid_of = {t["url"]: t["oid"] for t in catalog if OID.fullmatch(t["oid"] or "")}

def table_file(t):
    prefix = {"TRE": "CodeSystem-", "JDV": "ValueSet-"}.get(t["kind"])
    if prefix is None:
        return None
    path = os.path.join(data_dir, prefix + t["url"].rstrip("/").rsplit("/", 1)[-1] + ".csv")
    return path if os.path.exists(path) else None

def spread(items, k):
    """k items evenly spread over the list (all of them if k >= len)."""
    if len(items) <= k:
        return list(items)
    return [items[i * len(items) // k] for i in range(k)]

def interleave(lists):
    """Round robin over the per-table lists, so consecutive requests hit different tables."""
    out, i = [], 0
    while any(i < len(l) for l in lists):
        out += [l[i] for l in lists if i < len(l)]
        i += 1
    return out

def get(op, params):
    return ("GET", f"/fhir/{op}?" + urlencode(params, quote_via=quote), "")

def post(op, params):
    body = {"resourceType": "Parameters", "parameter": params}
    return ("POST", f"/fhir/{op}", json.dumps(body, ensure_ascii=False, separators=(",", ":")))

def oid_or_url(url, use_oid):
    return f"urn:oid:{oid_of[url]}" if use_oid and url in oid_of else url

tre = [(t, rows(f)) for t in catalog if t["kind"] == "TRE" and (f := table_file(t))]
jdv = [(t, rows(f)) for t in catalog if t["kind"] == "JDV" and (f := table_file(t))]
missing = [t["name"] for t in catalog if t["kind"] in ("TRE", "JDV") and not table_file(t)]
if missing:
    print("no CSV for: " + ", ".join(missing), file=sys.stderr)
if not tre or not jdv:
    sys.exit(f"no TRE or JDV table found from {data_dir}/catalog.csv")

scenarios = {}

# CodeSystem/$validate-code: each chosen code twice (with and without display), by URL or
# urn:oid in turn; one unknown code per table (result=false is the right answer).
per_table = []
for ti, (t, concepts) in enumerate(tre):
    reqs = []
    for ci, c in enumerate(spread(concepts, table_share(t, 8))):
        expect = "true" if c.get("status", "active") == "active" else "retired"
        for with_display in (False, True):
            use_oid = (ti + ci + with_display) % 2 == 1
            p = {"url": oid_or_url(t["url"], use_oid), "code": c["code"]}
            if with_display:
                p["display"] = c["display"]
            note = f'{t["name"]} {c["code"]} {"oid" if p["url"].startswith("urn:") else "url"}' + (" +display" if with_display else "")
            reqs.append(get("CodeSystem/$validate-code", p) + (expect, note))
    p = {"url": oid_or_url(t["url"], ti % 2 == 0), "code": f"ZZ-UNKNOWN-{ti}"}
    reqs.append(get("CodeSystem/$validate-code", p) + ("false", f'{t["name"]} unknown code'))
    per_table.append(reqs)
scenarios["cs-validate"] = interleave(per_table)

# ValueSet/$validate-code: members of every JDV, four variants in turn
# (GET url / POST url / GET urn:oid / POST urn:oid); one unknown code per JDV.
per_table, n = [], 0
for t, members in jdv:
    reqs = []
    for m in spread(members, table_share(t, 60)) + [None]:
        system = m["system"] if m else members[0]["system"]
        code, expect = (m["code"], "true") if m else (f"ZZ-UNKNOWN-{n}", "false")
        v = n % 4
        n += 1
        vs = oid_or_url(t["url"], v >= 2)
        cs = oid_or_url(system, v == 2)
        if v % 2 == 0:
            req = get("ValueSet/$validate-code", {"url": vs, "system": cs, "code": code})
        else:
            req = post("ValueSet/$validate-code", [
                {"name": "url", "valueUri": vs},
                {"name": "coding", "valueCoding": {"system": cs, "code": code}},
            ])
        note = f'{t["name"]} {code} {req[0]} vs:{"oid" if vs.startswith("urn:") else "url"} cs:{"oid" if cs.startswith("urn:") else "url"}'
        reqs.append(req + (expect, note))
    per_table.append(reqs)
scenarios["vs-validate"] = interleave(per_table)

# CodeSystem/$lookup: by URL and urn:oid in turn.
per_table = []
for ti, (t, concepts) in enumerate(tre):
    reqs = []
    for ci, c in enumerate(spread(concepts, table_share(t, 12))):
        system = oid_or_url(t["url"], (ti + ci) % 2 == 1)
        reqs.append(get("CodeSystem/$lookup", {"system": system, "code": c["code"]}) + ("200", f'{t["name"]} {c["code"]}'))
    per_table.append(reqs)
scenarios["lookup"] = interleave(per_table)

# ValueSet/$expand with a typed prefix, as a code picker does.
prefixes = ["cr", "compte", "lettre", "radio", "kine", "echo", "consult", "hosp", "centre",
            "imag", "bio", "ordo", "attest", "synth", "pdf"]
expand_sets = [t for t, _ in jdv if re.search(r"JDV_J(07|02|10)-", t["name"])] or [t for t, _ in jdv]
scenarios["expand-filter"] = [
    get("ValueSet/$expand", {"url": t["url"], "filter": f, "count": "10"}) + ("200", f'{t["name"]} filter={f}')
    for f in prefixes for t in expand_sets
]

# ValueSet/$validate-code against ECL value sets of a SNOMED CT edition (SCT_RF2: its RF2
# folder, also under DATA): active concepts spread over the release, in and out of the sets.
sct_rf2 = os.environ.get("SCT_RF2")
if sct_rf2:
    import glob
    concept_file = glob.glob(os.path.join(sct_rf2, "Terminology", "sct2_Concept_Snapshot*.txt"))[0]
    with open(concept_file, encoding="utf-8") as f:
        active = [line.split("\t")[0] for i, line in enumerate(f) if i and line.split("\t")[2] == "1"]
    ecls = ["<< 404684003", "<< 404684003 : 363698007 = *", "< 71388002", "<< 123037004 OR << 71388002"]
    reqs = []
    for i, code in enumerate(spread(active, 300)):
        url = "http://snomed.info/sct?fhir_vs=ecl/" + ecls[i % len(ecls)]
        reqs.append(get("ValueSet/$validate-code", {"url": url, "system": "http://snomed.info/sct", "code": code}) + ("retired", f"{ecls[i % len(ecls)]} {code}"))
    scenarios["sct-validate"] = reqs

for name, reqs in scenarios.items():
    with open(os.path.join(out_dir, f"{name}.tsv"), "w", encoding="utf-8") as f:
        for r in reqs:
            assert not any("\t" in x or "\n" in x for x in r), r
            f.write("\t".join(r) + "\n")
    print(f"{name}: {len(reqs)} requests", file=sys.stderr)
PY
}

# sanity_check SCENARIO BASE_URL — sends every request of the list once with curl; the first
# must be HTTP 200 + JSON, the others are counted. Appends a summary to $WORK/sanity.md.
sanity_check() {
    local scenario=$1 base=$2 list=$WORK/$1.tsv dir=$RAW/answers/$1
    mkdir -p "$dir"
    local i=0 line method path body
    while IFS= read -r line; do
        # split by hand: `read` with IFS=tab would merge the empty BODY field of GETs
        method=${line%%$'\t'*} && line=${line#*$'\t'}
        path=${line%%$'\t'*} && line=${line#*$'\t'}
        body=${line%%$'\t'*}
        i=$((i + 1))
        local args=(-sg --max-time 10 -X "$method" -H 'Accept: application/fhir+json'
            -o "$dir/$i.json" -w '%{http_code}\t%{content_type}\n')
        [[ -z $body ]] || args+=(-H 'Content-Type: application/fhir+json' --data-binary "$body")
        local answer
        answer=$(curl "${args[@]}" "$base$path") || answer=$'000\tcurl-failed'
        printf '%s\n' "$answer" >>"$dir/status.tsv"
    done <"$list"
    python3 - "$scenario" "$list" "$dir" >>"$WORK/sanity.md" <<'PY'
import collections, json, sys
scenario, list_path, answers = sys.argv[1:4]
reqs = [l.rstrip("\n").split("\t") for l in open(list_path, encoding="utf-8")]
status = [l.rstrip("\n").split("\t") for l in open(f"{answers}/status.tsv", encoding="utf-8")]
codes, not_json, results, odd, empty = collections.Counter(), 0, collections.Counter(), [], []
first_ok = True
for i, (req, (code, ctype)) in enumerate(zip(reqs, status), 1):
    expect, note = req[3], req[4]
    codes[code] += 1
    try:
        body = json.load(open(f"{answers}/{i}.json", encoding="utf-8"))
    except Exception:
        body = None
        not_json += 1
    if i == 1 and (code != "200" or body is None):
        first_ok = False
    if code != "200" or body is None:
        msg = json.dumps(body, ensure_ascii=False)[:200] if body else "(not JSON)"
        odd.append(f"HTTP {code} {note}: {msg}")
        continue
    params = {p.get("name"): p for p in body.get("parameter", [])} if isinstance(body, dict) else {}
    if expect in ("true", "false", "retired"):
        got = params.get("result", {}).get("valueBoolean")
        results[(expect, got)] += 1
        if expect != "retired" and str(got).lower() != expect:
            odd.append(f"expected result={expect}, got {got}: {note}: {params.get('message', {}).get('valueString', '')}")
    elif scenario == "expand-filter":
        exp = body.get("expansion", {})
        results["empty expansion" if not exp.get("contains") else "non-empty expansion"] += 1
        if not exp.get("contains"):
            table, filt = note.split(" filter=")
            empty.append(f'{table.split("-", 1)[0].removeprefix("JDV_")} "{filt}"')
    else:
        results[body.get("resourceType")] += 1
print(f"### {scenario}: {len(reqs)} requests")
print(f"- HTTP status: {dict(codes)}; not JSON: {not_json}")
if any(isinstance(k, tuple) for k in results):
    true = sum(v for (e, g), v in results.items() if g is True)
    false = sum(v for (e, g), v in results.items() if g is False)
    other = sum(results.values()) - true - false
    print(f"- result=true: {true}, result=false: {false}" + (f", no result: {other}" if other else ""))
    print("- by expectation (expected, got): " + ", ".join(f"{e}/{g}: {v}" for (e, g), v in sorted(results.items(), key=str)))
else:
    print("- answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(results.items(), key=str)))
if empty:
    print("- empty expansions (no member matches; check the data before blaming search): " + ", ".join(empty))
if odd:
    print(f"- {len(odd)} unexpected answers, first ones:")
    for line in odd[:8]:
        print(f"  - {line}")
print()
if not first_ok:
    print(f"FIRST-REQUEST-FAILED {scenario}", file=sys.stderr)
    sys.exit(3)
PY
}

# --- load ------------------------------------------------------------------------------

# load_run TARGET SCENARIO LIST PID BASE CONNS SECONDS RUN — one load generator run;
# appends a line to $WORK/results.tsv (RUN=warmup: discarded).
load_run() {
    local target=$1 scenario=$2 list=$3 pid=$4 base=$5 conns=$6 secs=$7 run=$8
    local threads=$((conns < 2 ? conns : 2))
    local raw=$RAW/load/$target-$scenario-c$conns-$run.txt
    mkdir -p "$RAW/load"
    local reset cpu0 cpu1
    reset=$(reset_peak_rss "$pid")
    cpu0=$(cpu_snapshot "$pid")
    if [[ $LOADGEN == wrk ]]; then
        timeout --foreground -k 5 $((secs + 30)) \
            wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 5s --latency \
            -s "$ROOT/scripts/bench/rotate.lua" "$base" -- "$list" >"$raw" 2>&1 ||
            die "wrk failed ($target $scenario c$conns): $(tail -n 3 "$raw")"
    else
        oha_run "$list" "$base" "$conns" "$secs" >"$raw" 2>&1 ||
            die "oha failed ($target $scenario c$conns): $(tail -n 3 "$raw")"
    fi
    cpu1=$(cpu_snapshot "$pid")
    [[ $run != warmup ]] || return 0
    local line
    line=$(grep -m1 '^BENCH ' "$raw") || die "no BENCH line in $raw"
    local hwm rss cpu
    hwm=$(proc_status_kb "$pid" VmHWM)
    rss=$(proc_status_kb "$pid" VmRSS)
    # cores used during the run: server, load generator, and everything else on the machine
    cpu=$(awk -v n="$(nproc)" -v a="$cpu0" -v b="$cpu1" 'BEGIN {
        split(a, x, " "); split(b, y, " "); w = (y[4] - x[4]) / n   # wall time, in ticks
        srv = (y[1] - x[1]) / w; gen = (y[2] - x[2]) / w; other = (y[3] - x[3]) / w - srv - gen
        printf "srv_cores=%.2f gen_cores=%.2f other_cores=%.2f", srv, gen, (other > 0 ? other : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\thwm_kb=%s rss_kb=%s %s hwm_reset=%s\n' \
        "$target" "$scenario" "$conns" "$run" "${line#BENCH }" "$hwm" "$rss" "$cpu" "$reset" \
        >>"$WORK/results.tsv"
    log "$(printf '%-14s %-13s c=%-3s run %s: %s, other programs %s cores' "$target" "$scenario" "$conns" "$run" \
        "$(sed -E 's/.*rps=([0-9.]+).*p50_us=([0-9]+).*p99_us=([0-9]+).*/\1 req\/s, p50 \2 µs, p99 \3 µs/' <<<"$line")" \
        "${cpu##*other_cores=}")"
}

# oha fallback: GET requests only, JSON summary turned into the same BENCH line.
oha_run() {
    local list=$1 base=$2 conns=$3 secs=$4 urls=$WORK/oha-urls.txt
    awk -F '\t' -v b="$base" '$1 == "GET" { print b $2 }' "$list" >"$urls"
    [[ -s $urls ]] || { echo "no GET request in $list"; return 1; }
    timeout --foreground -k 5 $((secs + 30)) \
        oha --no-tui --output-format json -z "${secs}s" -c "$conns" --urls-from-file "$urls" \
        -H 'Accept: application/fhir+json' >"$WORK/oha.json"
    python3 - "$WORK/oha.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s, p = r["summary"], r["latencyPercentiles"]
n = sum(r["statusCodeDistribution"].values())
bad = sum(v for k, v in r["statusCodeDistribution"].items() if int(k) > 399)
errs = sum(r["errorDistribution"].values())
us = lambda x: int((x or 0) * 1e6)
print(f"BENCH requests={n} duration_us={us(s['total'])} rps={s['requestsPerSec']:.1f} "
      f"p50_us={us(p['p50'])} p90_us={us(p['p90'])} p99_us={us(p['p99'])} max_us={us(s['slowest'])} "
      f"mean_us={us(s['average'])} err_status={bad} err_connect={errs} err_read=0 err_write=0 err_timeout=0")
PY
}

# --- report ----------------------------------------------------------------------------

report() {
    python3 - "$WORK/results.tsv" "$FIXED" "$SCENARIOS" "$BUSY_CORES" <<'PY'
import collections, statistics, sys
path, fixed, scenarios, busy_limit = sys.argv[1], sys.argv[2], sys.argv[3].split(), float(sys.argv[4])
runs = collections.defaultdict(list)
for line in open(path, encoding="utf-8"):
    target, scenario, conns, run, fields, extra = line.rstrip("\n").split("\t")
    kv = dict(x.split("=", 1) for x in (fields + " " + extra).split())
    runs[(target if target == fixed else scenario, int(conns))].append(kv)

def num(kv, k):
    try:
        return float(kv[k])
    except (KeyError, ValueError):
        return float("nan")

def median(rs, k):
    return statistics.median(num(r, k) for r in rs)

def ms(us):
    return f"{us / 1000:.2f} ms"

def counted(rs):
    """The runs the figures come from: those during which other programs stayed under
    busy_limit cores; all of them (flagged) if none did."""
    quiet = [r for r in rs if num(r, "other_cores") <= busy_limit]
    return (quiet, "") if quiet else (rs, " †")

fixed_rps = {c: median(counted(rs)[0], "rps") for (s, c), rs in runs.items() if s == fixed}
print("| scenario | conns | req/s (min–max) | p50 | p99 | errors | ratio to fixed | peak RSS MB "
      "| RSS after MB | CPU cores server / wrk / other | quiet runs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
flagged = False
for scenario in scenarios + [fixed]:
    for conns in sorted(c for s, c in runs if s == scenario):
        rs = runs[(scenario, conns)]
        used, flag = counted(rs)
        flagged |= bool(flag)
        rps = [num(r, "rps") for r in used]
        med = statistics.median(rps)
        errors = collections.Counter()
        for r in rs:                       # errors: every run, quiet or not
            for k in r:
                if k.startswith("err_") and int(r[k]):
                    errors[k[4:]] += int(r[k])
        err = str(sum(errors.values()))
        if errors:
            err += " (" + ", ".join(f"{k} {v}" for k, v in errors.items()) + ")"
        ratio = f"{med / fixed_rps[conns]:.2f}" if fixed_rps.get(conns) else "n/a"
        hwm = max(num(r, "hwm_kb") for r in rs) / 1024
        rss = num(rs[-1], "rss_kb") / 1024
        cpu = " / ".join(f"{median(used, k):.2f}" for k in ("srv_cores", "gen_cores", "other_cores"))
        spread = f" ({min(rps):,.0f}–{max(rps):,.0f})" if len(used) > 1 else ""
        print(f"| {scenario} | {conns} | {med:,.0f}{spread}{flag} | {ms(median(used, 'p50_us'))} "
              f"| {ms(median(used, 'p99_us'))} | {err} | {ratio} | {hwm:.1f} | {rss:.1f} | {cpu} "
              f"| {len([r for r in rs if num(r, 'other_cores') <= busy_limit])}/{len(rs)} |")
print(f"\nreq/s, latencies, ratio and CPU come from the quiet runs only (other programs under "
      f"{busy_limit} cores); errors and RSS from every run.")
if flagged:
    print("† no quiet run for this row: figures from all runs, skewed by other programs; rerun on a quiet machine.")
if {r.get("hwm_reset") for rs in runs.values() for r in rs} != {"yes"}:
    print("peak RSS: /proc/PID/clear_refs not writable here, so it is the lifetime peak of the process.")
PY
}

git_state() {
    if git rev-parse -q --verify HEAD >/dev/null 2>&1; then
        echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml || echo ' + uncommitted changes')"
    else
        echo "none yet (working tree)"
    fi
}

# --- main ------------------------------------------------------------------------------

start_servers() {
    local port
    NOSTERM_SERVER=${NOSTERM_BIN:-$ROOT/target/release/nosterm}   # built by build()
    start_server nosterm --data "$DATA" --index "$WORK/index"
    local nosterm_pid=$NOSTERM_PID nosterm_base=$NOSTERM_BASE
    STARTUP_HWM_KB=$(proc_status_kb "$nosterm_pid" VmHWM)
    port=$(nosterm_free_port)
    start_server "$FIXED" --port "$port" --exec -- \
        "$ROOT/target/release/examples/fixed_handler" --addr "127.0.0.1:$port"
    FIXED_PID=$NOSTERM_PID
    FIXED_BASE=$NOSTERM_BASE
    NOSTERM_PID=$nosterm_pid
    NOSTERM_BASE=$nosterm_base
}

sanity_checks() {
    local scenario
    : >"$WORK/sanity.md"
    for scenario in $SCENARIOS; do
        log "sanity check: $scenario ($(wc -l <"$WORK/$scenario.tsv") requests, curl)"
        sanity_check "$scenario" "$NOSTERM_BASE" ||
            die "first $scenario request is not HTTP 200 + JSON; answers in $RAW/answers/$scenario"
    done
    cat "$WORK/sanity.md" >&2
}

# machine_busy_cores SECONDS — cores busy on the whole machine over the next SECONDS.
machine_busy_cores() {
    local before after
    before=$(machine_ticks)
    sleep "$1"
    after=$(machine_ticks)
    awk -v a="$before" -v b="$after" -v n="$(nproc)" 'BEGIN {
        split(a, x, " "); split(b, y, " "); printf "%.2f", n * (y[1] - x[1]) / (y[2] - x[2]) }'
}

# wait_for_quiet — before a run, waits at most QUIET_WAIT s for other programs to use less
# than BUSY_CORES (our servers are idle meanwhile), then measures anyway.
wait_for_quiet() {
    ((QUIET_WAIT > 0)) || return 0
    local deadline=$((SECONDS + QUIET_WAIT)) busy said=""
    while busy=$(machine_busy_cores 1) && ! awk -v b="$busy" -v l="$BUSY_CORES" 'BEGIN { exit !(b <= l) }'; do
        if ((SECONDS >= deadline)); then
            log "machine still busy after ${QUIET_WAIT}s ($busy cores used by others): measuring anyway"
            return 0
        fi
        [[ -n $said ]] || { log "other programs use $busy cores: waiting up to ${QUIET_WAIT}s"; said=1; }
        sleep 2
    done
}

# run_row SCENARIO CONNS RUN — one measured run of one table row (SCENARIO may be $FIXED).
run_row() {
    local scenario=$1 conns=$2 run=$3
    wait_for_quiet
    if [[ $scenario == "$FIXED" ]]; then
        load_run "$FIXED" "$FIXED" "$WORK/$FIXED_LIST.tsv" "$FIXED_PID" "$FIXED_BASE" "$conns" "$DURATION" "$run"
    else
        load_run nosterm "$scenario" "$WORK/$scenario.tsv" "$NOSTERM_PID" "$NOSTERM_BASE" "$conns" "$DURATION" "$run"
    fi
}

# quiet_runs SCENARIO CONNS — how many runs of that row had other programs under BUSY_CORES.
quiet_runs() {
    awk -F '\t' -v s="$1" -v c="$2" -v limit="$BUSY_CORES" '
        $2 == s && $3 == c { split($6, a, "other_cores="); if (a[2] + 0 <= limit) n++ }
        END { print n + 0 }' "$WORK/results.tsv"
}

# RUNS rounds over every row, the fixed handler last in each round, so that a slow drift of
# the machine spreads over all rows; then up to EXTRA_RUNS more runs of each row that has
# no quiet run yet.
run_loads() {
    local scenario run conns
    : >"$WORK/results.tsv"
    if ((WARMUP > 0)); then
        for scenario in $SCENARIOS; do
            load_run nosterm "$scenario" "$WORK/$scenario.tsv" "$NOSTERM_PID" "$NOSTERM_BASE" 16 "$WARMUP" warmup
        done
        load_run "$FIXED" "$FIXED" "$WORK/$FIXED_LIST.tsv" "$FIXED_PID" "$FIXED_BASE" 16 "$WARMUP" warmup
    fi
    for run in $(seq "$RUNS"); do
        for scenario in $SCENARIOS $FIXED; do
            for conns in $CONNS; do
                run_row "$scenario" "$conns" "$run"
            done
        done
    done
    for run in $(seq "$EXTRA_RUNS"); do
        for scenario in $SCENARIOS $FIXED; do
            for conns in $CONNS; do
                (($(quiet_runs "$scenario" "$conns") > 0)) || run_row "$scenario" "$conns" "extra$run"
            done
        done
    done
    cp "$WORK/results.tsv" "$RAW/"
}

# write_report CATALOG LOAD_BEFORE — prints the table and writes $REPORT.
write_report() {
    local catalog=$1 load_before=$2 table
    table=$(report)
    {
        echo "# nosterm HTTP benchmark, $(date -Iseconds)"
        echo
        echo "- commit: $(git_state)"
        echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -r)"
        echo "- load: $("$LOADGEN" --version 2>&1 | head -n 1 | cut -c1-60); ${RUNS} run(s) × ${DURATION}s per row, threads = min(2, conns), keep-alive, loopback"
        echo "- data: $DATA, $(find "$DATA" -type f | wc -l) files served; request lists from $catalog ($(($(wc -l <"$catalog") - 1)) tables) and its CSVs"
        echo "- nosterm peak RSS after loading: $(awk -v k="$STARTUP_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }') MB"
        echo "- answer cache: ${NOSTERM_ANSWER_CACHE_BYTES:-default (16 MiB)} bytes (NOSTERM_ANSWER_CACHE_BYTES; 0 = off: every request worked out again). The lists are a few hundred distinct requests: with the cache on, nearly every timed request is a repeat"
        echo "- request lists: $(for s in $SCENARIOS; do printf '%s %s, ' "$s" "$(wc -l <"$WORK/$s.tsv")"; done)fixed-handler replays $FIXED_LIST"
        echo "- load average (1, 5, 15 min) before the runs: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "- raw outputs: ${RAW#"$ROOT"/}"
        echo
        echo "$table"
        echo
        echo "## Sanity check (every request once, curl, before the load)"
        echo
        cat "$WORK/sanity.md"
    } >"$REPORT"
    echo
    echo "$table"
    echo
    log "report: ${REPORT#"$ROOT"/}"
}

main() {
    while (($#)); do
        case $1 in
            --data) (($# >= 2)) || die "--data needs a folder"; DATA=$2; shift 2 ;;
            --data=*) DATA=${1#--data=}; shift ;;
            *) die "unknown argument '$1' (usage in the header of $0)" ;;
        esac
    done
    mkdir -p "$OUT_DIR" "$RAW"
    [[ -d $DATA ]] || die "no data folder '$DATA' (run from the project, or set DATA)"
    local catalog
    catalog=$(find -L "$DATA" -name catalog.csv -print -quit)
    [[ -n $catalog ]] || die "no catalog.csv under $DATA: cannot build the request lists"

    ensure_load_generator
    build

    local rows=$((($(wc -w <<<"$SCENARIOS") + 1) * $(wc -w <<<"$CONNS")))
    local runs_max=$(((RUNS + EXTRA_RUNS) * rows))
    local limit=${TOTAL_TIMEOUT:-$((runs_max * (DURATION + QUIET_WAIT + 15) + 5 * (WARMUP + 10) + START_TIMEOUT * 2 + 300))}
    start_watchdog "$limit"
    log "$((RUNS * rows)) runs of ${DURATION}s (+ at most $((EXTRA_RUNS * rows)) if the machine is busy); everything below bounded to ${limit}s"

    make_requests "$(dirname "$catalog")"
    cp "$WORK"/*.tsv "$RAW/"
    start_servers
    local load_before
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    log "load average before the runs: $load_before (other work on these cores skews every figure)"
    sanity_checks
    run_loads
    write_report "$catalog" "$load_before"
}

# one line, so that bash never reads past it (safe even if this file is edited while running)
main "$@"; exit "$?"

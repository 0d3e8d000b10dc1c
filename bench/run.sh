#!/usr/bin/env bash
# Throughput benchmark: notcreepy vs ndpiReader vs tshark on one large capture,
# each pinned to one core. See bench/README.md. Usually run as `npm run bench`.
#
# Environment:
#   CORPUS               corpus directory (default: <repo>/../shared/corpus)
#   BENCH_INPUT          capture inside CORPUS to replicate (default DERIVED_bench_merged_shared.pcap)
#   BENCH_COPIES         number of rewritten copies to concatenate (default 20)
#   BENCH_REPEAT         runs per tool; the fastest is reported (default 1)
#   BENCH_TOOLS          tools to run, space separated (default "notcreepy ndpiReader tshark")
#   BENCH_CORE           CPU core every tool is pinned to (default 0)
#   BENCH_NOTCREEPY_CMD  replace the notcreepy command (testing only); run with bash -c,
#                        with $FILE (capture) and $DB (database path) exported, e.g.
#                        BENCH_NOTCREEPY_CMD='tcpdump -nn -r "$FILE"'
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

REPEAT="${BENCH_REPEAT:-1}"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer, got '$REPEAT'"
TOOLS="${BENCH_TOOLS:-notcreepy ndpiReader tshark}"
CORE="${BENCH_CORE:-0}"

bench_prepare_capture # sets BENCH_FILE BENCH_PACKETS BENCH_BYTES (or exits 0: no corpus)

[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found. Install it with: apt-get install -y time"
need_cmd taskset util-linux
for t in $TOOLS; do
  case "$t" in
    notcreepy) need_cmd node nodejs ;;
    ndpiReader) need_cmd ndpiReader libndpi-bin ;;
    tshark) need_cmd tshark tshark ;;
    *) die "unknown tool '$t' in BENCH_TOOLS (known: notcreepy ndpiReader tshark)" ;;
  esac
done

RUNS_DIR="$OUT/runs"
rm -rf "$RUNS_DIR"
mkdir -p "$RUNS_DIR"
RUNS_TSV="$OUT/runs.tsv"
printf 'tool\trep\trc\twall_s\tuser_s\tsys_s\tmaxrss_kb\n' >"$RUNS_TSV"

DB="$OUT/bench.db"
export FILE="$BENCH_FILE" DB
if [[ -n "${BENCH_NOTCREEPY_CMD:-}" ]]; then
  NOTCREEPY_LABEL="notcreepy*"
  NOTCREEPY_DESC="STAND-IN: $BENCH_NOTCREEPY_CMD"
  log "WARNING: notcreepy replaced by stand-in command: $BENCH_NOTCREEPY_CMD"
else
  NOTCREEPY_LABEL="notcreepy"
  NOTCREEPY_DESC="node dist/cli/main.js analyze $BENCH_FILE --db $DB"
fi

# Output of each tool: notcreepy -> /dev/null, ndpiReader/tshark -> files we parse.
NDPI_OUT="$OUT/ndpiReader.out"
TSHARK_OUT="$OUT/tshark.out"

tool_cmd() { # prints nothing; fills the CMD array for tool $1
  case "$1" in
    notcreepy)
      if [[ -n "${BENCH_NOTCREEPY_CMD:-}" ]]; then
        CMD=(bash -c "$BENCH_NOTCREEPY_CMD")
      else
        CMD=(node dist/cli/main.js analyze "$BENCH_FILE" --db "$DB")
      fi
      STDOUT=/dev/null ;;
    # No -q: in nDPI 4.2 -q only suppresses the final report (which holds the
    # flow count); packet processing is identical. -n is ignored for pcap
    # files: ndpiReader uses one reader thread per input file.
    ndpiReader) CMD=(ndpiReader -i "$BENCH_FILE"); STDOUT="$NDPI_OUT" ;;
    tshark) CMD=(tshark -r "$BENCH_FILE" -q -z "conv,tcp"); STDOUT="$TSHARK_OUT" ;;
  esac
}

# time_field FILE "Label text" -> value after the last ': '
time_field() { grep -F "$2" "$1" | head -n1 | sed 's/.*: //'; }

run_one() { # run_one TOOL REP
  local tool="$1" rep="$2" tf="$RUNS_DIR/$1.$2.time" err="$OUT/$1.err"
  tool_cmd "$tool"
  if [[ "$tool" == notcreepy ]]; then rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"; fi
  cat "$BENCH_FILE" >/dev/null # warm page cache
  log "run $rep/$REPEAT: $tool"
  local t0 t1 rc=0
  t0="$(date +%s%N)"
  /usr/bin/time -v -o "$tf" taskset -c "$CORE" "${CMD[@]}" >"$STDOUT" 2>"$err" || rc=$?
  t1="$(date +%s%N)"
  local wall user sys rss
  wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
  user="$(time_field "$tf" "User time (seconds)")"
  sys="$(time_field "$tf" "System time (seconds)")"
  rss="$(time_field "$tf" "Maximum resident set size (kbytes)")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$rep" "$rc" "$wall" "${user:-0}" "${sys:-0}" "${rss:-0}" >>"$RUNS_TSV"
  if [[ "$rc" != 0 ]]; then
    log "$tool exited with status $rc; last lines of $err:"
    tail -n 15 "$err" | sed 's/^/    /' >&2
  fi
}

for ((rep = 1; rep <= REPEAT; rep++)); do
  for t in $TOOLS; do run_one "$t" "$rep"; done
done

ndpi_version="$(ndpiReader -h 2>/dev/null | sed -n 's/.*nDPI \([0-9][0-9.]*\).*/\1/p' | head -n1 || true)"
tshark_version="$(tshark --version 2>/dev/null | head -n1 || true)"

BENCH_RESULTS_JSON="$OUT/results.json" \
BENCH_RUNS_TSV="$RUNS_TSV" BENCH_FILE="$BENCH_FILE" BENCH_PACKETS="$BENCH_PACKETS" BENCH_BYTES="$BENCH_BYTES" \
BENCH_COPIES="${BENCH_COPIES:-20}" BENCH_REPEAT="$REPEAT" BENCH_CORE="$CORE" BENCH_ROOT="$ROOT" \
NOTCREEPY_LABEL="$NOTCREEPY_LABEL" NOTCREEPY_DESC="$NOTCREEPY_DESC" NOTCREEPY_DB="$DB" \
NOTCREEPY_STANDIN="${BENCH_NOTCREEPY_CMD:+1}" \
NDPI_OUT="$NDPI_OUT" TSHARK_OUT="$TSHARK_OUT" NDPI_VERSION="$ndpi_version" TSHARK_VERSION="$tshark_version" \
  node "$BENCH_DIR/report.mjs"

#!/usr/bin/env bash
# CPU-profile notcreepy on the bench capture and print the top functions by self time.
#
#   bash bench/profile.sh
#
# Environment:
#   PROFILE_FILE        capture to analyse (default: the bench capture bench/out/bench-<N>x.pcap,
#                       built like bench/run.sh does; CORPUS / BENCH_COPIES apply)
#   PROFILE_TOP         how many functions to list (default 25)
#   PROFILE_INTERVAL_US sampling interval in microseconds (node default: 1000)
#   BENCH_NO_BUILD=1    skip `npm run build`
#   NOTCREEPY_MAIN      entry script (default dist/cli/main.js; testing only)
# Output: bench/out/prof/*.cpuprofile (open in Chrome DevTools > Performance, or
# speedscope) and the summary on stdout.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ -n "${PROFILE_FILE:-}" ]]; then
  [[ -f "$PROFILE_FILE" ]] || die "PROFILE_FILE=$PROFILE_FILE does not exist"
  FILE="$PROFILE_FILE"
else
  bench_prepare_capture # exits 0 with "bench skipped: no corpus" when there is no corpus
  FILE="$BENCH_FILE"
fi

if [[ "${BENCH_NO_BUILD:-}" != 1 ]]; then
  log "npm run build"
  npm run build --silent >&2
fi

MAIN="${NOTCREEPY_MAIN:-dist/cli/main.js}"
[[ -f "$MAIN" ]] || die "$MAIN not found (is the CLI built?)"

PROF_DIR="$OUT/prof"
DB="$OUT/prof.db"
rm -rf "$PROF_DIR"
mkdir -p "$PROF_DIR"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"

node_opts=(--cpu-prof --cpu-prof-dir "$PROF_DIR")
[[ -n "${PROFILE_INTERVAL_US:-}" ]] && node_opts+=(--cpu-prof-interval "$PROFILE_INTERVAL_US")

cat "$FILE" >/dev/null # warm page cache, as in run.sh
log "profiling: node ${node_opts[*]} $MAIN analyze $FILE --db $DB  (pinned to core ${BENCH_CORE:-0})"
rc=0
/usr/bin/time -f '[bench] wall %e s, peak RSS %M kB' \
  taskset -c "${BENCH_CORE:-0}" node "${node_opts[@]}" "$MAIN" analyze "$FILE" --db "$DB" >/dev/null || rc=$?
[[ "$rc" == 0 ]] || log "notcreepy exited with status $rc (summarising whatever profile was written)"

shopt -s nullglob
profiles=("$PROF_DIR"/*.cpuprofile)
((${#profiles[@]})) || die "no .cpuprofile written in $PROF_DIR"
node "$BENCH_DIR/cpuprofile-top.mjs" --top "${PROFILE_TOP:-25}" --root "$ROOT" "${profiles[@]}"
exit "$rc"

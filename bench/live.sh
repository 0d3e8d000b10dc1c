#!/usr/bin/env bash
# Live-capture benchmark of `notcreepy watch` (issue 5's targets). See bench/README.md.
#
# A network namespace made for the run holds a veth pair: tcpreplay (on core 1) writes the
# corpus capture into one end, the daemon (pinned to core 0) captures on the other. Measures:
#   1. the highest packet rate, of LIVE_RATES, at which the daemon loses nothing for
#      LIVE_SECONDS (lost = sent by tcpreplay - analysed; drops in the kernel and in our queue);
#   2. its CPU share of one core at 10 Mbit/s of the same traffic;
#   3. its peak RSS after the whole capture replayed LIVE_LOOPS times at 50,000 packets/s.
# Needs root (ip netns), tcpreplay, taskset; the corpus in ../shared/corpus (or CORPUS=dir).
#
# Environment: LIVE_SECONDS (default 60), LIVE_RATES (default "50000 100000 150000 200000"),
# LIVE_WARMUP (seconds of traffic before measuring, default 15; 0 measures a cold daemon),
# LIVE_LOOPS (default 10), CORPUS, BENCH_INPUT (default DERIVED_bench_merged_shared.pcap),
# LIVE_DAEMON_ARGS (extra options for notcreepy watch, e.g. "--config FILE").
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SECONDS_PER_RATE="${LIVE_SECONDS:-60}"
RATES="${LIVE_RATES:-50000 100000 150000 200000}"
LOOPS="${LIVE_LOOPS:-10}"
corpus="${CORPUS:-$ROOT/../shared/corpus}"
INPUT="$corpus/${BENCH_INPUT:-DERIVED_bench_merged_shared.pcap}"
if [[ ! -f "$INPUT" ]]; then
  echo "live bench skipped: no corpus capture at $INPUT"
  exit 0
fi
[[ "$(id -u)" = 0 ]] || { echo "live bench skipped: needs root for network namespaces"; exit 0; }
need_cmd tcpreplay tcpreplay
need_cmd taskset util-linux
need_cmd capinfos wireshark-common

NS="ncbench-$$"
mkdir -p "$OUT"
WORK="$(mktemp -d "$OUT/live.XXXXXX")"
DAEMON_PID=""
cleanup() {
  [[ -n "$DAEMON_PID" ]] && kill -9 "$DAEMON_PID" 2>/dev/null || true
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$NS" ip link add cap0 type veth peer name inj0
ip netns exec "$NS" ip link set cap0 up
ip netns exec "$NS" ip link set inj0 up
# Segmentation offloads off, as the README asks for a capture interface: libpcap sizes its ring
# in frames of the largest packet the interface can hand over (64 KiB with offloads on).
for ifc in cap0 inj0; do
  ip netns exec "$NS" ethtool -K "$ifc" tso off gso off gro off sg off tx off >/dev/null 2>&1 || true
done

PACKETS="$(capinfos -c -M -T -r "$INPUT" | cut -f2)"
log "input: $INPUT ($PACKETS packets), ${SECONDS_PER_RATE}s per rate, rates: $RATES"

start_daemon() { # start_daemon DB
  # shellcheck disable=SC2086 # LIVE_DAEMON_ARGS is a list of options
  ip netns exec "$NS" taskset -c 0 node "$ROOT/dist/cli/main.js" watch --interface cap0 --db "$1" --no-dashboard ${LIVE_DAEMON_ARGS:-} \
    2>"$WORK/daemon.log" &
  DAEMON_PID=$!
  for _ in $(seq 100); do grep -q 'notcreepy watch started' "$WORK/daemon.log" && return 0; sleep 0.1; done
  die "daemon did not start: $(cat "$WORK/daemon.log")"
}

stop_daemon() {
  kill -TERM "$DAEMON_PID"
  wait "$DAEMON_PID" || die "daemon exited with an error: $(tail -3 "$WORK/daemon.log")"
  DAEMON_PID=""
}

# status DB FIELD...: fields of the daemon's status row, space separated.
status() {
  local db=$1; shift
  node -e '
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2], { readonly: true });
    const s = JSON.parse(db.prepare("SELECT value FROM status WHERE key = ?").get("daemon").value);
    console.log(process.argv.slice(3).map((f) => s[f]).join(" "));
  ' "$ROOT/node_modules/better-sqlite3" "$db" "$@"
}

# cpu_ticks PID: utime + stime in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Packets tcpreplay sent. (It also reports "failed" ones, over the veth's MTU, but those arrive
# on the other end all the same: counted here as sent, checked against what the daemon saw.)
sent_packets() { grep -oE 'Actual: [0-9]+ packets' "$1" | grep -oE '[0-9]+' | head -1; }

# A daemon on a gateway runs for months: measure it warm. LIVE_WARMUP seconds of the same
# traffic at 20,000 packets/s let V8 compile the hot paths, then the counters are read once the
# status row (written every 5 s) has caught up; the measurement is the difference.
WARMUP="${LIVE_WARMUP:-15}"
warm_up() {
  (( WARMUP > 0 )) || return 0
  ip netns exec "$NS" taskset -c 1 tcpreplay -q --pps=20000 --loop=0 --duration="$WARMUP" -i inj0 "$INPUT" >/dev/null 2>&1 || true
  sleep 6
}

# 1. Loss by rate.
best=0
printf '%-10s %10s %10s %10s %10s %8s\n' "pps" "sent" "analysed" "queue" "kernel" "cpu%" >"$WORK/rates.txt"
for rate in $RATES; do
  db="$WORK/rate-$rate.db"
  start_daemon "$db"
  warm_up
  read -r analysed0 queue0 <<<"$(status "$db" packets drops_queue)"
  t0=$(cpu_ticks "$DAEMON_PID")
  ip netns exec "$NS" taskset -c 1 tcpreplay -q --pps="$rate" --loop=0 --duration="$SECONDS_PER_RATE" -i inj0 "$INPUT" >"$WORK/tcpreplay.out" 2>&1 || true
  sleep 2
  t1=$(cpu_ticks "$DAEMON_PID")
  stop_daemon
  sent=$(sent_packets "$WORK/tcpreplay.out")
  read -r analysed queue <<<"$(status "$db" packets drops_queue)"
  analysed=$((analysed - analysed0)); queue=$((queue - queue0))
  kernel=$((sent - analysed - queue))
  (( kernel < 0 )) && kernel=0
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v s="$SECONDS_PER_RATE" 'BEGIN { printf "%.1f", 100 * t / hz / (s + 2) }')
  printf '%-10s %10s %10s %10s %10s %8s\n' "$rate" "$sent" "$analysed" "$queue" "$kernel" "$cpu" >>"$WORK/rates.txt"
  log "$(tail -1 "$WORK/rates.txt")"
  if (( queue == 0 && kernel == 0 )); then best=$rate; fi
  rm -f "$db"*
done

# 2. CPU share at 10 Mbit/s.
db="$WORK/10mbit.db"
start_daemon "$db"
warm_up
t0=$(cpu_ticks "$DAEMON_PID"); w0=$(date +%s.%N)
ip netns exec "$NS" taskset -c 1 tcpreplay -q --mbps=10 --loop=0 --duration="$SECONDS_PER_RATE" -i inj0 "$INPUT" >"$WORK/tcpreplay.out" 2>&1 || true
t1=$(cpu_ticks "$DAEMON_PID"); w1=$(date +%s.%N)
stop_daemon
cpu10=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v a="$w0" -v b="$w1" 'BEGIN { printf "%.1f", 100 * t / hz / (b - a) }')
rm -f "$db"*

# 3. Peak RSS over the whole capture LOOPS times at 50,000 packets/s (a busy household's peak).
db="$WORK/loops.db"
start_daemon "$db"
warm_up
rate=50000
ip netns exec "$NS" taskset -c 1 tcpreplay -q --pps="$rate" --loop="$LOOPS" -i inj0 "$INPUT" >"$WORK/tcpreplay.out" 2>&1 || true
sleep 3
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
stop_daemon
read -r analysed queue <<<"$(status "$db" packets drops_queue)"

echo
echo "notcreepy watch, live capture on a veth (daemon on core 0, tcpreplay on core 1), measured after ${WARMUP} s of warm-up"
echo "input: $(basename "$INPUT"), $PACKETS packets"
echo
cat "$WORK/rates.txt"
echo
echo "highest loss-free rate for ${SECONDS_PER_RATE}s: ${best} packets/s (target >= 150000)"
echo "CPU at 10 Mbit/s: ${cpu10}% of one core (target < 5%)"
echo "peak RSS after ${LOOPS}x the capture at ${rate} pps: $((hwm_kb / 1024)) MB (target < 200 MB); analysed ${analysed}, queue drops ${queue}"

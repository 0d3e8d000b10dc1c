# shellcheck shell=bash
# Shared helpers for bench/run.sh and bench/profile.sh. Source it; do not run it.
#
# After `bench_prepare_capture` succeeds these are set:
#   BENCH_FILE     path of the replicated capture (bench/out/bench-<N>x.pcap)
#   BENCH_PACKETS  number of packets in it
#   BENCH_BYTES    its size in bytes
# If the corpus is missing, bench_prepare_capture prints "bench skipped: no corpus"
# and exits the calling script with status 0.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
OUT="$BENCH_DIR/out"

# Bump when the way the capture is built changes, so cached files are rebuilt.
BENCH_BUILD_FORMAT=1

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

need_cmd() { # need_cmd CMD DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 ||
    die "'$1' not found. Install it with: apt-get install -y $2"
}

bench_prepare_capture() {
  local corpus="${CORPUS:-$ROOT/../shared/corpus}"
  if [[ -d "$corpus" ]]; then corpus="$(cd "$corpus" && pwd)"; fi
  local input_name="${BENCH_INPUT:-DERIVED_bench_merged_shared.pcap}"
  local copies="${BENCH_COPIES:-20}"
  local input="$corpus/$input_name"

  if [[ ! -d "$corpus" || ! -f "$input" ]]; then
    echo "bench: corpus capture not found at $input (set CORPUS=/path/to/corpus to override)"
    echo "bench skipped: no corpus"
    exit 0
  fi
  [[ "$copies" =~ ^[1-9][0-9]*$ ]] || die "BENCH_COPIES must be a positive integer, got '$copies'"

  need_cmd tcprewrite tcpreplay
  need_cmd mergecap wireshark-common
  need_cmd capinfos wireshark-common

  mkdir -p "$OUT"
  BENCH_FILE="$OUT/bench-${copies}x.pcap"
  local keyfile="$BENCH_FILE.key" metafile="$BENCH_FILE.meta"

  # Rewrite options. --seed=<copy> randomises every IPv4/IPv6 address with a
  # per-copy mapping (consistent within a copy, so each copy keeps its own
  # conversations), --skipbroadcast keeps broadcast/multicast IPs (mDNS, SSDP,
  # DHCP) as they are. tcprewrite adjusts the IP/TCP/UDP checksums of packets
  # whose addresses it changed; --fixcsum is not used because it would also
  # "repair" checksums that are wrong in the original corpus.
  local rewrite_opts="--skipbroadcast"

  # Cache key: content of the input + everything that shapes the output.
  local sha key
  sha="$(sha256sum "$input" | cut -d' ' -f1)"
  key="format=$BENCH_BUILD_FORMAT input=$input_name sha256=$sha copies=$copies opts=$rewrite_opts"

  if [[ -f "$BENCH_FILE" && -f "$keyfile" && -f "$metafile" && "$(cat "$keyfile")" == "$key" ]]; then
    # shellcheck disable=SC1090
    source "$metafile"
    if [[ "$(stat -c %s "$BENCH_FILE")" == "${BENCH_BYTES:-}" ]]; then
      log "using cached $BENCH_FILE ($copies copies, $BENCH_PACKETS packets, $BENCH_BYTES bytes)"
      return 0
    fi
    log "cached $BENCH_FILE has the wrong size; rebuilding"
  fi

  log "building $BENCH_FILE from $input x $copies (tcprewrite --seed=1..$copies $rewrite_opts)"
  rm -f "$BENCH_FILE" "$keyfile" "$metafile"
  local tmp="$OUT/.build-$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  local i files=()
  for ((i = 1; i <= copies; i++)); do
    local f
    f="$(printf '%s/copy-%04d.pcap' "$tmp" "$i")"
    # tcprewrite warns on stderr about truncated packets it cannot checksum; keep that in a log.
    # shellcheck disable=SC2086
    tcprewrite --seed="$i" $rewrite_opts --infile="$input" --outfile="$f" 2>>"$tmp/tcprewrite.log" ||
      { cat "$tmp/tcprewrite.log" >&2; die "tcprewrite failed on copy $i"; }
    files+=("$f")
  done
  cp "$tmp/tcprewrite.log" "$OUT/tcprewrite.log"
  log "concatenating $copies copies with mergecap -a -F pcap"
  mergecap -a -F pcap -w "$tmp/merged.pcap" "${files[@]}"

  local in_packets packets bytes
  in_packets="$(capinfos -T -r -M -c "$input" | cut -f2)"
  packets="$(capinfos -T -r -M -c "$tmp/merged.pcap" | cut -f2)"
  [[ "$packets" == "$((in_packets * copies))" ]] ||
    die "merged capture has $packets packets, expected $in_packets x $copies"
  bytes="$(stat -c %s "$tmp/merged.pcap")"

  mv "$tmp/merged.pcap" "$BENCH_FILE"
  printf 'BENCH_PACKETS=%s\nBENCH_BYTES=%s\nBENCH_INPUT_PACKETS=%s\nBENCH_COPIES_BUILT=%s\n' \
    "$packets" "$bytes" "$in_packets" "$copies" >"$metafile"
  printf '%s' "$key" >"$keyfile"
  rm -rf "$tmp"
  trap - EXIT
  BENCH_PACKETS="$packets"
  BENCH_BYTES="$bytes"
  log "built $BENCH_FILE: $packets packets, $bytes bytes"
}

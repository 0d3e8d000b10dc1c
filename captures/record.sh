#!/usr/bin/env bash
# captures/record.sh -- record the project's small, real test captures.
#
# WHAT IT RECORDS
#   Real programs talking across Linux network namespaces that this script
#   creates (and deletes again) on this machine.  No packet ever leaves those
#   namespaces: the only links are veth pairs between them, the gateway has no
#   default route, dnsmasq never forwards (no-resolv), every client gets a
#   literal IP (curl --resolve, openssl -connect IP, ping -n) and runs with an
#   empty environment (so no proxy variables).  Every capture is checked at the
#   end to contain lab addresses only.
#
#   Topology
#     nc-gw    gateway: bridge br-lan 192.168.50.1/24 + fd00:50::1/64
#              (MAC 02:50:00:00:00:01), veth wan0 198.51.100.1/24 +
#              2001:db8:100::1/64 towards nc-inet, forwarding on, no NAT.
#              dnsmasq: DHCP 192.168.50.100-150 on br-lan (fixed leases per
#              MAC), DNS with local records only.  tcpdump runs here.
#     nc-inet  "internet": 198.51.100.2/24, 2001:db8:100::2/64 and servers
#              203.0.113.10  firmware.example.test  HTTP (python http.server)
#              2001:db8:100::10 the same HTTP server over IPv6
#              203.0.113.20  api.example.test, stream.example.test
#                            TLS (openssl s_server -www, TLS 1.2 and 1.3)
#              203.0.113.30  tracker.example.test  HTTP (python http.server)
#              203.0.113.40  time.example.test  NTP-like UDP/123, UDP echo/7
#              2001:db8:100::40  UDP echo/7 over IPv6
#     nc-cam   garden-cam      b8:27:eb:12:34:56 (Raspberry Pi OUI) .101
#     nc-spk   kitchen-speaker 02:42:ac:11:00:02 (locally administered) .102
#     nc-tv    living-room-tv  00:1a:11:5c:7e:01 (Google OUI) .103 and
#              fd00:50::30 (the only device with IPv6)
#   Each device "boots" inside the capture: link up, DHCP with busybox
#   udhcpc (hostname + vendor class), then dig / ping / curl / openssl /
#   NTP traffic.  captures/README.md (written by this script) lists exactly
#   what each device does and the facts tests can assert.
#
#   Outputs in captures/ (see README.md there):
#     lan-basic.pcap        main capture on br-lan, pcap, microseconds
#     lan-basic.ns.pcap     the same packets, pcap, nanoseconds (native)
#     lan-basic.pcapng      the same packets, pcapng (editcap)
#     lan-basic.pcap.gz     gzip of lan-basic.pcap
#     lan-any-sll2.pcap     tcpdump -i any in nc-gw (LINUX_SLL2)
#     lan-any-sll.pcap      tcpdump -i any -y LINUX_SLL in nc-gw, same time
#     lan-multi-if.pcapng   dumpcap -i br-lan -i any, same time (2 IDBs,
#                           EN10MB + Linux cooked)
#     lan-frag.pcap         IPv4 fragments (ICMP, UDP echo, DNS TXT), IPv6
#                           fragment, hop-by-hop and destination-options
#                           headers, on br-lan
#     lan-vlan.pcap         802.1Q VLAN 42 (PCP 5) tagged plus untagged
#                           traffic, captured on the untagged parent br-lan
#                           (this kernel has no 8021q module: the VLAN
#                           interfaces are emulated by vlanshim.py, which
#                           tags/untags in userspace over AF_PACKET)
#   All lab interfaces have checksum offload and TSO/GSO off (ethtool), so
#   captured frames look like frames on a wire: valid checksums, <= MTU.
#
# USAGE
#   sudo captures/record.sh [--install] [--keep-tmp] [MODE...]
#     MODE: basic any frag vlan readme all   (default: all; README.md is
#           rewritten after every run, 'readme' alone only does that)
#     --install   apt-get install -y the missing packages first
#     --keep-tmp  keep the work directory (logs, raw files) for debugging
#   Must run as root.  Idempotent: leftovers of an earlier run (namespaces
#   named nc-gw, nc-inet, nc-cam, nc-spk, nc-tv and their processes) are
#   removed first, and again on exit (trap), also on failure.  Takes ~30 s.
#
# NEEDS (Debian 12 packages)
#   iproute2 tcpdump tshark (wireshark-common: dumpcap editcap capinfos)
#   dnsmasq-base busybox curl bind9-dnsutils openssl python3 iputils-ping
#   ethtool gzip coreutils
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE

# ---------------------------------------------------------------- options
INSTALL=0
KEEP_TMP=0
MODES=()
for arg in "$@"; do
  case "$arg" in
    --install) INSTALL=1 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d'; exit 0 ;;
    basic|any|frag|vlan|readme|all) MODES+=("$arg") ;;
    *) echo "record.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
[ ${#MODES[@]} -eq 0 ] && MODES=(all)
want() { local m; for m in "${MODES[@]}"; do [ "$m" = all ] || [ "$m" = "$1" ] && return 0; done; return 1; }

log() { printf '[record %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, tcpdump)"

# ---------------------------------------------------------------- packages
# binary -> Debian package
declare -A PKG_OF=(
  [ip]=iproute2 [ss]=iproute2 [bridge]=iproute2 [tcpdump]=tcpdump [tshark]=tshark
  [dumpcap]=wireshark-common [editcap]=wireshark-common [capinfos]=wireshark-common
  [dnsmasq]=dnsmasq-base [busybox]=busybox [curl]=curl [dig]=bind9-dnsutils
  [openssl]=openssl [python3]=python3 [ping]=iputils-ping [gzip]=gzip [flock]=util-linux
  [ethtool]=ethtool
)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
missing=()
for b in "${!PKG_OF[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=("${PKG_OF[$b]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$INSTALL" = 1 ]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
  else
    die "missing packages: ${missing[*]} (re-run with --install, or apt-get install -y ${missing[*]})"
  fi
fi
if ! busybox --list | grep -qx udhcpc; then die "busybox has no udhcpc applet"; fi

# one run at a time
exec 9>/run/lock/notcreepy-record.lock
flock -n 9 || die "another record.sh is running"

# ---------------------------------------------------------------- lab facts
NS_GW=nc-gw NS_INET=nc-inet
DEVICES=(cam spk tv)
declare -A DEV_NS=([cam]=nc-cam [spk]=nc-spk [tv]=nc-tv)
declare -A DEV_MAC=([cam]=b8:27:eb:12:34:56 [spk]=02:42:ac:11:00:02 [tv]=00:1a:11:5c:7e:01)
declare -A DEV_HOST=([cam]=garden-cam [spk]=kitchen-speaker [tv]=living-room-tv)
declare -A DEV_VENDOR=([cam]="dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835"
                       [spk]="acme-speaker-fw-2.3"
                       [tv]="android-dhcp-13")
declare -A DEV_IP=([cam]=192.168.50.101 [spk]=192.168.50.102 [tv]=192.168.50.103)
declare -A DEV_PORT_MAC=([cam]=02:50:00:00:01:01 [spk]=02:50:00:00:01:02 [tv]=02:50:00:00:01:03)
TV_IP6=fd00:50::30
ALL_NS=("$NS_GW" "$NS_INET" nc-cam nc-spk nc-tv)

GW_MAC=02:50:00:00:00:01
GW_WAN_MAC=02:50:00:00:00:fe
INET_MAC=02:51:00:00:00:02
GW_IP=192.168.50.1 GW_IP6=fd00:50::1
GW_WAN_IP=198.51.100.1 INET_IP=198.51.100.2
GW_WAN_IP6=2001:db8:100::1 INET_IP6=2001:db8:100::2
FW_IP=203.0.113.10 FW_IP6=2001:db8:100::10
API_IP=203.0.113.20 TRACK_IP=203.0.113.30 TIME_IP=203.0.113.40 ECHO_IP6=2001:db8:100::40
VLAN_ID=42 VLAN_PCP=5 CAM_VLAN_IP=192.168.42.101 GW_VLAN_IP=192.168.42.1

UA_CAM="GardenCam/1.4.2 (Raspberry Pi; rpicam)"
UA_SPK="KitchenSpeaker/2.3 (acme-audio)"
UA_TV="LivingRoomTV/13 (GoogleTV)"

# every address that may appear in a capture (checked at the end)
LAB_ADDR_RE='^(192\.168\.50\.[0-9]+|192\.168\.42\.[0-9]+|198\.51\.100\.[0-9]+|203\.0\.113\.[0-9]+|0\.0\.0\.0|255\.255\.255\.255|fd00:50::[0-9a-f:]*|2001:db8:100::[0-9a-f:]*|fe80::[0-9a-f:]+|ff02::[0-9a-f:]+|::)$'

# ---------------------------------------------------------------- helpers
WORK=""
BG_PIDS=()

# run a command inside a namespace with an empty, proxy-free environment
inns() { local ns=$1; shift; ip netns exec "$ns" env -i PATH="$PATH" HOME=/root LC_ALL=C "$@"; }
# start a long-running process inside a namespace, remember its pid in $LAST_PID
bg() {
  local ns=$1 name=$2; shift 2
  # a simple command (not a function) so that $! is the program itself:
  # ip and env exec into it
  ip netns exec "$ns" env -i PATH="$PATH" HOME=/root LC_ALL=C "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  LAST_PID=$!
  BG_PIDS+=("$LAST_PID")
}

# make an interface behave like a wire: no checksum offload, no TSO/GSO, so
# captured frames carry valid checksums and are never larger than the MTU
wire_like() { inns "$1" ethtool -K "$2" tx off sg off tso off gso off gro off >/dev/null 2>&1 || true; }

ns_exists() { [ -e "/run/netns/$1" ]; }

kill_ns_procs() {
  local ns=$1 pids p i
  ns_exists "$ns" || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -n "$pids" ] || return 0
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for i in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
}

teardown() {
  local ns p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "${ALL_NS[@]}"; do kill_ns_procs "$ns"; done
  for ns in "${ALL_NS[@]}"; do ns_exists "$ns" && ip netns del "$ns" 2>/dev/null || true; done
  BG_PIDS=()
}

on_exit() {
  local rc=$?
  set +e
  teardown
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$KEEP_TMP" = 1 ] || [ "$rc" != 0 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  [ "$rc" = 0 ] || log "FAILED (exit $rc); namespaces and processes cleaned up"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2 i; shift 2
  for ((i = 0; i < limit * 20; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "timed out waiting for $what"
}
listening() { # listening NS tcp|udp ADDR:PORT
  local ns=$1 proto=$2 ap=$3 flag=-Hltn
  [ "$proto" = udp ] && flag=-Hlun
  inns "$ns" ss $flag | awk '{print $4}' | grep -qxF "$ap"
}
dhcp_listening() { inns $NS_GW ss -Hlun | awk '{print $4}' | grep -q ':67$'; }
no_tentative() { [ -z "$(inns "$1" ip -6 addr show dev "$2" tentative)" ]; }

# ---------------------------------------------------------------- files
make_files() {
  WORK=$(mktemp -d /tmp/nc-record.XXXXXX)
  chmod 755 "$WORK"
  mkdir -p "$WORK/www-firmware/firmware" "$WORK/www-firmware/tv" "$WORK/www-tracker" "$WORK/tls" "$WORK/out"

  cat >"$WORK/www-firmware/index.html" <<'EOF'
<!doctype html>
<html><head><title>firmware.example.test</title></head>
<body><h1>Firmware downloads</h1>
<ul><li><a href="/firmware/garden-cam-1.4.3.bin">garden-cam-1.4.3.bin</a></li>
<li><a href="/tv/manifest.json">tv/manifest.json</a></li></ul>
</body></html>
EOF
  # 4096 deterministic bytes
  python3 -c 'import hashlib,sys
b=b"".join(hashlib.sha256(b"garden-cam-1.4.3/%d" % i).digest() for i in range(128))
sys.stdout.buffer.write(b)' >"$WORK/www-firmware/firmware/garden-cam-1.4.3.bin"
  cat >"$WORK/www-firmware/tv/manifest.json" <<'EOF'
{"model":"living-room-tv","channel":"stable","version":"13.0.7","url":"http://firmware.example.test/tv/13.0.7.img"}
EOF
  printf 'ok\n' >"$WORK/www-tracker/collect"
  printf '<html><body>tracker</body></html>\n' >"$WORK/www-tracker/index.html"

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/O=Example Test/CN=api.example.test" \
    -addext "subjectAltName=DNS:api.example.test,DNS:stream.example.test" \
    -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null

  # udhcpc event script: configure address + default route only
  cat >"$WORK/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    echo "ip=$ip router=$router dns=$dns lease=$lease" >"$LEASE_FILE" ;;
esac
exit 0
EOF
  chmod 755 "$WORK/udhcpc.script"

  # UDP servers in nc-inet: NTP-like on 123, echo on 7 (v4 and v6)
  cat >"$WORK/udpsrv.py" <<EOF
import select, socket, struct, time
NTP_EPOCH = 2208988800
def udp(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    return s
def ntp_ts(t):
    t += NTP_EPOCH
    return struct.pack("!II", int(t), int((t % 1) * 2**32))
ntp = udp(socket.AF_INET, "$TIME_IP", 123)
echos = [udp(socket.AF_INET, "$TIME_IP", 7), udp(socket.AF_INET6, "$ECHO_IP6", 7)]
while True:
    ready, _, _ = select.select([ntp] + echos, [], [])
    for s in ready:
        data, peer = s.recvfrom(65535)
        if s is ntp:
            if len(data) < 48:
                continue
            rx = time.time()
            # LI=0 VN=4 mode=4 (server), stratum 2, poll from request, precision -20
            hdr = struct.pack("!BBbb", 0x24, 2, data[2], -20)
            body = struct.pack("!II", 0x00000100, 0x00000200) + socket.inet_aton("$INET_IP")
            pkt = hdr + body + ntp_ts(rx - 16) + data[40:48] + ntp_ts(rx) + ntp_ts(time.time())
            s.sendto(pkt, peer)
        else:
            s.sendto(data, peer)
EOF

  # device-side UDP client helper
  cat >"$WORK/udpcli.py" <<'EOF'
import socket, struct, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
if mode == "ntp":
    t = time.time() + 2208988800
    pkt = bytes([0x23, 0, 6, 0xEC]) + bytes(36) + struct.pack("!II", int(t), int((t % 1) * 2**32))
    s.sendto(pkt, (host, port))
    data, _ = s.recvfrom(1024)
    assert len(data) == 48 and data[0] & 7 == 4, "bad NTP reply"
elif mode == "echo":
    size = int(sys.argv[4])
    payload = (b"notcreepy-fragment-test-" * (size // 24 + 1))[:size]
    s.sendto(payload, (host, port))
    data, _ = s.recvfrom(65535)
    assert data == payload, "echo mismatch"
elif mode in ("dstopts", "hopopts"):
    # one 8-byte extension header holding a PadN option (type 1, len 4)
    opt = bytes([0, 0, 1, 4, 0, 0, 0, 0])
    name = socket.IPV6_DSTOPTS if mode == "dstopts" else socket.IPV6_HOPOPTS
    s.setsockopt(socket.IPPROTO_IPV6, name, opt)
    payload = ("notcreepy-" + mode).encode()
    s.sendto(payload, (host, port))
    data, _ = s.recvfrom(65535)
    assert data == payload, "echo mismatch"
else:
    sys.exit("unknown mode " + mode)
EOF
  # userspace 802.1Q for kernels without the 8021q module (see record_vlan)
  cat >"$WORK/vlanshim.py" <<'EOF'
import select, socket, struct, sys
ETH_P_ALL, SOL_PACKET, PACKET_AUXDATA = 3, 263, 8
TP_STATUS_VLAN_VALID, PACKET_OUTGOING = 1 << 4, 4
parent_if, inner_if, vid, pcp = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((name, ETH_P_ALL))
    return s
parent, inner = open_if(parent_if), open_if(inner_if)
tag_bytes = struct.pack("!HH", 0x8100, (pcp << 13) | vid)
print("ready", file=sys.stderr, flush=True)
while True:
    ready, _, _ = select.select([parent, inner], [], [])
    for s in ready:
        data, anc, _, addr = s.recvmsg(65600, socket.CMSG_SPACE(32))
        if addr[2] == PACKET_OUTGOING:
            continue
        tci = None
        for level, typ, cdata in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA:
                status, _, _, _, _, vtci = struct.unpack("IIIHHH", cdata[:18])
                if status & TP_STATUS_VLAN_VALID:
                    tci = vtci
        if tci is None and len(data) >= 18 and data[12:14] == b"\x81\x00":
            tci = struct.unpack("!H", data[14:16])[0]
            data = data[:12] + data[16:]
        if s is parent:
            if tci is not None and tci & 0xFFF == vid:
                inner.send(data)            # untag: VLAN -> inner interface
        elif tci is None:
            parent.send(data[:12] + tag_bytes + data[12:])   # tag: inner -> parent
EOF
}

# ---------------------------------------------------------------- topology
build_topology() {
  local d ns
  log "building namespaces"
  for ns in "${ALL_NS[@]}"; do ip netns add "$ns"; inns "$ns" ip link set lo up; done

  # gateway: IPv6 only where we ask for it, no bridge netfilter
  inns $NS_GW sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  inns $NS_GW sysctl -qw net.ipv4.ip_forward=1
  inns $NS_GW sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
  inns $NS_GW sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true
  inns $NS_GW sysctl -qw net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
  inns $NS_GW ip link add br-lan address $GW_MAC type bridge stp_state 0 forward_delay 0
  inns $NS_GW sysctl -qw net.ipv6.conf.br-lan.disable_ipv6=0
  inns $NS_GW ip addr add $GW_IP/24 dev br-lan
  inns $NS_GW ip addr add $GW_IP6/64 dev br-lan nodad

  inns $NS_GW ip link add wan0 address $GW_WAN_MAC type veth peer name eth0 address $INET_MAC netns $NS_INET
  inns $NS_GW sysctl -qw net.ipv6.conf.wan0.disable_ipv6=0
  inns $NS_GW ip addr add $GW_WAN_IP/24 dev wan0
  inns $NS_GW ip addr add $GW_WAN_IP6/64 dev wan0 nodad
  inns $NS_GW sysctl -qw net.ipv6.conf.all.forwarding=1

  for d in "${DEVICES[@]}"; do
    ns=${DEV_NS[$d]}
    inns $NS_GW ip link add "veth-$d" address "${DEV_PORT_MAC[$d]}" type veth \
      peer name eth0 address "${DEV_MAC[$d]}" netns "$ns"
    inns $NS_GW ip link set "veth-$d" master br-lan
    inns $NS_GW ip link set "veth-$d" up
    if [ "$d" = tv ]; then
      inns "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
      inns "$ns" sysctl -qw net.ipv6.conf.eth0.router_solicitations=1
      inns "$ns" ip addr add $TV_IP6/64 dev eth0
    else
      inns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
      inns "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
    fi
    # the device's eth0 stays DOWN until the device "boots" inside a capture
  done
  inns $NS_GW ip link set br-lan up
  inns $NS_GW ip link set wan0 up
  for d in br-lan wan0 veth-cam veth-spk veth-tv; do wire_like $NS_GW $d; done
  for d in "${DEVICES[@]}"; do wire_like "${DEV_NS[$d]}" eth0; done
  wire_like $NS_INET eth0

  # internet side
  inns $NS_INET ip addr add $INET_IP/24 dev eth0
  inns $NS_INET ip addr add $INET_IP6/64 dev eth0 nodad
  for a in $FW_IP $API_IP $TRACK_IP $TIME_IP; do inns $NS_INET ip addr add $a/24 dev eth0; done
  inns $NS_INET ip addr add $FW_IP6/64 dev eth0 nodad
  inns $NS_INET ip addr add $ECHO_IP6/64 dev eth0 nodad
  inns $NS_INET ip link set eth0 up
  inns $NS_INET ip route add 192.168.50.0/24 via $GW_WAN_IP
  inns $NS_INET ip route add 192.168.42.0/24 via $GW_WAN_IP
  inns $NS_INET ip -6 route add fd00:50::/64 via $GW_WAN_IP6
  inns $NS_GW ip route add 203.0.113.0/24 via $INET_IP
}

start_services() {
  log "starting dnsmasq and servers"
  # 40 strings of 70 chars -> a ~2.9 KB TXT answer (fragmented over UDP)
  local txt="" i
  for ((i = 0; i < 40; i++)); do
    txt+=",\"$(printf 'notcreepy-big-txt-record-%02d-' "$i")$(printf 'x%.0s' $(seq 1 42))\""
  done
  bg $NS_GW dnsmasq dnsmasq --conf-file=/dev/null --keep-in-foreground --user=root --group=root \
    --no-resolv --no-hosts --no-poll --interface=br-lan --bind-interfaces \
    --pid-file="$WORK/dnsmasq.pid" --dhcp-leasefile="$WORK/dnsmasq.leases" \
    --log-facility="$WORK/dnsmasq.log" --log-queries --log-dhcp \
    --dhcp-authoritative --dhcp-range=192.168.50.100,192.168.50.150,255.255.255.0,12h \
    --dhcp-host=${DEV_MAC[cam]},${DEV_IP[cam]} \
    --dhcp-host=${DEV_MAC[spk]},${DEV_IP[spk]} \
    --dhcp-host=${DEV_MAC[tv]},${DEV_IP[tv]} \
    --dhcp-option=option:router,$GW_IP --dhcp-option=option:dns-server,$GW_IP \
    --domain=lan --local=/lan/ --local=/example.test/ --edns-packet-max=4096 \
    --address=/firmware.example.test/$FW_IP --address=/firmware.example.test/$FW_IP6 \
    --address=/api.example.test/$API_IP --address=/stream.example.test/$API_IP \
    --address=/tracker.example.test/$TRACK_IP --address=/time.example.test/$TIME_IP \
    "--txt-record=big.example.test${txt}"
  bg $NS_INET http-fw4 python3 -m http.server 80 --bind $FW_IP --directory "$WORK/www-firmware"
  bg $NS_INET http-fw6 python3 -m http.server 80 --bind $FW_IP6 --directory "$WORK/www-firmware"
  bg $NS_INET http-track python3 -m http.server 80 --bind $TRACK_IP --directory "$WORK/www-tracker"
  bg $NS_INET tls openssl s_server -accept $API_IP:443 -cert "$WORK/tls/cert.pem" \
    -key "$WORK/tls/key.pem" -www
  bg $NS_INET udpsrv python3 "$WORK/udpsrv.py"

  wait_until 10 "dnsmasq DNS" listening $NS_GW udp $GW_IP:53
  wait_until 10 "dnsmasq DHCP" dhcp_listening
  wait_until 10 "http firmware v4" listening $NS_INET tcp $FW_IP:80
  wait_until 10 "http firmware v6" listening $NS_INET tcp "[$FW_IP6]:80"
  wait_until 10 "http tracker" listening $NS_INET tcp $TRACK_IP:80
  wait_until 10 "tls server" listening $NS_INET tcp $API_IP:443
  wait_until 10 "ntp server" listening $NS_INET udp $TIME_IP:123
  wait_until 10 "echo server v6" listening $NS_INET udp "[$ECHO_IP6]:7"
}

# ---------------------------------------------------------------- capture
CAP_PIDS=() CAP_NAMES=()
start_capture() { # start_capture NAME tcpdump|dumpcap ARGS...   (runs in nc-gw)
  local name=$1 tool=$2; shift 2
  bg $NS_GW "cap-$name" "$tool" "$@"
  CAP_PIDS+=("$LAST_PID")
  CAP_NAMES+=("$name")
  if [ "$tool" = tcpdump ]; then
    wait_until 10 "tcpdump $name" grep -q 'listening on' "$WORK/cap-$name.err"
  else
    wait_until 10 "dumpcap $name" grep -q '^File:' "$WORK/cap-$name.err"
  fi
}
stop_captures() {
  local p f
  # let the last packets reach the captures.  tcpdump runs with
  # --immediate-mode (without it libpcap hands packets over in ring blocks,
  # after up to 1 s, and the last block is lost on SIGTERM) and -B 65536
  # (immediate mode uses one ring slot per snaplen-sized frame: the default
  # 2 MB buffer holds only ~8 and drops bursts).  dumpcap hands its blocks
  # over after at most 1 s.
  sleep 1.3
  # SIGTERM: background jobs of a non-interactive shell ignore SIGINT;
  # tcpdump and dumpcap both close their files cleanly on SIGTERM
  for p in "${CAP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  CAP_PIDS=()
  for f in "${CAP_NAMES[@]}"; do
    f=$WORK/cap-$f.err
    awk '/packets captured/{c=$1} /received by filter/{r=$1} /dropped by kernel/{d=$1}
         END{if (c!=r || d>0) exit 1}' "$f" ||
      log "warning: $(basename "$f" .err): $(grep -E 'captured|received|dropped' "$f" | tr '\n' ' ')"
  done
  CAP_NAMES=()
}

# ---------------------------------------------------------------- devices
declare -A BOOTED=()
dev() { local d=$1; shift; inns "${DEV_NS[$d]}" "$@"; }
quiet() { "$@" >>"$WORK/clients.log" 2>&1; }

boot_device() { # link up, (IPv6 DAD), DHCP with hostname and vendor class
  local d=$1
  [ -n "${BOOTED[$d]:-}" ] && return 0
  log "boot ${DEV_HOST[$d]}"
  dev "$d" ip link set eth0 up
  dev "$d" env LEASE_FILE="$WORK/lease-$d" busybox udhcpc -i eth0 -f -q -n -t 5 -T 2 -a200 \
    -x "hostname:${DEV_HOST[$d]}" -V "${DEV_VENDOR[$d]}" -s "$WORK/udhcpc.script" \
    >>"$WORK/udhcpc-$d.log" 2>&1 || die "DHCP failed for $d"
  grep -q "ip=${DEV_IP[$d]} router=$GW_IP" "$WORK/lease-$d" || die "unexpected lease for $d: $(cat "$WORK/lease-$d")"
  if [ "$d" = tv ]; then
    wait_until 10 "IPv6 DAD on tv" no_tentative nc-tv eth0
    dev tv ip -6 route add default via $GW_IP6 dev eth0
  fi
  BOOTED[$d]=1
}

ping4() { quiet dev "$1" ping -n -c 2 -i 0.2 -W 2 "$2"; }
ping6() { quiet dev "$1" ping -6 -n -c 2 -i 0.2 -W 2 "$2"; }
q() { quiet dev "$1" dig +tries=1 +time=2 "@$2" "$3" "$4"; }       # q DEV SERVER TYPE NAME
http() { quiet dev "$1" curl -sS --noproxy '*' -o /dev/null -A "$2" --resolve "$3" "$4"; }
ntp() { quiet dev "$1" python3 "$WORK/udpcli.py" ntp $TIME_IP 123; }

traffic_cam() {
  local d=cam ua=$UA_CAM
  ping4 $d $GW_IP
  q $d $GW_IP A firmware.example.test
  q $d $GW_IP A api.example.test
  q $d $GW_IP A time.example.test
  q $d $GW_IP A ota.example.test           # NXDOMAIN
  http $d "$ua" firmware.example.test:80:$FW_IP http://firmware.example.test/
  http $d "$ua" firmware.example.test:80:$FW_IP http://firmware.example.test/firmware/garden-cam-1.4.3.bin
  quiet dev $d curl -sS -k --noproxy '*' -o /dev/null -A "$ua" --tlsv1.2 --tls-max 1.2 \
    --resolve api.example.test:443:$API_IP https://api.example.test/
  quiet dev $d openssl s_client -connect $API_IP:443 -servername api.example.test -tls1_3 </dev/null
  ntp $d
  ping4 $d $FW_IP
}
traffic_spk() {
  local d=spk ua=$UA_SPK
  q $d $GW_IP A tracker.example.test
  q $d $GW_IP A stream.example.test
  q $d $GW_IP A time.example.test
  ping4 $d $GW_IP
  http $d "$ua" tracker.example.test:80:$TRACK_IP 'http://tracker.example.test/collect?device=kitchen-speaker&event=boot'
  quiet dev $d curl -sS -k --noproxy '*' -o /dev/null -A "$ua" --tlsv1.3 \
    --resolve stream.example.test:443:$API_IP https://stream.example.test/
  quiet dev $d openssl s_client -connect $API_IP:443 -servername stream.example.test -tls1_2 </dev/null
  ntp $d
  ping4 $d $TRACK_IP
}
traffic_tv() {
  local d=tv ua=$UA_TV
  ping6 $d $GW_IP6
  ping4 $d $GW_IP
  q $d $GW_IP6 AAAA firmware.example.test   # DNS over IPv6
  q $d $GW_IP A firmware.example.test
  http $d "$ua" "firmware.example.test:80:[$FW_IP6]" http://firmware.example.test/
  http $d "$ua" firmware.example.test:80:$FW_IP http://firmware.example.test/tv/manifest.json
  ping6 $d $INET_IP6
}

# ---------------------------------------------------------------- modes
record_basic() {
  log "recording lan-basic (devices boot inside the capture)"
  start_capture basic tcpdump -i br-lan -n -U --immediate-mode -B 65536 -Z root --time-stamp-precision=nano -w "$WORK/out/lan-basic.ns.pcap"
  local d
  for d in "${DEVICES[@]}"; do boot_device "$d"; "traffic_$d"; done
  stop_captures
  # same packets at microsecond precision, then pcapng and gzip
  tcpdump -Z root --time-stamp-precision=micro -r "$WORK/out/lan-basic.ns.pcap" -w "$WORK/out/lan-basic.pcap" 2>/dev/null
  editcap -F pcapng "$WORK/out/lan-basic.pcap" "$WORK/out/lan-basic.pcapng"
  gzip -9 -n -c "$WORK/out/lan-basic.pcap" >"$WORK/out/lan-basic.pcap.gz"
}

record_any() {
  local d
  for d in cam spk; do boot_device "$d"; done
  log "recording lan-any-sll2 / lan-any-sll / lan-multi-if (same traffic)"
  start_capture sll2 tcpdump -i any -n -U --immediate-mode -B 65536 -Z root -y LINUX_SLL2 -w "$WORK/out/lan-any-sll2.pcap"
  start_capture sll tcpdump -i any -n -U --immediate-mode -B 65536 -Z root -y LINUX_SLL -w "$WORK/out/lan-any-sll.pcap"
  start_capture multi dumpcap -q -i br-lan -i any -w "$WORK/out/lan-multi-if.pcapng"
  ping4 cam $GW_IP
  q cam $GW_IP A firmware.example.test
  http cam "$UA_CAM" firmware.example.test:80:$FW_IP http://firmware.example.test/
  ping4 spk $TRACK_IP
  stop_captures
}

record_frag() {
  local d
  for d in cam tv; do boot_device "$d"; done
  log "recording lan-frag"
  start_capture frag tcpdump -i br-lan -n -U --immediate-mode -B 65536 -Z root -w "$WORK/out/lan-frag.pcap"
  # IPv4: ICMP echo 3000 B (3 fragments each way), routed through the gateway
  quiet dev cam ping -n -c 2 -i 0.2 -W 2 -s 3000 $FW_IP
  # IPv4: UDP echo with a 2600-byte payload (2 fragments each way)
  quiet dev cam python3 "$WORK/udpcli.py" echo $TIME_IP 7 2600
  # IPv4: DNS TXT answer of ~2.9 KB over UDP (EDNS0 bufsize 4096), fragmented by the gateway
  quiet dev cam dig +tries=1 +time=2 +bufsize=4096 +ignore @$GW_IP TXT big.example.test
  # IPv6: ICMPv6 echo 3000 B to the gateway and routed to nc-inet (Fragment headers)
  quiet dev tv ping -6 -n -c 2 -i 0.2 -W 2 -s 3000 $GW_IP6
  quiet dev tv ping -6 -n -c 1 -W 2 -s 3000 $INET_IP6
  # IPv6: UDP with a Destination Options header, and with a Hop-by-Hop header
  quiet dev tv python3 "$WORK/udpcli.py" dstopts $ECHO_IP6 7
  quiet dev tv python3 "$WORK/udpcli.py" hopopts $ECHO_IP6 7
  stop_captures
}

record_vlan() {
  # This kernel has no 802.1Q support (no 8021q module, no bridge
  # vlan_filtering), so "eth0.42" is emulated: a veth pair per side plus
  # vlanshim.py, which tags frames from the inner veth onto the parent
  # interface and untags frames for VLAN 42 coming back (what the kernel's
  # VLAN device would do).  All traffic is still made by the real stacks and
  # programs; tcpdump sees real tagged frames on br-lan.
  boot_device cam
  log "recording lan-vlan"
  local side ns parent mac ip
  for side in cam gw; do
    if [ $side = cam ]; then ns=nc-cam parent=eth0 mac=${DEV_MAC[cam]} ip=$CAM_VLAN_IP
    else ns=$NS_GW parent=br-lan mac=$GW_MAC ip=$GW_VLAN_IP; fi
    inns $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    inns $ns ip link add vlan$VLAN_ID address "$mac" type veth peer name vlan$VLAN_ID-raw
    inns $ns ip addr add "$ip/24" dev vlan$VLAN_ID
    inns $ns ip link set vlan$VLAN_ID-raw up
    wire_like $ns vlan$VLAN_ID
    wire_like $ns vlan$VLAN_ID-raw
  done
  bg nc-cam shim-cam python3 "$WORK/vlanshim.py" eth0 vlan$VLAN_ID-raw $VLAN_ID $VLAN_PCP
  bg $NS_GW shim-gw python3 "$WORK/vlanshim.py" br-lan vlan$VLAN_ID-raw $VLAN_ID 0
  wait_until 10 "vlan shim (cam)" grep -q ready "$WORK/shim-cam.err"
  wait_until 10 "vlan shim (gw)" grep -q ready "$WORK/shim-gw.err"
  inns $NS_GW ip link set vlan$VLAN_ID up
  start_capture vlan tcpdump -i br-lan -n -U --immediate-mode -B 65536 -Z root -w "$WORK/out/lan-vlan.pcap"
  dev cam ip link set vlan$VLAN_ID up
  # time server reached through VLAN 42
  dev cam ip route add $TIME_IP/32 via $GW_VLAN_IP dev vlan$VLAN_ID
  quiet dev cam ping -n -c 3 -i 0.2 -W 2 $GW_VLAN_IP  # tagged, ARP tagged too
  ntp cam                                            # tagged, routed to nc-inet
  ping4 cam $GW_IP                                   # untagged
  stop_captures
  dev cam ip route del $TIME_IP/32
  dev cam ip link del vlan$VLAN_ID
  inns $NS_GW ip link del vlan$VLAN_ID
}

# ---------------------------------------------------------------- checks
# One tshark pass per question: tshark's start-up dominates the run time.

# counts FILE FILTER... -> the number of frames matching each filter, one a
# line (io,stat with interval 0; filters must not contain commas)
counts() {
  local f=$1 spec="io,stat,0" flt; shift
  for flt; do spec+=",$flt"; done
  tshark -r "$f" -q -z "$spec" 2>/dev/null | awk -F'|' '/<>/{for (i = 3; i < NF; i += 2) print $i + 0}'
}

check_file() { # lab addresses only, valid checksums, no frame longer than a tagged Ethernet frame
  local f=$1 bad
  bad=$(tshark -r "$f" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
          -T fields -E occurrence=a -e frame.number -e frame.len \
          -e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status \
          -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 2>/dev/null |
        awk -F'\t' -v re="$LAB_ADDR_RE" '
          $2 > 1522 { print "frame " $1 " is " $2 " bytes" }
          { for (i = 3; i <= 5; i++) if ($i ~ /(^|,)0(,|$)/) print "frame " $1 " has a bad checksum" }
          { for (i = 6; i <= NF; i++) { n = split($i, a, ","); for (j = 1; j <= n; j++)
              if (a[j] != "" && a[j] !~ re) print "frame " $1 " holds non-lab address " a[j] } }' | head -5)
  [ -z "$bad" ] || die "$(basename "$f"): $(echo $bad)"
}

# facts lan-basic must hold (README.md states them); FACTS: filter -> count
declare -a FACT_FILTERS=() FACT_WANT=()
fact() { FACT_FILTERS+=("$1"); FACT_WANT+=("$2"); }
basic_facts() {
  local cam=${DEV_MAC[cam]} spk=${DEV_MAC[spk]} tv=${DEV_MAC[tv]} syn='tcp.flags.syn==1 && tcp.flags.ack==0'
  FACT_FILTERS=() FACT_WANT=()
  fact "eth.src==$cam && $syn" 4
  fact "eth.src==$spk && $syn" 3
  fact "eth.src==$tv && $syn" 2
  fact "eth.src==$tv && ipv6 && $syn" 1
  fact "eth.src==$cam && tls.handshake.extensions_server_name" 2
  fact "eth.src==$spk && tls.handshake.extensions_server_name" 2
  fact "eth.src==$tv && tls.handshake" 0
  fact "eth.src==$cam && icmp.type==8" 4
  fact "eth.src==$spk && icmp.type==8" 4
  fact "eth.src==$tv && icmp.type==8" 2
  fact "eth.src==$tv && icmpv6.type==128" 4
  fact "eth.src==$tv && icmpv6.type==133" 1
  fact "eth.src==$cam && ntp.flags.mode==3" 1
  fact "eth.src==$spk && ntp.flags.mode==3" 1
  fact "ntp.flags.mode==4" 2
  fact "eth.src==$cam && dns.flags.response==0" 4
  fact "eth.src==$spk && dns.flags.response==0" 3
  fact "eth.src==$tv && dns.flags.response==0" 2
  fact "dns.flags.rcode==3" 1
  fact "http.request" 5
  fact "eth.src==$cam && dhcp" 2
  fact "eth.src==$spk && dhcp" 2
  fact "eth.src==$tv && dhcp" 2
  fact "dhcp" 12
  fact "arp.src.proto_ipv4==0.0.0.0" 3
}

check_basic() {
  local f=$WORK/out/lan-basic.pcap i=0 n d got
  basic_facts
  while read -r n; do
    [ "$n" = "${FACT_WANT[$i]}" ] || die "lan-basic: $n frames match '${FACT_FILTERS[$i]}', expected ${FACT_WANT[$i]}"
    i=$((i + 1))
  done < <(counts "$f" "${FACT_FILTERS[@]}")
  [ "$i" = "${#FACT_FILTERS[@]}" ] || die "lan-basic: tshark io,stat gave $i counts"
  # DHCP hostname and vendor class per MAC (the client's Discover and Request)
  got=$(tshark -r "$f" -Y 'dhcp.option.dhcp == 1 || dhcp.option.dhcp == 3' -T fields \
          -e eth.src -e dhcp.option.hostname -e dhcp.option.vendor_class_id 2>/dev/null | sort -u)
  for d in "${DEVICES[@]}"; do
    printf '%s\n' "$got" | grep -qxF "${DEV_MAC[$d]}"$'\t'"${DEV_HOST[$d]}"$'\t'"${DEV_VENDOR[$d]}" ||
      die "lan-basic: DHCP hostname/vendor class of $d not found in: $got"
  done
  [ "$(printf '%s\n' "$got" | wc -l)" = 3 ] || die "lan-basic: unexpected DHCP client options: $got"
}

# ---------------------------------------------------------------- README
count() { capinfos -M -c -T "$1" 2>/dev/null | awk -F'\t' 'NR==2{print $2}'; }
encap() { capinfos -M -E -T "$1" 2>/dev/null | awk -F'\t' 'NR==2{print $2}'; }
size() { stat -c %s "$1"; }

write_readme() {
  local f rows="" b
  for b in lan-basic.pcap lan-basic.ns.pcap lan-basic.pcapng lan-basic.pcap.gz lan-any-sll2.pcap \
           lan-any-sll.pcap lan-multi-if.pcapng lan-frag.pcap lan-vlan.pcap; do
    f=$OUT/$b
    [ -f "$f" ] || continue
    rows+="| \`$b\` | $(size "$f") | $(count "$f") | $(encap "$f") |"$'\n'
  done
  # one pass over lan-basic for the per-device tables
  local basic=$OUT/lan-basic.pcap dump dns_rows="" http_rows="" sni_rows="" d mac
  dump=$(tshark -r "$basic" -Y 'dns.flags.response==0 || http.request || tls.handshake.type==1' -T fields \
           -e eth.src -e dns.qry.name -e dns.qry.type -e http.request.method -e http.host \
           -e http.request.uri -e tls.handshake.extensions_server_name \
           -e tls.handshake.extensions.supported_version -e ip.dst -e ipv6.dst 2>/dev/null)
  for d in "${DEVICES[@]}"; do
    mac=${DEV_MAC[$d]}
    dns_rows+="| ${DEV_HOST[$d]} | $(awk -F'\t' -v m="$mac" '$1==m && $2!="" {t=$3==1?"A":$3==28?"AAAA":$3; printf "%s%s %s", (n++?", ":""), $2, t}' <<<"$dump") |"$'\n'
    http_rows+="| ${DEV_HOST[$d]} | $(awk -F'\t' -v m="$mac" '$1==m && $4!="" {printf "%s`%s http://%s%s` to %s", (n++?"; ":""), $4, $5, $6, ($9!=""?$9:$10)}' <<<"$dump") |"$'\n'
    sni_rows+="| ${DEV_HOST[$d]} | $(awk -F'\t' -v m="$mac" '$1==m && $7!="" {v=($8 ~ /0x0304/)?"TLS 1.3 offered":"TLS 1.2 only"; printf "%s%s -> %s (%s)", (n++?"; ":""), $7, $9, v}' <<<"$dump") |"$'\n'
  done
  sni_rows=${sni_rows//|  |/| none |}
  local syn_cam syn_spk syn_tv sent_cam sent_spk sent_tv sent_gw syn='tcp.flags.syn==1 && tcp.flags.ack==0'
  { read -r syn_cam; read -r syn_spk; read -r syn_tv; read -r sent_cam; read -r sent_spk; read -r sent_tv; read -r sent_gw; } < <(
    counts "$basic" "eth.src==${DEV_MAC[cam]} && $syn" "eth.src==${DEV_MAC[spk]} && $syn" "eth.src==${DEV_MAC[tv]} && $syn" \
      "eth.src==${DEV_MAC[cam]}" "eth.src==${DEV_MAC[spk]}" "eth.src==${DEV_MAC[tv]}" "eth.src==$GW_MAC")
  local frag4="?" frag6="?" hbh="?" dst="?" vlan_tagged="?" vlan_untagged="?" multi_if
  if [ -f "$OUT/lan-frag.pcap" ]; then
    { read -r frag4; read -r frag6; read -r hbh; read -r dst; } < <(
      tshark -r "$OUT/lan-frag.pcap" -o ip.defragment:FALSE -q \
        -z 'io,stat,0,ip.flags.mf==1 || ip.frag_offset>0,ipv6.fraghdr,ipv6.hopopts && udp,ipv6.dstopts && udp' 2>/dev/null |
      awk -F'|' '/<>/{for (i = 3; i < NF; i += 2) print $i + 0}')
  fi
  if [ -f "$OUT/lan-vlan.pcap" ]; then
    { read -r vlan_tagged; read -r vlan_untagged; } < <(counts "$OUT/lan-vlan.pcap" "vlan.id==$VLAN_ID" '!vlan')
  fi
  multi_if=$(capinfos -M -I "$OUT/lan-multi-if.pcapng" 2>/dev/null |
    awk '/^Interface #/{i=$2} /Name =/{n=$3} /Encapsulation =/{sub(/.*Encapsulation = /,""); e=$0}
         /Time precision =/{sub(/.*Time precision = /,""); printf "%s%s %s: %s, %s", sep, i, n, e, $0; sep="; "}')

  cat >"$OUT/README.md" <<EOF
# captures/

Small **real** captures for the tests, all made by \`captures/record.sh\`
(run as root: \`sudo captures/record.sh [--install]\`). The script builds
network namespaces on the local machine, runs real programs in them
(busybox udhcpc, dnsmasq, dig, curl, openssl, ping, python3) and captures
with tcpdump/dumpcap. No traffic leaves those namespaces; the script checks
that every IP address in every file is one of the lab addresses below.

Re-running the script makes new files: timestamps, ports, TLS keys, DNS IDs
and a few IPv6 MLD/RS packets differ, but every fact in the tables below
(except packet counts and sizes) holds for every run, and the script fails if
the per-device facts (TCP connections, DHCP hostname and vendor class, DNS
queries, pings, NTP, SNI) do not hold in the new lan-basic.

## Files

| file | how it was made | what it holds |
| --- | --- | --- |
| \`lan-basic.ns.pcap\` | \`tcpdump -i br-lan -U --time-stamp-precision=nano -w\` in nc-gw | the main demo: three devices boot (DHCP) and talk; pcap, **nanosecond** magic 0xa1b23c4d (written little-endian: \`4d 3c b2 a1\`), Ethernet |
| \`lan-basic.pcap\` | \`tcpdump --time-stamp-precision=micro -r lan-basic.ns.pcap -w\` | the same packets, pcap, microsecond magic 0xa1b2c3d4 (\`d4 c3 b2 a1\` on disk), Ethernet |
| \`lan-basic.pcapng\` | \`editcap -F pcapng lan-basic.pcap\` | the same packets, pcapng, one IDB (Ethernet, µs) |
| \`lan-basic.pcap.gz\` | \`gzip -9 -n\` of lan-basic.pcap | the same packets, gzipped pcap |
| \`lan-any-sll2.pcap\` | \`tcpdump -i any -y LINUX_SLL2\` in nc-gw | garden-cam pings gateway, DNS A firmware.example.test, HTTP GET /; kitchen-speaker pings 203.0.113.30. Each forwarded packet appears on several interfaces; SLL ifindex in nc-gw: 2 br-lan, 3 wan0, 4 veth-cam, 5 veth-spk (bridge ports see frames for the gateway MAC as packet type 3, "otherhost") |
| \`lan-any-sll.pcap\` | \`tcpdump -i any -y LINUX_SLL\` in nc-gw, at the same time | the same traffic, Linux cooked v1 |
| \`lan-multi-if.pcapng\` | \`dumpcap -i br-lan -i any\` in nc-gw, at the same time | the same traffic, pcapng with two interfaces of different link types: ${multi_if}. Interface #0 holds the frames seen on br-lan, #1 every copy on every interface (so the br-lan frames are there twice) |
| \`lan-frag.pcap\` | \`tcpdump -i br-lan\` in nc-gw | garden-cam: \`ping -s 3000 203.0.113.10\` ×2, UDP echo of 2600 B to 203.0.113.40:7, \`dig +bufsize=4096 TXT big.example.test\` (≈2.9 KB answer); living-room-tv: \`ping -6 -s 3000 fd00:50::1\` ×2 and \`2001:db8:100::2\` ×1, UDP to [2001:db8:100::40]:7 with a Destination Options header and one with a Hop-by-Hop header (the echoes come back without extension headers) |
| \`lan-vlan.pcap\` | \`tcpdump -i br-lan\` in nc-gw (untagged parent) | garden-cam on VLAN ${VLAN_ID} (${CAM_VLAN_IP}, same MAC, PCP ${VLAN_PCP} on its frames; the gateway's frames PCP 0): ARP + 3 pings to ${GW_VLAN_IP} and an NTP exchange with ${TIME_IP} routed via the VLAN; then 2 untagged pings to ${GW_IP}. The kernel here has no 802.1Q module, so the VLAN interfaces on both sides are emulated by \`vlanshim.py\` (written by record.sh), which adds/strips the tag in userspace; the packets themselves come from the kernels' stacks, ping and python |

## Sizes and packet counts (as printed by \`capinfos\`)

| file | bytes | packets | encapsulation |
| --- | ---: | ---: | --- |
${rows}
## Lab addresses

| who | namespace | MAC | IP | notes |
| --- | --- | --- | --- | --- |
| gateway (br-lan) | nc-gw | ${GW_MAC} | ${GW_IP}, ${GW_IP6} | DHCP + DNS server (dnsmasq 2.90), router |
| gateway (wan0) | nc-gw | ${GW_WAN_MAC} | ${GW_WAN_IP}, ${GW_WAN_IP6} | only seen in the \`any\` captures |
| internet | nc-inet | ${INET_MAC} | ${INET_IP}, ${INET_IP6} | only seen in the \`any\` captures |
| firmware.example.test | nc-inet | | ${FW_IP}, ${FW_IP6} | HTTP :80 (Python SimpleHTTP/0.6) |
| api.example.test, stream.example.test | nc-inet | | ${API_IP} | TLS :443 (openssl s_server -www, self-signed EC P-256 cert CN=api.example.test, SAN api + stream) |
| tracker.example.test | nc-inet | | ${TRACK_IP} | HTTP :80 |
| time.example.test | nc-inet | | ${TIME_IP}, ${ECHO_IP6} | NTP-like UDP :123 (v4), UDP echo :7 (v4 + v6) |

DNS (dnsmasq, no upstream): the names above resolve as listed
(firmware.example.test has A and AAAA); any other name under
\`example.test\` or \`lan\` is NXDOMAIN.

## Devices and facts to assert

| fact | garden-cam | kitchen-speaker | living-room-tv |
| --- | --- | --- | --- |
| namespace | nc-cam | nc-spk | nc-tv |
| MAC | ${DEV_MAC[cam]} | ${DEV_MAC[spk]} | ${DEV_MAC[tv]} |
| OUI vendor | Raspberry Pi Foundation (B8:27:EB) | none: locally administered bit set | Google, Inc. (00:1A:11) |
| DHCP hostname (option 12) | ${DEV_HOST[cam]} | ${DEV_HOST[spk]} | ${DEV_HOST[tv]} |
| DHCP vendor class (option 60) | \`${DEV_VENDOR[cam]}\` | \`${DEV_VENDOR[spk]}\` | \`${DEV_VENDOR[tv]}\` |
| DHCP client | busybox udhcpc 1.35 (DISCOVER, OFFER, REQUEST, ACK, then an ARP probe from 0.0.0.0 for its address) | same | same |
| IPv4 (DHCP ACK) | ${DEV_IP[cam]} | ${DEV_IP[spk]} | ${DEV_IP[tv]} |
| IPv6 | none (disabled) | none (disabled) | ${TV_IP6} + fe80::21a:11ff:fe5c:7e01 (EUI-64); sends DAD NS, MLDv2 reports, 1 RS |
| DNS queries (name type), all to ${GW_IP} except the tv's AAAA (to ${GW_IP6}) | see below | see below | see below |
| TCP connections opened (SYNs) in lan-basic | ${syn_cam} | ${syn_spk} | ${syn_tv} (1 over IPv6) |
| HTTP User-Agent | \`${UA_CAM}\` | \`${UA_SPK}\` | \`${UA_TV}\` |
| TLS connections (SNI) | 2: api.example.test, TLS 1.2 (curl) + TLS 1.3 (openssl s_client) | 2: stream.example.test, TLS 1.3 (curl) + TLS 1.2 (openssl s_client) | 0 |
| ICMP echo requests | 2 to ${GW_IP}, 2 to ${FW_IP} | 2 to ${GW_IP}, 2 to ${TRACK_IP} | 2 to ${GW_IP}; ICMPv6 2 to ${GW_IP6}, 2 to ${INET_IP6} |
| NTP (UDP 123) exchanges | 1 with ${TIME_IP} | 1 with ${TIME_IP} | 0 |
| DHCP messages in lan-basic | 4 (Discover, Offer, Request, Ack) | 4 | 4 |
| frames sent (eth.src) in lan-basic (the gateway sent ${sent_gw}) | ${sent_cam} | ${sent_spk} | ${sent_tv} |
| plaintext credentials / telnet | none | none | none |

DNS queries in lan-basic (from tshark on the committed file):

| device | queries |
| --- | --- |
${dns_rows}
HTTP requests in lan-basic:

| device | requests |
| --- | --- |
${http_rows}
TLS ClientHellos in lan-basic:

| device | SNI -> server (versions offered) |
| --- | --- |
${sni_rows}
Other counts (from tshark on the committed files): lan-frag.pcap has
${frag4} IPv4 fragments (packets with MF set or a non-zero offset),
${frag6} IPv6 packets with a Fragment header, ${hbh} UDP packets with a
Hop-by-Hop header and ${dst} with a Destination Options header;
lan-vlan.pcap has ${vlan_tagged} frames tagged VLAN ${VLAN_ID} and
${vlan_untagged} untagged frames.

Notes for test writers:
- In lan-basic the devices boot one after another inside the capture
  (garden-cam, then kitchen-speaker, then living-room-tv): each device's
  first frame is its DHCPDISCOVER from 0.0.0.0 (the tv's IPv6 MLD/DAD
  frames from :: may come first for it); the gateway may send an MLD report
  or a DAD NS for its own link-local address before that.
- All IPv4/TCP/UDP checksums are valid and no frame exceeds 1514 bytes
  (1518 tagged): offloads are off on every lab interface, and record.sh
  checks this on every file.
- The gateway's bridge ports (02:50:00:00:01:0x) never send frames; the only
  non-device MAC on br-lan is the gateway ${GW_MAC}.
- Traffic between devices and the internet is routed (no NAT): on br-lan the
  device IP talks directly to 203.0.113.x / 2001:db8:100::x, with the
  gateway MAC as the Ethernet peer.
EOF
}

# ---------------------------------------------------------------- main
main() {
  local start=$SECONDS f
  teardown   # leftovers of an earlier, interrupted run
  if want basic || want any || want frag || want vlan; then
    make_files
    build_topology
    start_services
    want basic && { record_basic; check_basic; }
    want any && record_any
    want frag && record_frag
    want vlan && record_vlan
    teardown
    for f in "$WORK"/out/*; do
      check_file "$f"
      install -m 644 "$f" "$OUT/$(basename "$f")"
    done
  fi
  write_readme   # always: its counts must match the files now in captures/
  log "done in $((SECONDS - start)) s"
  ( cd "$OUT" && ls -l lan-* README.md 2>/dev/null ) >&2
}
main

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
#              (mode standards only:)
#              203.0.113.30  also TLS :443 for app-measurement.com and
#                            www.google-analytics.com (openssl s_server)
#              203.0.113.50  cam-cloud.example.test  HTTP, Basic auth
#              203.0.113.60  mqtt.example.test  MQTT :1883 (mosquitto, login)
#              203.0.113.70  updates.example.test  HTTPS (python ssl)
#              203.0.113.80  tv-api.example.test  TLS 1.0 only, expired cert
#              203.0.113.99  a WAN client ("scanner") that opens the
#                            camera's telnet and web UI from outside
#              nc-gw also answers SSDP M-SEARCH and UPnP IGD SOAP on
#              192.168.50.1:5000 (python, miniupnpd-like)
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
#     lan-standards.pcap    the "five minimum security standards" demo on
#                           br-lan (pcap, microseconds): garden-cam sends
#                           Basic auth admin:admin, fetches an unsigned
#                           uImage over HTTP, logs in to MQTT in clear, is
#                           logged in to over telnet (root/xc3511) and
#                           has a Boa web UI, both from the WAN, and leaks
#                           its MAC + an e-mail to trackers; kitchen-speaker
#                           does TLS 1.3 only (updates over HTTPS), no DNS
#                           and no NTP; living-room-tv does TLS 1.0 to a
#                           server with an expired certificate, SSDP and a
#                           UPnP AddPortMapping on the gateway
#     lan-standards.secrets the passwords sent in lan-standards.pcap
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
#     MODE: basic any frag vlan standards readme all   (default: all;
#           README.md is rewritten after every run, 'readme' alone only
#           does that)
#     --install   apt-get install -y the missing packages first (and, for
#                 'standards', fetch busybox-static with apt-get download
#                 for its telnetd applet if the installed busybox has none)
#     --keep-tmp  keep the work directory (logs, raw files) for debugging
#   Must run as root.  Idempotent: leftovers of an earlier run (namespaces
#   named nc-gw, nc-inet, nc-cam, nc-spk, nc-tv and their processes) are
#   removed first, and again on exit (trap), also on failure.  Takes ~30 s.
#
# NEEDS (Debian 12 packages)
#   iproute2 tcpdump tshark (wireshark-common: dumpcap editcap capinfos)
#   dnsmasq-base busybox curl bind9-dnsutils openssl python3 iputils-ping
#   ethtool gzip coreutils
#   mode standards also: mosquitto mosquitto-clients, and a busybox with the
#   telnetd applet (Debian's busybox has none: busybox-static's binary is
#   unpacked, not installed, to /var/cache/notcreepy-record/)
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
    basic|any|frag|vlan|standards|readme|all) MODES+=("$arg") ;;
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
if want standards; then
  PKG_OF+=([mosquitto]=mosquitto [mosquitto_passwd]=mosquitto [mosquitto_pub]=mosquitto-clients)
fi
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

# the camera's telnetd (mode standards): busybox telnetd, as on real cameras.
# Debian's busybox package has no telnetd applet, busybox-static has: its
# binary is unpacked (not installed: it conflicts with busybox) to a cache.
BB_TELNETD=""
BB_CACHE=/var/cache/notcreepy-record/busybox-static
find_telnetd() {
  if busybox --list | grep -qx telnetd; then BB_TELNETD=$(command -v busybox); return 0; fi
  if [ -x "$BB_CACHE" ] && "$BB_CACHE" --list | grep -qx telnetd; then BB_TELNETD=$BB_CACHE; return 0; fi
  [ "$INSTALL" = 1 ] || die "no busybox with a telnetd applet (re-run with --install: fetches busybox-static to $BB_CACHE)"
  local tmp
  tmp=$(mktemp -d /tmp/nc-bbstatic.XXXXXX)
  log "fetching busybox-static (apt-get download) for its telnetd applet"
  ( cd "$tmp" && apt-get download -q busybox-static >/dev/null 2>&1 ) || { rm -rf "$tmp"; die "apt-get download busybox-static failed"; }
  mkdir -p "$(dirname "$BB_CACHE")"
  dpkg-deb --fsys-tarfile "$tmp"/busybox-static_*.deb | tar -x -O ./bin/busybox >"$BB_CACHE.new"
  rm -rf "$tmp"
  chmod 755 "$BB_CACHE.new"
  mv "$BB_CACHE.new" "$BB_CACHE"
  "$BB_CACHE" --list | grep -qx telnetd || die "busybox-static has no telnetd applet"
  BB_TELNETD=$BB_CACHE
}
want standards && find_telnetd

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

# mode standards: more servers in nc-inet, the gateway's UPnP IGD, and the
# credentials the careless devices send in clear (README.md lists them all)
CLOUD_IP=203.0.113.50 MQTT_IP=203.0.113.60 UPD_IP=203.0.113.70 TVAPI_IP=203.0.113.80
SCAN_IP=203.0.113.99          # a WAN host that opens the camera's telnet and web UI
IGD_PORT=5000 SSDP_GROUP=239.255.255.250
CAM_HTTP_USER=admin CAM_HTTP_PASS=admin                 # factory default, HTTP Basic
MQTT_USER=gardencam MQTT_PASS=123456789                 # weak, in common-password lists
MQTT_TOPIC="gardencam/${DEV_MAC[cam]}/status"
TELNET_USER=root TELNET_PASS=xc3511                     # a Mirai default
CAM_UI_SERVER="Boa/0.94.14rc21"
TV_SSDP_SERVER="Linux/2.6.36 UPnP/1.0 MiniUPnPd/1.4"
IGD_SERVER="Linux/6.1 UPnP/1.1 MiniUPnPd/2.3.3"
TV_CERT_START=20190101000000Z TV_CERT_END=20210101000000Z
GA_QUERY="v=1&tid=UA-1234-1&cid=35009a79-1a05-49d7-b876-2b884d0f825b&t=event&ec=boot&mac=${DEV_MAC[cam]}&email=owner@example.com"
CAM_FW_NEW=1.4.3 CAM_FW_NAME="GardenCam 1.4.3" SPK_FW_NEW=2.4.0

# every address that may appear in a capture (checked at the end)
LAB_ADDR_RE='^(192\.168\.50\.[0-9]+|224\.0\.0\.[0-9]+|239\.255\.255\.250|192\.168\.42\.[0-9]+|198\.51\.100\.[0-9]+|203\.0\.113\.[0-9]+|0\.0\.0\.0|255\.255\.255\.255|fd00:50::[0-9a-f:]*|2001:db8:100::[0-9a-f:]*|fe80::[0-9a-f:]+|ff02::[0-9a-f:]+|::)$'

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

# files for mode standards (servers, clients, firmware, certificates)
make_standards_files() {
  mkdir -p "$WORK/www-firmware/cam" "$WORK/www-updates/spk" "$WORK/std"
  # the camera's update: a legacy U-Boot uImage (64-byte header, big endian:
  # magic 27 05 19 56, header CRC32, timestamp, size, load/entry address,
  # data CRC32, os 5 Linux, arch 22 ARM64, type 2 kernel, comp 1 gzip, name)
  # holding a gzip'd payload; deterministic bytes, no signature anywhere
  python3 - "$CAM_FW_NAME" "$WORK/www-firmware/cam/gardencam-$CAM_FW_NEW.bin" <<'EOF'
import gzip, hashlib, struct, sys, zlib
name, out = sys.argv[1].encode(), sys.argv[2]
raw = (b"Linux version 6.1.21-v8+ (gardencam@build) (aarch64-linux-gnu-gcc 10.2.1) #1642 SMP PREEMPT\n"
       + b"".join(hashlib.sha256(b"gardencam-1.4.3/%d" % i).digest() for i in range(160))
       + b"rpicam motion-detect rtsp-server cloud-agent\n" * 40)
data = gzip.compress(raw, 9, mtime=0)
def header(hcrc):
    return struct.pack(">7I4B32s", 0x27051956, hcrc, 1714521600, len(data), 0x80000, 0x80000,
                       zlib.crc32(data), 5, 22, 2, 1, name)
hdr = header(zlib.crc32(header(0)))
open(out, "wb").write(hdr + data)
EOF
  local fw_size
  fw_size=$(stat -c %s "$WORK/www-firmware/cam/gardencam-$CAM_FW_NEW.bin")
  cat >"$WORK/www-firmware/cam/manifest.json" <<EOF
{"model":"garden-cam","channel":"stable","version":"$CAM_FW_NEW","released":"2024-05-01","size":$fw_size,"url":"http://firmware.example.test/cam/gardencam-$CAM_FW_NEW.bin","notes":"motion detection fixes"}
EOF
  # the speaker's update, served over HTTPS only
  python3 -c 'import hashlib,sys
sys.stdout.buffer.write(b"".join(hashlib.sha256(b"speaker-2.4.0/%d" % i).digest() for i in range(128)))' \
    >"$WORK/www-updates/spk/speaker-$SPK_FW_NEW.bin"

  # certificates: updates.example.test (the speaker verifies it with --cacert),
  # app-measurement.com + www.google-analytics.com on the tracker, and the
  # tv's API server: RSA, self-signed, valid 2019-01-01 .. 2021-01-01 (expired;
  # 'openssl ca -selfsign' because 'openssl x509 -days' cannot go back in time)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/O=Acme Audio/CN=updates.example.test" -addext "subjectAltName=DNS:updates.example.test" \
    -keyout "$WORK/tls/updates-key.pem" -out "$WORK/tls/updates-cert.pem" 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/O=Example Tracker/CN=app-measurement.com" \
    -addext "subjectAltName=DNS:app-measurement.com,DNS:www.google-analytics.com" \
    -keyout "$WORK/tls/tracker-key.pem" -out "$WORK/tls/tracker-cert.pem" 2>/dev/null
  mkdir -p "$WORK/tls/ca"
  : >"$WORK/tls/ca/index.txt"
  echo 1001 >"$WORK/tls/ca/serial"
  cat >"$WORK/tls/ca/ca.cnf" <<EOF
[ ca ]
default_ca = lab
[ lab ]
dir = $WORK/tls/ca
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = anything
unique_subject = no
email_in_dn = no
x509_extensions = server
[ anything ]
organizationName = optional
commonName = supplied
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:tv-api.example.test
EOF
  openssl req -new -newkey rsa:2048 -nodes -subj "/O=LivingRoomTV Inc/CN=tv-api.example.test" \
    -keyout "$WORK/tls/tvapi-key.pem" -out "$WORK/tls/ca/tvapi.csr" 2>/dev/null
  openssl ca -batch -notext -config "$WORK/tls/ca/ca.cnf" -selfsign -keyfile "$WORK/tls/tvapi-key.pem" \
    -in "$WORK/tls/ca/tvapi.csr" -startdate $TV_CERT_START -enddate $TV_CERT_END \
    -out "$WORK/tls/tvapi-cert.pem" >/dev/null 2>&1 || die "openssl ca -selfsign failed"

  # mosquitto: one user, no anonymous access, nothing written to disk
  mosquitto_passwd -c -b "$WORK/std/mqtt.passwd" "$MQTT_USER" "$MQTT_PASS" 2>/dev/null
  chmod 600 "$WORK/std/mqtt.passwd"
  cat >"$WORK/std/mosquitto.conf" <<EOF
listener 1883 $MQTT_IP
allow_anonymous false
password_file $WORK/std/mqtt.passwd
persistence false
log_dest stderr
log_type all
user root
EOF

  # the camera's telnet "login": busybox telnetd -l runs this on the pty
  # instead of /bin/login (prompts like login(1), no echo for the password)
  printf 'GardenCam 1.4.2 (rpicam)\n\n' >"$WORK/std/issue.net"
  cat >"$WORK/std/telnet-login.sh" <<EOF
#!/bin/sh
printf '%s login: ' '${DEV_HOST[cam]}'
read -r user
stty -echo
printf 'Password: '
read -r pass
stty echo
printf '\n'
if [ "\$user" != '$TELNET_USER' ] || [ "\$pass" != '$TELNET_PASS' ]; then
  sleep 1; printf 'Login incorrect\n'; exit 1
fi
printf '\n\nBusyBox v1.35.0 built-in shell (ash)\n\n'
while printf '# ' && read -r cmd; do
  case "\$cmd" in
    'uname -a') printf 'Linux ${DEV_HOST[cam]} 6.1.21-v8+ #1642 SMP PREEMPT Mon Apr  3 17:24:16 BST 2023 aarch64 GNU/Linux\n' ;;
    exit) exit 0 ;;
    '') ;;
    *) printf -- '-sh: %s: not found\n' "\${cmd%% *}" ;;
  esac
done
EOF
  chmod 755 "$WORK/std/telnet-login.sh"

  # telnet client (the WAN side): answers option negotiation like a telnet
  # client (DO ECHO/SGA accepted, NAWS 80x24, everything else refused) and
  # types one line per prompt, as a login bot does
  cat >"$WORK/std/telnetcli.py" <<'EOF'
import socket, sys, time
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, NAWS = 1, 3, 31
host, src, user, password = sys.argv[1:5]
commands = sys.argv[5:]
s = socket.create_connection((host, 23), timeout=10, source_address=(src, 0))
buf = b""
def feed(data):
    global buf
    out, i = bytearray(), 0
    while i < len(data):
        c = data[i]
        if c != IAC or i + 1 >= len(data):
            out.append(c); i += 1; continue
        cmd = data[i + 1]
        if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
            opt = data[i + 2]; i += 3
            if cmd == DO and opt == NAWS:
                s.sendall(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]))
            elif cmd == DO:
                s.sendall(bytes([IAC, WONT, opt]))
            elif cmd == WILL:
                s.sendall(bytes([IAC, DO if opt in (ECHO, SGA) else DONT, opt]))
        elif cmd == SB:
            j = data.find(bytes([IAC, SE]), i)
            i = len(data) if j < 0 else j + 2
        elif cmd == IAC:
            out.append(IAC); i += 2
        else:
            i += 2
    buf += bytes(out)
def expect(token):
    global buf
    while token not in buf:
        data = s.recv(4096)
        if not data:
            sys.exit("telnet: connection closed while waiting for %r, got %r" % (token, buf))
        feed(data)
    buf = buf[buf.index(token) + len(token):]
def send_line(line):
    time.sleep(0.2)
    s.sendall(line.encode() + b"\r\n")
expect(b"login: ")
send_line(user)
expect(b"Password: ")
send_line(password)
expect(b"# ")
for c in commands:
    send_line(c)
    expect(b"# ")
send_line("exit")
while True:
    data = s.recv(4096)
    if not data:
        break
    feed(data)
s.close()
EOF

  # HTTP servers: cam-cloud (Basic auth), the camera's own web UI (Boa
  # banner), the gateway's UPnP IGD (SSDP responder + SOAP) and the HTTPS
  # update server of the speaker
  cat >"$WORK/std/labweb.py" <<'EOF'
import base64, http.server, json, re, socket, socketserver, ssl, struct, sys, threading
mode = sys.argv[1]

class Server(http.server.ThreadingHTTPServer):
    # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup
    # through the host's resolver: a device must not send that
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

class Base(http.server.BaseHTTPRequestHandler):
    def reply(self, code, ctype, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

class Cloud(Base):  # cam-cloud.example.test: USER PASS
    protocol_version = "HTTP/1.1"
    def authorized(self):
        want = "Basic " + base64.b64encode(("%s:%s" % (sys.argv[3], sys.argv[4])).encode()).decode()
        if self.headers.get("Authorization") == want:
            return True
        self.reply(401, "application/json", b'{"error":"unauthorized"}\n',
                   [("WWW-Authenticate", 'Basic realm="cam-cloud"')])
        return False
    def do_POST(self):
        data = self.body()
        if not self.authorized():
            return
        if self.path == "/api/v1/register":
            dev = json.loads(data or b"{}")
            out = {"status": "ok", "device_id": "gc-" + dev.get("mac", "").replace(":", "")[-6:],
                   "mqtt": "mqtt.example.test:1883"}
            self.reply(200, "application/json", (json.dumps(out) + "\n").encode())
        else:
            self.reply(404, "application/json", b'{"error":"not found"}\n')
    def do_GET(self):
        if not self.authorized():
            return
        if self.path == "/api/v1/config":
            self.reply(200, "application/json", b'{"upload_interval":300,"motion_alerts":true,"stream":"rtsp"}\n')
        else:
            self.reply(404, "application/json", b'{"error":"not found"}\n')

class CamUI(Base):  # the camera's web UI: SERVER_BANNER
    protocol_version = "HTTP/1.0"
    def version_string(self):
        return sys.argv[3]
    def do_GET(self):
        if self.path in ("/", "/index.html"):
            page = (b"<html><head><title>GardenCam</title></head><body>\n"
                    b"<h1>GardenCam 1.4.2</h1>\n<form action=\"/cgi-bin/login.cgi\" method=\"post\">\n"
                    b"User <input name=\"user\"> Password <input name=\"pass\" type=\"password\">\n"
                    b"<input type=\"submit\" value=\"Login\"></form>\n</body></html>\n")
            self.reply(200, "text/html", page)
        else:
            self.reply(404, "text/html", b"<html><body>404 Not Found</body></html>\n")

ROOT_DESC = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>notcreepy lab gateway</friendlyName><manufacturer>miniupnpd</manufacturer>
<modelName>lab router</modelName><UDN>uuid:{uuid}</UDN>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><SCPDURL>/WANIPCn.xml</SCPDURL>
<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>
"""
IGD_UUID = "5e7a1c2b-0d3f-4a6e-8b9c-025000000001"

class IGD(Base):  # the gateway's UPnP IGD: ADDR PORT SERVER
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return sys.argv[4]
    def do_GET(self):
        if self.path == "/rootDesc.xml":
            self.reply(200, 'text/xml; charset="utf-8"', ROOT_DESC.format(uuid=IGD_UUID).encode())
        else:
            self.reply(404, "text/html", b"<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD></HTML>\r\n")
    def do_POST(self):
        data = self.body().decode()
        action = self.headers.get("SOAPAction", "")
        if self.path == "/ctl/IPConn" and action.endswith('#AddPortMapping"'):
            args = dict(re.findall(r"<(New\w+)>([^<]*)</", data))
            sys.stderr.write("AddPortMapping %s\n" % args)
            out = ('<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
                   's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
                   '<u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"/>'
                   '</s:Body></s:Envelope>\r\n')
            self.reply(200, 'text/xml; charset="utf-8"', out.encode())
        else:
            self.reply(500, 'text/xml; charset="utf-8"', b"")

def ssdp_responder(addr, port, server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("239.255.255.250", 1900))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton("239.255.255.250") + socket.inet_aton(addr))
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind((addr, 1900))
    while True:
        data, peer = s.recvfrom(4096)
        text = data.decode(errors="replace")
        if not text.startswith("M-SEARCH"):
            continue
        st = re.search(r"(?im)^ST:\s*(\S+)", text)
        st = st.group(1) if st else ""
        if st not in ("ssdp:all", "upnp:rootdevice", "urn:schemas-upnp-org:device:InternetGatewayDevice:1"):
            continue
        msg = ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: %s\r\nUSN: uuid:%s::%s\r\nEXT:\r\n"
               "SERVER: %s\r\nLOCATION: http://%s:%d/rootDesc.xml\r\n\r\n" % (st, IGD_UUID, st, server, addr, port))
        out.sendto(msg.encode(), peer)

class Updates(http.server.SimpleHTTPRequestHandler):  # updates.example.test over TLS
    server_version = "updates/1.0"
    extensions_map = {"": "application/octet-stream", ".bin": "application/octet-stream"}

if mode == "cloud":
    Server((sys.argv[2], 80), Cloud).serve_forever()
elif mode == "camui":
    Server((sys.argv[2], 80), CamUI).serve_forever()
elif mode == "igd":
    addr, port = sys.argv[2], int(sys.argv[3])
    threading.Thread(target=ssdp_responder, args=(addr, port, sys.argv[4]), daemon=True).start()
    Server((addr, port), IGD).serve_forever()
elif mode == "updates":
    addr, directory, cert, key = sys.argv[2:6]
    import functools
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    srv = Server((addr, 443), functools.partial(Updates, directory=directory))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()
else:
    sys.exit("unknown mode " + mode)
EOF

  # the tv's UPnP client: SSDP NOTIFY (alive), M-SEARCH for an IGD, then the
  # IGD's description and an AddPortMapping SOAP call, all in clear
  cat >"$WORK/std/upnpcli.py" <<'EOF'
import http.client, re, socket, sys
tv_ip, ua, server, ext_port, int_port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
GROUP = ("239.255.255.250", 1900)
TV_UUID = "6c2f0a2e-5e2b-4d6e-9c1a-001a115c7e01"
def mcast_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(tv_ip))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.bind((tv_ip, port))
    return s
n = mcast_socket(1900)
n.sendto(("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
          "LOCATION: http://%s:8008/ssdp/device-desc.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
          "SERVER: %s\r\nUSN: uuid:%s::upnp:rootdevice\r\n\r\n" % (tv_ip, server, TV_UUID)).encode(), GROUP)
n.close()
s = mcast_socket(0)
s.settimeout(3)
s.sendto(b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n'
         b"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n", GROUP)
reply = s.recv(4096).decode()
loc = re.search(r"(?im)^LOCATION:\s*http://([^/:]+):(\d+)(/\S*)", reply)
if not loc:
    sys.exit("no LOCATION in SSDP reply: %r" % reply)
host, port, path = loc.group(1), int(loc.group(2)), loc.group(3)
c = http.client.HTTPConnection(host, port, timeout=5, source_address=(tv_ip, 0))
c.request("GET", path, headers={"User-Agent": ua})
desc = c.getresponse().read().decode()
ctl = re.search(r"WANIPConnection:1</serviceType>.*?<controlURL>([^<]+)</controlURL>", desc, re.S).group(1)
body = ('<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        '<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">'
        "<NewRemoteHost></NewRemoteHost><NewExternalPort>%s</NewExternalPort><NewProtocol>TCP</NewProtocol>"
        "<NewInternalPort>%s</NewInternalPort><NewInternalClient>%s</NewInternalClient>"
        "<NewEnabled>1</NewEnabled><NewPortMappingDescription>LivingRoomTV cast</NewPortMappingDescription>"
        "<NewLeaseDuration>0</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>\r\n"
        % (ext_port, int_port, tv_ip))
c.request("POST", ctl, body=body.encode(), headers={
    "User-Agent": ua, "Content-Type": 'text/xml; charset="utf-8"',
    "SOAPAction": '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"'})
r = c.getresponse()
out = r.read().decode()
if r.status != 200 or "AddPortMappingResponse" not in out:
    sys.exit("AddPortMapping failed: %d %s" % (r.status, out))
c.close()
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
    --address=/cam-cloud.example.test/$CLOUD_IP --address=/mqtt.example.test/$MQTT_IP \
    --address=/updates.example.test/$UPD_IP --address=/tv-api.example.test/$TVAPI_IP \
    --address=/www.google-analytics.com/$TRACK_IP --address=/app-measurement.com/$TRACK_IP \
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

# servers only mode standards talks to (the camera's own servers start when
# it has booted, inside the capture)
start_services_standards() {
  log "starting the servers of mode standards"
  local a
  for a in $CLOUD_IP $MQTT_IP $UPD_IP $TVAPI_IP $SCAN_IP; do inns $NS_INET ip addr add "$a/24" dev eth0; done
  bg $NS_INET http-cloud python3 "$WORK/std/labweb.py" cloud $CLOUD_IP "$CAM_HTTP_USER" "$CAM_HTTP_PASS"
  bg $NS_INET mqtt mosquitto -c "$WORK/std/mosquitto.conf"
  bg $NS_INET https-updates python3 "$WORK/std/labweb.py" updates $UPD_IP "$WORK/www-updates" \
    "$WORK/tls/updates-cert.pem" "$WORK/tls/updates-key.pem"
  bg $NS_INET tls-tracker openssl s_server -accept $TRACK_IP:443 -cert "$WORK/tls/tracker-cert.pem" \
    -key "$WORK/tls/tracker-key.pem" -www
  # TLS 1.0 only, every cipher allowed (SECLEVEL 0), expired certificate
  bg $NS_INET tls-tvapi openssl s_server -accept $TVAPI_IP:443 -tls1 -cipher 'DEFAULT@SECLEVEL=0' \
    -cert "$WORK/tls/tvapi-cert.pem" -key "$WORK/tls/tvapi-key.pem" -www
  bg $NS_GW igd python3 "$WORK/std/labweb.py" igd $GW_IP $IGD_PORT "$IGD_SERVER"
  wait_until 10 "http cam-cloud" listening $NS_INET tcp $CLOUD_IP:80
  wait_until 10 "mosquitto" listening $NS_INET tcp $MQTT_IP:1883
  wait_until 10 "https updates" listening $NS_INET tcp $UPD_IP:443
  wait_until 10 "tls tracker" listening $NS_INET tcp $TRACK_IP:443
  wait_until 10 "tls tv-api" listening $NS_INET tcp $TVAPI_IP:443
  wait_until 10 "upnp igd" listening $NS_GW tcp $GW_IP:$IGD_PORT
  wait_until 10 "ssdp responder" listening $NS_GW udp $SSDP_GROUP:1900
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

# garden-cam: the careless camera.  Its own telnetd (busybox) and web UI
# (Boa banner) listen on its LAN address; a WAN host (SCAN_IP) uses both.
traffic_std_cam() {
  local d=cam ua=$UA_CAM ip=${DEV_IP[cam]} mac=${DEV_MAC[cam]} n
  bg nc-cam telnetd "$BB_TELNETD" telnetd -F -K -p 23 -b "$ip" -f "$WORK/std/issue.net" -l "$WORK/std/telnet-login.sh"
  bg nc-cam cam-ui python3 "$WORK/std/labweb.py" camui "$ip" "$CAM_UI_SERVER"
  wait_until 10 "camera telnetd" listening nc-cam tcp "$ip:23"
  wait_until 10 "camera web UI" listening nc-cam tcp "$ip:80"
  for n in cam-cloud.example.test firmware.example.test mqtt.example.test www.google-analytics.com app-measurement.com; do
    q $d $GW_IP A $n
  done
  # cloud API with the factory-default login, HTTP Basic (sent preemptively)
  quiet dev $d curl -sS --noproxy '*' -o /dev/null -A "$ua" -u "$CAM_HTTP_USER:$CAM_HTTP_PASS" \
    -H 'Content-Type: application/json' --data "{\"mac\":\"$mac\",\"model\":\"garden-cam\",\"fw\":\"1.4.2\"}" \
    --resolve cam-cloud.example.test:80:$CLOUD_IP http://cam-cloud.example.test/api/v1/register
  quiet dev $d curl -sS --noproxy '*' -o /dev/null -A "$ua" -u "$CAM_HTTP_USER:$CAM_HTTP_PASS" \
    --resolve cam-cloud.example.test:80:$CLOUD_IP http://cam-cloud.example.test/api/v1/config
  # update check over plain HTTP: manifest without signature, then the image
  http $d "$ua" firmware.example.test:80:$FW_IP http://firmware.example.test/cam/manifest.json
  http $d "$ua" firmware.example.test:80:$FW_IP "http://firmware.example.test/cam/gardencam-$CAM_FW_NEW.bin"
  # MQTT 3.1.1 login in clear, one status message (QoS 1)
  quiet dev $d mosquitto_pub -h $MQTT_IP -p 1883 -V mqttv311 -i "gardencam-${mac//:/}" \
    -u "$MQTT_USER" -P "$MQTT_PASS" -q 1 -t "$MQTT_TOPIC" \
    -m "{\"mac\":\"$mac\",\"ip\":\"$ip\",\"fw\":\"1.4.2\",\"motion\":false,\"uptime\":42}"
  # trackers: its MAC and the owner's e-mail in a plaintext query string, then TLS
  http $d "$ua" www.google-analytics.com:80:$TRACK_IP "http://www.google-analytics.com/collect?$GA_QUERY"
  quiet dev $d curl -sS -k --noproxy '*' -o /dev/null -A "$ua" \
    --resolve app-measurement.com:443:$TRACK_IP https://app-measurement.com/a
  # from the WAN: the web UI (old Boa banner) and a telnet login with a Mirai default
  quiet inns $NS_INET curl -sS --noproxy '*' -o /dev/null -A 'Mozilla/5.0 zgrab/0.x' --interface $SCAN_IP "http://$ip/"
  quiet inns $NS_INET python3 "$WORK/std/telnetcli.py" "$ip" $SCAN_IP "$TELNET_USER" "$TELNET_PASS" 'uname -a' ||
    die "telnet login to the camera failed (see $WORK/clients.log)"
}
# kitchen-speaker: the careful one.  TLS 1.3 only, certificates verified,
# literal IPs (no DNS), no NTP, its update over HTTPS
traffic_std_spk() {
  local d=spk ua=$UA_SPK
  quiet dev $d curl -sS --noproxy '*' -o /dev/null -A "$ua" --tlsv1.3 --cacert "$WORK/tls/cert.pem" \
    --resolve api.example.test:443:$API_IP https://api.example.test/ || die "speaker: TLS 1.3 to api failed"
  quiet dev $d openssl s_client -connect $API_IP:443 -servername stream.example.test -tls1_3 \
    -CAfile "$WORK/tls/cert.pem" -verify_hostname stream.example.test -verify_return_error </dev/null ||
    die "speaker: TLS 1.3 to stream failed"
  quiet dev $d curl -sS --noproxy '*' -o "$WORK/std/speaker-download.bin" -A "$ua" --tlsv1.3 \
    --cacert "$WORK/tls/updates-cert.pem" --resolve updates.example.test:443:$UPD_IP \
    "https://updates.example.test/spk/speaker-$SPK_FW_NEW.bin" || die "speaker: HTTPS update failed"
  cmp -s "$WORK/std/speaker-download.bin" "$WORK/www-updates/spk/speaker-$SPK_FW_NEW.bin" || die "speaker: update differs"
}
# living-room-tv: TLS 1.0 to a server with an expired certificate, SSDP,
# UPnP port mapping on the gateway
traffic_std_tv() {
  local d=tv
  q $d $GW_IP A tv-api.example.test
  printf 'GET / HTTP/1.0\r\nHost: tv-api.example.test\r\n\r\n' |
    quiet dev $d timeout 15 openssl s_client -connect $TVAPI_IP:443 -servername tv-api.example.test \
      -tls1 -cipher 'DEFAULT@SECLEVEL=0' -ign_eof
  grep -q 'Protocol  *: TLSv1$' "$WORK/clients.log" || die "tv: no TLS 1.0 session (see $WORK/clients.log)"
  quiet dev $d python3 "$WORK/std/upnpcli.py" "${DEV_IP[tv]}" "$UA_TV" "$TV_SSDP_SERVER" 8080 8080 ||
    die "tv: SSDP/UPnP failed (see $WORK/clients.log)"
}

# "power off" a device that booted in an earlier mode (mode all), so that it
# boots with DHCP again inside lan-standards
reset_device() {
  local d=$1
  [ -n "${BOOTED[$d]:-}" ] || return 0
  if [ "$d" = tv ]; then dev tv ip -6 route del default via $GW_IP6 dev eth0 2>/dev/null || true; fi
  dev "$d" ip -4 addr flush dev eth0
  dev "$d" ip link set eth0 down
  # IPv6 addresses go with the link (keep_addr_on_down=0): put the tv's back
  if [ "$d" = tv ]; then dev tv ip addr replace $TV_IP6/64 dev eth0; fi
  unset "BOOTED[$d]"
}

record_standards() {
  local d
  for d in "${DEVICES[@]}"; do reset_device "$d"; done
  log "recording lan-standards (devices boot inside the capture)"
  start_capture standards tcpdump -i br-lan -n -U --immediate-mode -B 65536 -Z root \
    --time-stamp-precision=micro -w "$WORK/out/lan-standards.pcap"
  for d in "${DEVICES[@]}"; do boot_device "$d"; "traffic_std_$d"; done
  stop_captures
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

# facts lan-standards must hold (README.md states them); FACT_WANT "+" is
# "at least one"
standards_facts() {
  local cam=${DEV_MAC[cam]} spk=${DEV_MAC[spk]} tv=${DEV_MAC[tv]} syn='tcp.flags.syn==1 && tcp.flags.ack==0'
  local basic_auth
  basic_auth=$(printf '%s' "$CAM_HTTP_USER:$CAM_HTTP_PASS" | base64)
  FACT_FILTERS=() FACT_WANT=()
  fact "eth.src==$cam && dhcp" 2
  fact "eth.src==$spk && dhcp" 2
  fact "eth.src==$tv && dhcp" 2
  # garden-cam
  fact "eth.src==$cam && dns.flags.response==0" 5
  fact "eth.src==$cam && $syn" 7
  fact "http.authorization" 2
  fact "http.authorization==\"Basic $basic_auth\" && ip.dst==$CLOUD_IP" 2
  fact "http.response.code==200 && ip.src==$CLOUD_IP" 2
  fact "http.request.uri==\"/cam/manifest.json\" && ip.dst==$FW_IP" 1
  fact "http.request.uri==\"/cam/gardencam-$CAM_FW_NEW.bin\" && ip.dst==$FW_IP" 1
  fact "http.content_type==\"application/octet-stream\" && ip.src==$FW_IP" 1
  fact "http.request.uri contains \".sig\" || http.request.uri contains \".asc\"" 0
  fact "mqtt.msgtype==1 && mqtt.ver==4 && mqtt.username==\"$MQTT_USER\" && mqtt.passwd==\"$MQTT_PASS\"" 1
  fact "mqtt.msgtype==2 && mqtt.conack.val==0" 1
  fact "mqtt.msgtype==3 && mqtt.topic==\"$MQTT_TOPIC\" && mqtt.msg contains \"$cam\"" 1
  fact "http.host==\"www.google-analytics.com\" && http.request.uri contains \"mac=$cam\" && http.request.uri contains \"email=\"" 1
  fact "eth.src==$cam && tls.handshake.extensions_server_name==\"app-measurement.com\"" 1
  fact "ip.src==$SCAN_IP && ip.dst==${DEV_IP[cam]} && tcp.dstport==23 && $syn" 1
  fact "telnet && ip.src==${DEV_IP[cam]} && frame contains \"login: \"" 1
  fact "telnet && ip.src==$SCAN_IP && frame contains \"$TELNET_PASS\"" 1
  fact "telnet && ip.src==${DEV_IP[cam]} && frame contains \"$TELNET_PASS\"" 0
  fact "ip.src==$SCAN_IP && ip.dst==${DEV_IP[cam]} && tcp.dstport==80 && http.request" 1
  fact "http.server==\"$CAM_UI_SERVER\" && ip.src==${DEV_IP[cam]}" 1
  # kitchen-speaker: DHCP, ARP and TLS 1.3 only
  fact "eth.src==$spk && !(arp || dhcp || tcp.port==443)" 0
  fact "eth.src==$spk && (dns || ntp || http)" 0
  fact "eth.src==$spk && $syn" 3
  fact "eth.src==$spk && tls.handshake.type==1 && tls.handshake.extensions.supported_version==0x0304" 3
  fact "eth.src==$spk && tls.handshake.type==1 && tls.handshake.extensions.supported_version==0x0303" 0
  fact "ip.dst==${DEV_IP[spk]} && tls.handshake.type==2 && tls.handshake.extensions.supported_version==0x0304" 3
  fact "eth.src==$spk && tls.handshake.extensions_server_name==\"updates.example.test\"" 1
  # living-room-tv
  fact "eth.src==$tv && dns.flags.response==0" 1
  fact "eth.src==$tv && tls.handshake.type==1 && tls.handshake.version==0x0301 && tls.handshake.extensions_server_name==\"tv-api.example.test\"" 1
  fact "eth.src==$tv && tls.handshake.extensions.supported_version" 0
  fact "ip.src==$TVAPI_IP && tls.handshake.type==2 && tls.handshake.version==0x0301" 1
  fact "ip.src==$TVAPI_IP && tls.handshake.type==11" 1
  fact "tls.record.version==0x0301 && tls.record.content_type==23 && eth.src==$tv" +
  fact "tls.record.version==0x0301 && tls.record.content_type==23 && ip.src==$TVAPI_IP" +
  fact "ip.dst==$SSDP_GROUP && udp.dstport==1900" 2
  fact "eth.src==$tv && ssdp && http.request.method==\"NOTIFY\" && http.server==\"$TV_SSDP_SERVER\"" 1
  fact "eth.src==$tv && ssdp && http.request.method==\"M-SEARCH\"" 1
  fact "ssdp && ip.src==$GW_IP && http.response.code==200" 1
  fact "ip.src==${DEV_IP[tv]} && tcp.dstport==$IGD_PORT && http.request.method==\"POST\"" 1
  fact "ip.src==${DEV_IP[tv]} && tcp.dstport==$IGD_PORT && frame contains \"SOAPAction: \\\"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\"" 1
  fact "ip.src==${DEV_IP[tv]} && frame contains \"<NewExternalPort>8080</NewExternalPort>\" && frame contains \"<NewInternalClient>${DEV_IP[tv]}</NewInternalClient>\"" 1
  fact "ip.src==$GW_IP && tcp.srcport==$IGD_PORT && http.response.code==200" 2
  fact "telnet || mqtt" +
}

check_facts() { # check_facts NAME FILE: FACT_FILTERS / FACT_WANT against the file
  local name=$1 f=$2 i=0 n
  while read -r n; do
    case ${FACT_WANT[$i]} in
      +) [ "$n" -ge 1 ] ;;
      *) [ "$n" = "${FACT_WANT[$i]}" ] ;;
    esac || die "$name: $n frames match '${FACT_FILTERS[$i]}', expected ${FACT_WANT[$i]}"
    i=$((i + 1))
  done < <(counts "$f" "${FACT_FILTERS[@]}")
  [ "$i" = "${#FACT_FILTERS[@]}" ] || die "$name: tshark io,stat gave $i counts, expected ${#FACT_FILTERS[@]}"
}

check_standards() {
  local f=$WORK/out/lan-standards.pcap got d
  standards_facts
  check_facts lan-standards "$f"
  got=$(tshark -r "$f" -Y 'dhcp.option.dhcp == 1 || dhcp.option.dhcp == 3' -T fields \
          -e eth.src -e dhcp.option.hostname -e dhcp.option.vendor_class_id 2>/dev/null | sort -u)
  for d in "${DEVICES[@]}"; do
    printf '%s\n' "$got" | grep -qxF "${DEV_MAC[$d]}"$'\t'"${DEV_HOST[$d]}"$'\t'"${DEV_VENDOR[$d]}" ||
      die "lan-standards: DHCP hostname/vendor class of $d not found in: $got"
  done
  # the tv's server certificate: validity exactly TV_CERT_START .. TV_CERT_END
  got=$(tshark -r "$f" -Y "ip.src==$TVAPI_IP && tls.handshake.type==11" -T fields -E occurrence=a \
          -e x509af.utcTime -e x509sat.uTF8String -e x509ce.dNSName 2>/dev/null)
  case $got in
    "2019-01-01 00:00:00 (UTC),2021-01-01 00:00:00 (UTC)"$'\t'"LivingRoomTV Inc,tv-api.example.test,LivingRoomTV Inc,tv-api.example.test"$'\t'tv-api.example.test) ;;
    *) die "lan-standards: tv-api certificate validity/names not as expected: $got" ;;
  esac
  # the firmware image, reassembled from the capture: a valid uImage
  mkdir -p "$WORK/objects"
  tshark -r "$f" -q --export-objects "http,$WORK/objects" >/dev/null 2>&1
  cmp -s "$WORK/objects/gardencam-$CAM_FW_NEW.bin" "$WORK/www-firmware/cam/gardencam-$CAM_FW_NEW.bin" ||
    die "lan-standards: the firmware image could not be reassembled from the capture"
  python3 - "$WORK/objects/gardencam-$CAM_FW_NEW.bin" "$CAM_FW_NAME" <<'EOF' || die "lan-standards: the firmware is not a valid uImage"
import struct, sys, zlib, gzip
b, name = open(sys.argv[1], "rb").read(), sys.argv[2].encode()
f = struct.unpack(">7I4B32s", b[:64])
assert f[0] == 0x27051956, "magic"
assert zlib.crc32(b[:4] + b"\0\0\0\0" + b[8:64]) == f[1], "header CRC"
assert len(b) == 64 + f[3] and zlib.crc32(b[64:]) == f[6], "data size/CRC"
assert f[7:11] == (5, 22, 2, 1) and f[11].rstrip(b"\0") == name, "os/arch/type/comp/name"
gzip.decompress(b[64:])
EOF
}

# ---------------------------------------------------------------- README
count() { capinfos -M -c -T "$1" 2>/dev/null | awk -F'\t' 'NR==2{print $2}'; }
encap() { capinfos -M -E -T "$1" 2>/dev/null | awk -F'\t' 'NR==2{print $2}'; }
size() { stat -c %s "$1"; }

# the passwords of lan-standards, one a line (a test can grep for each)
standards_secrets() {
  printf '# Passwords sent in lan-standards.pcap, one a line (written by record.sh; README.md, "lan-standards: facts to assert", says who sent which, to whom and how)\n'
  printf '%s\n' "$CAM_HTTP_PASS" "$MQTT_PASS" "$TELNET_PASS"
}

# README.md section for lan-standards.pcap: the facts standards_facts and
# check_standards assert, plus counts and a few strings from the file
standards_readme() {
  local f=$OUT/lan-standards.pcap syn='tcp.flags.syn==1 && tcp.flags.ack==0' basic_auth
  local n_all sent_cam sent_spk sent_tv sent_gw syn_cam syn_spk syn_tv igmp manifest fw_size mqtt_msg tv_cipher
  basic_auth=$(printf '%s' "$CAM_HTTP_USER:$CAM_HTTP_PASS" | base64)
  n_all=$(count "$f")
  { read -r sent_cam; read -r sent_spk; read -r sent_tv; read -r sent_gw; read -r syn_cam; read -r syn_spk; read -r syn_tv; read -r igmp; } < <(
    counts "$f" "eth.src==${DEV_MAC[cam]}" "eth.src==${DEV_MAC[spk]}" "eth.src==${DEV_MAC[tv]}" "eth.src==$GW_MAC" \
      "eth.src==${DEV_MAC[cam]} && $syn" "eth.src==${DEV_MAC[spk]} && $syn" "eth.src==${DEV_MAC[tv]} && $syn" igmp)
  manifest=$(tshark -r "$f" -Y "ip.src==$FW_IP && http.content_type==\"application/json\"" -T fields -e http.file_data 2>/dev/null |
             sed 's/\\n$//')
  fw_size=$(tshark -r "$f" -Y "ip.src==$FW_IP && http.content_type==\"application/octet-stream\"" -T fields -e http.content_length 2>/dev/null)
  mqtt_msg=$(tshark -r "$f" -Y 'mqtt.msgtype==3' -T fields -e mqtt.msg 2>/dev/null | xxd -r -p)
  tv_cipher=$(tshark -r "$f" -Y "ip.src==$TVAPI_IP && tls.handshake.type==2" -V 2>/dev/null |
              sed -n 's/^ *Cipher Suite: \(.*\)$/\1/p' | head -1)
  cat <<EOF

## lan-standards: facts to assert

\`lan-standards.pcap\` (\`tcpdump -i br-lan --time-stamp-precision=micro\` in
nc-gw: pcap, microseconds, Ethernet; ${n_all} frames) is the demo for the "five
minimum security standards" detectors. The same three devices as lan-basic
boot one after another inside the capture (garden-cam, kitchen-speaker,
living-room-tv), each with DHCP first (same hostnames, vendor classes and
fixed addresses as lan-basic), then do exactly what the tables below say and
nothing else. record.sh checks these facts with tshark after recording
(\`standards_facts\`, \`check_standards\`: frame counts per filter, the DHCP
options, the certificate dates, and the firmware image reassembled from the
capture) and fails if one does not hold.

Frames by Ethernet source: garden-cam ${sent_cam}, kitchen-speaker ${sent_spk},
living-room-tv ${sent_tv}, gateway MAC ${sent_gw} (its own DHCP, DNS, ARP, MLD, SSDP and
IGD frames plus every routed frame from nc-inet). TCP connections opened
(SYN): garden-cam ${syn_cam}, kitchen-speaker ${syn_spk}, living-room-tv ${syn_tv}, and 2 from the WAN
client ${SCAN_IP} to the camera. IGMPv3 reports from the gateway (joining
${SSDP_GROUP} for its SSDP responder): ${igmp} in this file (0 or 1 in a new run).

### garden-cam (${DEV_MAC[cam]}, ${DEV_IP[cam]}): the careless camera

| what | exactly |
| --- | --- |
| DNS (plain UDP/53 to ${GW_IP}, type A) | 5 queries: cam-cloud.example.test (${CLOUD_IP}), firmware.example.test (${FW_IP}), mqtt.example.test (${MQTT_IP}), www.google-analytics.com (${TRACK_IP}), app-measurement.com (${TRACK_IP}) |
| HTTP User-Agent | \`${UA_CAM}\` (every request of its own) |
| HTTP Basic auth, factory default | user \`${CAM_HTTP_USER}\`, password \`${CAM_HTTP_PASS}\`: \`Authorization: Basic ${basic_auth}\` on \`POST http://cam-cloud.example.test/api/v1/register\` (JSON body with its MAC) and \`GET http://cam-cloud.example.test/api/v1/config\`, both to ${CLOUD_IP}:80 (curl -u, sent pre-emptively), both answered 200 application/json |
| update manifest | \`GET http://firmware.example.test/cam/manifest.json\` to ${FW_IP}:80, answer 200 application/json: \`${manifest}\` (no signature field) |
| firmware image | \`GET http://firmware.example.test/cam/gardencam-${CAM_FW_NEW}.bin\`, answer 200 \`application/octet-stream\`, ${fw_size} bytes over plain HTTP; no \`.sig\`, \`.asc\` or other file fetched |
| image format | legacy U-Boot uImage: bytes 0-3 \`27 05 19 56\`, header CRC32 and data CRC32 valid, name "${CAM_FW_NAME}", os 5 (Linux), arch 22 (ARM64), type 2 (kernel), compression 1 (gzip), time 1714521600 (2024-05-01), load/entry 0x80000, data = $((fw_size - 64)) bytes of gzip after the 64-byte header |
| MQTT, in clear | to mqtt.example.test ${MQTT_IP}:1883 (real mosquitto 2.0.11, password file): CONNECT protocol "MQTT" level 4 (3.1.1), client id \`gardencam-${DEV_MAC[cam]//:/}\`, user \`${MQTT_USER}\`, password \`${MQTT_PASS}\`; CONNACK 0 (accepted); PUBLISH QoS 1 topic \`${MQTT_TOPIC}\` payload \`${mqtt_msg}\`; PUBACK; DISCONNECT |
| tracker, plaintext | \`GET http://www.google-analytics.com/collect?${GA_QUERY}\` to ${TRACK_IP}:80: its own MAC and the e-mail address owner@example.com in the query string, literally (not percent-encoded); answer 200 (3 bytes "ok\\n", typed application/octet-stream by python, as in lan-basic) |
| tracker, TLS | \`curl -k https://app-measurement.com/a\` to ${TRACK_IP}:443, SNI app-measurement.com, offers TLS 1.0-1.3, TLS 1.3 negotiated (server cert self-signed, SAN app-measurement.com + www.google-analytics.com) |
| telnet, exposed to the WAN | ${SCAN_IP} (nc-inet) -> ${DEV_IP[cam]}:23, the camera's busybox 1.35 telnetd (\`telnetd -l\` with a login script): server sends IAC DO ECHO, DO NAWS, WILL ECHO, WILL SGA, the banner "GardenCam 1.4.2 (rpicam)", \`${DEV_HOST[cam]} login: \`; the client answers the options (WONT ECHO, WILL NAWS 80x24, DO ECHO, DO SGA) and sends one line per prompt: \`${TELNET_USER}\`, then after \`Password: \` \`${TELNET_PASS}\` (a Mirai default; not echoed), gets a BusyBox shell banner and \`# \`, sends \`uname -a\` (answer \`Linux garden-cam 6.1.21-v8+ #1642 SMP PREEMPT Mon Apr  3 17:24:16 BST 2023 aarch64 GNU/Linux\`), then \`exit\`; the camera closes |
| web UI, exposed to the WAN | ${SCAN_IP} -> ${DEV_IP[cam]}:80 \`GET /\` (User-Agent \`Mozilla/5.0 zgrab/0.x\`), answer \`HTTP/1.0 200 OK\` with \`Server: ${CAM_UI_SERVER}\`, text/html login page |
| listening TCP ports | 23 (telnet) and 80 (HTTP) on ${DEV_IP[cam]} |

### kitchen-speaker (${DEV_MAC[spk]}, ${DEV_IP[spk]}): the careful speaker

| what | exactly |
| --- | --- |
| frames it sends | DHCP (Discover, Request), ARP, and TCP to port 443; **no DNS, no NTP, no HTTP**, no IPv6 (names only appear as SNI: curl --resolve, s_client -connect IP) |
| TLS | 3 connections, each ClientHello offering **TLS 1.3 only** (supported_versions = 0x0304 alone; legacy_version 0x0303, record version 0x0301 as always for a ClientHello); every ServerHello selects TLS 1.3 (cipher 0x1302) |
| 1 | \`curl --tlsv1.3 --cacert\` https://api.example.test/ -> ${API_IP}:443 (User-Agent \`${UA_SPK}\`, certificate verified) |
| 2 | \`openssl s_client -tls1_3 -servername stream.example.test -verify_return_error\` -> ${API_IP}:443 (verified; no request sent) |
| 3 | update over HTTPS: \`curl --tlsv1.3 --cacert\` https://updates.example.test/spk/speaker-${SPK_FW_NEW}.bin -> ${UPD_IP}:443 (python ssl server; self-signed EC P-256 cert, CN and SAN updates.example.test, valid 10 years, verified); 4096 bytes, application/octet-stream, inside TLS (the python server may answer the client's last close_notify with a TCP RST, timing-dependent) |

### living-room-tv (${DEV_MAC[tv]}, ${DEV_IP[tv]}): the TV

| what | exactly |
| --- | --- |
| DNS | 1 query: tv-api.example.test A (-> ${TVAPI_IP}) |
| TLS 1.0 | \`openssl s_client -tls1 -cipher DEFAULT@SECLEVEL=0\` -> ${TVAPI_IP}:443, SNI tv-api.example.test; ClientHello version 0x0301 without supported_versions; ServerHello 0x0301, ${tv_cipher}; server is \`openssl s_server -tls1 -cipher DEFAULT@SECLEVEL=0 -www\` (accepts TLS 1.0 only) |
| its certificate (in clear, TLS 1.0) | self-signed RSA 2048, sha256WithRSAEncryption, subject = issuer \`O=LivingRoomTV Inc, CN=tv-api.example.test\`, SAN DNS:tv-api.example.test, notBefore 2019-01-01 00:00:00 UTC, **notAfter 2021-01-01 00:00:00 UTC (expired)**; made with \`openssl ca -selfsign -startdate ${TV_CERT_START} -enddate ${TV_CERT_END}\` |
| after the handshake | the handshake completes (s_client does not enforce verification), then \`GET / HTTP/1.0\` and the s_server status page flow as TLS 1.0 application data records (version 0x0301), then close_notify |
| SSDP NOTIFY | ${DEV_IP[tv]}:1900 -> ${SSDP_GROUP}:1900 (TTL 2): \`NT: upnp:rootdevice\`, \`NTS: ssdp:alive\`, \`SERVER: ${TV_SSDP_SERVER}\`, \`LOCATION: http://${DEV_IP[tv]}:8008/ssdp/device-desc.xml\`, \`USN: uuid:6c2f0a2e-5e2b-4d6e-9c1a-001a115c7e01::upnp:rootdevice\` |
| SSDP M-SEARCH | -> ${SSDP_GROUP}:1900, \`ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\`, \`MX: 1\`; the gateway answers unicast from ${GW_IP}:1900 with \`SERVER: ${IGD_SERVER}\` and \`LOCATION: http://${GW_IP}:${IGD_PORT}/rootDesc.xml\` |
| UPnP IGD, in clear | to ${GW_IP}:${IGD_PORT} on one TCP connection: \`GET /rootDesc.xml\`, then \`POST /ctl/IPConn\` with \`SOAPAction: "urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"\`: NewRemoteHost empty, NewExternalPort 8080, NewProtocol TCP, NewInternalPort 8080, NewInternalClient ${DEV_IP[tv]}, NewEnabled 1, NewPortMappingDescription "LivingRoomTV cast", NewLeaseDuration 0; answer 200 \`AddPortMappingResponse\` (server \`${IGD_SERVER}\`). The POST's headers and its SOAP body are two TCP segments (python http.client); tshark 4.0 dissects port ${IGD_PORT} as HTTP without help |
| IPv6 | as in lan-basic: DAD NS, MLDv2 reports, 1 RS; no IPv6 traffic otherwise |

### Secrets in lan-standards

Every password in the capture (\`lan-standards.secrets\` lists the same, one a
line, after one comment line starting with \`#\`):

| password | user | sent by -> to | on the wire |
| --- | --- | --- | --- |
| \`${CAM_HTTP_PASS}\` | ${CAM_HTTP_USER} | garden-cam -> cam-cloud.example.test ${CLOUD_IP}:80, HTTP Basic (2 requests) | base64 only: \`${basic_auth}\` (the bytes \`${CAM_HTTP_USER}:${CAM_HTTP_PASS}\` never appear raw) |
| \`${MQTT_PASS}\` | ${MQTT_USER} | garden-cam -> mqtt.example.test ${MQTT_IP}:1883, MQTT CONNECT | raw, in the CONNECT password field |
| \`${TELNET_PASS}\` | ${TELNET_USER} | ${SCAN_IP} (WAN) -> garden-cam ${DEV_IP[cam]}:23, telnet | raw, \`${TELNET_PASS}\\r\\n\` from the client; the camera does not echo it |

No other secret is in the file: TLS private keys stay in record.sh's work
directory, and all other TLS traffic is encrypted.
EOF
}

write_readme() {
  local f rows="" b
  for b in lan-basic.pcap lan-basic.ns.pcap lan-basic.pcapng lan-basic.pcap.gz lan-any-sll2.pcap \
           lan-any-sll.pcap lan-multi-if.pcapng lan-frag.pcap lan-vlan.pcap lan-standards.pcap; do
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
(busybox udhcpc and telnetd, dnsmasq, dig, curl, openssl, ping, python3,
mosquitto) and captures with tcpdump/dumpcap. No traffic leaves those
namespaces; the script checks that every IP address in every file is one of
the lab addresses below.

Re-running the script makes new files: timestamps, ports, TLS keys, DNS IDs
and a few IPv6 MLD/RS packets differ, but every fact in the tables below
(except packet counts and sizes) holds for every run, and the script fails if
the per-device facts (TCP connections, DHCP hostname and vendor class, DNS
queries, pings, NTP, SNI) do not hold in the new lan-basic, or the facts of
the section "lan-standards: facts to assert" in the new lan-standards.
\`sudo captures/record.sh --install standards\` records only lan-standards.

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
| \`lan-standards.pcap\` | \`tcpdump -i br-lan --time-stamp-precision=micro\` in nc-gw (mode \`standards\`) | the "five minimum security standards" demo: the three devices boot (DHCP) again; garden-cam sends HTTP Basic auth admin:admin, fetches an unsigned uImage over HTTP, logs in to MQTT in clear, leaks its MAC and an e-mail to a tracker, and exposes telnet (a WAN host logs in as root/xc3511) and a Boa web UI to the WAN; kitchen-speaker does only DHCP and TLS 1.3 (its update over HTTPS); living-room-tv does TLS 1.0 to a server with an expired certificate, SSDP NOTIFY + M-SEARCH and a UPnP AddPortMapping on the gateway. pcap, microsecond magic, Ethernet. See "lan-standards: facts to assert" |
| \`lan-standards.secrets\` | written by record.sh | the passwords sent in lan-standards.pcap, one a line, after one \`#\` comment line |

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
| www.google-analytics.com, app-measurement.com | nc-inet | | ${TRACK_IP} | the tracker: HTTP :80 and, in lan-standards only, TLS :443 (openssl s_server -www, self-signed EC cert CN=app-measurement.com, SAN both names) |
| cam-cloud.example.test | nc-inet | | ${CLOUD_IP} | lan-standards only: HTTP :80 (python), HTTP Basic auth ${CAM_HTTP_USER}:${CAM_HTTP_PASS} |
| mqtt.example.test | nc-inet | | ${MQTT_IP} | lan-standards only: MQTT :1883 (mosquitto 2.0.11, no anonymous access, user ${MQTT_USER}) |
| updates.example.test | nc-inet | | ${UPD_IP} | lan-standards only: HTTPS :443 (python ssl, TLS 1.2/1.3, self-signed EC cert CN/SAN updates.example.test) |
| tv-api.example.test | nc-inet | | ${TVAPI_IP} | lan-standards only: TLS 1.0 only :443 (openssl s_server -tls1 -www, expired self-signed RSA cert) |
| WAN client ("scanner") | nc-inet | | ${SCAN_IP} | lan-standards only: opens the camera's telnet :23 and web UI :80 from the internet side |
| gateway UPnP IGD | nc-gw | ${GW_MAC} | ${GW_IP}:${IGD_PORT}, UDP :1900 | lan-standards only: SSDP responder (joins ${SSDP_GROUP}) and IGD HTTP/SOAP (python, miniupnpd-like) |
| garden-cam's own servers | nc-cam | ${DEV_MAC[cam]} | ${DEV_IP[cam]}:23, :80 | lan-standards only: busybox telnetd, HTTP with \`Server: ${CAM_UI_SERVER}\` (python) |

DNS (dnsmasq, no upstream): the names above resolve as listed
(firmware.example.test has A and AAAA; www.google-analytics.com and
app-measurement.com are answered with the lab tracker's address); any other
name under \`example.test\` or \`lan\` is NXDOMAIN. Multicast addresses seen:
ff02::/16 (IPv6), 224.0.0.22 (IGMPv3) and ${SSDP_GROUP} (SSDP).

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
  if [ -f "$OUT/lan-standards.pcap" ]; then
    standards_readme >>"$OUT/README.md"
    standards_secrets >"$OUT/lan-standards.secrets"
  fi
}

# ---------------------------------------------------------------- main
main() {
  local start=$SECONDS f
  teardown   # leftovers of an earlier, interrupted run
  if want basic || want any || want frag || want vlan || want standards; then
    make_files
    build_topology
    start_services
    want basic && { record_basic; check_basic; }
    want any && record_any
    want frag && record_frag
    want vlan && record_vlan
    if want standards; then
      make_standards_files
      start_services_standards
      record_standards
      check_standards
    fi
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

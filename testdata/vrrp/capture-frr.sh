#!/bin/sh
# capture-frr.sh regenerates the frr-*.hex golden vectors from a real FRR vrrpd.
#
# It needs root, FRR (zebra + vrrpd), tcpdump and iproute2. It builds two network
# namespaces (gvF-<rand>-r runs zebra and vrrpd, gvF-<rand>-t runs tcpdump) joined
# by a veth pair, configures two VRRPv3 IPv4 routers on the veth and captures
# their adverts:
#   VRID 78, priority 150, 500 ms, VIP 192.0.2.178: FRR's default checksum, which
#     includes the IPv4 pseudo-header            -> frr-v3-ipv4-pseudo.hex
#   VRID 77, priority 200, 1000 ms, VIP 192.0.2.177, with
#     `no vrrp 77 checksum-with-ipv4-pseudoheader` (RFC 9568 form, FRR >= 9.0)
#                                                -> frr-v3-ipv4-msgonly.hex
# An FRR without that command (Debian bookworm ships 8.4.4) only yields the
# pseudo-header vector; the script says so and exits 0 after writing it.
#
# FRR's vrrpd sends from the parent interface and needs, per VR, a macvlan on
# it whose MAC is the virtual MAC 00:00:5e:00:01:<VRID> and which holds the VIP.
# Only 192.0.2.0/24 is used; adverts go to 224.0.0.18 on the veth only.
#
# usage: sudo testdata/vrrp/capture-frr.sh [OUTDIR]   (default: this script's directory)
# env:   FRR_BIN  directory holding zebra and vrrpd (default /usr/lib/frr)
#        FRR_RUN  command prefix to start them with, e.g. a dynamic loader
#                 plus --library-path for an unpacked FRR (default empty)
set -eu

OUT=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$OUT"
FRR_BIN=${FRR_BIN:-/usr/lib/frr}
FRR_RUN=${FRR_RUN:-}
RAND=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NSR=gvF-$RAND-r
NST=gvF-$RAND-t
TMP=$(mktemp -d /tmp/gvF-capture.XXXXXX)
TPID=""
ZPID=""
VPID=""

# stop NAME PID: end one FRR daemon we started and wait (bounded) for it. The
# daemons run in the foreground, so PID is exact: `ip netns exec` and a loader
# in FRR_RUN exec in place rather than fork.
stop() {
	[ -n "$2" ] || return 0
	if kill "$2" 2>/dev/null; then
		for _ in $(seq 1 25); do
			kill -0 "$2" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$2" 2>/dev/null || true
	fi
	# FRR keeps an empty crash-log directory per daemon and pid; drop ours.
	rm -rf "/var/tmp/frr/$1.$2"
}

cleanup() {
	stop vrrpd "$VPID"
	stop zebra "$ZPID"
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null || true
	ip netns del "$NSR" 2>/dev/null || true
	ip netns del "$NST" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

ip netns add "$NSR"
ip netns add "$NST"
# Both ends are created inside the namespaces, so concurrent runs never clash on names.
ip link add gvFr netns "$NSR" type veth peer name gvFt netns "$NST"
ip -n "$NSR" link set lo up
ip -n "$NSR" link set gvFr address 02:00:5e:00:03:01 up
ip -n "$NST" link set gvFt address 02:00:5e:00:03:02 up
ip -n "$NSR" addr add 192.0.2.21/24 dev gvFr
ip -n "$NST" addr add 192.0.2.22/24 dev gvFt
IFX=$(ip netns exec "$NSR" cat /sys/class/net/gvFr/ifindex)

# vmac VRID HEXVRID VIP: the macvlan FRR looks for (named as in FRR's docs).
vmac() {
	ip -n "$NSR" link add "vrrp4-$IFX-$1" link gvFr type macvlan mode bridge
	ip -n "$NSR" link set "vrrp4-$IFX-$1" address "00:00:5e:00:01:$2"
	ip -n "$NSR" addr add "$3/24" dev "vrrp4-$IFX-$1"
	ip -n "$NSR" link set "vrrp4-$IFX-$1" up
}
vmac 77 4d 192.0.2.177
vmac 78 4e 192.0.2.178

MSGONLY=""
if grep -q checksum-with-ipv4-pseudoheader "$FRR_BIN/vrrpd"; then
	MSGONLY=" no vrrp 77 checksum-with-ipv4-pseudoheader"
fi
cat >"$TMP/vrrpd.conf" <<CONF
interface gvFr
 vrrp 77 version 3
 vrrp 77 priority 200
 vrrp 77 advertisement-interval 1000
 vrrp 77 ip 192.0.2.177
$MSGONLY
 vrrp 78 version 3
 vrrp 78 priority 150
 vrrp 78 advertisement-interval 500
 vrrp 78 ip 192.0.2.178
!
CONF
: >"$TMP/zebra.conf"

ip netns exec "$NST" tcpdump -i gvFt -U -n -w "$TMP/vrrp.pcap" 'ip proto 112' \
	>"$TMP/tcpdump.log" 2>&1 &
TPID=$!
for _ in $(seq 1 50); do
	grep -q listening "$TMP/tcpdump.log" 2>/dev/null && break
	sleep 0.1
done

# start NAME: run one FRR daemon in the router namespace with its own pid, zserv,
# vty and config paths under $TMP (-P 0: no TCP vty). The daemons drop to the frr
# user (Debian's build insists on it being in frrvty), so it must own $TMP.
start() {
	# shellcheck disable=SC2086
	ip netns exec "$NSR" $FRR_RUN "$FRR_BIN/$1" -P 0 -z "$TMP/zserv.api" --vty_socket "$TMP" \
		-i "$TMP/$1.pid" -f "$TMP/$1.conf" --log "file:$TMP/$1.log" >"$TMP/$1.out" 2>&1 &
}
# alive NAME PID: fail with the daemon's output if it has exited.
alive() {
	kill -0 "$2" 2>/dev/null && return 0
	echo "capture-frr.sh: $1 exited:" >&2
	cat "$TMP/$1.out" "$TMP/$1.log" >&2 2>/dev/null || true
	exit 1
}
chown -R frr:frr "$TMP"
start zebra
ZPID=$!
for _ in $(seq 1 50); do
	[ -S "$TMP/zserv.api" ] && break
	alive zebra "$ZPID"
	sleep 0.1
done
start vrrpd
VPID=$!

# dump VRID prints the VRRP message (IP payload) of the last captured IPv4 advert
# for VRID with priority > 0, as "src dst hex".
. "$(dirname "$0")/pcap-dump.sh"

# Wait (bounded: 20 s) until both VRIDs have been seen as master.
ok=""
for _ in $(seq 1 100); do
	alive zebra "$ZPID"
	alive vrrpd "$VPID"
	if [ -s "$TMP/vrrp.pcap" ] && [ -n "$(dump 77)" ] && [ -n "$(dump 78)" ]; then
		ok=1
		break
	fi
	sleep 0.2
done
if [ -z "$ok" ]; then
	echo "capture-frr.sh: no adverts from FRR vrrpd; its logs:" >&2
	cat "$TMP"/*.out "$TMP"/*.log >&2 2>/dev/null || true
	exit 1
fi

VER=$($FRR_RUN "$FRR_BIN/vrrpd" --version 2>&1 | head -1 | awk '{print $3}')
write() { # file vrid what
	set -- "$1" "$2" "$3" $(dump "$2")
	{
		echo "# src=$4 dst=$5 version=3 what=\"$3\" provenance=\"captured from FRR vrrpd $VER by capture-frr.sh\""
		echo "$6" | fold -w 32
	} >"$OUT/$1"
	echo "wrote $OUT/$1"
}
write frr-v3-ipv4-pseudo.hex 78 "v3 IPv4, FRR default checksum with IPv4 pseudo-header, VRID 78, priority 150, 1 VIP, 50 cs"
if [ -n "$MSGONLY" ]; then
	write frr-v3-ipv4-msgonly.hex 77 "v3 IPv4, checksum without IPv4 pseudo-header (no vrrp 77 checksum-with-ipv4-pseudoheader, RFC 9568 form), VRID 77, priority 200, 1 VIP, 100 cs"
else
	echo "capture-frr.sh: FRR vrrpd $VER has no checksum-with-ipv4-pseudoheader (needs FRR >= 9.0); frr-v3-ipv4-msgonly.hex not written" >&2
fi

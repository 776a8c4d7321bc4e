#!/bin/sh
# capture.sh regenerates the keepalived-*.hex golden vectors from a real keepalived.
#
# It needs root, keepalived, tcpdump and iproute2. It builds two network namespaces
# (gvA-<rand>-k runs keepalived, gvA-<rand>-t runs tcpdump) joined by a veth pair,
# runs keepalived with four VRRP instances (v2 PASS, v3 IPv4 at 0.5 s, v3 IPv6),
# captures the adverts, writes one .hex file per instance and removes everything.
# Only 192.0.2.0/24, 2001:db8::/32 and a fixed link-local fe80::1 are used; the
# adverts go to the VRRP multicast groups on the veth only.
#
# usage: sudo testdata/vrrp/capture.sh [OUTDIR]   (default: this script's directory)
set -eu

OUT=${1:-$(cd "$(dirname "$0")" && pwd)}
RAND=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NSK=gvA-$RAND-k
NST=gvA-$RAND-t
TMP=$(mktemp -d /tmp/gvA-capture.XXXXXX)
KPID=""
TPID=""

cleanup() {
	[ -n "$KPID" ] && kill "$KPID" 2>/dev/null || true
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null || true
	# keepalived's children exit with their parent; wait a little for them.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -n "$KPID" ] && kill -0 "$KPID" 2>/dev/null || break
		sleep 0.2
	done
	ip netns del "$NSK" 2>/dev/null || true
	ip netns del "$NST" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

ip netns add "$NSK"
ip netns add "$NST"
# Both ends are created inside the namespaces, so concurrent runs never clash on names.
ip link add gvAk netns "$NSK" type veth peer name gvAt netns "$NST"
# A fixed link-local source makes the IPv6 pseudo-header (and so the checksum) reproducible.
ip -n "$NSK" link set gvAk addrgenmode none
ip -n "$NST" link set gvAt addrgenmode none
ip -n "$NSK" link set lo up
ip -n "$NSK" link set gvAk address 02:00:5e:00:02:01 up
ip -n "$NST" link set gvAt address 02:00:5e:00:02:02 up
ip -n "$NSK" addr add 192.0.2.1/24 dev gvAk
ip -n "$NSK" addr add fe80::1/64 dev gvAk nodad
ip -n "$NSK" addr add 2001:db8::1/64 dev gvAk nodad
ip -n "$NST" addr add 192.0.2.2/24 dev gvAt

cat >"$TMP/keepalived.conf" <<CONF
global_defs {
	router_id gvA
	vrrp_garp_master_repeat 1
	vrrp_garp_master_delay 0
	script_user root
	enable_script_security
}
vrrp_instance v2pass {
	version 2
	interface gvAk
	state MASTER
	virtual_router_id 51
	priority 150
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass secretpassword
	}
	virtual_ipaddress {
		192.0.2.100
		192.0.2.101
	}
}
vrrp_instance v3v4 {
	version 3
	interface gvAk
	state MASTER
	virtual_router_id 52
	priority 200
	advert_int 0.5
	virtual_ipaddress {
		192.0.2.110
	}
}
vrrp_instance v3v6 {
	version 3
	interface gvAk
	state MASTER
	virtual_router_id 53
	priority 100
	advert_int 1
	virtual_ipaddress {
		2001:db8::100
		2001:db8::101
	}
}
CONF

ip netns exec "$NST" tcpdump -i gvAt -U -n -w "$TMP/vrrp.pcap" 'ip proto 112 or ip6 proto 112' \
	>"$TMP/tcpdump.log" 2>&1 &
TPID=$!
# Give tcpdump a moment to open the capture (bounded poll on its "listening" line).
for _ in $(seq 1 50); do
	grep -q listening "$TMP/tcpdump.log" 2>/dev/null && break
	sleep 0.1
done

ip netns exec "$NSK" keepalived -n -l -D -P -f "$TMP/keepalived.conf" -p "$TMP/k.pid" \
	-r "$TMP/vrrp.pid" -c "$TMP/chk.pid" >"$TMP/keepalived.log" 2>&1 &
KPID=$!

# dump VRID prints the VRRP message (IP payload) of the last captured advert for VRID
# with priority > 0, as "src dst hex".
. "$(dirname "$0")/pcap-dump.sh"

# Wait (bounded: 20 s) until all three VRIDs have been seen as master.
ok=""
for _ in $(seq 1 100); do
	if [ -s "$TMP/vrrp.pcap" ] && [ -n "$(dump 51)" ] && [ -n "$(dump 52)" ] && [ -n "$(dump 53)" ]; then
		ok=1
		break
	fi
	sleep 0.2
done
if [ -z "$ok" ]; then
	echo "capture.sh: no adverts from keepalived; its log:" >&2
	cat "$TMP/keepalived.log" >&2
	exit 1
fi

# v6hex formats 32 hex digits as an IPv6 address (uncompressed groups; Go parses it).
v6() { echo "$1" | sed 's/..../&:/g; s/:$//'; }

write() { # file vrid version what
	set -- "$1" "$2" "$3" "$4" $(dump "$2")
	src=$5 dst=$6 body=$7
	case $src in *.*) ;; *) src=$(v6 "$src"); dst=$(v6 "$dst") ;; esac
	{
		echo "# src=$src dst=$dst version=$3 what=\"$4\" provenance=\"captured from keepalived $(keepalived --version 2>&1 | head -1 | awk '{print $2}') by capture.sh\""
		echo "$body" | fold -w 32
	} >"$OUT/$1"
	echo "wrote $OUT/$1"
}
write keepalived-v2-pass.hex 51 2 "v2 PASS auth, auth_pass secretpassword truncated to secretpa, 2 VIPs, advert_int 1"
write keepalived-v3-ipv4.hex 52 3 "v3 IPv4, pseudo-header checksum (keepalived default), advert_int 0.5"
write keepalived-v3-ipv6.hex 53 3 "v3 IPv6, RFC 8200 pseudo-header checksum, 2 VIPs, advert_int 1"

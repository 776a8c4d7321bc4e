#!/bin/sh
# dump.sh regenerates *.dump.txt (raw `keepalived -d` output) and *.golden.json
# (the instances, VIPs and tracks keepalived 2.2.7 builds) for every sample in
# SAMPLES. Needs root, keepalived and iproute2.
#
# Safety: keepalived runs in a throwaway namespace gvC-<rand> whose interfaces
# (eth0..eth3, eth0.1: veth pairs) are left DOWN, so every instance stays in
# FAULT: no advert is sent and no VIP/route is installed, whatever addresses
# the sample uses; static_* blocks are dropped from the copy for the same
# reason (keepalived installs them at start regardless of state). Scripts and
# notify commands become /bin/true so nothing from a sample runs as root (and
# no script is disabled for being missing, which govrrp does not model).
# lvs_sync_daemon_interface is dropped: it makes keepalived's VRRP process
# initialise IPVS, which the namespace lacks, and exit before dumping.
set -eu
SAMPLES=${SAMPLES:-/work/shared/testdata/keepalived-samples}
OUT=$(cd "$(dirname "$0")" && pwd)
NS=gvC-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
TMP=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
ip netns add "$NS"
for i in eth0 eth1 eth2 eth3 eth0.1; do
	ip -n "$NS" link add "$i" type veth peer name "p$i" 2>/dev/null || true
done

strip_static() {
	# drop top-level static_ipaddress/static_routes/static_rules blocks
	awk 'BEGIN{d=0;skip=0}
	{ line=$0; sub(/[#!].*/,"",line) }
	skip==0 && d==0 && line ~ /^[ \t]*static_(ipaddress|routes|rules)[ \t]*\{/ { skip=1 }
	{ n=gsub(/\{/,"{",line); m=gsub(/\}/,"}",line); if (!skip) print; d+=n-m; if (skip && d==0) skip=0 }' "$1"
}

for f in "$SAMPLES"/keepalived.conf.*; do
	grep -q vrrp_instance "$f" || continue
	b=$(basename "$f")
	# never run the samples' scripts as root: every script/notify becomes /bin/true
	strip_static "$f" | sed -E \
		-e 's#^([[:space:]]*(@[^[:space:]]+[[:space:]]+)?script)[[:space:]].*#\1 /bin/true#' \
		-e 's#^([[:space:]]*notify[a-z_]*)[[:space:]].*#\1 /bin/true#' \
		-e '/^[[:space:]]*lvs_sync_daemon_interface/d' > "$TMP/$b"
	timeout 4 keepalived -s "$NS" -n -l -P -d -i high -f "$TMP/$b" \
		-p "$TMP/k.pid" -r "$TMP/v.pid" > "$TMP/$b.out" 2>&1 || true
	sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]{8} [0-9]{4}: //' "$TMP/$b.out" |
		sed -E -e "s|$TMP/||g" -e "s|$NS|NETNS|g" -e 's/pid[= ][0-9]+/pid N/' -e 's/MAC = [0-9a-f:]+/MAC = X/' |
		grep -v -e '^Command line' -e '^ *'"'" -e 'Running on' -e '^Configuration file' \
			-e '^Startup complete' -e 'fe80::' |
		awk '/------< Interfaces >------/ { exit } { print }' > "$OUT/$b.dump.txt"
	awk -f "$OUT/dump2json.awk" "$OUT/$b.dump.txt" > "$OUT/$b.golden.json"
done

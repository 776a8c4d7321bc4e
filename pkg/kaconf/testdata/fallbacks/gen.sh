#!/bin/sh
# gen.sh records what keepalived 2.2.7 says about, and builds from, every
# *.conf here (TestFallbacks compares govrrp with both):
#   NAME.keepalived.txt  the lines `keepalived -t` logs while loading NAME.conf
#   NAME.golden.json     the instances keepalived builds (`keepalived -d` dump,
#                        through ../cfg/dump2json.awk); an instance keepalived
#                        drops is absent, no instance at all is {"instances": []}
#   NAME.effective.txt   more effective values from that dump, as KEY=VALUE
#                        (effective.awk): globals, timers, scripts, processes
#   samples/*.keepalived.txt  what -t -P logs for keepalived's own samples
#                        (TestSamplesReportedLines); always regenerated
# Needs root, keepalived and iproute2. Run from anywhere: sh gen.sh [NAME.conf...]
# (all files: about 6 s each, mostly the -d run's timeout).
#
# Safety: keepalived runs in a throwaway namespace gvF-<rand> whose veths
# (eth0..eth3) stay DOWN, so every instance is in FAULT: no advert is sent and
# no address installed. The corpus uses only 192.0.2.0/24 and 2001:db8::/32,
# /bin/true as its only script and /proc/sys/net/ipv4/ip_forward (read, never
# written: no init_file overwrite) as its only tracked file.
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
NS=gvF-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
TMP=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
ip netns add "$NS"
for i in eth0 eth1 eth2 eth3; do
	ip -n "$NS" link add "$i" type veth peer name "p$i"
done
cd "$DIR"
[ $# -gt 0 ] || set -- *.conf
for f in "$@"; do
	b=${f%.conf}
	# -t: load and report only; the relative path keeps the golden host-free.
	ip netns exec "$NS" keepalived -t -n -l -D -f "$f" -p "$TMP/k.pid" -r "$TMP/v.pid" 2>&1 |
		grep -v -e '^Command line' -e 'Running on' -e '^Configuration file' > "$b.keepalived.txt" || true
	# -d: run briefly and dump the configuration keepalived built.
	timeout 3 keepalived -s "$NS" -n -l -P -d -f "$DIR/$f" \
		-p "$TMP/k.pid" -r "$TMP/v.pid" > "$TMP/$b.out" 2>&1 || true
	sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]{8} [0-9]{4}: //' "$TMP/$b.out" |
		awk '/------< Interfaces >------/ { exit } { print }' > "$TMP/$b.dump"
	awk -f "$DIR/../cfg/dump2json.awk" "$TMP/$b.dump" > "$b.golden.json"
	awk -f "$DIR/effective.awk" "$TMP/$b.dump" > "$b.effective.txt"
done

# keepalived's own samples (SAMPLES): what -t -P reports on each, for
# TestSamplesReportedLines.
SAMPLES=${SAMPLES:-/work/shared/testdata/keepalived-samples}
mkdir -p "$DIR/samples"
for f in "$SAMPLES"/keepalived.conf*; do
	b=$(basename "$f")
	(cd "$SAMPLES" && ip netns exec "$NS" keepalived -t -n -l -D -P -f "$b" -p "$TMP/k.pid" -r "$TMP/v.pid" 2>&1 |
		grep -v -e '^Command line' -e 'Running on' -e '^Configuration file') > "$DIR/samples/$b.keepalived.txt" || true
done

#!/bin/sh
# capture.sh re-creates the keepalived 2.2.7 dump captures in this directory.
#
# Run as root on a host with Debian's keepalived 2.2.7:
#
#	sudo sh internal/kadump/testdata/keepalived-2.2.7/capture.sh
#
# Lab: two network namespaces gvd-<rand>-a / -b joined by a veth pair (lan0 on
# both sides), veth pairs trk0/trk0p and trkf/trkfp in each for
# track_interface (this kernel has no dummy module); node-a.conf and
# node-b.conf. Expected steady state: VI_4 (v2, PASS, unicast) MASTER on A,
# VI_6 (v3, IPv6, multicast) MASTER on B, VI_F (track_interface trkf, which is
# down, weight 0; track_file, track_process) FAULT on both.
#
# Each keepalived runs with -n under `ip netns exec`, whose private mount
# namespace gets a bind mount of a work directory over /tmp, so keepalived
# writes its /tmp/keepalived.* files there and never to the host's /tmp.
#
# Written here:
#   a.data a.stats a.json          node A on SIGUSR1, SIGUSR2, JSON (36)
#   b.data b.stats b.json          node B, same
#   a.stats-clear                  node A's file on STATS_CLEAR (63)
#   a.stats-after-clear            node A's SIGUSR2 right after STATS_CLEAR
#   a.parent-data                  keepalived_parent.data, the parent's SIGUSR1 file
#   paths.txt                      where each experiment's files went, modes
#
# Every wait is a bounded poll (two short sleeps: strace gives no "attached"
# event, and re-signalling is paced). The namespaces are deleted and every
# keepalived started here is stopped on every exit path.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
KA=${KEEPALIVED:-/usr/sbin/keepalived}
R=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NSA=gvd-$R-a
NSB=gvd-$R-b
NSC=gvd-$R-c
# Not under /tmp: /tmp is bind-mounted over inside the lab.
WORK=$(mktemp -d /var/tmp/gvd-kadump.XXXXXX)
PIDS=""

log() { echo "capture: $*" >&2; }

cleanup() {
	rc=$?
	set +e
	if [ $rc -ne 0 ]; then
		for f in "$WORK"/*/log; do [ -f "$f" ] && { log "--- $f"; tail -n 40 "$f" >&2; }; done
	fi
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	# Anything still inside our namespaces (a VRRP child whose parent was
	# killed, a script) is ours: stop it by pid.
	for ns in $NSA $NSB $NSC; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	ip link del "gvd-$R-va" 2>/dev/null # if it never reached its namespace
	if [ -n "${KEEP_WORK:-}" ]; then log "work kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# waitfor SECONDS COMMAND...: poll COMMAND every 100 ms until it succeeds.
# (sh has no locals: its counter is _wf.)
waitfor() {
	_wf=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		_wf=$((_wf - 1))
		if [ $_wf -le 0 ]; then
			log "timed out waiting for: $*"
			return 1
		fi
		sleep 0.1
	done
}

# start NODE NS CONF [VAR=VALUE...]: keepalived -n in NS, /tmp bound to
# $WORK/NODE/tmp; extra VAR=VALUE go to its environment.
start() {
	node=$1 ns=$2 conf=$3
	shift 3
	mkdir -p "$WORK/$node/tmp" "$WORK/$node/tmpdir"
	env "$@" ip netns exec "$ns" sh -c 'mount --bind "$0" /tmp && exec "$@"' "$WORK/$node/tmp" \
		"$KA" -n -l -D -P -f "$conf" -p "$WORK/$node/keepalived.pid" -r "$WORK/$node/vrrp.pid" \
		>"$WORK/$node/log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$node=$!"
}

# settled FILE: FILE exists, is not empty, and its size is stable.
settled() {
	[ -s "$1" ] || return 1
	s1=$(stat -c %s "$1")
	sleep 0.1
	[ "$s1" = "$(stat -c %s "$1")" ]
}

# signal NODE SIG FILE OUT: signal NODE's keepalived, wait for FILE (a path)
# to appear, copy it to OUT in this directory.
signal() {
	rm -f "$3.prev"
	[ -e "$3" ] && mv "$3" "$3.prev"
	eval "kill -s $2 \$PID_$1"
	waitfor 10 settled "$3"
	[ -n "$4" ] && cp "$3" "$HERE/$4" && chmod 644 "$HERE/$4"
	return 0
}

ip netns add $NSA
ip netns add $NSB
ip netns add $NSC
ip link add gvd-$R-va type veth peer name gvd-$R-vb
ip link set gvd-$R-va netns $NSA
ip link set gvd-$R-vb netns $NSB
# Fixed MACs make the link-local addresses (VI_6's source and master) the
# same on every run: A lan0 fe80::ff:fe00:a01, B lan0 fe80::ff:fe00:b01.
for pair in "$NSA gvd-$R-va 192.0.2.1 2001:db8::1 0a" "$NSB gvd-$R-vb 192.0.2.2 2001:db8::2 0b"; do
	set -- $pair
	ip -n "$1" link set "$2" name lan0
	ip -n "$1" link set lan0 address "02:00:00:00:$5:01"
	ip -n "$1" link set lo up
	ip -n "$1" link set lan0 up
	ip -n "$1" addr add "$3/24" dev lan0
	ip -n "$1" -6 addr add "$4/64" dev lan0 nodad
	ip -n "$1" link add trk0 address "02:00:00:00:$5:02" type veth peer name trk0p address "02:00:00:00:$5:03"
	ip -n "$1" link set trk0 up
	ip -n "$1" link set trk0p up
	ip -n "$1" link add trkf address "02:00:00:00:$5:04" type veth peer name trkfp address "02:00:00:00:$5:05"
done

# On B, trk0 is down: VI_4 there loses 20 (BACKUP either way), and the
# dump shows how keepalived spells a tracked interface that is down.
ip -n $NSB link set trk0 down

start a $NSA "$HERE/node-a.conf"
# Node B runs with TMPDIR set, to see whether keepalived honours it.
start b $NSB "$HERE/node-b.conf" TMPDIR="$WORK/b/tmpdir"

log "waiting for VI_4 MASTER on A (192.0.2.100) and VI_6 MASTER on B (2001:db8::100)"
waitfor 30 sh -c "ip -n $NSA -4 addr show dev lan0 | grep -q 'inet 192.0.2.100/'"
waitfor 30 sh -c "ip -n $NSB -6 addr show dev lan0 | grep -q 'inet6 2001:db8::100/'"
# A's VI_6 has heard B's adverts once A's dump names B as master.
i=0
until grep -q 'Master router = fe80' "$WORK/a/tmp/keepalived.data" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 20 ] || { log "A never saw B's VI_6 adverts"; exit 1; }
	signal a USR1 "$WORK/a/tmp/keepalived.data" ""
	sleep 0.5
done

# Where does B (TMPDIR set) write?
kill -s USR1 "$PID_b"
waitfor 10 sh -c "[ -s '$WORK/b/tmp/keepalived.data' ] || [ -s '$WORK/b/tmpdir/keepalived.data' ]"
B=$WORK/b/tmp
[ -s "$WORK/b/tmpdir/keepalived.data" ] && B=$WORK/b/tmpdir

# How does keepalived write the files? Trace node A's VRRP child while it
# writes each of them once (only if strace is installed).
if command -v strace >/dev/null; then
	strace -f -qq -p "$(cat "$WORK/a/vrrp.pid")" -o "$WORK/strace.txt" \
		-e trace=open,openat,creat,rename,renameat,renameat2,fchmod,chmod,fchown,unlink,unlinkat &
	ST=$!
	PIDS="$PIDS $ST"
	sleep 1 # strace gives no "attached" signal to poll for
	signal a USR1 "$WORK/a/tmp/keepalived.data" ""
	signal a USR2 "$WORK/a/tmp/keepalived.stats" ""
	signal a 36 "$WORK/a/tmp/keepalived.json" ""
	kill -INT $ST
	waitfor 10 sh -c "! kill -0 $ST" || kill -KILL $ST
	grep -E 'keepalived[^"]*\.(data|stats|json)|fchmod|fchown' "$WORK/strace.txt" | grep -v ENOENT |
		sed -E -e 's/^[0-9]+ +//' -e "s|$WORK/a/tmp|/tmp|g" -e 's/^(fchmod|fchown)\([0-9]+,/\1(FD,/; s/= [0-9]+$/= N/' \
			-e 's/keepalived\.(data|stats|json)[A-Za-z0-9]{6}"/keepalived.\1XXXXXX"/g' \
		>"$WORK/strace.sum"
fi

signal a USR1 "$WORK/a/tmp/keepalived.data" a.data
signal a USR2 "$WORK/a/tmp/keepalived.stats" a.stats
signal a 36 "$WORK/a/tmp/keepalived.json" a.json
signal b USR1 "$B/keepalived.data" b.data
signal b USR2 "$B/keepalived.stats" b.stats
signal b 36 "$B/keepalived.json" b.json
signal a 63 "$WORK/a/tmp/keepalived.stats" a.stats-clear
signal a USR2 "$WORK/a/tmp/keepalived.stats" a.stats-after-clear
cp "$WORK/a/tmp/keepalived_parent.data" "$HERE/a.parent-data" 2>/dev/null && chmod 644 "$HERE/a.parent-data" || true

{
	echo "# $($KA -v 2>&1 | head -1)"
	echo "# node A, plain: files in its /tmp (mode owner name):"
	(cd "$WORK/a/tmp" && stat -c '%a %U %n' keepalived* | grep -v '\.prev$')
	if [ "$B" = "$WORK/b/tmp" ]; then
		echo "# node B, TMPDIR=<dir> in its environment: files in /tmp (TMPDIR ignored):"
	else
		echo "# node B, TMPDIR=<dir> in its environment: files in \$TMPDIR (TMPDIR honoured):"
	fi
	(cd "$B" && stat -c '%a %U %n' keepalived* | grep -v '\.prev$')
	echo "# node B's /tmp holds: $(ls "$WORK/b/tmp" | tr '\n' ' ')"
	if [ -s "$WORK/strace.sum" ]; then
		echo "# node A's VRRP child writing keepalived.data, .stats, .json (strace, pids and fds elided):"
		cat "$WORK/strace.sum"
	fi
} >"$HERE/paths.txt"

# Node C: where do net_namespace / instance / data_use_instance /
# tmp_config_directory put the files? With net_namespace keepalived enters
# the namespace itself; it is started in a private mount namespace so its
# /tmp is $WORK/<node>/tmp as well.
ip -n $NSC link add lan0 type veth peer name lan1
ip -n $NSC link set lo up
ip -n $NSC link set lan0 up
ip -n $NSC link set lan1 up
ip -n $NSC addr add 192.0.2.9/24 dev lan0
n=0
for variant in "net_namespace" "net_namespace+instance" "net_namespace+data_use_instance" \
	"net_namespace+instance+data_use_instance" \
	"instance+data_use_instance" "tmp_config_directory"; do
	n=$((n + 1))
	node=c$n
	conf=$WORK/$node.conf
	mkdir -p "$WORK/$node/tmp" "$WORK/$node/cfgtmp"
	{
		case $variant in *net_namespace*) echo "net_namespace $NSC" ;; esac
		case $variant in instance* | *+instance*) echo "instance kd1" ;; esac
		echo "global_defs {"
		case $variant in *data_use_instance*) echo "    data_use_instance" ;; esac
		case $variant in *tmp_config_directory*) echo "    tmp_config_directory $WORK/$node/cfgtmp" ;; esac
		echo "}"
		echo "vrrp_instance VI_C {"
		echo "    interface lan0"
		echo "    virtual_router_id 60"
		echo "    priority 100"
		echo "    virtual_ipaddress {"
		echo "        192.0.2.60/24"
		echo "    }"
		echo "}"
	} >"$conf"
	case $variant in
	*net_namespace*)
		unshare -m --propagation slave sh -c 'mount --bind "$0" /tmp && exec "$@"' "$WORK/$node/tmp" \
			"$KA" -n -l -D -P -f "$conf" -p "$WORK/$node/keepalived.pid" -r "$WORK/$node/vrrp.pid" \
			>"$WORK/$node/log" 2>&1 &
		;;
	*)
		ip netns exec $NSC sh -c 'mount --bind "$0" /tmp && exec "$@"' "$WORK/$node/tmp" \
			"$KA" -n -l -D -P -f "$conf" -p "$WORK/$node/keepalived.pid" -r "$WORK/$node/vrrp.pid" \
			>"$WORK/$node/log" 2>&1 &
		;;
	esac
	p=$!
	PIDS="$PIDS $p"
	waitfor 20 sh -c "ip -n $NSC -4 addr show dev lan0 | grep -q 192.0.2.60"
	for s in USR1 USR2 36; do kill -s $s $p; done
	waitfor 10 sh -c "[ \$(find '$WORK/$node/tmp' '$WORK/$node/cfgtmp' -type f | wc -l) -ge 4 ]" || true
	{
		echo "# $variant: files written"
		(cd "$WORK/$node" && find tmp cfgtmp -type f | sort | sed -e "s/$NSC/<NS>/g" -e 's|^tmp/|/tmp/|' -e 's|^cfgtmp/|<tmp_config_directory>/|')
	} >>"$HERE/paths.txt"
	kill -TERM $p
	waitfor 10 sh -c "! kill -0 $p" || kill -KILL $p
	waitfor 10 sh -c "! ip -n $NSC -4 addr show dev lan0 | grep -q 192.0.2.60" ||
		ip -n $NSC addr del 192.0.2.60/24 dev lan0 2>/dev/null || true
done

log "done: $(ls "$HERE" | tr '\n' ' ')"

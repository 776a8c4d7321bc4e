#!/bin/sh
# capture.sh records what keepalived does for notifications, into
# keepalived-<version>-notify.txt next to this script (or OUTFILE).
#
# It needs root, keepalived, iproute2 and nft. It builds two network
# namespaces joined by a veth pair: gvn-<rand>-a runs the keepalived under
# test (A), gvn-<rand>-b a second keepalived (B) that an nft rule makes deaf to
# A's adverts, so that B becomes master too and sends A lower-priority adverts.
# A configures every notify kind (notify_master/backup/fault/stop/deleted,
# notify, notify_master_rx_lower_pri, notify_fifo + notify_fifo_script,
# vrrp_notify_fifo + vrrp_notify_fifo_script, notify_priority_changes, a sync
# group), all pointing at one logging script, and the capture provokes
# transitions: start-up, priority changes from a weighted vrrp_script in
# MASTER, FAULT and BACKUP, a lower-priority advert, a killed FIFO reader,
# link down/up, a reload that deletes instances, SIGTERM. It writes the
# scripts' argv in fork order, the FIFO lines, and the context scripts run in
# (with strace installed, also A's relevant system calls). Phase 2 runs A
# again with the global vrrp_notify_priority_changes and a FIFO owned by, and
# read as, nobody. Only 192.0.2.0/24 is used. Every wait is bounded; the namespaces, both
# keepalived and every script they started are removed on every path.
#
# usage: sudo internal/notify/testdata/capture.sh [OUTFILE]
#        KEEP=DIR also keeps the raw logs in DIR.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$(keepalived --version 2>&1 | head -1 | awk '{print $2}' | tr -d v)
OUT=${1:-$HERE/keepalived-$VERSION-notify.txt}
RAND=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NSA=gvn-$RAND-a
NSB=gvn-$RAND-b
TMP=$(mktemp -d /tmp/gvn-capture.XXXXXX)
chmod 755 "$TMP" # scripts run as nobody must reach their log
APID=""
BPID=""

# alive PID: the process exists and is one of ours (its command line names TMP).
alive() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "$TMP"; }

# kpids: keepalived parents from their pid files (under strace, APID is strace).
kpids() { for f in "$TMP"/a.pid "$TMP"/b.pid "$TMP"/a2.pid; do [ -s "$f" ] && cat "$f"; done; true; }
cleanup() {
	K=$(kpids)
	for p in $K $APID $BPID; do kill "$p" 2>/dev/null || true; done
	for _ in $(seq 1 50); do # keepalived exits within a second or two of SIGTERM
		any=""
		for p in $K $APID $BPID; do kill -0 "$p" 2>/dev/null && any=1; done
		[ -z "$any" ] && break
		sleep 0.2
	done
	for p in $K $APID $BPID; do kill -9 "$p" 2>/dev/null || true; done
	# Scripts keepalived started (notify scripts, FIFO readers) record their PIDs.
	if [ -f "$TMP/pids" ]; then
		for p in $(cat "$TMP/pids"); do alive "$p" && kill -9 -- "-$p" "$p" 2>/dev/null || true; done
	fi
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$TMP"/. "$KEEP"/ 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

now() { date +%s.%N; }
T0=$(now)
step() { echo "STEP t=$(now) $*" >>"$TMP/steps.log"; echo "capture.sh: $*" >&2; }

# waitfor SECONDS FILE PATTERN [COUNT]: poll until FILE has COUNT (default 1)
# lines matching PATTERN.
waitfor() {
	n=$(($1 * 5))
	while [ "$n" -gt 0 ]; do
		[ "$(grep -c -- "$3" "$2" 2>/dev/null || true)" -ge "${4:-1}" ] && return 0
		sleep 0.2
		n=$((n - 1))
	done
	step "TIMEOUT waiting ${1}s for ${4:-1} of /$3/ in $(basename "$2")"
	return 1
}
count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
# fifo PATTERN [N]: wait for the Nth vrrp.fifo line matching PATTERN.
fifo() { waitfor 15 "$TMP/fifo.log" "^LINE vrrp.fifo .*$1" "${2:-1}" || true; }

mkdir "$TMP/bin"
for f in runs.log fifo.log pids; do : >"$TMP/$f" && chmod 666 "$TMP/$f"; done

# log.sh: every notify script is a symlink to it named after its keyword.
# One line per run: pid, time, credentials, process group/session, argv.
cat >"$TMP/bin/log.sh" <<'EOF'
#!/bin/sh
D=$(dirname "$(dirname "$(readlink -f "$0")")")
echo $$ >>"$D/pids"
# The shell's own descriptors as keepalived left them (dash adds its script's fd).
[ -e "$D/fds.log" ] || ls -l /proc/$$/fd >"$D/fds.log" 2>&1
t=$(date +%s.%N)
a=""
for x in "$0" "$@"; do a="$a[$x]"; done
for s in TERM INT HUP; do trap "echo \"SIG$s t=\$(date +%s.%N) argv=\$a\" >>$D/runs.log; exit 1" $s; done
set -- $(cut -d' ' -f4-6 /proc/$$/stat)
echo "RUN pid=$$ t=$t uid=$(id -u) gid=$(id -g) groups=$(id -G | tr ' ' ,) ppid=$1 pgid=$2 sid=$3 argv=$a" >>"$D/runs.log"
# The first run describes the environment keepalived gives its scripts.
if mkdir "$D/ctx.lock" 2>/dev/null; then
	{
		echo "argv=$a pgid==pid: $([ "$2" = $$ ] && echo yes || echo no)"
		echo "--- env"; env | sort
		echo "--- umask $(umask) cwd $(pwd)"
		echo "--- status"; grep -E '^(Uid|Gid|Groups|SigBlk|SigIgn|NoNewPrivs)' /proc/self/status
	} >"$D/ctx.log" 2>&1
fi
case $(basename "$0") in
VI_1-notify_master) sleep 2 ;; # does keepalived wait for it before the generic notify?
VI_4-notify_backup) sleep 30 ;; # does keepalived time notify scripts out?
*) exit 0 ;;
esac
echo "END t=$(date +%s.%N) argv=$a" >>"$D/runs.log"
EOF
chmod 755 "$TMP/bin/log.sh"
for n in VI_1-notify_master VI_1-notify_backup VI_1-notify_fault VI_1-notify_stop VI_1-notify_deleted \
	VI_1-notify VI_1-notify_master_rx_lower_pri VI_2-notify_master VI_2-notify VI_3-notify \
	VI_4-notify_backup VI_4-notify_fault VI_4-notify_deleted VI_4-notify VI_5-notify_fault VI_5-notify \
	VG_1-notify_master VG_1-notify_backup VG_1-notify_fault VG_1-notify_stop VG_1-notify; do
	ln -s log.sh "$TMP/bin/$n"
done

# fiforeader logs its argv, then every line of the FIFO named by its last
# argument. It opens the FIFO once and, after keepalived closed its end (read
# fails), keeps trying for 3 s so that lines written after a SIGTERM are seen.
cat >"$TMP/bin/fiforeader" <<'EOF'
#!/bin/sh
D=$(dirname "$(dirname "$(readlink -f "$0")")")
echo $$ >>"$D/pids"
a=""
for x in "$0" "$@"; do a="$a[$x]"; f=$x; done
n=$(basename "$f")
set -- $(cut -d' ' -f4-6 /proc/$$/stat)
echo "START $n pid=$$ t=$(date +%s.%N) uid=$(id -u) ppid=$1 pgid=$2 argv=$a" >>"$D/fifo.log"
for s in TERM HUP INT QUIT USR1 USR2 ALRM PIPE; do trap "echo \"SIG$s $n pid=$$ t=\$(date +%s.%N)\" >>$D/fifo.log" $s; done
exec 3<"$f"
fails=0
while [ $fails -lt 15 ]; do
	if IFS= read -r line <&3; then
		echo "LINE $n t=$(date +%s.%N) $line" >>"$D/fifo.log"
		fails=0
	else
		[ $fails -eq 0 ] && echo "READ-FAILED $n pid=$$ t=$(date +%s.%N)" >>"$D/fifo.log"
		fails=$((fails + 1))
		sleep 0.2
	fi
done
echo "EXIT $n pid=$$ t=$(date +%s.%N)" >>"$D/fifo.log"
EOF
chmod 755 "$TMP/bin/fiforeader"

# vrrp.fifo exists before keepalived starts (mode 0640), notify.fifo does not:
# shows whether keepalived creates a missing FIFO and what it removes at exit.
mkfifo -m 0640 "$TMP/vrrp.fifo"

B=$TMP/bin
conf() { # conf WITH_VI_4_AND_VI_5
	cat <<EOF
global_defs {
	router_id gvnA
	vrrp_garp_master_repeat 1
	vrrp_garp_master_delay 0
	script_user root
	notify_fifo $TMP/notify.fifo
	notify_fifo_script "$B/fiforeader notify-arg"
	vrrp_notify_fifo $TMP/vrrp.fifo
	vrrp_notify_fifo_script $B/fiforeader
}
vrrp_script chk {
	script "/usr/bin/test ! -e $TMP/down"
	interval 1
	fall 1
	rise 1
	weight -20
}
vrrp_instance VI_1 {
	interface gvnA
	state BACKUP
	virtual_router_id 51
	priority 150
	advert_int 1
	virtual_ipaddress {
		192.0.2.101/32
	}
	track_script {
		chk
	}
	notify_master $B/VI_1-notify_master
	notify_backup $B/VI_1-notify_backup
	notify_fault $B/VI_1-notify_fault
	notify_stop $B/VI_1-notify_stop
	notify_deleted $B/VI_1-notify_deleted
	notify "$B/VI_1-notify 'quoted arg'"
	notify_master_rx_lower_pri $B/VI_1-notify_master_rx_lower_pri
	notify_priority_changes true
}
vrrp_instance VI_2 {
	interface gvnA
	state BACKUP
	virtual_router_id 52
	priority 100
	advert_int 1
	virtual_ipaddress {
		192.0.2.102/32
	}
	notify_master $B/VI_2-notify_master nobody
	notify $B/VI_2-notify
}
vrrp_instance VI_3 {
	interface gvnA
	state BACKUP
	virtual_router_id 53
	priority 100
	advert_int 1
	virtual_ipaddress {
		192.0.2.103/32
	}
	notify $B/VI_3-notify
}
vrrp_sync_group VG_1 {
	group {
		VI_2
		VI_3
	}
	notify_master $B/VG_1-notify_master
	notify_backup $B/VG_1-notify_backup
	notify_fault $B/VG_1-notify_fault
	notify_stop $B/VG_1-notify_stop
	notify $B/VG_1-notify
}
EOF
	[ "$1" = yes ] || return 0
	cat <<EOF
vrrp_instance VI_4 {
	interface gvnA
	state BACKUP
	virtual_router_id 54
	priority 100
	advert_int 1
	virtual_ipaddress {
		192.0.2.104/32
	}
	notify_backup $B/VI_4-notify_backup
	notify_fault $B/VI_4-notify_fault
	notify_deleted $B/VI_4-notify_deleted
	notify $B/VI_4-notify
}
vrrp_instance VI_5 {
	interface gvnA
	state BACKUP
	virtual_router_id 55
	priority 100
	advert_int 1
	virtual_ipaddress {
		192.0.2.105/32
	}
	notify_fault $B/VI_5-notify_fault
	notify $B/VI_5-notify
}
EOF
}
conf yes >"$TMP/a.conf"
cp "$TMP/a.conf" "$TMP/a-start.conf"

cat >"$TMP/b.conf" <<EOF
global_defs {
	router_id gvnB
}
vrrp_instance VI_1 {
	interface gvnB
	state BACKUP
	virtual_router_id 51
	priority 100
	advert_int 1
	virtual_ipaddress {
		192.0.2.101/32
	}
}
EOF

ip netns add "$NSA"
ip netns add "$NSB"
ip link add gvnA netns "$NSA" type veth peer name gvnB netns "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" link set gvnA up
ip -n "$NSB" link set gvnB up
ip -n "$NSA" addr add 192.0.2.1/24 dev gvnA
ip -n "$NSB" addr add 192.0.2.2/24 dev gvnB
# B never hears A, so it becomes master beside A and sends it priority 100.
ip netns exec "$NSB" nft -f - <<EOF
table inet gvn {
	chain in {
		type filter hook input priority 0;
		ip protocol vrrp drop
	}
}
EOF

vrrp_pid() { cat "$TMP/a-vrrp.pid" 2>/dev/null || true; }
fifo_fds() { # how the VRRP process holds the FIFOs: fd -> path and open flags (octal)
	p=$(vrrp_pid)
	[ -n "$p" ] || return 0
	for fd in /proc/"$p"/fd/*; do
		l=$(readlink "$fd" 2>/dev/null) || continue
		case $l in *fifo*) echo "vrrp process fd ${fd##*/} -> ${l#"$TMP"/} flags=$(awk '/^flags/{print $2}' /proc/"$p"/fdinfo/"${fd##*/}")" ;; esac
	done
}
fifo_files() { for f in ${*:-notify.fifo vrrp.fifo}; do
	if [ -e "$TMP/$f" ]; then echo "$f: $(stat -c '%F mode=%a owner=%U:%G inode=%i' "$TMP/$f")"; else echo "$f: absent"; fi
done; }

# With strace, A's system calls that matter here are recorded too: signals
# sent, FIFO creation/opening/removal, what a forked script does before exec.
STRACE=""
if command -v strace >/dev/null; then
	STRACE="strace -f -tt -qq -v -s 256 -o $TMP/strace.log -e signal=none -e trace=clone,clone3,vfork,kill,mknodat,unlink,umask,openat,setpgid,setsid,setgroups,setresuid,setresgid,setuid,setgid,dup2,close_range,execve,write,prctl,rt_sigprocmask"
fi
step "start A (notify.fifo absent, vrrp.fifo present); environment only PATH, fd 7 left open"
fifo_files >"$TMP/files.log"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ip netns exec "$NSA" $STRACE keepalived -n -l -D -P -f "$TMP/a.conf" \
	-p "$TMP/a.pid" -r "$TMP/a-vrrp.pid" -c "$TMP/a-chk.pid" >"$TMP/a.log" 2>&1 7<"$TMP/a-start.conf" &
APID=$!
fifo '"VI_1" MASTER'
cp "$TMP/a-vrrp.pid" "$TMP/vrrp.pidcopy" 2>/dev/null || true
cp "$TMP/a.pid" "$TMP/a.pidcopy" 2>/dev/null || true
# VI_1-notify_master sleeps 2 s: look at its descriptors and signal state from outside.
if waitfor 5 "$TMP/runs.log" 'RUN .*VI_1-notify_master'; then
	p=$(sed -n 's/^RUN pid=\([0-9]*\) .*VI_1-notify_master.*/\1/p' "$TMP/runs.log" | head -1)
	{
		echo "--- VI_1-notify_master (pid $p, a dash script; its fd to the script file is dash's own) seen from outside"
		for fd in /proc/"$p"/fd/*; do echo "fd ${fd##*/} -> $(readlink "$fd")"; done
		grep -E '^(Umask|SigBlk|SigIgn|Groups)' /proc/"$p"/status
		echo "--- the VRRP process (pid $(vrrp_pid))"
		grep -E '^(Umask|SigBlk|SigIgn)' /proc/"$(vrrp_pid)"/status
	} >"$TMP/probe.log" 2>&1
fi
fifo '"VG_1" MASTER'
fifo '"VI_5" MASTER'
{ echo "--- after start-up"; fifo_files; fifo_fds; } >>"$TMP/files.log"

step "MASTER: vrrp_script chk fails (weight -20)"
touch "$TMP/down"
fifo '"VI_1" [A-Z_]* 130'
step "MASTER: vrrp_script chk succeeds again"
rm -f "$TMP/down"
fifo '"VI_1" [A-Z_]* 150' 2

step "start B (priority 100, deaf to A) for a lower-priority advert"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ip netns exec "$NSB" keepalived -n -l -D -P -f "$TMP/b.conf" \
	-p "$TMP/b.pid" -r "$TMP/b-vrrp.pid" -c "$TMP/b-chk.pid" >"$TMP/b.log" 2>&1 &
BPID=$!
fifo 'MASTER_RX_LOWER_PRI'
step "stop B (it sends priority 0)"
kill "$BPID"
for _ in $(seq 1 50); do kill -0 "$BPID" 2>/dev/null || break; sleep 0.2; done
BPID=""
waitfor 5 "$TMP/b.log" 'Stopped' || true

step "kill the notify.fifo reader (SIGKILL); is it restarted?"
rpid=$(sed -n 's/^START notify.fifo pid=\([0-9]*\).*/\1/p' "$TMP/fifo.log" | tail -1)
kill -9 "$rpid"
if [ "$(count "$TMP/fifo.log" '^START notify.fifo')" -lt 2 ]; then
	n=25
	while [ "$n" -gt 0 ] && [ "$(count "$TMP/fifo.log" '^START notify.fifo')" -lt 2 ]; do sleep 0.2; n=$((n - 1)); done
fi
if [ "$(count "$TMP/fifo.log" '^START notify.fifo')" -ge 2 ]; then step "notify.fifo reader restarted"; else step "notify.fifo reader not restarted within 5 s"; fi

step "link gvnA down"
ip -n "$NSA" link set gvnA down
fifo '"VI_1" FAULT'
fifo '"VG_1" FAULT'
step "FAULT: vrrp_script chk fails"
touch "$TMP/down"
waitfor 5 "$TMP/a.log" 'VI_1) Changing effective priority from 150 to 130' || true
step "link gvnA up"
ip -n "$NSA" link set gvnA up
fifo '"VI_1" BACKUP' 2
step "BACKUP: vrrp_script chk succeeds again"
rm -f "$TMP/down"
fifo '"VI_1" [A-Z_]* 150' 4
fifo '"VI_1" MASTER' 2
fifo '"VI_5" MASTER' 2
fifo '"VG_1" MASTER' 2

step "reload (SIGHUP) without VI_4 (notify_deleted) and VI_5"
conf no >"$TMP/a.conf"
ap=$(cat "$TMP/a.pid")
kill -HUP "$ap"
fifo '"VI_5" FAULT' 2
waitfor 10 "$TMP/fifo.log" '^START' 4 || true
{ echo "--- after reload"; fifo_files; fifo_fds; } >>"$TMP/files.log"

step "wait until the first VI_4-notify_backup (sleep 30) ended, keepalived still running"
waitfor 35 "$TMP/runs.log" '^END .*VI_4-notify_backup' || true
step "SIGTERM A"
kill "$ap"
for _ in $(seq 1 50); do kill -0 "$ap" 2>/dev/null || break; sleep 0.2; done
kill -0 "$ap" 2>/dev/null && step "A still running 10 s after SIGTERM"
{ echo "--- after exit"; fifo_files; } >>"$TMP/files.log"

step "phase 2: global vrrp_notify_priority_changes; notify_fifo and its script as nobody"
cat >"$TMP/a2.conf" <<EOF
global_defs {
	router_id gvnA2
	script_user root
	vrrp_notify_priority_changes true
	notify_fifo $TMP/p2.fifo nobody
	notify_fifo_script "$B/fiforeader p2" nobody
}
vrrp_script chk {
	script "/usr/bin/test ! -e $TMP/down"
	interval 1
	fall 1
	rise 1
	weight -20
}
vrrp_instance VI_6 {
	interface gvnA
	state BACKUP
	virtual_router_id 56
	priority 100
	advert_int 1
	virtual_ipaddress {
		192.0.2.106/32
	}
	track_script {
		chk
	}
}
EOF
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ip netns exec "$NSA" keepalived -n -l -D -P -f "$TMP/a2.conf" \
	-p "$TMP/a2.pid" -r "$TMP/a2-vrrp.pid" -c "$TMP/a2-chk.pid" >"$TMP/a2.log" 2>&1 &
APID=$!
waitfor 10 "$TMP/fifo.log" '^LINE p2.fifo .*"VI_6" BACKUP' || true
{ echo "--- phase 2 after start-up"; fifo_files p2.fifo; } >>"$TMP/files.log"
touch "$TMP/down"
waitfor 5 "$TMP/fifo.log" '^LINE p2.fifo .*"VI_6" [A-Z_]* 80' || true
rm -f "$TMP/down"
waitfor 5 "$TMP/fifo.log" '^LINE p2.fifo .*"VI_6" [A-Z_]* 100' 2 || true
a2=$(cat "$TMP/a2.pid")
kill "$a2"
for _ in $(seq 1 50); do kill -0 "$a2" 2>/dev/null || break; sleep 0.2; done
APID=""
step "wait for the VI_4-notify_backup runs (sleep 30) to end or be killed"
waitfor 40 "$TMP/runs.log" '^\(END\|SIG[A-Z]*\) .*VI_4-notify_backup' 2 || true
for p in $(cat "$TMP/pids"); do
	alive "$p" && echo "still running: $(tr '\0' ' ' </proc/"$p"/cmdline | sed "s|$TMP|/TMP|g")"
done >>"$TMP/files.log"

# strace_excerpt: the VRRP process's forks, FIFO writes, kill/unlink/mknod/open of
# FIFOs; each child it forks up to and including execve (skipping the
# /usr/bin/test track script); umask calls of the parent.
strace_excerpt() {
	f=$TMP/strace.log
	awk -v V="$V" -v P="$AP" '
	# Pass 1: which clone made which child, and which children ran the track script.
	NR == FNR {
		if ($1 == V && $3 ~ /^clone/) { if ($0 ~ /unfinished/) open_clone = FNR; else if (match($0, /= [0-9]+$/)) child[FNR] = substr($0, RSTART + 2) }
		if ($1 == V && $0 ~ /clone resumed>/ && match($0, /= [0-9]+$/)) child[open_clone] = substr($0, RSTART + 2)
		if ($3 ~ /^execve/ && $0 ~ /usr\/bin\/test/) hide[$1] = 1
		next
	}
	{ pid = $1; $2 = ""; line = $0; sub(/  /, " ", line) }
	/resumed>/ { next }
	{ sub(/ <unfinished \.\.\.>$/, "", line) }
	pid == V {
		if ($3 ~ /^clone/) {
			if (hide[child[FNR]]) next
			kid[child[FNR]] = 1
			print line " -> child " child[FNR]
		} else if (line ~ /write\([0-9]+, "(INSTANCE|GROUP) |kill\(|unlink\(|mknodat\(|umask\(|fifo", O_/) print line
		next
	}
	pid == P && $3 ~ /^umask/ { print line; next }
	(pid in kid) && !(pid in done) {
		buf[pid] = buf[pid] line "\n"
		if ($3 !~ /^execve/) next
		done[pid] = 1
		# The first few children and any that change user are shown in full.
		if (full < 3 || buf[pid] ~ /setuid/) { printf "%s", buf[pid]; full++ } else print line
	}' "$f" "$f"
}
# rel: times relative to T0; TMP -> /TMP.
rel() { awk -v t0="$T0" '{ for (i = 1; i <= NF; i++) if ($i ~ /^t=[0-9.]+$/) $i = sprintf("t=%+.3f", substr($i, 3) - t0); print }' | sed "s|$TMP|/TMP|g"; }
{
	echo "# keepalived $VERSION notification behaviour, recorded by capture.sh (same directory)."
	echo "# Sections start with '== '. t= is seconds since the capture began; /TMP is its temp dir."
	echo "# runs: one line per script run in fork order (by pid; pgid is the pid), then END"
	echo "# (a sleeping script finished) and SIG* (a script was signalled) lines. dash runs a trap only"
	echo "# after its foreground sleep returns, so a SIG* line's t= is when the sleep ended."
	echo "# fifo: the lines each FIFO reader got, in order. ctx: the first script's environment."
	echo "# Phase 1 runs the config at start (end of file); phase 2 its own (p2.fifo)."
	echo "== steps"
	rel <"$TMP/steps.log"
	echo "== runs"
	grep '^RUN' "$TMP/runs.log" | sort -t= -k2 -n | sed 's/ pid=[0-9]*//' | rel
	grep -v '^RUN' "$TMP/runs.log" | rel
	echo "== fifo notify.fifo"
	sed -n 's/^LINE notify.fifo t=[^ ]* //p' "$TMP/fifo.log"
	echo "== fifo vrrp.fifo"
	sed -n 's/^LINE vrrp.fifo t=[^ ]* //p' "$TMP/fifo.log"
	echo "== fifo p2.fifo"
	sed -n 's/^LINE p2.fifo t=[^ ]* //p' "$TMP/fifo.log"
	echo "== fifo readers"
	grep -v '^LINE' "$TMP/fifo.log" | rel
	echo "== fifo files"
	sed "s|$TMP|/TMP|g" "$TMP/files.log"
	echo "== ctx"
	sed "s|$TMP|/TMP|g" "$TMP/ctx.log"
	echo "--- fds of the first script's shell"
	sed -n 's/.* \([0-9]* -> .*\)/\1/p' "$TMP/fds.log" | sed "s|$TMP|/TMP|g"
	echo "--- probe"
	sed "s|$TMP|/TMP|g" "$TMP/probe.log" 2>/dev/null || true
	if [ -f "$TMP/strace.log" ]; then
		V=$(cat "$TMP/vrrp.pidcopy" 2>/dev/null || true)
		AP=$(cat "$TMP/a.pidcopy" 2>/dev/null || true)
		echo "== strace of A (excerpt: FIFO calls, signals, what a forked script does before exec, umask)"
		echo "# The VRRP process (pid $V): forks, FIFO and signal calls; its children up to their exec;"
		echo "# the keepalived parent's umask calls. <unfinished ...> lines keep their call, 'resumed' lines are dropped."
		strace_excerpt | sed "s|$TMP|/TMP|g; s/child_stack=NULL, //; s/flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD//; s/, child_tidptr=0x[0-9a-f]*//; s/clone(child_tidptr=0x[0-9a-f]*/clone(/"
	fi
	echo "== keepalived A log (state, priority, script and FIFO lines)"
	grep -i -E 'notify|fifo|script|entering|priority|lower|stop' "$TMP/a.log" | sed "s|^[^:]*:[^:]*:[^:]*: ||; s|$TMP|/TMP|g"
	echo "== keepalived A2 log (phase 2)"
	grep -i -E 'notify|fifo|script|entering|priority|stop' "$TMP/a2.log" | sed "s|^[^:]*:[^:]*:[^:]*: ||; s|$TMP|/TMP|g"
	echo "== config at start"
	sed "s|$TMP|/TMP|g" "$TMP/a-start.conf"
	echo "== config of phase 2"
	sed "s|$TMP|/TMP|g" "$TMP/a2.conf"
} >"$OUT"
echo "wrote $OUT" >&2

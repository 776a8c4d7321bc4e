package netlab

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Pinger is `ping -D -n -i INTERVAL -W 1 DST` run in a host: a client that
// measures what it sees of a VIP moving (issue 11). Reply times are ping's
// own -D receive stamps, so the parent's scheduling does not blur them.
type Pinger struct {
	proc *Proc
}

// PingReply is one echo reply: when ping read it and its sequence number.
type PingReply struct {
	At  time.Time
	Seq int
}

// PingGaps summarises a run. Outage is the longest silence between two
// consecutive replies with unanswered probes between them (what the VIP
// cost the client); Longest is any silence, incl. the client's own
// scheduling when nothing was lost.
type PingGaps struct {
	Outage  time.Duration
	Longest time.Duration
	Lost    int
	Replies int
}

var pingerSeq atomic.Int64

var pingReplyLine = regexp.MustCompile(`^\[(\d+)\.(\d+)\] \d+ bytes from [0-9a-f.:]+: icmp_seq=(\d+)`)

// StartPinger starts the probe to dst every interval (ping's -i syntax,
// e.g. "0.002"); it is killed with the lab at the latest.
func (h *Host) StartPinger(dst netip.Addr, interval string) (*Pinger, error) {
	bin, err := LookPath("ping")
	if err != nil {
		return nil, err
	}
	// Each pinger its own log: Start appends to <host>-<name>.log, and an
	// earlier run's replies must not count in this one.
	p, err := h.Start(fmt.Sprintf("ping-%d", pingerSeq.Add(1)), bin, "-D", "-n", "-i", interval, "-W", "1", dst.String())
	if err != nil {
		return nil, err
	}
	return &Pinger{proc: p}, nil
}

// WaitReplies polls until n replies have come back (the path works).
func (p *Pinger) WaitReplies(n int, timeout time.Duration) error {
	return WaitFor(context.Background(), timeout, 10*time.Millisecond, func() (bool, error) {
		if p.proc.Exited() {
			return false, Permanent(fmt.Errorf("netlab: ping exited: %s", tail(p.proc.Log(), 5)))
		}
		got := len(p.Replies())
		return got >= n, fmt.Errorf("netlab: ping: %d of %d replies", got, n)
	})
}

// WaitPast polls until a reply later than after has come back, so a
// measured window covers the whole event.
func (p *Pinger) WaitPast(after time.Time, timeout time.Duration) error {
	return WaitFor(context.Background(), timeout, 10*time.Millisecond, func() (bool, error) {
		r := p.Replies()
		return len(r) > 0 && r[len(r)-1].At.After(after), fmt.Errorf("netlab: no ping reply after %v", after.Format(time.StampMicro))
	})
}

// Replies parses the replies so far.
func (p *Pinger) Replies() []PingReply {
	var out []PingReply
	for _, l := range strings.Split(p.proc.Log(), "\n") {
		sm := pingReplyLine.FindStringSubmatch(l)
		if sm == nil {
			continue
		}
		sec, _ := strconv.ParseInt(sm[1], 10, 64)
		usec, _ := strconv.ParseInt((sm[2] + "000000")[:6], 10, 64)
		seq, _ := strconv.Atoi(sm[3])
		out = append(out, PingReply{At: time.Unix(sec, usec*1000), Seq: seq})
	}
	return out
}

// Stop interrupts ping (SIGINT, then SIGKILL after 5 s) and summarises.
func (p *Pinger) Stop() PingGaps {
	_ = p.proc.Signal(syscall.SIGINT)
	if _, err := p.proc.Wait(5 * time.Second); err != nil {
		_ = p.proc.Kill()
	}
	return Gaps(p.Replies())
}

// Gaps computes PingGaps from replies in order.
func Gaps(r []PingReply) PingGaps {
	g := PingGaps{Replies: len(r)}
	for i := 1; i < len(r); i++ {
		d := r[i].At.Sub(r[i-1].At)
		g.Longest = max(g.Longest, d)
		if r[i].Seq > r[i-1].Seq+1 {
			g.Lost += r[i].Seq - r[i-1].Seq - 1
			g.Outage = max(g.Outage, d)
		}
	}
	return g
}

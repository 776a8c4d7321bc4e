package transport

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// batchMsgs is n adverts with VRIDs 1..n (byte 1), each its own buffer.
func batchMsgs(n int, src, dst netip.Addr, ttl func(i int) int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		b := append([]byte(nil), advert...)
		b[1] = byte(i + 1)
		msgs[i] = Message{Buf: b, Src: src, Dst: dst, TTL: ttl(i)}
	}
	return msgs
}

func ttl255(int) int { return 255 }

// readN reads n messages (bounded by a deadline) keyed by VRID.
func readN(t testing.TB, c Conn, n int) map[byte]got {
	t.Helper()
	if err := c.(ReadDeadliner).SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	out := map[byte]got{}
	buf := make([]byte, MaxMessage)
	for range n {
		k, m, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read %d of %d: %v", len(out), n, err)
		}
		out[buf[1]] = got{string(buf[:k]), m}
	}
	return out
}

// A batch really leaves: every message arrives in the other namespace, each
// from its own source (PKTINFO per message), to its own destination, with
// its own TTL / hop limit (255, or unicast_ttl's).
func TestLinuxWriteBatch(t *testing.T) {
	l := newLab(t)
	ipCmd(t, "-n", l.nsA, "addr", "add", "192.0.2.3/24", "dev", labIfA)
	ipCmd(t, "-n", l.nsA, "addr", "add", "2001:db8::3/64", "dev", labIfA, "nodad")
	ifB := ifindexIn(t, l.nsB, labIfB)
	for _, fam := range []struct {
		name           string
		ipv6           bool
		src, src2, dst netip.Addr
		group          netip.Addr
	}{
		{"v4", false, a4, netip.MustParseAddr("192.0.2.3"), b4, GroupV4},
		{"v6", true, a6, netip.MustParseAddr("2001:db8::3"), b6, GroupV6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			rx := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: fam.ipv6, Multicast: true})
			tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: fam.ipv6})
			const n = 100
			msgs := batchMsgs(n, fam.src, fam.group, ttl255)
			want := map[byte]got{}
			for i := range msgs {
				if i%3 == 1 { // a unicast instance: another source, its unicast_ttl
					msgs[i].Src, msgs[i].Dst, msgs[i].TTL = fam.src2, fam.dst, 9
				}
				want[msgs[i].Buf[1]] = got{string(msgs[i].Buf), Meta{Src: msgs[i].Src, Dst: msgs[i].Dst, TTL: msgs[i].TTL, Ifindex: ifB}}
			}
			sent, err := tx.(BatchWriter).WriteBatch(msgs)
			if err != nil || sent != n {
				t.Fatalf("WriteBatch = %d, %v; want %d, nil", sent, err, n)
			}
			if diff := cmp.Diff(want, readN(t, rx, n), addrCmp); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
		})
	}
}

// A message the socket refuses ends the batch there: the ones before it
// went out, WriteBatch says how many and why.
func TestLinuxWriteBatchStopsAtBadMessage(t *testing.T) {
	l := newLab(t)
	rx := listenIn(t, l.nsB, Config{Interface: labIfB, Multicast: true})
	tx := listenIn(t, l.nsA, Config{Interface: labIfA})
	for _, bad := range []struct {
		name string
		set  func(*Message)
	}{
		{"ttl 0", func(m *Message) { m.TTL = 0 }},
		{"wrong family", func(m *Message) { m.Dst = GroupV6 }},
		{"not our source", func(m *Message) { m.Src = netip.MustParseAddr("198.51.100.7") }},
	} {
		t.Run(bad.name, func(t *testing.T) {
			msgs := batchMsgs(5, a4, GroupV4, ttl255)
			bad.set(&msgs[3])
			sent, err := tx.(BatchWriter).WriteBatch(msgs)
			if sent != 3 || err == nil {
				t.Fatalf("WriteBatch = %d, %v; want 3 and the error of message 3", sent, err)
			}
			gotVRIDs := []byte{}
			for v := range readN(t, rx, 3) {
				gotVRIDs = append(gotVRIDs, v)
			}
			if len(gotVRIDs) != 3 {
				t.Errorf("received VRIDs %v, want 1..3", gotVRIDs)
			}
		})
	}
}

// Once its state has grown to the batch, a batch allocates nothing.
func TestLinuxWriteBatchZeroAllocs(t *testing.T) {
	l := newLab(t)
	tx := listenIn(t, l.nsA, Config{Interface: labIfA})
	msgs := batchMsgs(255, a4, GroupV4, ttl255)
	var failed error
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := tx.(BatchWriter).WriteBatch(msgs); err != nil && failed == nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if diff := cmp.Diff(0.0, allocs); diff != "" {
		t.Errorf("allocs per batch of 255 (-want +got):\n%s", diff)
	}
}

// BenchmarkLinuxSend255 is one aligned tick of 255 masters on one socket:
// 255 sendmsg calls against one sendmmsg (root only). adverts/s is the
// send rate one core sustains.
func BenchmarkLinuxSend255(b *testing.B) {
	for _, mode := range []string{"sendmsg", "sendmmsg"} {
		b.Run(mode, func(b *testing.B) {
			l := newLab(b)
			tx := listenIn(b, l.nsA, Config{Interface: labIfA})
			msgs := batchMsgs(255, a4, GroupV4, ttl255)
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				if mode == "sendmmsg" {
					if n, err := tx.(BatchWriter).WriteBatch(msgs); err != nil || n != len(msgs) {
						b.Fatal(n, err)
					}
					continue
				}
				for _, m := range msgs {
					if err := tx.WriteTo(m.Buf, m.Src, m.Dst); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "adverts/s")
			// CPU time (user+system, the kernel's send path included) is
			// what the daemon pays; on a shared machine it is steadier than
			// wall time.
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N*len(msgs)), "cpu-ns/advert")
		})
	}
}

// BenchmarkLinuxSendPaced is the daemon's aligned tick on the wire: one
// batch of 255 adverts every 10 ms (one op = one tick), with the runtime's
// syscall and with the raw one sendBatch uses. Between ticks the process
// idles, as the master does, so the runtime's sysmon goes to its deep sleep
// and a runtime syscall wakes it (then it polls every 20 µs for a
// millisecond or more); the raw call does not. cpu-ns/advert and ctxsw/tick
// (voluntary + involuntary switches of the whole process) are the figures.
func BenchmarkLinuxSendPaced(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "runtime-syscall"
		if raw {
			name = "raw-syscall"
		}
		b.Run(name, func(b *testing.B) {
			defer func(old bool) { rawSendmmsg = old }(rawSendmmsg)
			rawSendmmsg = raw
			l := newLab(b)
			tx := listenIn(b, l.nsA, Config{Interface: labIfA})
			msgs := batchMsgs(255, a4, GroupV4, ttl255)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			ru0 := processRusage(b)
			for b.Loop() {
				<-tick.C
				if n, err := tx.(BatchWriter).WriteBatch(msgs); err != nil || n != len(msgs) {
					b.Fatal(n, err)
				}
			}
			ru1 := processRusage(b)
			cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(b.N*len(msgs)), "cpu-ns/advert")
			b.ReportMetric(float64(ru1.Nvcsw+ru1.Nivcsw-ru0.Nvcsw-ru0.Nivcsw)/float64(b.N), "ctxsw/tick")
		})
	}
}

func processRusage(b *testing.B) unix.Rusage {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru
}

// processCPU is the process's user+system time so far, in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// The fallback sends each message with WriteTo or WriteWithTTL and stops
// at the first failure.
func TestWriteBatchFallback(t *testing.T) {
	seg := NewSegment()
	tx, rx := seg.Attach(a4), seg.Attach(b4)
	defer tx.Close()
	defer rx.Close()
	msgs := batchMsgs(3, a4, GroupV4, func(i int) int { return 250 + i })
	if n, err := WriteBatch(tx, msgs); n != 3 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	for i := range 3 {
		g := readOne(t, rx)
		if g.Meta.TTL != 250+i || g.Payload[1] != byte(i+1) {
			t.Errorf("message %d: vrid %d ttl %d, want vrid %d ttl %d", i, g.Payload[1], g.Meta.TTL, i+1, 250+i)
		}
	}
	tx.Close()
	if n, err := WriteBatch(tx, msgs); n != 0 || err == nil {
		t.Errorf("WriteBatch on a closed conn = %d, %v; want 0 and an error", n, err)
	}
}

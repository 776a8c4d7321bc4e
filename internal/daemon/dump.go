package daemon

import (
	"os"
	"syscall"

	"github.com/govrrp/govrrp/internal/kadump"
)

// keepalived's dump signals (the numbers `keepalived --signum` prints):
// DATA, STATS, JSON, and STATS_CLEAR (a stats dump, then the counters
// count from zero in later dumps).
var (
	sigData       os.Signal = syscall.SIGUSR1
	sigStats      os.Signal = syscall.SIGUSR2
	sigJSON       os.Signal = syscall.Signal(36)
	sigStatsClear os.Signal = syscall.Signal(63)
)

// onDumpSignal writes keepalived's /tmp/keepalived.{data,stats,json} from a
// snapshot, on a goroutine of its own: the loop never waits for the disk.
// govrrp's own counters stay monotonic (status, metrics); STATS_CLEAR moves
// the dumps' baseline instead.
func (d *Daemon) onDumpSignal(s os.Signal) {
	st := (&statusProvider{d: d}).Status()
	cfg, base := d.cfg, d.statsBase
	kind := kadump.Data
	switch s {
	case sigStats, sigStatsClear:
		kind = kadump.Stats
	case sigJSON:
		kind = kadump.JSON
	}
	if s == sigStatsClear {
		d.statsBase = kadump.NewBaseline(st)
	}
	log := d.log
	go func() {
		path, err := kadump.Dump(kind, kadump.DefaultDir(), base.Apply(st), cfg)
		if err != nil {
			log.Error("keepalived dump not written", "signal", s.String(), "err", err)
			return
		}
		log.Info("keepalived dump written", "signal", s.String(), "file", path)
	}()
}

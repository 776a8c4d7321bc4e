package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// States a transition reports, spelled as keepalived passes them on.
const (
	StateMaster  = "MASTER"
	StateBackup  = "BACKUP"
	StateFault   = "FAULT"
	StateStop    = "STOP"
	StateDeleted = "DELETED"
)

// ErrClosed is returned by a second Close.
var ErrClosed = errors.New("notify: notifier closed")

// Script is one command to run: argv as kaconf.SplitCommand splits it
// (exec'd directly, no shell) and the credential it runs with.
type Script struct {
	Argv     []string
	Uid, Gid uint32
	// Groups are the supplementary groups; nil means just Gid, which is what
	// keepalived sets (setgroups with the one group).
	Groups []uint32
	// AsSelf runs the script as the daemon's own user and groups, ignoring
	// Uid, Gid and Groups. A daemon that is not root needs it: changing
	// groups takes privilege even to one's own.
	AsSelf bool
}

// Instance is what to run for one vrrp_instance. Nil scripts are not
// configured.
type Instance struct {
	Name                                 string
	Master, Backup, Fault, Stop, Deleted *Script
	MasterRxLowerPri                     *Script
	// Generic is the `notify` script: run after the state's script with
	// INSTANCE, the name, the state and the priority appended.
	Generic *Script
	// NotifyDeleted is true when notify_deleted was given, with or without a
	// script: a deleted instance then reports DELETED instead of FAULT.
	NotifyDeleted bool
	// PriorityChanges writes MASTER_PRIORITY/BACKUP_PRIORITY lines to the
	// FIFOs: the instance's notify_priority_changes, or the global
	// vrrp_notify_priority_changes (keepalived 2.2.7 honours either).
	PriorityChanges bool
}

// Group is what to run for one vrrp_sync_group. keepalived runs a group's
// scripts in addition to those of its member instances.
type Group struct {
	Name                                 string
	Master, Backup, Fault, Stop, Generic *Script
}

// Owner is a user and group, as named on a notify_fifo line.
type Owner struct {
	Uid, Gid uint32
}

// Fifo is one notify FIFO: notify_fifo or vrrp_notify_fifo (keepalived
// writes the same lines to both) with its optional reader script.
type Fifo struct {
	Path string
	// Script reads the FIFO; it is started with Path appended to its argv.
	Script *Script
	// Owner, if set, owns a FIFO that New creates (an existing one is left
	// alone).
	Owner *Owner
}

// Config is everything that gets notified.
type Config struct {
	Instances []Instance
	Groups    []Group
	Fifos     []Fifo
}

// Notifier runs notify scripts and writes notify FIFOs. Its methods may be
// called from any goroutine; all but Close return at once.
type Notifier struct {
	log       *slog.Logger
	instances map[string]Instance
	groups    map[string]Group
	// queues holds one queue per instance or group that has a script; it is
	// not modified after New.
	queues map[queueKey]*queue
	fifos  []*fifo

	closeOnce sync.Once
}

type queueKey struct {
	group bool
	name  string
}

// New starts a Notifier: one goroutine per instance and group with
// scripts, one writer per FIFO. Missing FIFOs are created and FIFO scripts
// started. A nil log discards.
func New(cfg Config, log *slog.Logger) (*Notifier, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	n := &Notifier{
		log:       log,
		instances: make(map[string]Instance, len(cfg.Instances)),
		groups:    make(map[string]Group, len(cfg.Groups)),
		queues:    make(map[queueKey]*queue),
	}
	for _, f := range cfg.Fifos {
		w, err := openFifo(f, log)
		if err != nil {
			for _, o := range n.fifos {
				o.discard()
			}
			return nil, err
		}
		n.fifos = append(n.fifos, w)
	}
	for _, in := range cfg.Instances {
		n.instances[in.Name] = in
		if hasScript(in.Master, in.Backup, in.Fault, in.Stop, in.Deleted, in.MasterRxLowerPri, in.Generic) {
			n.queues[queueKey{name: in.Name}] = newQueue("instance", in.Name, log)
		}
	}
	for _, g := range cfg.Groups {
		n.groups[g.Name] = g
		if hasScript(g.Master, g.Backup, g.Fault, g.Stop, g.Generic) {
			n.queues[queueKey{group: true, name: g.Name}] = newQueue("group", g.Name, log)
		}
	}
	for _, q := range n.queues {
		go q.run()
	}
	for _, w := range n.fifos {
		go w.run()
		w.startReader()
	}
	return n, nil
}

func validate(cfg Config) error {
	seen := map[string]bool{}
	for _, in := range cfg.Instances {
		if in.Name == "" || seen["i"+in.Name] {
			return fmt.Errorf("notify: instance %q: empty or duplicate name", in.Name)
		}
		seen["i"+in.Name] = true
		for _, s := range []*Script{in.Master, in.Backup, in.Fault, in.Stop, in.Deleted, in.MasterRxLowerPri, in.Generic} {
			if s != nil && len(s.Argv) == 0 {
				return fmt.Errorf("notify: instance %s: a script with no command", in.Name)
			}
		}
	}
	for _, g := range cfg.Groups {
		if g.Name == "" || seen["g"+g.Name] {
			return fmt.Errorf("notify: sync group %q: empty or duplicate name", g.Name)
		}
		seen["g"+g.Name] = true
		for _, s := range []*Script{g.Master, g.Backup, g.Fault, g.Stop, g.Generic} {
			if s != nil && len(s.Argv) == 0 {
				return fmt.Errorf("notify: sync group %s: a script with no command", g.Name)
			}
		}
	}
	for _, f := range cfg.Fifos {
		// keepalived: "the FIFO names must all be different".
		if f.Path == "" || seen["f"+f.Path] {
			return fmt.Errorf("notify: FIFO %q: empty or used twice", f.Path)
		}
		seen["f"+f.Path] = true
		if f.Script != nil && len(f.Script.Argv) == 0 {
			return fmt.Errorf("notify: FIFO %s: a script with no command", f.Path)
		}
	}
	return nil
}

func hasScript(ss ...*Script) bool {
	for _, s := range ss {
		if s != nil {
			return true
		}
	}
	return false
}

// Transition reports that an instance entered state (one of the State
// constants) with the given (effective) priority: the state's script, then
// the generic notify, and a line on every FIFO. For StateDeleted without
// NotifyDeleted it reports FAULT and runs no state script, as keepalived.
// An instance New was not told about only gets the FIFO line.
func (n *Notifier) Transition(instance, state string, priority int) {
	in := n.instances[instance]
	reported := state
	s, what, ok := stateScript(state, in.Master, in.Backup, in.Fault, in.Stop)
	switch {
	case state == StateDeleted && !in.NotifyDeleted:
		reported = StateFault
	case state == StateDeleted:
		s, what = in.Deleted, "notify_deleted"
	case !ok:
		n.log.Error("notify: unknown state, nothing sent", "instance", instance, "state", state)
		return
	}
	prio := strconv.Itoa(priority)
	n.enqueue(queueKey{name: instance}, reported,
		scriptJob(what, s, nil),
		scriptJob("notify", in.Generic, []string{"INSTANCE", instance, reported, prio}))
	n.writeFifos(`INSTANCE "` + instance + `" ` + reported + " " + prio + "\n")
}

// MasterRxLowerPri reports that an instance, as master, received an advert
// of lower priority; priority is the instance's own. keepalived runs
// notify_master_rx_lower_pri with its configured argv only (not the generic
// notify) and writes a MASTER_RX_LOWER_PRI line to the FIFOs.
func (n *Notifier) MasterRxLowerPri(instance string, priority int) {
	in := n.instances[instance]
	n.enqueue(queueKey{name: instance}, "MASTER_RX_LOWER_PRI",
		scriptJob("notify_master_rx_lower_pri", in.MasterRxLowerPri, nil))
	n.writeFifos(`INSTANCE "` + instance + `" MASTER_RX_LOWER_PRI ` + strconv.Itoa(priority) + "\n")
}

// PriorityChanged reports an instance's new effective priority while in
// state. Only FIFOs hear of it, and only for instances with
// PriorityChanges: MASTER_PRIORITY in MASTER, BACKUP_PRIORITY otherwise
// (keepalived writes BACKUP_PRIORITY in FAULT too).
func (n *Notifier) PriorityChanged(instance, state string, priority int) {
	if !n.instances[instance].PriorityChanges {
		return
	}
	kind := "BACKUP_PRIORITY"
	if state == StateMaster {
		kind = "MASTER_PRIORITY"
	}
	n.writeFifos(`INSTANCE "` + instance + `" ` + kind + " " + strconv.Itoa(priority) + "\n")
}

// GroupTransition reports that a sync group entered state (MASTER, BACKUP,
// FAULT or STOP). keepalived gives a group priority 0 on FIFOs and to the
// generic notify.
func (n *Notifier) GroupTransition(group, state string) {
	g := n.groups[group]
	s, what, ok := stateScript(state, g.Master, g.Backup, g.Fault, g.Stop)
	if !ok {
		n.log.Error("notify: unknown sync group state, nothing sent", "group", group, "state", state)
		return
	}
	n.enqueue(queueKey{group: true, name: group}, state,
		scriptJob(what, s, nil),
		scriptJob("notify", g.Generic, []string{"GROUP", group, state, "0"}))
	n.writeFifos(`GROUP "` + group + `" ` + state + " 0\n")
}

// GroupStateLine writes a sync group's current state to the FIFOs only, no
// script: keepalived 2.2.7's fifo_write_vrrp_states_on_reload, which writes
// "GROUP NAME STATE 0" for every group on reload and nothing for instances.
func (n *Notifier) GroupStateLine(group, state string) {
	n.writeFifos(`GROUP "` + group + `" ` + state + " 0\n")
}

// stateScript picks the script of a MASTER, BACKUP, FAULT or STOP
// transition and the keyword naming it; ok is false for any other state.
func stateScript(state string, master, backup, fault, stop *Script) (s *Script, what string, ok bool) {
	switch state {
	case StateMaster:
		return master, "notify_master", true
	case StateBackup:
		return backup, "notify_backup", true
	case StateFault:
		return fault, "notify_fault", true
	case StateStop:
		return stop, "notify_stop", true
	}
	return nil, "", false
}

// scriptJob is the job running s with extra arguments appended; the zero
// job (skipped) when s is nil.
func scriptJob(what string, s *Script, extra []string) job {
	if s == nil {
		return job{}
	}
	argv := make([]string, 0, len(s.Argv)+len(extra))
	argv = append(append(argv, s.Argv...), extra...)
	return job{what: what, script: s, argv: argv}
}

func (n *Notifier) enqueue(k queueKey, state string, jobs ...job) {
	q := n.queues[k]
	if q == nil {
		return
	}
	var js []job
	for _, j := range jobs {
		if j.script != nil {
			j.state = state
			js = append(js, j)
		}
	}
	if len(js) > 0 && !q.push(js) {
		n.log.Warn("notify: notifier closed, script not run", q.kind, k.name, "state", state)
	}
}

func (n *Notifier) writeFifos(line string) {
	for _, f := range n.fifos {
		if !f.push(line) {
			n.log.Warn("notify: notifier closed, FIFO line not written", "fifo", f.path, "line", line[:len(line)-1])
		}
	}
}

// Close stops taking notifications and delivers the queued ones: it waits
// for every queued script and FIFO line, then stops the FIFO scripts
// (SIGTERM, the FIFO closed, SIGKILL a second later) and removes the FIFOs
// New created. When ctx ends first, the scripts still running are killed
// with their process groups, what is still queued is dropped (both logged),
// and ctx's error is returned.
func (n *Notifier) Close(ctx context.Context) error {
	err := ErrClosed
	n.closeOnce.Do(func() { err = n.close(ctx) })
	return err
}

func (n *Notifier) close(ctx context.Context) error {
	for _, q := range n.queues {
		q.close()
	}
	for _, f := range n.fifos {
		f.close()
	}
	var errs []error
	if !waitAll(ctx, n.drained()) {
		errs = append(errs, fmt.Errorf("notify: close: %w", ctx.Err()))
		for _, q := range n.queues {
			q.kill()
		}
		for _, f := range n.fifos {
			f.abort()
		}
		// Killed groups and closed FIFOs end their goroutines at once; the
		// bound only guards against a process the kernel cannot kill.
		if !waitFor(killWait, n.drained()) {
			n.log.Error("notify: close: goroutines still running after kill", "waited", killWait)
		}
	}
	for _, f := range n.fifos {
		if err := f.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killWait bounds how long Close waits for killed processes to be reaped.
const killWait = 2 * time.Second

// drained lists the channels closed when every queue and FIFO writer has
// finished.
func (n *Notifier) drained() []<-chan struct{} {
	var chs []<-chan struct{}
	for _, q := range n.queues {
		chs = append(chs, q.done)
	}
	for _, f := range n.fifos {
		chs = append(chs, f.done)
	}
	return chs
}

// waitAll reports whether all chs closed before ctx ended.
func waitAll(ctx context.Context, chs []<-chan struct{}) bool {
	for _, ch := range chs {
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// waitFor is waitAll with a timeout.
func waitFor(d time.Duration, chs []<-chan struct{}) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return waitAll(ctx, chs)
}

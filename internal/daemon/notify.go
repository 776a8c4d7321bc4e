package daemon

import (
	"context"
	"log/slog"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// notifier is what the daemon needs of internal/notify; every method only
// queues, so the loop never waits for a script.
type notifier interface {
	Transition(instance, state string, priority int)
	MasterRxLowerPri(instance string, priority int)
	PriorityChanged(instance, state string, priority int)
	Close(ctx context.Context) error
}

// noNotify is the notifier of a configuration without notify scripts or
// FIFOs.
type noNotify struct{}

func (noNotify) Transition(string, string, int)      {}
func (noNotify) MasterRxLowerPri(string, int)        {}
func (noNotify) PriorityChanged(string, string, int) {}
func (noNotify) Close(context.Context) error         { return nil }

// notifyState is keepalived's word for a state in notifications: leaving
// for Initialize is a stop.
func notifyState(s fsm.State) string {
	if s == fsm.Initialize {
		return "STOP"
	}
	return s.String()
}

// priorityChanged tells the notify FIFOs about a new effective priority
// (keepalived's notify_priority_changes).
func (d *Daemon) priorityChanged(in *instance) {
	d.notify.PriorityChanged(in.name, notifyState(in.machine.State()), int(in.machine.EffectivePriority()))
}

// notifierFactory builds the notifier of a configuration; nil when it has
// nothing to notify.
type notifierFactory func(cfg *kaconf.Config, log *slog.Logger) (notifier, error)

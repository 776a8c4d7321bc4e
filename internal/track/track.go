package track

import (
	"context"
	"time"
)

// Kind is the kind of tracked object, as keepalived names its blocks.
type Kind uint8

// Kinds of tracked objects.
const (
	KindScript    Kind = iota // vrrp_script
	KindInterface             // track_interface and an instance's own interface
	KindFile                  // track_file / vrrp_track_file
	KindProcess               // vrrp_track_process
	KindBFD                   // bfd_instance (sessions run by internal/bfd; the daemon reports them)
)

// String is the keepalived keyword an instance tracks the kind with.
func (k Kind) String() string {
	switch k {
	case KindScript:
		return "track_script"
	case KindInterface:
		return "track_interface"
	case KindFile:
		return "track_file"
	case KindProcess:
		return "track_process"
	case KindBFD:
		return "track_bfd"
	}
	return "track_unknown"
}

// Result is one observation of one tracked object.
type Result struct {
	Kind Kind
	// Name is the vrrp_script, track_file or vrrp_track_process block name,
	// or the interface name.
	Name string
	// OK is the object's state after rise/fall and quorum rules: the script
	// passes, the link is up and running, enough processes run. For files it
	// is true when the file could be read as a number (Value).
	OK bool
	// Value is the number read from a track_file, the number of matching
	// processes, or a script's last exit status (-1: it did not exit, e.g.
	// timed out or could not start).
	Value int
	// Detail says what was seen in words for logs and status:
	// "exit 3, 2 of fall 2", "timed out after 2s", "carrier down".
	Detail string
	// Method is how the result was obtained where there is a choice:
	// "exec" or "dbus" for scripts, "proc-connector" or "proc-scan" for
	// processes, "netlink" for links, "inotify" for files.
	Method string
	// At is when it was observed; Took how long a script run took.
	At   time.Time
	Took time.Duration
}

// Sink receives results. It is called from tracker goroutines.
type Sink func(Result)

// Tracker watches one or more objects until ctx ends.
type Tracker interface {
	Run(ctx context.Context, report Sink)
}

// Outcome is the verdict of one check of a vrrp_script.
type Outcome struct {
	// Status is the exit status, as systemctl or the script would exit;
	// -1 when the check did not complete (timed out, could not start).
	Status int
	// Detail says what happened: "exit 3", "timed out after 2s",
	// "apache2.service is inactive".
	Detail string
}

// Prober performs one check of a vrrp_script. The script runner calls
// Probe at most once at a time; ctx carries the script's timeout.
type Prober interface {
	Probe(ctx context.Context) Outcome
	// Method is "exec" (the command is run) or "dbus" (answered from
	// systemd's unit state without forking).
	Method() string
}

// Changer is implemented by probers that learn of changes by themselves
// (systemd over D-Bus): the runner checks at once when Changed fires,
// instead of waiting for the next interval.
type Changer interface {
	Changed() <-chan struct{}
}

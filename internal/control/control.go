// Package control is govrrp's local control socket: a unix socket that answers
// one versioned JSON request per connection (see protocol.go), and its client,
// used by `govrrp status` and `govrrp reload`.
//
// Invariants: the server never touches daemon state; it reads the Provider's
// Status snapshot and calls its optional Reload, nothing else. Every
// connection is bounded in request size, time and count, and the peer's
// credentials are checked before a byte of its request is read.
package control

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"
)

// Status is the answer to the "status" request.
type Status struct {
	Pid       int        `json:"pid"`
	Config    string     `json:"config"`
	StartedAt time.Time  `json:"started_at"`
	Instances []Instance `json:"instances"`
	// Sockets count what each shared socket dropped before any instance
	// saw it: adverts for virtual routers this node does not run.
	Sockets []Socket `json:"sockets,omitempty"`
	// Mail counts smtp_alert mails since start; absent when no mail is
	// configured and none was ever queued.
	Mail *Mail `json:"smtp_alerts,omitempty"`
	// BFD lists the bfd_instance sessions, by name; absent without any.
	BFD []BFDSession `json:"bfd,omitempty"`
}

// BFDSession is one bfd_instance's RFC 5880 session. Intervals are in
// microseconds, as keepalived's BFD dump shows them; TxInterval and
// DetectTime are the negotiated ones (0 before the peer is heard).
type BFDSession struct {
	Name       string            `json:"name"`
	Neighbor   string            `json:"neighbor"`
	Source     string            `json:"source,omitempty"`
	State      string            `json:"state"` // AdminDown, Down, Init, Up
	Since      time.Time         `json:"since"`
	LastDiag   string            `json:"last_diag,omitempty"`
	MinRxUs    int64             `json:"min_rx_us"`
	MinTxUs    int64             `json:"min_tx_us"`
	IdleTxUs   int64             `json:"idle_tx_us"`
	Multiplier uint8             `json:"multiplier"`
	TxUs       int64             `json:"tx_interval_us"`
	DetectUs   int64             `json:"detect_time_us"`
	LocalDisc  uint32            `json:"local_discriminator"`
	RemoteDisc uint32            `json:"remote_discriminator"`
	RxPackets  uint64            `json:"rx_packets"`
	TxPackets  uint64            `json:"tx_packets"`
	Dropped    map[string]uint64 `json:"dropped,omitempty"`
}

// Mail is the smtp_alert sender's counters since start (the values of
// govrrp_smtp_alerts_total): queued, delivered, failed (server unreachable
// or refusing) and dropped (queue full, or still queued at a stop).
type Mail struct {
	Queued  uint64 `json:"queued"`
	Sent    uint64 `json:"sent"`
	Failed  uint64 `json:"failed"`
	Dropped uint64 `json:"dropped"`
}

// Socket is one shared interface+family socket.
type Socket struct {
	Interface string            `json:"interface"`
	Family    string            `json:"family"`
	Drops     map[string]uint64 `json:"drops,omitempty"`
	// ReadBuffer is the socket's receive buffer in bytes as the kernel
	// reports it (SO_RCVBUF, twice the request); 0 unknown.
	ReadBuffer int `json:"rcvbuf,omitempty"`
}

// Instance is one vrrp_instance as `govrrp status` shows it.
type Instance struct {
	Name              string            `json:"name"`
	Interface         string            `json:"interface"`
	VRID              uint8             `json:"vrid"`
	Version           uint8             `json:"version"`
	Family            string            `json:"family"`
	State             string            `json:"state"`
	Reason            string            `json:"reason,omitempty"`
	Since             time.Time         `json:"since"`
	Priority          uint8             `json:"priority"`
	EffectivePriority uint8             `json:"effective_priority"`
	Master            string            `json:"master,omitempty"`
	Source            string            `json:"source"`
	VIPs              []string          `json:"vips"`
	AdvertsSent       uint64            `json:"adverts_sent"`
	AdvertsReceived   uint64            `json:"adverts_received"`
	Drops             map[string]uint64 `json:"drops,omitempty"`
	Warnings          map[string]uint64 `json:"warnings,omitempty"`
	Transitions       uint64            `json:"transitions"`
	Tracks            []Track           `json:"tracks,omitempty"`
	SyncGroup         string            `json:"sync_group,omitempty"` // vrrp_sync_group it belongs to
	// Auth is how adverts are authenticated: "none", "pass", or
	// "hmac-enforce" / "hmac-permissive" / "hmac-receive-only" (auth_hmac).
	Auth string `json:"auth,omitempty"`

	// BecameMaster and ReleasedMaster count transitions into and out of
	// MASTER (keepalived's become_master and release_master).
	BecameMaster   uint64 `json:"became_master"`
	ReleasedMaster uint64 `json:"released_master"`
	// PriorityZeroSent counts priority-0 adverts sent (one per packet, as
	// AdvertsSent), PriorityZeroReceived the accepted ones received.
	PriorityZeroSent     uint64 `json:"priority_zero_sent"`
	PriorityZeroReceived uint64 `json:"priority_zero_received"`
	// MasterPriority is the priority of the last advert accepted from the
	// current master, our own effective priority while MASTER; 0 before any.
	MasterPriority uint8 `json:"master_priority,omitempty"`
	// MasterAdverInt is Master_Adver_Interval: our own interval while
	// MASTER, the one learned from the master's adverts (v3) otherwise. On
	// the wire it is master_adver_int_ms, whole milliseconds (VRRP intervals
	// are whole centiseconds); 0 while unknown.
	MasterAdverInt time.Duration `json:"-"`
}

// instanceFields is Instance without its JSON methods.
type instanceFields Instance

// instanceJSON is Instance as JSON: its fields, and MasterAdverInt in
// milliseconds.
type instanceJSON struct {
	instanceFields
	MasterAdverIntMS int64 `json:"master_adver_int_ms,omitempty"`
}

// MarshalJSON writes the instance with MasterAdverInt as master_adver_int_ms.
func (in Instance) MarshalJSON() ([]byte, error) {
	return json.Marshal(instanceJSON{instanceFields(in), in.MasterAdverInt.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON writes. Like encoding/json's own
// decoding it keeps what b does not set.
func (in *Instance) UnmarshalJSON(b []byte) error {
	w := instanceJSON{instanceFields(*in), in.MasterAdverInt.Milliseconds()}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*in = Instance(w.instanceFields)
	in.MasterAdverInt = time.Duration(w.MasterAdverIntMS) * time.Millisecond
	return nil
}

// Track is one tracked object of an instance: what was last seen and what it
// does to the instance.
type Track struct {
	// Kind is the keyword the instance tracks it with (track_script,
	// track_interface, track_file, track_process), or "interface" for the
	// instance's own interface.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// State is "ok", "failed", "down", "value N", or "pending" before the
	// first result.
	State  string    `json:"state"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	Method string    `json:"method,omitempty"` // how it is checked: exec, dbus, netlink, inotify, ...
	At     time.Time `json:"at,omitempty"`
	Weight int       `json:"weight"`
	// Effect is what it does now: "+20", "-60", "0", or "FAULT".
	Effect string `json:"effect"`
}

// Provider supplies the daemon's current status. Status is called from the
// server's connection goroutines, concurrently: it must read a snapshot, never
// the loop's live state.
type Provider interface{ Status() Status }

// Reloader is implemented by a Provider that can reload its configuration on
// request (the "reload" command). Reload parses and validates the file and, only
// if it is usable, applies it. A file that is rejected changes nothing: Reload
// returns its diagnostics in ReloadResult.Errors (the error may be nil) and the
// old configuration keeps running. A non-nil error with no Errors means the
// reload could not be attempted or finished (ctx expired, shutting down).
// ctx is cancelled when the server's reload timeout expires or it is closed;
// Reload must then return promptly (select on ctx.Done while waiting for the
// loop), because Server.Close waits for it.
type Reloader interface {
	Reload(ctx context.Context) (ReloadResult, error)
}

// ReloadResult is what a reload did.
type ReloadResult struct {
	// Changed lists what the new configuration changed, one human line each
	// ("VI_1: priority 100 -> 150", "VI_3: added").
	Changed []string `json:"changed,omitempty"`
	// Errors are the diagnostics that rejected the file, as
	// "FILE:LINE:COL: message" lines. Non-empty means nothing was applied.
	Errors []string `json:"errors,omitempty"`
	// Summary is one line for the operator ("reloaded keepalived.conf: 1
	// instance changed, 1 added").
	Summary string `json:"summary,omitempty"`
}

// Watcher is implemented by a Provider that can say when its status changed
// (the "watch" command). Changes returns a channel that is closed at the next
// change after the call; the watcher then calls Status and Changes again, so
// changes that come faster than a client reads are coalesced and the client
// always ends on the latest status. Changes must not block. Notifier
// implements it.
type Watcher interface {
	Changes() <-chan struct{}
}

// Notifier is the daemon's half of Watcher: embed it in the Provider and call
// Notify from the loop after publishing a snapshot that a watching operator
// should see (state, priority, master, track or configuration changes; not
// every counter tick). Notify never blocks: it closes the current channel and
// installs a fresh one. The zero value is ready to use.
type Notifier struct {
	ch atomic.Pointer[chan struct{}]
}

// Changes implements Watcher.
func (n *Notifier) Changes() <-chan struct{} {
	for {
		if p := n.ch.Load(); p != nil {
			return *p
		}
		c := make(chan struct{})
		if n.ch.CompareAndSwap(nil, &c) {
			return c
		}
	}
}

// Notify wakes every watcher waiting on the current channel.
func (n *Notifier) Notify() {
	c := make(chan struct{})
	if old := n.ch.Swap(&c); old != nil {
		close(*old)
	}
}

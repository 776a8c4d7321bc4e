package bfd

import (
	"log/slog"
	"net/netip"
	"time"
)

// Config is one bfd_instance block, with keepalived's defaults applied by the
// caller (pkg/kaconf / internal/fsmconf): min_rx and min_tx 10 ms, idle_tx
// 1 s, multiplier 5, ttl 255, hoplimit 64, max_hops 0.
type Config struct {
	Name     string
	Neighbor netip.Addr // neighbor_ip (or neighbour_ip); required
	Source   netip.Addr // source_ip; the zero Addr lets the kernel choose
	MinRx    time.Duration
	MinTx    time.Duration
	IdleTx   time.Duration
	// Multiplier is the detect multiplier (missed packets before Down).
	Multiplier uint8
	Passive    bool  // send nothing until the peer is heard (RFC 5880 6.1)
	TTL        uint8 // outgoing IPv4 TTL
	HopLimit   uint8 // outgoing IPv6 hop limit
	// MaxHops is how far below the sent TTL/hop limit a received packet's
	// may be (255: no check).
	MaxHops uint8
}

// State is a session's RFC 5880 state.
type State uint8

// RFC 5880 6.8.1 session states, numbered as on the wire.
const (
	AdminDown State = 0
	Down      State = 1
	Init      State = 2
	Up        State = 3
)

// Event reports a session entering or leaving Up. It is what track_bfd acts
// on: Up true when the session reached Up, false when it left it.
type Event struct {
	Name string
	Up   bool
	// State is the new state; Diag the RFC 5880 4.1 diagnostic code that came
	// with it (1: control detection time expired, 3: neighbor signaled down,
	// 7: administratively down, ...).
	State State
	Diag  uint8
	At    time.Time
}

// Sink receives events from the manager's own goroutines. It must not block
// for long (the daemon posts to its loop's buffered channel).
type Sink func(Event)

// SessionStatus is a session as `govrrp status` shows it.
type SessionStatus struct {
	Config
	State      State
	RemoteDisc uint32
	LocalDisc  uint32
	// TxInterval is the negotiated transmit interval, DetectTime the
	// negotiated detection time.
	TxInterval, DetectTime time.Duration
	LastDiag               uint8
	Since                  time.Time
	RxPackets, TxPackets   uint64
	// Dropped counts received packets discarded, by reason ("bad-version",
	// "ttl", "wrong-source", ...); drops that match no session ("no-session",
	// garbage from unknown addresses, "queue_full") are Manager.Dropped's.
	Dropped map[string]uint64
	// TxErrors counts packets the kernel refused to send; RemoteState is the
	// peer's last reported state; Polling is true while a Poll sequence
	// (RFC 5880 6.5) waits for its Final.
	TxErrors    uint64
	RemoteState State
	Polling     bool
}

// Options configure a Manager.
type Options struct {
	Log  *slog.Logger
	Sink Sink
}

// The Manager's methods (implemented in manager.go):
//
//	func NewManager(o Options) *Manager
//	func (m *Manager) Apply(cfgs []Config) error // start-up and reload: keeps unchanged sessions
//	func (m *Manager) Snapshot() []SessionStatus
//	func (m *Manager) Close() // tells Up peers AdminDown, closes the sockets
//	func (m *Manager) Dropped() map[string]uint64 // drops matching no session

package transport

import "sync"

// Receive buffers sized to need (issue 11). A burst of adverts of every
// instance on a socket must fit in its receive buffer, or the kernel drops
// the excess (counted: SO_RXQ_OVFL, KernelDrops). keepalived's knobs decide
// each instance's share when given; with none, govrrp's own rule does.

// RxBufKind is keepalived's vrrp_rx_bufs_policy.
type RxBufKind int

const (
	// RxBufDefault: no policy given. Without kernel_rx_buf_size anywhere on
	// the socket, govrrp's rule (DefaultShare per instance, never below the
	// system default).
	RxBufDefault RxBufKind = iota
	// RxBufMTU: each instance adds its interface's MTU × multiplier.
	RxBufMTU
	// RxBufAdvert: each instance adds its advert's IP packet size × multiplier.
	RxBufAdvert
	// RxBufNumber: each instance adds Number bytes.
	RxBufNumber
)

// DefaultMultiplier is keepalived's vrrp_rx_bufs_multiplier default.
const DefaultMultiplier = 3

// AdvertTruesize is what the kernel may charge a receive buffer for one
// small advert (skb truesize). TestLinuxRcvbufOverflowCounted measures 768
// bytes on veth, but 255 aligned adverts of the scale bench overflowed the
// 212,992-byte default (> 835 each): 2 KiB leaves room for drivers that
// allocate more.
const AdvertTruesize = 2048

// DefaultShare is govrrp's per-instance request when no knob is given:
// DefaultMultiplier bursts of one advert each. The kernel doubles a request
// for its bookkeeping, so the buffer holds 2 × 3 = 6 adverts per instance
// at AdvertTruesize: a reader can miss a few whole bursts and lose none.
const DefaultShare = DefaultMultiplier * AdvertTruesize

// RxBufPolicy is keepalived's global vrrp_rx_bufs_policy and
// vrrp_rx_bufs_multiplier.
type RxBufPolicy struct {
	Kind       RxBufKind
	Number     int // RxBufNumber: bytes per instance
	Multiplier int // 0: DefaultMultiplier
}

// Share is what one instance adds to its socket's SO_RCVBUF request, as
// keepalived 2.2.7 computes it (observed with strace: two instances,
// MTU 1500 → 9000, ADVERT 40-byte packets → 240, NUMBER 100000 → 200000,
// kernel_rx_buf_size 50000 on one and no policy → 50000): kernelRxBufSize
// when set, else by policy. 0 means "no knob for this instance".
func (p RxBufPolicy) Share(mtu, advertLen, kernelRxBufSize int) int {
	if kernelRxBufSize > 0 {
		return kernelRxBufSize
	}
	mult := p.Multiplier
	if mult <= 0 {
		mult = DefaultMultiplier
	}
	switch p.Kind {
	case RxBufMTU:
		return mtu * mult
	case RxBufAdvert:
		return advertLen * mult
	case RxBufNumber:
		return p.Number
	}
	return 0
}

// socketRequest is the SO_RCVBUF request for a socket: the sum of the
// explicit shares when any instance has one (keepalived's semantics: the
// others add nothing), else n × DefaultShare, or 0 ("leave the system
// default") when that is not more than the default already gives.
// sysDefault is the buffer the socket had when opened, as the kernel
// reports it (rmem_default, not doubled).
func socketRequest(shares map[uint8]int, n, sysDefault int) int {
	sum := 0
	for _, s := range shares {
		sum += s
	}
	if sum > 0 {
		return sum
	}
	want := n * DefaultShare
	if 2*want <= sysDefault {
		return 0
	}
	return want
}

// readBufferSizer is a Conn that knows its receive buffer.
type readBufferSizer interface {
	ReadBufferSize() int
}

// readBufferSetter is a Conn whose receive buffer can be sized.
type readBufferSetter interface {
	readBufferSizer
	// SetReadBuffer requests bytes (0: back to the size it was opened with).
	SetReadBuffer(bytes int) error
	// InitialReadBuffer is the buffer as opened (the system default).
	InitialReadBuffer() int
}

// kernelDropper is a Conn that counts what the kernel dropped on it.
type kernelDropper interface {
	KernelDrops() uint64
}

// rcvbufShares is a Mux's per-VRID buffer shares; mu serialises resizes.
type rcvbufShares struct {
	mu     sync.Mutex
	shares map[uint8]int
	asked  int   // the last request made (0: the default)
	err    error // of the last resize
}

// ReadBufferSize is the receive buffer of the Mux's socket in bytes, read
// when a VRID was last registered or the buffer resized; -1 when the Conn
// does not say (the in-memory Segment queues whole packets instead).
func (m *Mux) ReadBufferSize() int { return int(m.rcvbuf.Load()) }

// SetReadBufferShare sets what vrid adds to the socket's receive buffer
// (RxBufPolicy.Share; 0: no knob) and resizes the socket when the request
// changed. Not for the per-packet path.
func (m *Mux) SetReadBufferShare(vrid uint8, bytes int) error {
	m.bufs.mu.Lock()
	defer m.bufs.mu.Unlock()
	if m.bufs.shares == nil {
		m.bufs.shares = make(map[uint8]int)
	}
	if bytes > 0 {
		m.bufs.shares[vrid] = bytes
	} else {
		delete(m.bufs.shares, vrid)
	}
	return m.resizeLocked()
}

// ReadBufferErr is the error of the last resize, nil when it succeeded.
func (m *Mux) ReadBufferErr() error {
	m.bufs.mu.Lock()
	defer m.bufs.mu.Unlock()
	return m.bufs.err
}

// KernelDrops is how many packets the kernel dropped on the socket because
// its receive buffer was full (SO_RXQ_OVFL), as of the last packet read; 0
// when the Conn does not say.
func (m *Mux) KernelDrops() uint64 {
	if k, ok := m.conn.(kernelDropper); ok {
		return k.KernelDrops()
	}
	return 0
}

// resize follows a Register; unshare an Unregister (the VRID's share goes
// with it).
func (m *Mux) resize() {
	m.bufs.mu.Lock()
	defer m.bufs.mu.Unlock()
	_ = m.resizeLocked()
}

func (m *Mux) unshare(vrid uint8) {
	m.bufs.mu.Lock()
	defer m.bufs.mu.Unlock()
	delete(m.bufs.shares, vrid)
	_ = m.resizeLocked()
}

func (m *Mux) resizeLocked() error {
	s, ok := m.conn.(readBufferSetter)
	if !ok {
		m.noteReadBuffer()
		return nil
	}
	want := socketRequest(m.bufs.shares, m.Registered(), s.InitialReadBuffer())
	if want != m.bufs.asked {
		m.bufs.err = s.SetReadBuffer(want)
		if m.bufs.err == nil {
			m.bufs.asked = want
		}
	}
	m.noteReadBuffer()
	return m.bufs.err
}

// noteReadBuffer refreshes ReadBufferSize (a syscall, not for the
// per-packet path).
func (m *Mux) noteReadBuffer() {
	s, ok := m.conn.(readBufferSizer)
	if !ok {
		m.rcvbuf.Store(-1)
		return
	}
	m.rcvbuf.Store(int64(s.ReadBufferSize()))
}

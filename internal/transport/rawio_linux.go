package transport

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIO does recvmsg/sendmsg on state allocated once per socket, so the
// per-advert path allocates nothing (x/net's ReadFrom/WriteTo allocate about a
// dozen objects per packet). x/net still sets every socket option.
type rawIO struct {
	rc      syscall.RawConn
	ipv6    bool
	ifindex int

	rmu   sync.Mutex // one reader at a time; guards the r* fields
	rmsg  unix.Msghdr
	riov  [2]unix.Iovec
	rhdr  [ipv4HeaderLen]byte // IPv4 raw sockets deliver the IP header first
	rname unix.RawSockaddrInet6
	roob  [128]byte
	rfn   func(fd uintptr) bool // bound once: a method value allocates
	rn    int
	rerr  syscall.Errno
	// rdrops is the socket's kernel drop counter from the last packet's
	// SO_RXQ_OVFL message (rcvbuf_linux.go); read by any goroutine.
	rdrops atomic.Uint32
	batch  batchState // recvmmsg (batch_recv_linux.go), guarded by rmu
	// reading is set from before a recvmmsg until its messages are
	// dispatched; drains counts the recvmmsg calls that found the queue
	// empty. Read by any goroutine (ReadProgress, progress_linux.go).
	reading atomic.Bool
	drains  atomic.Uint64

	wmu    sync.Mutex // instances write concurrently; guards the w* fields
	wmsg   unix.Msghdr
	wiov   unix.Iovec
	wname4 unix.RawSockaddrInet4
	wname6 unix.RawSockaddrInet6
	woob   [64]byte
	wfn    func(fd uintptr) bool
	werr   syscall.Errno
	wb     sendBatch // sendmmsg state (batch_send_linux.go), guarded by wmu
}

const ipv4HeaderLen = 20

var errShort = errors.New("transport: read: short IPv4 packet")

func newRawIO(rc syscall.RawConn, ipv6 bool, ifindex int) *rawIO {
	r := &rawIO{rc: rc, ipv6: ipv6, ifindex: ifindex}
	r.rfn = r.recv
	r.wfn = r.send
	return r
}

// read receives one message into b and fills m; the IPv4 header is stripped.
func (r *rawIO) read(b []byte, m *Meta) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("transport: read: empty buffer")
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.prepareRead(b)
	err := r.rc.Read(r.rfn)
	r.riov[len(r.riov)-1] = unix.Iovec{} // do not keep the caller's buffer
	if err != nil {
		return 0, err
	}
	if r.rerr != 0 {
		return 0, os.NewSyscallError("recvmsg", r.rerr)
	}
	oob := r.roob[:r.rmsg.Controllen]
	r.noteDrops(oob)
	if r.ipv6 {
		m.Src = netip.AddrFrom16(r.rname.Addr).Unmap()
		parseCmsgs6(oob, m)
		return min(r.rn, len(b)), nil
	}
	return r.finish4(b, oob, m)
}

func (r *rawIO) prepareRead(b []byte) {
	r.rmsg = unix.Msghdr{}
	if r.ipv6 {
		r.rmsg.Name = (*byte)(unsafe.Pointer(&r.rname))
		r.rmsg.Namelen = unix.SizeofSockaddrInet6
		r.riov[0].Base = &b[0]
		r.riov[0].SetLen(len(b))
		r.rmsg.Iov = &r.riov[0]
		r.rmsg.SetIovlen(1)
	} else {
		r.riov[0].Base = &r.rhdr[0]
		r.riov[0].SetLen(len(r.rhdr))
		r.riov[1].Base = &b[0]
		r.riov[1].SetLen(len(b))
		r.rmsg.Iov = &r.riov[0]
		r.rmsg.SetIovlen(2)
	}
	r.rmsg.Control = &r.roob[0]
	r.rmsg.SetControllen(len(r.roob))
}

// finish4 takes Src, Dst and TTL from the IPv4 header itself and moves the
// payload to the front of b when the header carried options.
func (r *rawIO) finish4(b, oob []byte, m *Meta) (int, error) {
	return finish4(&r.rhdr, r.rn, b, oob, m)
}

// finish4 is rawIO.finish4 for a header h and rn bytes received (also one
// slot of a batch, batch_recv_linux.go).
func finish4(h *[ipv4HeaderLen]byte, rn int, b, oob []byte, m *Meta) (int, error) {
	hl := int(h[0]&0x0f) * 4
	if rn < ipv4HeaderLen || hl < ipv4HeaderLen || rn < hl {
		return 0, errShort
	}
	m.TTL = int(h[8])
	m.Src = netip.AddrFrom4([4]byte(h[12:16]))
	m.Dst = netip.AddrFrom4([4]byte(h[16:20]))
	parseCmsgs4(oob, m)
	inB := min(rn-ipv4HeaderLen, len(b)) // bytes that landed in b
	opts := hl - ipv4HeaderLen
	if opts > inB {
		return 0, errShort
	}
	copy(b, b[opts:inB])
	return inB - opts, nil
}

// recv runs on the poller's terms: false means "not ready, wait".
func (r *rawIO) recv(fd uintptr) bool {
	for {
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.rmsg)), 0)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.rn, r.rerr = int(n), errno
		return true
	}
}

// write sends b from src to dst with IP(V6)_PKTINFO and the TTL / hop limit
// in the control message.
func (r *rawIO) write(b []byte, src, dst netip.Addr, hopLimit int) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.prepareWrite(b, src, dst, hopLimit)
	err := r.rc.Write(r.wfn)
	r.wiov = unix.Iovec{}
	if err != nil {
		return err
	}
	if r.werr != 0 {
		return os.NewSyscallError("sendmsg", r.werr)
	}
	return nil
}

func (r *rawIO) prepareWrite(b []byte, src, dst netip.Addr, hopLimit int) {
	r.fillWrite(&r.wmsg, &r.wiov, &r.wname4, &r.wname6, r.woob[:], b, src, dst, hopLimit)
}

// fillWrite builds one outgoing message header in the given storage (the
// single write's fields, or one slot of a batch).
func (r *rawIO) fillWrite(msg *unix.Msghdr, iov *unix.Iovec, name4 *unix.RawSockaddrInet4, name6 *unix.RawSockaddrInet6, oob, b []byte, src, dst netip.Addr, hopLimit int) {
	*msg = unix.Msghdr{}
	*iov = unix.Iovec{}
	if len(b) > 0 {
		iov.Base = &b[0]
		iov.SetLen(len(b))
	}
	msg.Iov = iov
	msg.SetIovlen(1)
	var oobLen int
	if r.ipv6 {
		*name6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
			name6.Scope_id = uint32(r.ifindex)
		}
		msg.Name = (*byte)(unsafe.Pointer(name6))
		msg.Namelen = unix.SizeofSockaddrInet6
		oobLen = putPktinfo6(oob, src, r.ifindex)
		oobLen += putCmsgInt(oob[oobLen:], unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, hopLimit)
	} else {
		*name4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
		msg.Name = (*byte)(unsafe.Pointer(name4))
		msg.Namelen = unix.SizeofSockaddrInet4
		oobLen = putPktinfo4(oob, src, r.ifindex)
		// IP_TTL per message (Linux >= 4.6): one socket serves unicast
		// instances with their own unicast_ttl and multicast ones at 255.
		oobLen += putCmsgInt(oob[oobLen:], unix.IPPROTO_IP, unix.IP_TTL, hopLimit)
	}
	msg.Control = &oob[0]
	msg.SetControllen(oobLen)
}

func (r *rawIO) send(fd uintptr) bool {
	for {
		_, _, errno := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&r.wmsg)), 0)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.werr = errno
		return true
	}
}

// Control messages are read and written with encoding/binary rather than
// pointer casts: the buffers are byte arrays with no alignment guarantee, and
// the kernel copies them either way.

func cmsgHeader(b []byte) (length int, level, typ int32) {
	ne := binary.NativeEndian
	if unix.SizeofCmsghdr == 16 { // 64-bit: size_t cmsg_len
		return int(ne.Uint64(b)), int32(ne.Uint32(b[8:])), int32(ne.Uint32(b[12:]))
	}
	return int(ne.Uint32(b)), int32(ne.Uint32(b[4:])), int32(ne.Uint32(b[8:]))
}

func putCmsgHeader(b []byte, dataLen int, level, typ int32) {
	ne := binary.NativeEndian
	if unix.SizeofCmsghdr == 16 {
		ne.PutUint64(b, uint64(unix.CmsgLen(dataLen)))
		ne.PutUint32(b[8:], uint32(level))
		ne.PutUint32(b[12:], uint32(typ))
		return
	}
	ne.PutUint32(b, uint32(unix.CmsgLen(dataLen)))
	ne.PutUint32(b[4:], uint32(level))
	ne.PutUint32(b[8:], uint32(typ))
}

// eachCmsg calls f for every well-formed control message in oob.
func eachCmsg(oob []byte, f func(level, typ int32, data []byte)) {
	hdr := unix.CmsgLen(0)
	for off := 0; off+hdr <= len(oob); {
		l, level, typ := cmsgHeader(oob[off:])
		if l < hdr || off+l > len(oob) {
			return
		}
		f(level, typ, oob[off+hdr:off+l])
		off += unix.CmsgSpace(l - hdr)
	}
}

func parseCmsgs4(oob []byte, m *Meta) {
	eachCmsg(oob, func(level, typ int32, data []byte) {
		if level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo {
			m.Ifindex = int(int32(binary.NativeEndian.Uint32(data)))
		}
	})
}

func parseCmsgs6(oob []byte, m *Meta) {
	eachCmsg(oob, func(level, typ int32, data []byte) {
		if level != unix.IPPROTO_IPV6 {
			return
		}
		switch {
		case typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			m.Dst = netip.AddrFrom16([16]byte(data[:16])).Unmap()
			m.Ifindex = int(binary.NativeEndian.Uint32(data[16:]))
		case typ == unix.IPV6_HOPLIMIT && len(data) >= 4:
			m.TTL = int(int32(binary.NativeEndian.Uint32(data)))
		}
	})
}

func putPktinfo4(b []byte, src netip.Addr, ifindex int) int {
	putCmsgHeader(b, unix.SizeofInet4Pktinfo, unix.IPPROTO_IP, unix.IP_PKTINFO)
	d := b[unix.CmsgLen(0):]
	clear(d[:unix.SizeofInet4Pktinfo])
	binary.NativeEndian.PutUint32(d, uint32(ifindex))
	s := src.As4()
	copy(d[4:8], s[:]) // ipi_spec_dst: the source address to use
	return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

func putPktinfo6(b []byte, src netip.Addr, ifindex int) int {
	putCmsgHeader(b, unix.SizeofInet6Pktinfo, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO)
	d := b[unix.CmsgLen(0):]
	s := src.As16()
	copy(d[:16], s[:])
	binary.NativeEndian.PutUint32(d[16:], uint32(ifindex))
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
}

func putCmsgInt(b []byte, level, typ int32, v int) int {
	putCmsgHeader(b, 4, level, typ)
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], uint32(int32(v)))
	return unix.CmsgSpace(4)
}

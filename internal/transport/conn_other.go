//go:build !linux

package transport

import "net/netip"

// Listen needs Linux raw sockets.
func Listen(cfg Config) (Conn, error) { return nil, ErrNotImplemented }

// PrimaryAddr needs Linux.
func PrimaryAddr(ifname string, ipv6 bool) (netip.Addr, error) {
	return netip.Addr{}, ErrNotImplemented
}

// WriteRaw needs Linux raw sockets (test and tooling use only).
func WriteRaw(ifname string, src, dst netip.Addr, ttl int, payload []byte) error {
	return ErrNotImplemented
}

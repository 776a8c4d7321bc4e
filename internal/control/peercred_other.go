//go:build !linux

package control

import (
	"fmt"
	"net"
	"runtime"
)

// peerCredentials is Linux-only (SO_PEERCRED); elsewhere every peer is
// refused, so the socket is never open to anyone by accident.
func peerCredentials(*net.UnixConn) (peerCred, error) {
	return peerCred{}, fmt.Errorf("not supported on %s", runtime.GOOS)
}

package transport

// ReadProgress is how far a socket's reader has got with what the kernel
// queued. A BACKUP's master-down timer uses it not to declare its master
// silent while the master's adverts wait unread in the socket, behind a
// reader that the scheduler has not run yet (daemon/masterdown.go).
type ReadProgress struct {
	// Pending: packets are queued in the socket, or a read has taken some
	// that are not all dispatched yet.
	Pending bool
	// Drains counts the reads that found the queue empty. Once it moved
	// past a value seen while Pending, everything queued at that moment has
	// been dispatched (the queue is first in, first out).
	Drains uint64
}

// progressReporter is a Conn that reports ReadProgress.
type progressReporter interface {
	ReadProgress() ReadProgress
}

// ReadProgress is the Conn's progress; ok is false when the Conn does not
// report it (then nothing is known to be pending).
func (m *Mux) ReadProgress() (p ReadProgress, ok bool) {
	if r, isReporter := m.conn.(progressReporter); isReporter {
		return r.ReadProgress(), true
	}
	return ReadProgress{}, false
}

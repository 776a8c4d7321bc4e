package netlab

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errPermanent marks a condition error that should stop WaitFor at once.
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// Permanent wraps err so that WaitFor returns it immediately instead of
// treating it as "not yet".
func Permanent(err error) error { return errPermanent{err} }

// WaitFor polls cond every `every` until it returns true, timeout passes or
// ctx ends. An error from cond means "not yet, because ..." and is kept: the
// timeout error names the last one, i.e. what was awaited last. Wrap an
// error with Permanent to stop early.
func WaitFor(ctx context.Context, timeout, every time.Duration, cond func() (bool, error)) error {
	if timeout <= 0 || every <= 0 {
		return errors.New("netlab: WaitFor needs positive timeout and interval")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	maxTries := int(timeout/every) + 2 // the deadline rules; this only bounds the loop
	var last error
	for try := 0; try < maxTries; try++ {
		ok, err := cond()
		if ok {
			return nil
		}
		var perm errPermanent
		if errors.As(err, &perm) {
			return perm.err
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return waitErr(ctx, time.Since(start), last)
		case <-t.C:
		}
	}
	return waitErr(ctx, time.Since(start), last)
}

func waitErr(ctx context.Context, took time.Duration, last error) error {
	why := "timed out"
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = ctx.Err().Error()
	}
	if last == nil {
		return fmt.Errorf("netlab: wait %s after %v (condition never true)", why, took.Round(time.Millisecond))
	}
	return fmt.Errorf("netlab: wait %s after %v; last: %w", why, took.Round(time.Millisecond), last)
}

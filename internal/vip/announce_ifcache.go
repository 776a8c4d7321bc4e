package vip

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
)

// ifCache keeps the Announcer's interface lookups (index, MAC) so a burst of
// 255 transitions does not cost 255 rtnetlink dumps (issue 11). It is valid
// only while a link subscription runs: every link change (new, changed,
// deleted: a new MAC, a re-created interface) empties it, and without a
// subscription nothing is cached. A lookup that raced with a change is not
// stored (generation check), so a stale MAC is never announced.
type ifCache struct {
	mu      sync.Mutex
	state   cacheState
	gen     uint64 // bumped by every change
	m       map[string]*net.Interface
	stop    chan struct{}
	lookups atomic.Uint64 // lookups that went to the kernel (tests, benchmarks)
}

type cacheState uint8

const (
	cacheIdle     cacheState = iota // no lookup yet: the watch starts on the first
	cacheWatching                   // subscribed: entries are valid
	cacheOff                        // no subscription: always look up
	cacheClosed
)

// get returns name's interface, from the cache while it is valid. The
// returned value is shared: callers only read it.
func (c *ifCache) get(name string, lookup func(string) (*net.Interface, error),
	watch func(func(bool), <-chan struct{}) error) (*net.Interface, error) {
	c.mu.Lock()
	if c.state == cacheIdle {
		c.start(watch)
	}
	if ifi, ok := c.m[name]; ok && c.state == cacheWatching {
		c.mu.Unlock()
		return ifi, nil
	}
	gen := c.gen
	c.mu.Unlock()

	ifi, err := lookup(name)
	c.lookups.Add(1)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.state == cacheWatching && c.gen == gen {
		c.m[name] = ifi
	}
	c.mu.Unlock()
	return ifi, nil
}

// start subscribes to link changes; callers hold c.mu.
func (c *ifCache) start(watch func(func(bool), <-chan struct{}) error) {
	c.state = cacheOff
	if watch == nil {
		return
	}
	stop := make(chan struct{})
	if err := watch(c.changed, stop); err != nil {
		return
	}
	c.state, c.stop, c.m = cacheWatching, stop, map[string]*net.Interface{}
}

// changed empties the cache; ended turns caching off for good.
func (c *ifCache) changed(ended bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
	if ended && c.state == cacheWatching {
		c.state = cacheOff
	}
}

// forget drops name's entry (and any lookup of it in flight), saying
// whether there was one.
func (c *ifCache) forget(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[name]
	if ok {
		delete(c.m, name)
		c.gen++
	}
	return ok
}

func (c *ifCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	c.state = cacheClosed
	clear(c.m)
}

// watchLinks follows RTM_NEWLINK/RTM_DELLINK in the network namespace of the
// calling thread (the one the Announcer announces in).
func watchLinks(changed func(ended bool), stop <-chan struct{}) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	size, force := monitorRcvBuf() // vrrp_netlink_monitor_rcv_bufs (netlinkbuf.go)
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		ErrorCallback:          func(error) { changed(false) },
		ReceiveBufferSize:      size,
		ReceiveBufferForceSize: force,
	})
	if err != nil {
		close(done)
		return err
	}
	go func() {
		for {
			select {
			case <-stop:
				close(done)
				for range ch { // the library closes ch once its socket is closed
				}
				return
			case _, ok := <-ch:
				if !ok {
					changed(true)
					<-stop
					close(done)
					return
				}
				changed(false)
			}
		}
	}()
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

const (
	fetchEvery   = 50 * time.Millisecond
	fetchTimeout = 300 * time.Millisecond
	// The client is bounded on its own, whatever the steps do.
	fetchMax  = 2 * time.Minute
	fetchMaxN = int(fetchMax / fetchEvery)
	// fetchResolution is how late the client can notice a change: a request
	// may hang up to its timeout, then the next one waits for its tick.
	fetchResolution = fetchTimeout + fetchEvery
)

// sample is one request of the client.
type sample struct {
	start, end     time.Time
	proxy, backend string // the HeaderProxy and HeaderBackend of the answer
	err            string // "" = 200 OK
}

func (s sample) ok() bool { return s.err == "" }

// fetcher is the client: GET url every fetchEvery from inside a namespace,
// a new connection each time, so every request goes to whoever holds the
// VIP now. Only its goroutine appends; the steps read under mu.
type fetcher struct {
	cancel   context.CancelFunc
	finished chan struct{}

	mu      sync.Mutex
	samples []sample
}

func startFetcher(h *netlab.Host, url string) *fetcher {
	ctx, cancel := context.WithTimeout(context.Background(), fetchMax)
	f := &fetcher{cancel: cancel, finished: make(chan struct{})}
	go f.loop(ctx, h.HTTPClient(fetchTimeout), url)
	return f
}

func (f *fetcher) loop(ctx context.Context, c *http.Client, url string) {
	defer close(f.finished)
	t := time.NewTicker(fetchEvery)
	defer t.Stop()
	for range fetchMaxN {
		s := fetchOne(ctx, c, url)
		if ctx.Err() != nil {
			return // cut short by stop: not the service's failure
		}
		f.mu.Lock()
		f.samples = append(f.samples, s)
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func fetchOne(ctx context.Context, c *http.Client, url string) sample {
	s := sample{start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		s.err, s.end = err.Error(), time.Now()
		return s
	}
	resp, err := c.Do(req)
	if err != nil {
		s.err = errKind(err)
		s.end = time.Now()
		return s
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	s.proxy, s.backend = resp.Header.Get(netlab.HeaderProxy), resp.Header.Get(netlab.HeaderBackend)
	switch {
	case resp.StatusCode != http.StatusOK:
		s.err = resp.Status
	case err != nil:
		s.err = errKind(err)
	case s.proxy == "":
		s.err = "answer without " + netlab.HeaderProxy
	}
	s.end = time.Now()
	return s
}

// errKind names a transport error briefly for the narration.
func errKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// stop ends the client and waits for it.
func (f *fetcher) stop() {
	f.cancel()
	<-f.finished
}

// done reports whether the client has stopped (cap reached or stopped).
func (f *fetcher) done() bool {
	select {
	case <-f.finished:
		return true
	default:
		return false
	}
}

func (f *fetcher) snapshot() []sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sample(nil), f.samples...)
}

// firstOK is the first answer via proxy from a request started at or after since.
func (f *fetcher) firstOK(since time.Time, proxy string) (sample, bool) {
	for _, s := range f.snapshot() {
		if !s.start.Before(since) && s.ok() && s.proxy == proxy {
			return s, true
		}
	}
	return sample{}, false
}

// outage is what the client saw of one VIP move.
type outage struct {
	via    string         // the new holder
	failed int            // failed requests before the first answer via the new holder
	kinds  map[string]int // those failures by kind
	// window runs from the start of the first failed request to the start
	// of the first request answered via the new holder; 0 if none failed.
	window time.Duration
	// firstFail and recovered are relative to the trigger (since).
	firstFail, recovered time.Duration
	// gap: end of the last answer via another proxy -> end of the first
	// answer via the new holder (the switch as the client saw it).
	gap time.Duration
}

func (f *fetcher) outage(since time.Time, via string) outage {
	return measure(f.snapshot(), since, via)
}

// measure computes the outage in samples from since until the first answer via.
func measure(samples []sample, since time.Time, via string) outage {
	o := outage{via: via, kinds: map[string]int{}}
	var first *sample
	var lastOther time.Time
	for i := range samples {
		s := &samples[i]
		if s.start.Before(since) {
			if s.ok() {
				lastOther = s.end
			}
			continue
		}
		if s.ok() && s.proxy == via {
			o.recovered = s.start.Sub(since)
			if first != nil {
				o.window = s.start.Sub(first.start)
			}
			if !lastOther.IsZero() {
				o.gap = s.end.Sub(lastOther)
			}
			return o
		}
		if s.ok() {
			lastOther = s.end
			continue
		}
		o.failed++
		o.kinds[s.err]++
		if first == nil {
			first = s
			o.firstFail = s.start.Sub(since)
		}
	}
	o.recovered = -1 // never
	return o
}

func (o outage) String() string {
	if o.recovered < 0 {
		return fmt.Sprintf("%d failed requests, no answer via %s yet", o.failed, o.via)
	}
	if o.failed == 0 {
		return fmt.Sprintf("none, no request failed: the first answer via %s came %v after the previous answer",
			o.via, ms(o.gap))
	}
	return fmt.Sprintf("%v, %d failed requests (%s): first failure %v after the trigger, first answer via %s %v after it",
		ms(o.window), o.failed, kindsString(o.kinds), ms(o.firstFail), o.via, ms(o.recovered))
}

func kindsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// summary counts the requests started at or after since (zero: all).
type summary struct {
	requests, failed int
	via              map[string]map[string]int // proxy -> backend -> answers
}

func (f *fetcher) summary(since time.Time) summary {
	return summarize(f.snapshot(), since)
}

func summarize(samples []sample, since time.Time) summary {
	sum := summary{via: map[string]map[string]int{}}
	for _, s := range samples {
		if s.start.Before(since) {
			continue
		}
		sum.requests++
		if !s.ok() {
			sum.failed++
			continue
		}
		if sum.via[s.proxy] == nil {
			sum.via[s.proxy] = map[string]int{}
		}
		sum.via[s.proxy][s.backend]++
	}
	return sum
}

func (s summary) String() string {
	var proxies []string
	for p := range s.via {
		proxies = append(proxies, p)
	}
	sort.Strings(proxies)
	parts := []string{fmt.Sprintf("%d requests, %d failed", s.requests, s.failed)}
	for _, p := range proxies {
		var bs []string
		for b := range s.via[p] {
			bs = append(bs, b)
		}
		sort.Strings(bs)
		var counts []string
		for _, b := range bs {
			counts = append(counts, fmt.Sprintf("%s %d", b, s.via[p][b]))
		}
		parts = append(parts, fmt.Sprintf("via %s: %s", p, strings.Join(counts, ", ")))
	}
	return strings.Join(parts, "; ")
}

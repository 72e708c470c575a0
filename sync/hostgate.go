package sync

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	gosync "sync"
	"time"
)

// hostGate keeps one slow or hung endpoint from taking every delivery worker.
//
// Many channels share an endpoint host: every property's Booking.com channel
// pushes to the same supply host. Without a limit, while that host hangs,
// each delivery to it holds a worker for the push timeout (30 s) and the
// workers fill up with them — the deliveries to every other channel of every
// property wait in the queue, and what the hung OTA holds back is sold on
// the others from stale counts. So a worker lets at most half of a class's
// workers push to one host at a time (Concurrency/2, BulkConcurrency/2, at
// least 1), and once a push to a host has timed out, one at a time until a
// push to it is answered. A delivery that finds its host at the limit leaves
// its marks and hands the pair over to a task that runs a little later
// (hostBusyDelay, hostSuspectDelay); changes until then join it. The limit is
// per worker process; what the host is sent stays the pool's latest state.
type hostGate struct {
	mu       gosync.Mutex
	limit    map[string]int  // class → most pushes in flight to one host
	inFlight map[string]int  // class + " " + host → pushes in flight
	suspect  map[string]bool // hosts a push to timed out, until a push to one is answered
}

// hostBusyDelay is how long a delivery whose host is at its limit waits to
// be tried again; hostSuspectDelay the same while the host does not answer.
const (
	hostBusyDelay    = 500 * time.Millisecond
	hostSuspectDelay = 5 * time.Second
)

func newHostGate(concurrency, bulkConcurrency int) *hostGate {
	return &hostGate{
		limit:    map[string]int{classCritical: max(1, concurrency/2), classBulk: max(1, bulkConcurrency/2)},
		inFlight: map[string]int{},
		suspect:  map[string]bool{},
	}
}

// endpointHost is the part of an endpoint that names the server: scheme,
// host and port, lower case ("https://supply.example.com:443" and
// "https://SUPPLY.example.com/other" share one).
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return strings.ToLower(endpoint)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(net.JoinHostPort(host, port))
}

// pushEnd is how a push that held a host slot ended.
type pushEnd int

const (
	notPushed pushEnd = iota // the slot was given back before the push
	answered                 // the host answered (an error status too)
	noAnswer                 // the push timed out
)

// enter takes a push slot of class for host. When the host has all it may
// have it reports false, with how long to wait and whether the host is
// suspect (a push to it timed out); otherwise the caller must call leave
// once it is done with the slot, saying how the push ended.
func (g *hostGate) enter(class, host string) (leave func(pushEnd), wait time.Duration, suspect, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	limit, wait := g.limit[class], hostBusyDelay
	if g.suspect[host] {
		limit, wait = 1, hostSuspectDelay
	}
	key := class + " " + host
	if g.inFlight[key] >= limit {
		return nil, wait, g.suspect[host], false
	}
	g.inFlight[key]++
	return func(end pushEnd) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.inFlight[key]--; g.inFlight[key] <= 0 {
			delete(g.inFlight, key)
		}
		switch end {
		case noAnswer:
			g.suspect[host] = true
		case answered:
			delete(g.suspect, host)
		}
	}, 0, false, true
}

// howEnded is how a push that failed with err ended (ctx is the
// delivery's: a delivery stopped by its worker is not the host's fault,
// and says nothing of it).
func howEnded(ctx context.Context, err error) pushEnd {
	switch {
	case err == nil:
		return answered
	case ctx.Err() != nil:
		return notPushed
	case errors.Is(err, context.DeadlineExceeded):
		return noAnswer
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return noAnswer
	}
	return answered
}

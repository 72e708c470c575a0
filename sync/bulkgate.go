package sync

import (
	"context"
	"sync/atomic"
	"time"
)

// bulkGate makes bulk work step aside for bookings. While booking-driven
// (critical) deliveries run in this worker, and for a quiet spell after the
// last one, bulk deliveries run at most BulkWhileBusy at a time, and a slot
// rests after each as long as the delivery ran (bulk work takes at most half
// of the time); the others wait. When bookings stop, the bulk workers run at
// full BulkConcurrency again.
//
// The queues alone do not do this: bulk deliveries have workers of their own
// so that a resync never holds a booking's delivery back in the queue, but
// on a worker that is short of CPU (PostgreSQL, keyrack and what it pushes
// to sharing the cores) four resyncs of 1,460 nights at a time took the
// cores the bookings' deliveries needed: booking lag p99 of 1.5 s during the
// benchmark's full resync of 100 properties, against 0.1–0.2 s with one bulk
// delivery at a time. On a slower day of the same machine one at a time was
// not enough (p99 0.66–1.66 s over five runs); with the rest, 0.55–0.77 s in
// three, and the resync took as long (26.5–27.4 s against 25.6–28.5).
type bulkGate struct {
	running atomic.Int64 // critical deliveries running
	lastEnd atomic.Int64 // when the last one ended, unix nanoseconds
	quiet   time.Duration
	slots   chan struct{} // the bulk deliveries let through while busy
	recheck time.Duration // how often a waiting bulk delivery looks again
	// restUntil: while busy, no bulk delivery starts before then, unix
	// nanoseconds — a bulk delivery that ends while bookings are being
	// delivered rests its slot as long as it ran.
	restUntil atomic.Int64
}

func newBulkGate(whileBusy int, quiet time.Duration) *bulkGate {
	return &bulkGate{quiet: quiet, slots: make(chan struct{}, whileBusy), recheck: min(quiet/4, 50*time.Millisecond)}
}

// critical notes a critical delivery from now until the returned func is
// called.
func (g *bulkGate) critical() (done func()) {
	g.running.Add(1)
	return func() {
		g.lastEnd.Store(time.Now().UnixNano())
		g.running.Add(-1)
	}
}

// busy reports whether a critical delivery runs or ended within the quiet
// spell.
func (g *bulkGate) busy() bool {
	return g.running.Load() > 0 || time.Since(time.Unix(0, g.lastEnd.Load())) < g.quiet
}

// bulk waits until a bulk delivery may run: at once when no booking is
// being delivered, else for one of the slots — or for the bookings to stop,
// or for maxWait: a bulk delivery is held back, never starved (and its task
// does not run into asynq's timeout waiting here). The returned func gives
// the slot back.
func (g *bulkGate) bulk(ctx context.Context, maxWait time.Duration) (done func(), err error) {
	var t *time.Ticker
	var deadline time.Time
	for {
		if !g.busy() {
			return func() {}, nil
		}
		if t == nil {
			t = time.NewTicker(g.recheck)
			defer t.Stop()
			deadline = time.Now().Add(maxWait)
		} else if time.Now().After(deadline) {
			return func() {}, nil
		}
		if time.Now().UnixNano() < g.restUntil.Load() {
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select {
		case g.slots <- struct{}{}:
			start := time.Now()
			return func() {
				if g.busy() {
					end := time.Now()
					g.restUntil.Store(end.Add(end.Sub(start)).UnixNano())
				}
				<-g.slots
			}, nil
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

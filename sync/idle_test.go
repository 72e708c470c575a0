package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// idleHotel is a primed hotel whose relays and workers, once idle, look
// for work only every hour: whatever reaches a channel after that was
// woken, not found by a poll. It returns once both relays wait and the
// workers' dequeues are held back (which also says that the idle wait
// still knows asynq's dequeue).
func idleHotel(t *testing.T) *hotel {
	t.Helper()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) {
		c.RelayIdleInterval = time.Hour
		c.WorkerIdleWait = time.Hour
	}}).primed()
	eventually(t, convergeTimeout, "the relays and the workers to go idle", func() bool {
		return h.fan.RelaysIdle() && h.fan.IdleWaits() > 0
	})
	return h
}

// holds waits until channel c holds want for room type R0 on night.
func (h *hotel) holds(c string, night inventory.Date, want int) {
	h.t.Helper()
	eventually(h.t, convergeTimeout, c+" to hold "+night.String(), func() bool {
		v, _ := h.tc[c].Value(h.room(c, 0), night)
		return v == want
	})
}

// A hotel with nothing happening keeps its relays and workers waiting
// rather than asking PostgreSQL and Redis a hundred times a second each, and
// a booking, a staff change, or a failed push's retry arriving then still
// goes out at once.
func TestAnIdleWorkerWaitsAndABookingWakesIt(t *testing.T) {
	t.Parallel()
	h := idleHotel(t)
	arrival := h.today.AddDays(3)

	h.book("A", "A-1", 0, arrival, 1, 2)
	for _, c := range []string{"B", "C", "D"} {
		h.holds(c, arrival, 8)
	}

	eventually(t, convergeTimeout, "the relays to go idle again", h.fan.RelaysIdle)
	require.NoError(t, h.st.SetClosed(context.Background(), inventory.NightRange{Property: h.code, Pool: "P0",
		From: arrival, To: arrival.AddDays(1)}, true, inventory.Staff("anna")))
	for _, c := range h.channels {
		h.holds(c, arrival, 0)
	}

	// A push that fails is retried (asynq moves the retry into the queue).
	eventually(t, convergeTimeout, "the relays to go idle again", h.fan.RelaysIdle)
	h.tc["B"].FailAll(true)
	failed := h.tc["B"].Stats().Failed
	h.book("A", "A-2", 0, arrival.AddDays(1), 1, 1)
	eventually(t, convergeTimeout, "B to refuse a push", func() bool { return h.tc["B"].Stats().Failed > failed })
	h.tc["B"].FailAll(false)
	h.holds("B", arrival.AddDays(1), 9)
	h.waitConverged()
}

// A task another process puts in the queue — here a resync asked for by a
// process that runs no worker, as the web process does on a staff request
// — wakes the idle workers of this one.
func TestATaskPutInByAnotherProcessWakesAnIdleWorker(t *testing.T) {
	t.Parallel()
	h := idleHotel(t)
	web := h.fanout() // a Redis client of its own, no worker
	before := h.tc["B"].Stats().Applied
	require.NoError(t, web.Resync(context.Background(), h.code, "B"))
	eventually(t, convergeTimeout, "B to be resynced", func() bool { return h.tc["B"].Stats().Applied > before })
	h.waitConverged()
}

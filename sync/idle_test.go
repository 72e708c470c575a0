package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// idleHotel is a primed hotel whose relays, once idle, look for outbox
// rows only every hour: whatever reaches a channel after that was woken,
// not found by a poll. It returns once both relays wait.
func idleHotel(t *testing.T) *hotel {
	t.Helper()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) {
		c.RelayIdleInterval = time.Hour
	}}).primed()
	eventually(t, convergeTimeout, "the relays to go idle", h.fan.RelaysIdle)
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

// A hotel with nothing happening keeps its relays waiting rather than
// asking PostgreSQL a hundred times a second, and a booking or a staff
// change arriving then still goes out at once.
func TestAnIdleRelayWaitsAndABookingWakesIt(t *testing.T) {
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
}

package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A room code mapped again to a room type of another pool is sent the new
// pool's values on every night at once (the mapping brings a resync), and
// from then on only the new pool's: changes of the old pool no longer
// reach it.
func TestARoomMappedToAnotherPoolIsSentThatPoolsValues(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A", "B"}}).primed()
	from, to := h.horizon()
	holds := func(room string, want func(inventory.Date) int) bool {
		for d := from; d.Before(to); d = d.AddDays(1) {
			if v, ok := h.tc["A"].Value(room, d); !ok || v != want(d) {
				return false
			}
		}
		return true
	}
	// A booking of P0 on B while the mapping changes: A-R1 is sent P0's
	// values with it, whichever delivery carries them.
	h.book("B", "b-0", 0, from.AddDays(3), 2, 1)
	require.NoError(t, h.st.SetMapping(ctx, h.code, "A", inventory.Mapping{ChannelRoom: "A-R1", RoomType: "R0"}, inventory.System))
	require.NoError(t, h.fan.Resync(ctx, h.code, "A")) // as the API and the UI do
	p0 := func(d inventory.Date) int { return h.availability(d, d.AddDays(1))["P0"][d] }
	eventually(t, convergeTimeout, "A-R1 holds P0's values", func() bool { return holds("A-R1", p0) && h.inSync("A") })
	require.True(t, holds("A-R0", p0))
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			if it.Room == "A-R1" {
				for d := it.From; d.Before(it.To); d = d.AddDays(1) {
					require.Equal(t, p0(d), it.Available, "A-R1 was sent another value than P0's on %s: %+v", d, it)
				}
			}
		}
	}

	// P1 sells out on B: A-R1 is not told.
	h.tc["A"].Reset()
	h.book("B", "b-1", 1, from.AddDays(5), 3, 4)
	h.waitConverged("B")
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A resynced", func() bool { return len(h.tc["A"].Received()) > 0 && h.inSync("A") })
	require.True(t, holds("A-R1", p0), "A-R1 keeps P0's values")
}

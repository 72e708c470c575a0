package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel told nothing more of a room goes on selling the last count it
// was given ("unmapped OTA rooms never get updates, which causes
// overbookings"): deleting the last mapping of a room code closes it on
// the channel — its next delivery sends it 0 for every night of its
// horizon, once — while a room code another mapping still sends is left
// alone, and one mapped again before the delivery is sent the pool's
// values, not 0. At the rate level the pair is what is closed.
func TestADeletedMappingClosesItsRoomOnTheChannel(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A", "B"}}).primed()
	from, to := h.horizon()
	holdsEverywhere := func(key string, want int) func() bool {
		return func() bool {
			for d := from; d.Before(to); d = d.AddDays(1) {
				if v, ok := h.tc["A"].Value(key, d); !ok || v != want {
					return false
				}
			}
			return h.inSync("A")
		}
	}
	closures := func() int {
		var n int
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_closures`).Scan(&n))
		return n
	}

	// A-R1 is no longer mapped: A is sent 0 for it, A-R0 is untouched.
	closed, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
	require.NoError(t, err)
	require.True(t, closed)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A")) // as the API and the UI do
	eventually(t, convergeTimeout, "A-R1 closed on A", holdsEverywhere("A-R1", 0))
	require.Zero(t, closures(), "sent once")
	require.True(t, holdsEverywhere("A-R0", 10)())
	// Bookings of R1 are no longer sent to A: it keeps 0.
	h.book("B", "b-1", 1, h.today.AddDays(2), 2, 1)
	h.waitConverged("B")
	require.True(t, holdsEverywhere("A-R1", 0)())

	// A rate mapping of A-R0 deleted while A-R0 is still mapped for any
	// rate: nothing to close at the room level.
	require.NoError(t, h.st.SetMapping(ctx, h.code, "A", inventory.Mapping{ChannelRoom: "A-R0", ChannelRate: "BAR", RoomType: "R0"}, inventory.System))
	closed, err = h.st.DeleteMapping(ctx, h.code, "A", "A-R0", "BAR", inventory.System)
	require.NoError(t, err)
	require.False(t, closed, "A-R0 is still sent")
	require.Zero(t, closures())

	// Mapped again before any delivery: the pool's values, not 0.
	closed, err = h.st.DeleteMapping(ctx, h.code, "A", "A-R0", "", inventory.System)
	require.NoError(t, err)
	require.True(t, closed)
	require.NoError(t, h.st.SetMapping(ctx, h.code, "A", inventory.Mapping{ChannelRoom: "A-R0", RoomType: "R0"}, inventory.System))
	h.tc["A"].Reset()
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A-R0 resent", func() bool { return len(h.tc["A"].Received()) > 0 && h.inSync("A") })
	require.True(t, holdsEverywhere("A-R0", 10)(), "A-R0 mapped again is sent its pool's values")
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			require.NotZero(t, it.Available, "a closure of a room mapped again was sent: %+v", it)
		}
	}
	require.Zero(t, closures(), "dropped unsent")

	// At the rate level, the pair is closed; the other rate goes on.
	h.setLevel("A", "rate")
	h.mapRates("A", "A-R0", 0, "BAR", "NRF")
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	nrf, bar := testchannel.Key("A-R0", "NRF"), testchannel.Key("A-R0", "BAR")
	eventually(t, convergeTimeout, "A holds NRF", holdsEverywhere(nrf, 10))
	closed, err = h.st.DeleteMapping(ctx, h.code, "A", "A-R0", "NRF", inventory.System)
	require.NoError(t, err)
	require.True(t, closed)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "NRF closed on A", holdsEverywhere(nrf, 0))
	require.True(t, holdsEverywhere(bar, 10)())
}

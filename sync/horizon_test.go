package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel whose horizon is lowered is never sent the nights beyond it
// again: told nothing more, it would go on selling the last counts it had
// there while the pool fills. Its next delivery closes them (0 for every
// item, once), its acknowledgements there go (it holds 0 now, not what it
// last took), and a horizon raised again is sent the pool's values — also
// when it is raised before the closure went out.
func TestALoweredHorizonClosesTheNightsBeyondIt(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A", "B"}}).primed()
	from, to := h.horizon()
	cut := from.AddDays(10)
	horizon := func(days int) {
		t.Helper()
		_, err := h.st.UpdateChannel(ctx, h.code, "A", inventory.ChannelPatch{HorizonDays: &days}, inventory.System)
		require.NoError(t, err)
	}
	holds := func(room string, from, to inventory.Date, want int) bool {
		for d := from; d.Before(to); d = d.AddDays(1) {
			if v, ok := h.tc["A"].Value(room, d); !ok || v != want {
				return false
			}
		}
		return true
	}
	acksBeyond := func() int {
		var n int
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_acks WHERE property_id = $1 AND channel_id = $2 AND night >= $3`,
			h.id, h.chanIDs["A"], cut).Scan(&n))
		return n
	}

	// Raised again before any delivery: the pool's values, never a 0.
	horizon(10)
	horizon(30)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A")) // as the API does
	eventually(t, convergeTimeout, "A resent", func() bool { return len(h.tc["A"].Received()) > 0 && h.inSync("A") })
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			require.NotZero(t, it.Available, "a night within the horizon raised again was closed: %+v", it)
		}
	}
	h.waitConverged("A")

	// 30 → 10 days: nights 10–29 are closed on A, each item and night once;
	// nights 0–9 keep the pool's values.
	h.tc["A"].Reset()
	horizon(10)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A closed beyond its horizon", func() bool {
		return holds("A-R0", cut, to, 0) && holds("A-R1", cut, to, 0) && h.inSync("A")
	})
	require.True(t, holds("A-R0", from, cut, 10) && holds("A-R1", from, cut, 4), "A keeps the pool's values within its horizon")
	sent := map[string]int{}
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			for d := it.From; d.Before(it.To); d = d.AddDays(1) {
				sent[it.Room+" "+d.String()]++
			}
		}
	}
	for k, n := range sent {
		require.Equal(t, 1, n, "%s sent %d times", k, n)
	}
	require.Len(t, sent, 2*30, "every item and night of the old horizon, once")
	require.Zero(t, acksBeyond(), "A holds 0 beyond its horizon, not what it last acknowledged there")

	// Bookings beyond A's horizon are not sent to it: it keeps 0.
	h.book("B", "b-1", 0, cut.AddDays(5), 2, 1)
	h.waitConverged("B")
	require.True(t, holds("A-R0", cut, to, 0))

	// Raised again: the pool's values on every night.
	horizon(30)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	h.waitConverged("A")
}

// Deleting a mapping and lowering the horizon before the channel's next
// delivery closes the room on every night it was sent: the old horizon's.
func TestADeletedMappingIsClosedOnTheOldHorizon(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A"}}).primed()
	from, to := h.horizon()
	_, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
	require.NoError(t, err)
	days := 10
	_, err = h.st.UpdateChannel(ctx, h.code, "A", inventory.ChannelPatch{HorizonDays: &days}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A-R1 closed on A", func() bool {
		for d := from; d.Before(to); d = d.AddDays(1) {
			if v, ok := h.tc["A"].Value("A-R1", d); !ok || v != 0 {
				return false
			}
		}
		return h.inSync("A")
	})
}

// A channel that refuses the closing of nights beyond its horizon keeps
// them acknowledged: the next resync closes them again.
func TestAClosureBeyondTheHorizonRefusedIsSentAgain(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A"}}).primed()
	from, to := h.horizon()
	cut := from.AddDays(10)
	closed := func(room string) bool {
		for d := cut; d.Before(to); d = d.AddDays(1) {
			if v, ok := h.tc["A"].Value(room, d); !ok || v != 0 {
				return false
			}
		}
		return true
	}
	acksBeyond := func() int {
		var n int
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_acks WHERE property_id = $1 AND channel_id = $2 AND night >= $3`,
			h.id, h.chanIDs["A"], cut).Scan(&n))
		return n
	}
	h.tc["A"].AcceptRooms("A-R0")
	days := 10
	_, err := h.st.UpdateChannel(ctx, h.code, "A", inventory.ChannelPatch{HorizonDays: &days}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A-R0 closed", func() bool { return closed("A-R0") && h.inSync("A") })
	require.False(t, closed("A-R1"), "A refused A-R1")
	require.Equal(t, 2*20, acksBeyond(), "what A holds beyond its horizon is still to close")

	h.tc["A"].AcceptRooms("A-R0", "A-R1")
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A-R1 closed", func() bool { return closed("A-R1") && h.inSync("A") })
	require.Zero(t, acksBeyond())
}

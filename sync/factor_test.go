package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A pool sold with an overbooking factor offers floor(units × factor) on
// every channel (PRODUCT.md invariant 1): 3 rooms × 1.50 is 4, never 5 —
// on the nights never booked or edited, which have no row of their own, as
// on booked ones. A channel told 5 sells a room the hotel does not have.
func TestAnOverbookingFactorReachesChannelsRoundedDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, units: []int{1}})
	// A second pool created with its factor: its nights take the pool's
	// values until they are first booked.
	pool, err := h.st.CreatePool(ctx, h.code, inventory.Pool{Code: "P1", Units: 3, OverbookingFactor: inventory.Factor(150)}, inventory.System)
	require.NoError(t, err)
	_, err = h.st.CreateRoomType(ctx, h.code, inventory.RoomType{Code: "R1", Pool: "P1"}, inventory.System)
	require.NoError(t, err)
	for _, c := range h.channels {
		require.NoError(t, h.st.SetMapping(ctx, h.code, c, inventory.Mapping{ChannelRoom: h.room(c, 1), RoomType: "R1"}, inventory.System))
	}
	h.pools, h.poolIDs = append(h.pools, pool.Code), append(h.poolIDs, pool.ID)
	h.primed()

	arrival := h.today.AddDays(5)
	h.book("A", "A-1", 1, arrival, 1, 1)
	eventually(t, convergeTimeout, "B to hear of A's booking", func() bool {
		v, _ := h.tc["B"].Value(h.room("B", 1), arrival)
		return v == 3
	})
	for d := h.today; d.Before(h.today.AddDays(30)); d = d.AddDays(1) {
		want := 4
		if d == arrival {
			want = 3
		}
		for _, c := range h.channels {
			got, _ := h.tc[c].Value(h.room(c, 1), d)
			require.Equal(t, want, got, "%s on %s: 3 rooms × 1.50 sells 4", c, d)
		}
	}
}

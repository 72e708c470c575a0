package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A room code a channel books without a mapping is listed for staff to map,
// once per code, until a mapping covers it.
func TestUnmappedCodesSeenInBookingsAreListedUntilMapped(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{5}, inventory.FactorOne, 2)
	ctx := context.Background()
	book := func(channel, id, room, rate string) {
		t.Helper()
		out, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: channel, ExternalID: id, Kind: inventory.New,
			Mode: inventory.MustAccept, Stays: []inventory.RoomStay{{ChannelRoom: room, ChannelRate: rate,
				Arrival: inventory.MustDate("2031-05-01"), Departure: inventory.MustDate("2031-05-03"), Rooms: 1}}})
		require.NoError(t, err)
		require.True(t, out.Parked)
	}
	book(h.channels[0], "X-1", "SUITE", "")
	book(h.channels[0], "X-2", "SUITE", "")
	book(h.channels[0], "X-3", "TWIN", "NRF")
	book(h.channels[1], "Y-1", "LOFT", "")

	codes, err := h.st.UnmappedCodes(ctx, h.code, h.channels[0])
	require.NoError(t, err)
	require.Len(t, codes, 2)
	byRoom := map[string]inventory.UnmappedCode{}
	for _, c := range codes {
		byRoom[c.ChannelRoom] = c
	}
	require.Equal(t, 2, byRoom["SUITE"].Bookings)
	require.Equal(t, 2, byRoom["SUITE"].OpenAlerts)
	require.Equal(t, "X-2", byRoom["SUITE"].LatestExternalID)
	require.Equal(t, "NRF", byRoom["TWIN"].ChannelRate)

	// A mapping of the room for any rate covers TWIN/NRF.
	require.NoError(t, h.st.SetMapping(ctx, h.code, h.channels[0], inventory.Mapping{ChannelRoom: "TWIN", RoomType: h.rooms[0]}, inventory.System))
	codes, err = h.st.UnmappedCodes(ctx, h.code, h.channels[0])
	require.NoError(t, err)
	require.Len(t, codes, 1)
	require.Equal(t, "SUITE", codes[0].ChannelRoom)

	codes, err = h.st.UnmappedCodes(ctx, h.code, h.channels[1])
	require.NoError(t, err)
	require.Len(t, codes, 1)
	require.Equal(t, "LOFT", codes[0].ChannelRoom)
}

package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A mapping of one room code and rate plan code (the OTA sells the suite's
// non-refundable rate as a room of its own) gives the parked bookings of
// that rate their rooms; those of the room's other rates stay parked.
func TestARateMappingGivesItsParkedBookingsTheirRooms(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	sent := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	nrf := h.otaBooking("C0", "NRF-1", inventory.New, "SUITE", "2031-05-01", 1, sent)
	nrf.Stays[0].ChannelRate = "NRF"
	flex := h.otaBooking("C0", "FLEX-1", inventory.New, "SUITE", "2031-05-01", 1, sent)
	flex.Stays[0].ChannelRate = "FLEX"
	for _, rev := range []inventory.Revision{nrf, flex} {
		out, err := h.st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
		require.True(t, out.Parked)
	}

	got, err := h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", ChannelRate: "NRF", RoomType: h.rooms[0]}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, inventory.Remapped{Bookings: 1}, got)
	res, err := h.st.Reservation(ctx, h.code, "C0", "NRF-1")
	require.NoError(t, err)
	require.False(t, res.Parked)
	require.Equal(t, 0, h.openUnmapped(t, res.ID))
	res, err = h.st.Reservation(ctx, h.code, "C0", "FLEX-1")
	require.NoError(t, err)
	require.True(t, res.Parked)
	require.Equal(t, 1, h.nights(t, "2031-05-01", 1)["P0"][inventory.MustDate("2031-05-01")].Sold)
}

// A channel that numbers the versions of a booking (revision 3 of it): the
// re-applied booking is of its highest version, not taken for older than
// the booking it maps — where it changed nothing, and the booking stayed
// parked while the mapping said it took its rooms.
func TestARemappedBookingOfAVersionedChannelTakesItsRooms(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3}, inventory.FactorOne, 1)
	ctx := context.Background()
	rev := h.otaBooking("C0", "V-1", inventory.New, "SUITE", "2031-05-01", 2, time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC))
	rev.Version = 3
	out, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	require.True(t, out.Parked)

	got, err := h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", RoomType: h.rooms[0]}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, inventory.Remapped{Bookings: 1}, got)
	res, err := h.st.Reservation(ctx, h.code, "C0", "V-1")
	require.NoError(t, err)
	require.False(t, res.Parked)
	require.Equal(t, h.rooms[0], res.Stays[0].RoomType)
	require.Equal(t, 1, h.nights(t, "2031-05-01", 1)["P0"][inventory.MustDate("2031-05-01")].Sold)
}

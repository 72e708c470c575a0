package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel's calendar blocks the nights others took and the nights closed
// to sale, never the nights only its own bookings took.
func TestBlockedNightsLeaveOutTheChannelsOwnBookings(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{1, 2}, inventory.FactorOne, 3)
	ctx := context.Background()
	h.apply(t,
		h.booking("C0", "own", inventory.New, "R0", "2027-06-01", 2, 1, inventory.MustAccept),
		h.booking("C1", "other", inventory.New, "R0", "2027-06-04", 2, 1, inventory.MustAccept),
		h.booking("C1", "gone", inventory.New, "R0", "2027-06-10", 1, 1, inventory.MustAccept),
		h.booking("C1", "gone", inventory.Cancel, "R0", "2027-06-10", 1, 1, inventory.MustAccept),
		// Pool P1 has two units: one booking leaves one to sell.
		h.booking("C1", "half", inventory.New, "R1", "2027-06-01", 3, 1, inventory.MustAccept),
		// Both of P1's units on the 8th: one by C0, one by C1.
		h.booking("C0", "p1-own", inventory.New, "R1", "2027-06-08", 1, 1, inventory.MustAccept),
		h.booking("C1", "p1-other", inventory.New, "R1", "2027-06-08", 1, 1, inventory.MustAccept),
	)
	require.NoError(t, h.st.SetClosed(ctx, inventory.NightRange{Property: h.code, Pool: "P0",
		From: inventory.MustDate("2027-06-07"), To: inventory.MustDate("2027-06-08")}, true, inventory.System))

	from, to := inventory.MustDate("2027-05-30"), inventory.MustDate("2027-06-15")
	blocked := func(channel, room string) []string { return h.blocked(t, channel, room, from, to) }
	require.Equal(t, []string{"2027-06-04", "2027-06-05", "2027-06-07"}, blocked("C0", "R0"))
	require.Equal(t, []string{"2027-06-01", "2027-06-02", "2027-06-07"}, blocked("C1", "R0"))
	require.Equal(t, []string{"2027-06-01", "2027-06-02", "2027-06-04", "2027-06-05", "2027-06-07"}, blocked("C2", "R0"))
	require.Equal(t, []string{}, blocked("C0", "R1"), "C0's own unit on the 8th leaves it one to sell")
	require.Equal(t, []string{}, blocked("C1", "R1"))
	require.Equal(t, []string{"2027-06-08"}, blocked("C2", "R1"))

	_, err := h.st.BlockedNights(ctx, h.code, "C0", "R0", to, from)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
}

// A calendar platform lists each room type apart (an iCal feed and export
// per room type), so only its own bookings of that room type are set aside:
// one of another room type of the same pool does not keep this room type's
// listing open on a night the pool has sold out — the platform would sell
// it again.
func TestBlockedNightsSetAsideOnlyTheOwnBookingsOfTheRoomType(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{2}, inventory.FactorOne, 3)
	ctx := context.Background()
	_, err := h.st.CreateRoomType(ctx, h.code, inventory.RoomType{Code: "R0-SEA", Pool: "P0"}, inventory.System)
	require.NoError(t, err)
	h.apply(t,
		// The pool's two units on the 1st: C0's in R0, C1's in R0-SEA.
		h.booking("C0", "own-r0", inventory.New, "R0", "2027-06-01", 1, 1, inventory.MustAccept),
		h.booking("C1", "other", inventory.New, "R0-SEA", "2027-06-01", 1, 1, inventory.MustAccept),
		// Both units on the 3rd are C0's own, one in each room type.
		h.booking("C0", "own-both-r0", inventory.New, "R0", "2027-06-03", 1, 1, inventory.MustAccept),
		h.booking("C0", "own-both-sea", inventory.New, "R0-SEA", "2027-06-03", 1, 1, inventory.MustAccept),
		// Both units on the 5th are C0's, in R0.
		h.booking("C0", "own-two", inventory.New, "R0", "2027-06-05", 1, 2, inventory.MustAccept),
	)
	from, to := inventory.MustDate("2027-06-01"), inventory.MustDate("2027-06-07")
	blocked := func(channel, room string) []string { return h.blocked(t, channel, room, from, to) }
	require.Equal(t, []string{"2027-06-01", "2027-06-05"}, blocked("C0", "R0-SEA"),
		"C0's bookings of R0 leave nothing to sell in R0-SEA")
	require.Equal(t, []string{}, blocked("C0", "R0"), "each sold-out night holds C0's own booking of R0")
	require.Equal(t, []string{"2027-06-01", "2027-06-03", "2027-06-05"}, blocked("C1", "R0"),
		"C1's booking of R0-SEA does not keep R0 open")
	require.Equal(t, []string{"2027-06-03", "2027-06-05"}, blocked("C1", "R0-SEA"), "the 1st holds C1's own booking of R0-SEA")
	require.Equal(t, []string{"2027-06-01", "2027-06-03", "2027-06-05"}, blocked("C2", "R0-SEA"))
}

// blocked is BlockedNights of channel's calendar of room, as strings.
func (h *hotel) blocked(t *testing.T, channel, room string, from, to inventory.Date) []string {
	t.Helper()
	ds, err := h.st.BlockedNights(context.Background(), h.code, channel, room, from, to)
	require.NoError(t, err)
	out := []string{}
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// apply applies revisions in order, each of which must succeed.
func (h *hotel) apply(t *testing.T, revs ...inventory.Revision) {
	t.Helper()
	for _, rev := range revs {
		_, err := h.st.ApplyRevision(context.Background(), rev)
		require.NoError(t, err)
	}
}

// Only the nights a channel's live bookings hold are set aside: the night of
// departure is the next guest's, and a booking the channel cancelled holds
// nothing. Either slip would show a night another channel sold as free on
// the calendar, and the platform would sell it again.
func TestBlockedNightsDoNotSetAsideTheDepartureNightOrCancelledBookings(t *testing.T) {
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 2)
	h.apply(t,
		h.booking("C0", "own", inventory.New, "R0", "2027-06-01", 2, 1, inventory.MustAccept),
		h.booking("C1", "next", inventory.New, "R0", "2027-06-03", 1, 1, inventory.MustAccept),
		h.booking("C0", "old", inventory.New, "R0", "2027-06-10", 1, 1, inventory.MustAccept),
		h.booking("C0", "old", inventory.Cancel, "R0", "2027-06-10", 1, 1, inventory.MustAccept),
		h.booking("C1", "new", inventory.New, "R0", "2027-06-10", 1, 1, inventory.MustAccept),
	)
	got := h.blocked(t, "C0", "R0", inventory.MustDate("2027-05-30"), inventory.MustDate("2027-06-15"))
	require.Equal(t, []string{"2027-06-03", "2027-06-10"}, got)
}

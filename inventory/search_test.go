package inventory_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// searchHotel books, in this order: A1 (C0, Ana Silva), A2 (C0, Bob_Smith),
// B1 (C1, "100% Guest", then cancelled), then A1 is modified; a second
// property H2 has a booking A1 of its own. It returns keyrack's ids by
// channel reservation id.
func searchHotel(t *testing.T) (*hotel, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	h := newHotel(t, "Europe/Lisbon", []int{5, 5}, inventory.FactorOne, 2)
	other := newHotelIn(t, h.st, "H2", "Europe/Lisbon", []int{5}, inventory.FactorOne, 1)
	ids := map[string]int64{}
	apply := func(h *hotel, rev inventory.Revision, guest inventory.Guest) {
		t.Helper()
		rev.Guest = guest
		out, err := h.st.ApplyRevision(ctx, rev)
		require.NoError(t, err)
		if h.code == "H1" {
			ids[rev.ExternalID] = out.ReservationID
		}
	}
	ana := inventory.Guest{Name: "Ana Silva", Email: "ana@Example.com"}
	apply(h, h.booking("C0", "A1", inventory.New, "R0", "2026-12-01", 2, 1, ""), ana)
	apply(h, h.booking("C0", "A2", inventory.New, "R1", "2026-12-05", 2, 1, ""), inventory.Guest{Name: "Bob_Smith"})
	apply(h, h.booking("C1", "B1", inventory.New, "R0", "2026-12-02", 2, 1, ""), inventory.Guest{Name: "100% Guest"})
	apply(h, inventory.Revision{Property: "H1", Channel: "C1", ExternalID: "B1", Kind: inventory.Cancel}, inventory.Guest{})
	apply(h, h.booking("C0", "A1", inventory.Modify, "R0", "2026-12-01", 2, 2, ""), ana)
	apply(other, other.booking("C0", "A1", inventory.New, "R0", "2026-12-01", 2, 1, ""), ana)
	return h, ids
}

func searchIDs(t *testing.T, h *hotel, q inventory.ReservationQuery) []string {
	t.Helper()
	got, _, err := h.st.SearchReservations(context.Background(), h.code, q)
	require.NoError(t, err)
	ids := []string{}
	for _, r := range got {
		require.Equal(t, h.code, r.Property)
		ids = append(ids, r.Channel+"/"+r.ExternalID)
	}
	return ids
}

// Every filter narrows a property's bookings as staff expect, and the most
// recently changed booking comes first.
func TestSearchReservationsFilters(t *testing.T) {
	t.Parallel()
	h, ids := searchHotel(t)
	d := inventory.MustDate

	all, more, err := h.st.SearchReservations(context.Background(), "H1", inventory.ReservationQuery{})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, all, 3, "the other property's booking is not listed")
	require.Equal(t, "A1", all[0].ExternalID, "modified last, so first")
	require.Equal(t, inventory.Confirmed, all[0].Status)
	require.Equal(t, 2, all[0].Stays[0].Rooms, "as it stands after the modification")
	require.Equal(t, 2, all[0].Revisions)
	require.Equal(t, d("2026-12-01"), all[0].Arrival)
	require.Equal(t, d("2026-12-03"), all[0].Departure)
	require.Equal(t, []string{"C0/A1", "C1/B1", "C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{}))

	require.Equal(t, []string{"C0/A1", "C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{Channel: "C0"}))
	require.Equal(t, []string{"C1/B1"}, searchIDs(t, h, inventory.ReservationQuery{Status: inventory.Cancelled}))
	require.Equal(t, []string{"C0/A1", "C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{Status: inventory.Confirmed}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{Status: inventory.Pending}))
	require.Equal(t, []string{"C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{Channel: "C0", From: d("2026-12-04")}))

	// Stays overlapping [From, To): leaving on From or arriving on To is outside.
	require.Equal(t, []string{"C1/B1"}, searchIDs(t, h, inventory.ReservationQuery{From: d("2026-12-03"), To: d("2026-12-05")}))
	require.Equal(t, []string{"C0/A1", "C1/B1"}, searchIDs(t, h, inventory.ReservationQuery{To: d("2026-12-03")}))
	require.Equal(t, []string{"C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{From: d("2026-12-06")}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{From: d("2026-12-07")}))

	// Guest: any case, name or e-mail, % and _ taken literally.
	require.Equal(t, []string{"C0/A1"}, searchIDs(t, h, inventory.ReservationQuery{Guest: "aNA s"}))
	require.Equal(t, []string{"C0/A1"}, searchIDs(t, h, inventory.ReservationQuery{Guest: "EXAMPLE.COM"}))
	require.Equal(t, []string{"C1/B1"}, searchIDs(t, h, inventory.ReservationQuery{Guest: "%"}))
	require.Equal(t, []string{"C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{Guest: "_"}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{Guest: `\`}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{Guest: "Carla"}))

	// Reservation id: the channel's exactly, or keyrack's own.
	require.Equal(t, []string{"C1/B1"}, searchIDs(t, h, inventory.ReservationQuery{ExternalID: "B1"}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{ExternalID: "B"}))
	require.Equal(t, []string{"C0/A2"}, searchIDs(t, h, inventory.ReservationQuery{ExternalID: strconv.FormatInt(ids["A2"], 10)}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{ExternalID: "B1", Channel: "C0"}), "filters combine")

	_, _, err = h.st.SearchReservations(context.Background(), "H1", inventory.ReservationQuery{Status: "lost"})
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
	_, _, err = h.st.SearchReservations(context.Background(), "H1", inventory.ReservationQuery{From: d("2026-12-05"), To: d("2026-12-05")})
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
	none, more, err := h.st.SearchReservations(context.Background(), "nope", inventory.ReservationQuery{})
	require.NoError(t, err)
	require.Empty(t, none)
	require.False(t, more)
}

// Pages follow each other without gaps or repeats, and say when more follow.
func TestSearchReservationsPages(t *testing.T) {
	t.Parallel()
	h, _ := searchHotel(t)
	ctx := context.Background()
	p1, more, err := h.st.SearchReservations(ctx, "H1", inventory.ReservationQuery{Limit: 2})
	require.NoError(t, err)
	require.True(t, more)
	require.Len(t, p1, 2)
	p2, more, err := h.st.SearchReservations(ctx, "H1", inventory.ReservationQuery{Limit: 2, Offset: 2})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, p2, 1)
	require.Equal(t, []string{"A1", "B1", "A2"}, []string{p1[0].ExternalID, p1[1].ExternalID, p2[0].ExternalID})
	p3, more, err := h.st.SearchReservations(ctx, "H1", inventory.ReservationQuery{Limit: 3})
	require.NoError(t, err)
	require.False(t, more, "exactly one page")
	require.Len(t, p3, 3)
}

// A booking's page data: the nights it holds, each revision's content type,
// the incidents about it (its unmapped room, the overbooking it is part of,
// its failed PMS delivery), how its revisions went out to the PMS, and the
// audit subject its changes are logged under.
func TestReservationDetailsForStaff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 1)
	first := h.booking("C0", "X1", inventory.New, "R0", "2026-12-01", 2, 1, "")
	first.ContentType = "application/xml"
	x1, err := h.st.ApplyRevision(ctx, first)
	require.NoError(t, err)
	x2, err := h.st.ApplyRevision(ctx, h.booking("C0", "X2", inventory.New, "R0", "2026-12-02", 1, 1, ""))
	require.NoError(t, err)
	require.NotEmpty(t, x2.Overbooked)
	parked, err := h.st.ApplyRevision(ctx, h.booking("C0", "X3", inventory.New, "NOPE", "2026-12-02", 1, 1, ""))
	require.NoError(t, err)
	require.True(t, parked.Parked)

	held, err := h.st.HeldNights(ctx, "H1", x1.ReservationID)
	require.NoError(t, err)
	require.Equal(t, []inventory.HeldNight{{Pool: "P0", Night: inventory.MustDate("2026-12-01"), Units: 1}, {Pool: "P0", Night: inventory.MustDate("2026-12-02"), Units: 1}}, held)
	held, err = h.st.HeldNights(ctx, "H1", parked.ReservationID)
	require.NoError(t, err)
	require.Empty(t, held)

	cts, err := h.st.RevisionContentTypes(ctx, "H1", x1.ReservationID)
	require.NoError(t, err)
	require.Equal(t, map[int]string{1: "application/xml"}, cts)

	inc, err := h.st.ReservationIncidents(ctx, "H1", x2.ReservationID)
	require.NoError(t, err)
	require.Len(t, inc, 1)
	require.Equal(t, "overbooking", inc[0].Kind)
	inc, err = h.st.ReservationIncidents(ctx, "H1", parked.ReservationID)
	require.NoError(t, err)
	require.Len(t, inc, 1)
	require.Equal(t, "unmapped_booking", inc[0].Kind)
	inc, err = h.st.ReservationIncidents(ctx, "H1", x1.ReservationID)
	require.NoError(t, err)
	require.Empty(t, inc, "X1 fitted: the overbooking is X2's")

	// X1 went out to the PMS: acknowledged on one channel, failing on the
	// other, with an incident about the failure.
	for _, code := range []string{"PMSA", "PMSB"} {
		_, err = h.st.CreateChannel(ctx, "H1", inventory.Channel{Code: code, Kind: inventory.ChannelPMS, Enabled: true}, inventory.System)
		require.NoError(t, err)
	}
	var failing int64
	require.NoError(t, h.st.DB().QueryRow(ctx, `
		WITH p AS (SELECT id FROM properties WHERE code = 'H1'),
		a AS (INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook, acked_at)
			SELECT p.id, c.id, $1, 1, false, now() FROM p JOIN channels c ON c.property_id = p.id AND c.code = 'PMSA')
		INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook, attempts, failed_at, last_error)
		SELECT p.id, c.id, $1, 1, true, 8, now(), 'HTTP 500' FROM p JOIN channels c ON c.property_id = p.id AND c.code = 'PMSB'
		RETURNING id`, x1.ReservationID).Scan(&failing))
	_, err = h.st.DB().Exec(ctx, `INSERT INTO incidents (property_id, kind, feed_entry_id, message)
		SELECT id, 'webhook_failed', $1, 'the PMS webhook failed' FROM properties WHERE code = 'H1'`, failing)
	require.NoError(t, err)
	feed, err := h.st.ReservationFeedDeliveries(ctx, "H1", x1.ReservationID)
	require.NoError(t, err)
	require.Len(t, feed, 2)
	require.Equal(t, "PMSA", feed[0].Channel)
	require.NotNil(t, feed[0].AckedAt)
	require.Equal(t, "PMSB", feed[1].Channel)
	require.Nil(t, feed[1].AckedAt)
	require.NotNil(t, feed[1].FailedAt)
	require.Equal(t, 8, feed[1].Attempts)
	require.Equal(t, "HTTP 500", feed[1].LastError)
	require.Equal(t, failing, feed[1].FeedID)
	feed, err = h.st.ReservationFeedDeliveries(ctx, "H1", x2.ReservationID)
	require.NoError(t, err)
	require.Empty(t, feed)
	inc, err = h.st.ReservationIncidents(ctx, "H1", x1.ReservationID)
	require.NoError(t, err)
	require.Len(t, inc, 1)
	require.Equal(t, "webhook_failed", inc[0].Kind)

	audit, err := h.st.Audit(ctx, "H1", inventory.ReservationAuditSubject(x1.ReservationID), 10)
	require.NoError(t, err)
	require.Len(t, audit, 1)
	require.Equal(t, "reservation.new", audit[0].Action)
}

// A day's arrivals are the bookings with a room stay arriving that day, not
// only those whose first stay does: a booking of a double from the 1st and a
// twin from the 3rd is among the 3rd's arrivals (the twin's guests check in
// then), and a stay going on through the day does not make it one.
func TestADaysArrivalsHoldEveryStayArrivingThatDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, "Europe/Lisbon", []int{5, 5}, inventory.FactorOne, 1)
	d := inventory.MustDate
	rev := h.booking("C0", "M1", inventory.New, "R0", "2026-12-01", 4, 1, "")
	rev.Stays = append(rev.Stays, inventory.RoomStay{RoomType: "R1", Arrival: d("2026-12-03"), Departure: d("2026-12-05"), Rooms: 1})
	_, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	_, err = h.st.ApplyRevision(ctx, h.booking("C0", "S1", inventory.New, "R0", "2026-12-03", 1, 1, ""))
	require.NoError(t, err)

	require.Equal(t, []string{"C0/M1"}, searchIDs(t, h, inventory.ReservationQuery{Arrival: d("2026-12-01")}))
	require.Equal(t, []string{"C0/S1", "C0/M1"}, searchIDs(t, h, inventory.ReservationQuery{Arrival: d("2026-12-03")}))
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{Arrival: d("2026-12-02")}), "M1 only goes on through the 2nd")
	require.Empty(t, searchIDs(t, h, inventory.ReservationQuery{Arrival: d("2026-12-04")}))
}

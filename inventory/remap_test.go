package inventory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// otaBooking is a one-stay revision as an OTA connector hands it over: the
// channel's room code, and our room type only if a mapping covered it.
func (h *hotel) otaBooking(channel, id string, kind inventory.RevisionKind, room, arrival string, nights int, sent time.Time) inventory.Revision {
	a := inventory.MustDate(arrival)
	return inventory.Revision{Property: h.code, Channel: channel, ExternalID: id, Kind: kind, Mode: inventory.MustAccept, SentAt: sent,
		Stays: []inventory.RoomStay{{ChannelRoom: room, Arrival: a, Departure: a.AddDays(nights), Rooms: 1}}}
}

func (h *hotel) openUnmapped(t *testing.T, reservation int64) int {
	t.Helper()
	inc, err := h.st.Incidents(context.Background(), h.code, true)
	require.NoError(t, err)
	n := 0
	for _, i := range inc {
		if i.Kind == "unmapped_booking" && i.ReservationID != nil && *i.ReservationID == reservation {
			n++
		}
	}
	return n
}

// A booking parked for want of a mapping takes its rooms when staff map its
// room code: the pool counts it, every other channel is told (outbox), the
// PMS gets the revision, and its unmapped_booking incident is resolved. A
// cancelled parked booking stays cancelled, and one of another channel
// stays parked.
func TestMappingARoomCodeGivesItsParkedBookingsTheirRooms(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 2)
	ctx := context.Background()
	sent := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)

	x1, err := h.st.ApplyRevision(ctx, h.otaBooking("C0", "X-1", inventory.New, "SUITE", "2031-05-01", 2, sent))
	require.NoError(t, err)
	require.True(t, x1.Parked)
	// A second guest of the same room on the same first night: the pool has
	// one unit, so mapping overbooks it — must-accept, never refused.
	x2, err := h.st.ApplyRevision(ctx, h.otaBooking("C0", "X-2", inventory.New, "SUITE", "2031-05-01", 1, sent))
	require.NoError(t, err)
	_, err = h.st.ApplyRevision(ctx, h.otaBooking("C0", "X-3", inventory.New, "SUITE", "2031-06-01", 1, sent))
	require.NoError(t, err)
	_, err = h.st.ApplyRevision(ctx, h.otaBooking("C0", "X-3", inventory.Cancel, "SUITE", "2031-06-01", 1, sent.Add(time.Hour)))
	require.NoError(t, err)
	y1, err := h.st.ApplyRevision(ctx, h.otaBooking("C1", "Y-1", inventory.New, "SUITE", "2031-07-01", 1, sent))
	require.NoError(t, err)
	require.True(t, y1.Parked)
	var before int64
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM outbox`).Scan(&before))

	got, err := h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", RoomType: h.rooms[0]}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Equal(t, inventory.Remapped{Bookings: 2, Overbooked: 1}, got)

	for _, id := range []string{"X-1", "X-2"} {
		res, err := h.st.Reservation(ctx, h.code, "C0", id)
		require.NoError(t, err)
		require.False(t, res.Parked, id)
		require.Equal(t, inventory.Confirmed, res.Status, id)
		require.Equal(t, h.rooms[0], res.Stays[0].RoomType, id)
		require.Equal(t, 0, h.openUnmapped(t, res.ID), id)
		recs, err := h.st.Revisions(ctx, h.code, res.ID)
		require.NoError(t, err)
		require.Len(t, recs, 2, id)
		last := recs[1]
		require.Equal(t, inventory.Modify, last.Revision.Kind, id)
		require.Equal(t, "staff:anna", last.Actor, id)
		require.True(t, last.Revision.SentAt.After(sent), "%s: dated after the channel's latest revision, on its clock", id)
	}
	n := h.nights(t, "2031-05-01", 2)["P0"]
	require.Equal(t, 2, n[inventory.MustDate("2031-05-01")].Sold)
	require.Equal(t, 1, n[inventory.MustDate("2031-05-02")].Sold)
	require.Equal(t, 0, n[inventory.MustDate("2031-05-02")].Available)
	inc, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	var over int
	for _, i := range inc {
		if i.Kind == "overbooking" {
			over++
			require.Equal(t, inventory.MustDate("2031-05-01"), *i.Night)
		}
	}
	require.Equal(t, 1, over)

	// The fan-out hears of it: availability for every channel (no origin:
	// staff made the change, the channel's own count included it all
	// along) and the revisions for the PMS.
	rows, err := h.st.DB().Query(ctx, `SELECT topic, origin_channel_id IS NULL FROM outbox WHERE id > $1`, before)
	require.NoError(t, err)
	var avail, resv int
	for rows.Next() {
		var topic string
		var noOrigin bool
		require.NoError(t, rows.Scan(&topic, &noOrigin))
		require.True(t, noOrigin, "staff's change is told to every channel")
		switch topic {
		case "availability":
			avail++
		case "reservation":
			resv++
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 2, avail)
	require.Equal(t, 2, resv)

	x3, err := h.st.Reservation(ctx, h.code, "C0", "X-3")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, x3.Status)
	require.Equal(t, 2, x3.Revisions)
	y, err := h.st.Reservation(ctx, h.code, "C1", "Y-1")
	require.NoError(t, err)
	require.True(t, y.Parked)
	require.Equal(t, 1, h.openUnmapped(t, y.ID))
	require.Equal(t, 0, h.nights(t, "2031-07-01", 1)["P0"][inventory.MustDate("2031-07-01")].Sold)

	// Mapping again changes nothing: nothing is parked any more.
	got, err = h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", RoomType: h.rooms[0]}, inventory.Staff("anna"))
	require.NoError(t, err)
	require.Zero(t, got)
	res, err := h.st.ReservationByID(ctx, h.code, x2.ReservationID)
	require.NoError(t, err)
	require.Equal(t, 2, res.Revisions)
}

// The OTA's changes after the mapping still apply over the re-applied
// booking: an undated cancellation and a dated modification, even from a
// channel whose clock is behind keyrack's.
func TestTheChannelsLaterChangesApplyOverARemappedBooking(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3, 3}, inventory.FactorOne, 1)
	ctx := context.Background()
	// Hours behind keyrack's clock: a local time sent without its zone.
	sent := time.Now().Add(-5 * time.Hour)
	_, err := h.st.ApplyRevision(ctx, h.otaBooking("C0", "A", inventory.New, "SUITE", "2031-05-01", 2, sent))
	require.NoError(t, err)
	_, err = h.st.ApplyRevision(ctx, h.otaBooking("C0", "B", inventory.New, "SUITE", "2031-05-01", 2, time.Time{}))
	require.NoError(t, err)
	got, err := h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", RoomType: h.rooms[0]}, inventory.System)
	require.NoError(t, err)
	require.Equal(t, 2, got.Bookings)
	require.Equal(t, 2, h.nights(t, "2031-05-01", 1)["P0"][inventory.MustDate("2031-05-01")].Sold)

	// A's modification, dated a minute after its booking on the channel's clock.
	mod := h.otaBooking("C0", "A", inventory.Modify, "TWIN", "2031-05-03", 1, sent.Add(time.Minute))
	mod.Stays[0].RoomType = h.rooms[1]
	out, err := h.st.ApplyRevision(ctx, mod)
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, out.Status)
	// B's cancellation, undated as an OTA_CancelRQ.
	cancel := h.otaBooking("C0", "B", inventory.Cancel, "", "2031-05-01", 1, time.Time{})
	cancel.Stays = nil
	out, err = h.st.ApplyRevision(ctx, cancel)
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, out.Status)

	n := h.nights(t, "2031-05-01", 3)
	require.Equal(t, 0, n["P0"][inventory.MustDate("2031-05-01")].Sold)
	require.Equal(t, 0, n["P0"][inventory.MustDate("2031-05-02")].Sold)
	require.Equal(t, 1, n["P1"][inventory.MustDate("2031-05-03")].Sold)
}

// A booking of several rooms, one mapped when it came and two not, takes
// the room whose code is mapped later while still parked for the third, and
// every room once the last code is mapped — the earlier mapping included.
func TestABookingWithSeveralUnmappedRoomsTakesEachAsItsCodeIsMapped(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{3, 3, 3}, inventory.FactorOne, 1)
	ctx := context.Background()
	a := inventory.MustDate("2031-05-01")
	rev := inventory.Revision{Property: h.code, Channel: "C0", ExternalID: "M", Kind: inventory.New, Mode: inventory.MustAccept,
		Stays: []inventory.RoomStay{
			{RoomType: h.rooms[0], ChannelRoom: "DBL", Arrival: a, Departure: a.AddDays(1), Rooms: 1},
			{ChannelRoom: "SUITE", ChannelRate: "NRF", Arrival: a, Departure: a.AddDays(1), Rooms: 1},
			{ChannelRoom: "TWIN", Arrival: a, Departure: a.AddDays(1), Rooms: 2},
		}}
	out, err := h.st.ApplyRevision(ctx, rev)
	require.NoError(t, err)
	require.True(t, out.Parked)
	sold := func() []int {
		n := h.nights(t, "2031-05-01", 1)
		return []int{n["P0"][a].Sold, n["P1"][a].Sold, n["P2"][a].Sold}
	}
	require.Equal(t, []int{1, 0, 0}, sold())

	// A mapping of another rate covers nothing here.
	got, err := h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", ChannelRate: "FLEX", RoomType: h.rooms[1]}, inventory.System)
	require.NoError(t, err)
	require.Zero(t, got)

	got, err = h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "TWIN", RoomType: h.rooms[2]}, inventory.System)
	require.NoError(t, err)
	require.Equal(t, inventory.Remapped{Bookings: 1, StillParked: 1}, got)
	require.Equal(t, []int{1, 0, 2}, sold())
	res, err := h.st.Reservation(ctx, h.code, "C0", "M")
	require.NoError(t, err)
	require.True(t, res.Parked)
	require.Equal(t, 1, h.openUnmapped(t, res.ID))

	// The room's mapping for any rate covers SUITE/NRF.
	got, err = h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: "SUITE", RoomType: h.rooms[1]}, inventory.System)
	require.NoError(t, err)
	require.Equal(t, inventory.Remapped{Bookings: 1}, got)
	require.Equal(t, []int{1, 1, 2}, sold())
	res, err = h.st.Reservation(ctx, h.code, "C0", "M")
	require.NoError(t, err)
	require.False(t, res.Parked)
	require.Equal(t, 0, h.openUnmapped(t, res.ID))
	require.Equal(t, []string{h.rooms[0], h.rooms[1], h.rooms[2]}, []string{res.Stays[0].RoomType, res.Stays[1].RoomType, res.Stays[2].RoomType})

	codes, err := h.st.UnmappedCodes(ctx, h.code, "C0")
	require.NoError(t, err)
	require.Empty(t, codes)
}

// A mapping racing the OTA's change of a parked booking ends in the state
// of the OTA's message, whichever commits first — its dates, holding its
// rooms; cancelled for a cancellation — and the pool holds what the
// reservation says it holds. The connector maps the modification with the
// mappings it read: before the new one committed, or after; a modification
// may be dated or not, a cancellation is not (OTA_CancelRQ).
func TestAMappingRacingTheChannelsChangeEndsInTheChange(t *testing.T) {
	t.Parallel()
	h := newHotel(t, "Europe/Lisbon", []int{50, 50}, inventory.FactorOne, 1)
	ctx := context.Background()
	sent := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	const rounds = 16
	confirmed := 0
	for i := range rounds {
		room := fmt.Sprintf("SUITE%d", i)
		id := fmt.Sprintf("R-%d", i)
		_, err := h.st.ApplyRevision(ctx, h.otaBooking("C0", id, inventory.New, room, "2031-05-01", 2, sent))
		require.NoError(t, err)
		change := h.otaBooking("C0", id, inventory.Modify, room, "2031-06-01", 3, sent.Add(time.Minute))
		switch i % 4 {
		case 1:
			change.Stays[0].RoomType = h.rooms[0] // the connector read the new mapping
		case 2:
			change.SentAt = time.Time{}
		case 3:
			change.Kind, change.Stays, change.SentAt = inventory.Cancel, nil, time.Time{}
		}
		var wg sync.WaitGroup
		var errs [2]error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[0] = h.st.MapRoom(ctx, h.code, "C0", inventory.Mapping{ChannelRoom: room, RoomType: h.rooms[0]}, inventory.Staff("anna"))
		}()
		go func() {
			defer wg.Done()
			_, errs[1] = h.st.ApplyRevision(ctx, change)
		}()
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		res, err := h.st.Reservation(ctx, h.code, "C0", id)
		require.NoError(t, err)
		if change.Kind == inventory.Cancel {
			require.Equal(t, inventory.Cancelled, res.Status, id)
			continue
		}
		confirmed++
		require.Equal(t, inventory.Confirmed, res.Status, id)
		require.False(t, res.Parked, id)
		require.Len(t, res.Stays, 1)
		require.Equal(t, inventory.MustDate("2031-06-01"), res.Stays[0].Arrival, id)
		require.Equal(t, inventory.MustDate("2031-06-04"), res.Stays[0].Departure, id)
		require.Equal(t, h.rooms[0], res.Stays[0].RoomType, id)
		require.Equal(t, 0, h.openUnmapped(t, res.ID), id)
	}
	may := h.nights(t, "2031-05-01", 2)["P0"]
	require.Equal(t, 0, may[inventory.MustDate("2031-05-01")].Sold)
	june := h.nights(t, "2031-06-01", 4)["P0"]
	for d, want := range map[string]int{"2031-06-01": confirmed, "2031-06-03": confirmed, "2031-06-04": 0} {
		require.Equal(t, want, june[inventory.MustDate(d)].Sold, d)
	}
}

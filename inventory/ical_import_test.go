package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func ev(uid, arrival, departure string) inventory.CalendarEvent {
	return inventory.CalendarEvent{UID: uid, Arrival: inventory.MustDate(arrival), Departure: inventory.MustDate(departure), Summary: "Reserved"}
}

// icalHotel is a one-unit rental (pool P0, room type R0) with an iCal
// channel "airbnb" importing R0's calendar.
func icalHotel(t *testing.T) (*hotel, inventory.ICalFeedRef) {
	t.Helper()
	h := newHotel(t, "Europe/Lisbon", []int{1}, inventory.FactorOne, 0)
	ctx := context.Background()
	_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	sec, err := inventory.NewSecrets("ical import test secret")
	require.NoError(t, err)
	f, err := h.st.SetICalFeed(ctx, sec, h.code, "airbnb", "R0", "https://www.airbnb.com/calendar/ical/1.ics?s=x", 0, inventory.System)
	require.NoError(t, err)
	return h, inventory.ICalFeedRef{Property: h.code, ID: f.ID}
}

func TestImportCalendarNewModifyCancelAndRepeat(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	imp := func(events ...inventory.CalendarEvent) inventory.ImportResult {
		t.Helper()
		at = at.Add(15 * time.Minute)
		r, err := h.st.ImportCalendar(ctx, feed, events, at)
		require.NoError(t, err)
		return r
	}
	sold := func(night string) int {
		t.Helper()
		return h.nights(t, night, 1)["P0"][inventory.MustDate(night)].Sold
	}

	r := imp(ev("a@airbnb.com", "2027-05-10", "2027-05-12"), ev("b@airbnb.com", "2027-06-01", "2027-06-03"),
		ev("old@airbnb.com", "2027-04-01", "2027-04-03"))
	require.Equal(t, inventory.ImportResult{New: 2, Past: 1}, r)
	require.Equal(t, 1, sold("2027-05-10"))
	require.Equal(t, 1, sold("2027-06-02"))
	require.Equal(t, 0, sold("2027-04-01"), "an event that ended makes no booking")

	r = imp(ev("a@airbnb.com", "2027-05-10", "2027-05-12"), ev("b@airbnb.com", "2027-06-01", "2027-06-03"))
	require.Equal(t, inventory.ImportResult{Unchanged: 2}, r, "the same fetch again changes nothing")

	// a is extended, b vanishes (cancelled), c is new.
	r = imp(ev("a@airbnb.com", "2027-05-10", "2027-05-14"), ev("c@airbnb.com", "2027-07-01", "2027-07-02"))
	require.Equal(t, inventory.ImportResult{New: 1, Modified: 1, Cancelled: 1}, r)
	require.Equal(t, 1, sold("2027-05-13"))
	require.Equal(t, 0, sold("2027-06-02"))
	require.Equal(t, 1, sold("2027-07-01"))
	res, err := h.st.Reservation(ctx, h.code, "airbnb", "R0/b@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)

	// a is shortened; an empty but valid calendar then cancels everything still ahead.
	r = imp(ev("a@airbnb.com", "2027-05-10", "2027-05-11"), ev("c@airbnb.com", "2027-07-01", "2027-07-02"))
	require.Equal(t, inventory.ImportResult{Modified: 1, Unchanged: 1}, r)
	require.Equal(t, 0, sold("2027-05-11"))
	r = imp()
	require.Equal(t, inventory.ImportResult{Cancelled: 2}, r)
	require.Equal(t, 0, sold("2027-05-10"))
}

// Airbnb renumbers its "Not available" blocks every day: a block that comes
// back under a new UID keeps its booking instead of adding one per day.
func TestImportCalendarRenumberedBlocksDoNotPileUp(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	day := time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		at := day.AddDate(0, 0, i)
		start := inventory.LocalDate(at, time.UTC).AddDays(-3)
		block := inventory.CalendarEvent{UID: "block-" + start.String() + "@airbnb.com", Arrival: start,
			Departure: inventory.MustDate("2027-05-20"), Summary: "Airbnb (Not available)"}
		r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{block}, at)
		require.NoError(t, err)
		if i == 0 {
			require.Equal(t, 1, r.New)
		} else {
			require.Equal(t, inventory.ImportResult{Renumbered: 1, Modified: 1}, r, "day %d", i)
		}
	}
	rows, err := h.st.DB().Query(ctx, `SELECT count(*) FROM reservations WHERE status = 'confirmed'`)
	require.NoError(t, err)
	var n int
	for rows.Next() {
		require.NoError(t, rows.Scan(&n))
	}
	require.Equal(t, 1, n, "one booking, however often the block is renumbered")
	ns := h.nights(t, "2027-05-19", 1)
	require.Equal(t, 1, ns["P0"][inventory.MustDate("2027-05-19")].Sold)
}

func TestImportCalendarKeepsLongUIDsAsDigests(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	uid := strings.Repeat("x", 300) + "@calendar.google.com"
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev(uid, "2027-09-01", "2027-09-02")}, time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev(uid, "2027-09-01", "2027-09-03")}, time.Date(2027, 5, 2, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, 1, r.Modified)
	_, err = h.st.ImportCalendar(ctx, inventory.ICalFeedRef{Property: h.code, ID: 999999}, nil, time.Now())
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

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
		r, err := h.st.ImportCalendar(ctx, feed, events, nil, at)
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
		r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{block}, nil, at)
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
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev(uid, "2027-09-01", "2027-09-02")}, nil, time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev(uid, "2027-09-01", "2027-09-03")}, nil, time.Date(2027, 5, 2, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, 1, r.Modified)
	_, err = h.st.ImportCalendar(ctx, inventory.ICalFeedRef{Property: h.code, ID: 999999}, nil, nil, time.Now())
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

// soldOn is what pool P0 has sold on a night.
func (h *hotel) soldOn(t *testing.T, night string) int {
	t.Helper()
	return h.nights(t, night, 1)["P0"][inventory.MustDate(night)].Sold
}

// revisionsOf counts the revisions of a reservation of the airbnb channel.
func (h *hotel) revisionsOf(t *testing.T, externalID string) int {
	t.Helper()
	var n int
	require.NoError(t, h.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM reservation_revisions rv
		JOIN reservations r ON r.property_id = rv.property_id AND r.id = rv.reservation_id
		JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
		WHERE c.code = 'airbnb' AND r.external_id = $1`, externalID).Scan(&n))
	return n
}

// A block keeps its booking when Airbnb renumbers it; if its old UID then
// comes back, that event is a booking of its own: it must not take over
// the renumbered block's reservation (freeing the block's nights), and the
// feed must go on importing.
func TestAnOldUIDComingBackDoesNotTakeTheRenumberedBlocksBooking(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	day := time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)
	block := func(uid, arrival string) inventory.CalendarEvent {
		return inventory.CalendarEvent{UID: uid, Arrival: inventory.MustDate(arrival), Departure: inventory.MustDate("2027-05-20"),
			Summary: "Airbnb (Not available)"}
	}
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{block("x@airbnb.com", "2027-04-28")}, nil, day)
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{block("y@airbnb.com", "2027-04-29")}, nil, day.AddDate(0, 0, 1))
	require.NoError(t, err)
	require.Equal(t, 1, r.Renumbered, "y is x renumbered: it holds x's booking")

	// x comes back, on other dates, next to y.
	back := []inventory.CalendarEvent{block("y@airbnb.com", "2027-04-29"), ev("x@airbnb.com", "2027-05-22", "2027-05-25")}
	for i := range 2 {
		r, err = h.st.ImportCalendar(ctx, feed, back, nil, day.AddDate(0, 0, 2+i))
		require.NoError(t, err, "poll %d", i)
	}
	require.Equal(t, inventory.ImportResult{Unchanged: 2}, r, "the second poll changes nothing")
	require.Equal(t, 1, h.soldOn(t, "2027-05-10"), "y's nights stay held")
	require.Equal(t, 1, h.soldOn(t, "2027-05-23"), "x's nights are held")
	y, err := h.st.Reservation(ctx, h.code, "airbnb", "R0/x@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.MustDate("2027-05-20"), y.Departure, "the block's booking keeps the block's dates")
}

// A host closing a whole leap year is one event of 366 nights, longer
// than one stay may be: it is held whole, as consecutive stays, and the
// feed's other events are imported with it.
func TestABlockLongerThanAStayIsHeldWholeAndTheFeedGoesOn(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{
		ev("booking@airbnb.com", "2027-06-01", "2027-06-04"),
		ev("owner-2028@airbnb.com", "2028-01-01", "2029-01-01"),
	}, nil, at)
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{New: 2}, r)
	require.Equal(t, 1, h.soldOn(t, "2027-06-01"))
	for _, night := range []string{"2028-01-01", "2028-12-30", "2028-12-31"} {
		require.Equal(t, 1, h.soldOn(t, night), night)
	}
	require.Equal(t, 0, h.soldOn(t, "2029-01-01"))

	// Shortened by a day: a modification of the same booking.
	r, err = h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{
		ev("booking@airbnb.com", "2027-06-01", "2027-06-04"),
		ev("owner-2028@airbnb.com", "2028-01-01", "2028-12-31"),
	}, nil, at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Modified: 1, Unchanged: 1}, r)
	require.Equal(t, 0, h.soldOn(t, "2028-12-31"))
	require.Equal(t, 1, h.soldOn(t, "2028-12-30"))
}

// A stray NUL byte in one event's UID (PostgreSQL text cannot hold it)
// neither stops the feed nor makes the event new on every poll.
func TestAUIDWithANULByteIsImportedOnce(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	events := []inventory.CalendarEvent{ev("HM-1@airbnb.com", "2027-06-01", "2027-06-03"), ev("bad\x00uid", "2027-06-05", "2027-06-06")}
	r, err := h.st.ImportCalendar(ctx, feed, events, nil, at)
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{New: 2}, r)
	r, err = h.st.ImportCalendar(ctx, feed, events, nil, at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Unchanged: 2}, r)
	require.Equal(t, 1, h.soldOn(t, "2027-06-02"))
	require.Equal(t, 1, h.soldOn(t, "2027-06-05"))
	r, err = h.st.ImportCalendar(ctx, feed, events[:1], nil, at.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Cancelled: 1, Unchanged: 1}, r)
	require.Equal(t, 0, h.soldOn(t, "2027-06-05"))
}

// A guest's stay that drops out of Airbnb after checkout is no block
// renumbered into the next event, even one starting on the checkout day:
// the past reservation keeps its dates and guest.
func TestAStayThatEndedIsNotRenumberedIntoTheNextEvent(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	day1 := time.Date(2027, 4, 27, 9, 0, 0, 0, time.UTC)
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev("guest@airbnb.com", "2027-04-25", "2027-04-29")}, nil, day1)
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{{UID: "blk@airbnb.com",
		Arrival: inventory.MustDate("2027-04-29"), Departure: inventory.MustDate("2027-05-20"), Summary: "Airbnb (Not available)"}},
		nil, day1.AddDate(0, 0, 4))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{New: 1}, r)
	res, err := h.st.Reservation(ctx, h.code, "airbnb", "R0/guest@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.MustDate("2027-04-25"), res.Arrival, "the past guest's stay keeps its dates")
	require.Equal(t, "Reserved", res.Guest.Name)
	require.Equal(t, inventory.Confirmed, res.Status)
	require.Equal(t, 1, h.soldOn(t, "2027-05-10"))
}

// A guest who cancels while another books overlapping nights is a
// cancellation and a new booking, not the first guest's stay modified.
func TestACancelledGuestAndANewOneAreNotOneBookingModified(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev("a@airbnb.com", "2027-06-01", "2027-06-05")}, nil, at)
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev("b@airbnb.com", "2027-06-03", "2027-06-08")}, nil, at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{New: 1, Cancelled: 1}, r)
	a, err := h.st.Reservation(ctx, h.code, "airbnb", "R0/a@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, a.Status)
	require.Equal(t, 0, h.soldOn(t, "2027-06-01"))
	require.Equal(t, 1, h.soldOn(t, "2027-06-07"))
}

// An event the parser saw but could not read keeps its booking as last
// imported: it is neither cancelled nor renumbered into another event.
func TestAnEventThatCouldNotBeReadKeepsItsBooking(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev("a@airbnb.com", "2027-06-01", "2027-06-05"),
		ev("weekly@google.com/20270603", "2027-06-03", "2027-06-04")}, nil, at)
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, nil, []string{"a@airbnb.com", "weekly@google.com"}, at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Unreadable: 2}, r)
	require.Equal(t, 1, h.soldOn(t, "2027-06-02"))
	require.Equal(t, 1, h.revisionsOf(t, "R0/a@airbnb.com"))
	// Read again, and gone: then it is cancelled.
	r, err = h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev("weekly@google.com/20270603", "2027-06-03", "2027-06-04")}, nil, at.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.ImportResult{Cancelled: 1, Unchanged: 1}, r)
	require.Equal(t, 0, h.soldOn(t, "2027-06-02"))
}

// When the feed's event list cannot be written after a booking changed,
// the import fails (and says so), but the list still says what every
// applied booking holds: the next fetch applies nothing twice, and a
// cancellation on the platform is noticed.
func TestAnImportThatFailsHalfWayLeavesTheEventListAgreeingWithTheBookings(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	// The list refuses z's row (sorted after a: applied second).
	_, err := h.st.DB().Exec(ctx, `ALTER TABLE ical_events ADD CONSTRAINT test_refuse_z CHECK (uid <> 'z@airbnb.com')`)
	require.NoError(t, err)
	events := []inventory.CalendarEvent{ev("a@airbnb.com", "2027-06-01", "2027-06-03"), ev("z@airbnb.com", "2027-06-05", "2027-06-06")}
	_, err = h.st.ImportCalendar(ctx, feed, events, nil, at)
	require.Error(t, err)
	_, err = h.st.ImportCalendar(ctx, feed, events, nil, at.Add(time.Hour))
	require.Error(t, err, "a failure that lasts shows on every poll")
	require.Equal(t, 1, h.revisionsOf(t, "R0/a@airbnb.com"), "a, applied and listed, is not applied again")

	_, err = h.st.DB().Exec(ctx, `ALTER TABLE ical_events DROP CONSTRAINT test_refuse_z`)
	require.NoError(t, err)
	r, err := h.st.ImportCalendar(ctx, feed, events[1:], nil, at.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, r.Cancelled, "a vanished from the platform: cancelled")
	require.Equal(t, 0, h.soldOn(t, "2027-06-01"))
	require.Equal(t, 1, h.soldOn(t, "2027-06-05"))
}

// Platforms drop a stay from their feed once the guest has left: a stay
// that vanishes after its departure stays confirmed (it happened); one that
// vanishes while still ahead is cancelled.
func TestAStayThatLeavesTheFeedAfterCheckoutIsNotCancelled(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	_, err := h.st.ImportCalendar(ctx, feed, []inventory.CalendarEvent{ev("a@airbnb.com", "2027-05-02", "2027-05-04")}, nil, at)
	require.NoError(t, err)

	r, err := h.st.ImportCalendar(ctx, feed, nil, nil, time.Date(2027, 5, 5, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Zero(t, r.Cancelled, "%+v", r)
	res, err := h.st.Reservation(ctx, h.code, "airbnb", "R0/a@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, res.Status)
}

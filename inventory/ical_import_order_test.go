package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Two fetches of one feed can be in flight at once ("sync now" while a
// slow fetch runs): the import of the older one may come second. Its
// calendar is not the platform's latest, and its revisions, dated by when
// it was fetched, are older than those already applied, so ApplyRevision
// ranks them first and they change nothing — yet the feed's event list
// took them as applied. A stay that the older calendar did not have yet was
// dropped from the list while its booking stayed confirmed; when the
// platform then cancelled it, no import knew of it any more, and its nights
// stayed blocked on every channel for good. An import older than the last
// one applied is left out.
func TestAnOlderFetchImportedLastDoesNotOrphanABooking(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	t2 := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	imp := importer(t, h, feed)

	// The later fetch is imported first: a new stay.
	r := imp(t2, ev("e@airbnb.com", "2027-05-10", "2027-05-12"))
	require.Equal(t, 1, r.New)
	require.Equal(t, 1, h.soldOn(t, "2027-05-10"))

	// The earlier fetch, started a minute before, from before that booking.
	r = imp(t2.Add(-time.Minute))
	require.Zero(t, r.Cancelled, "an older calendar cancels nothing")
	// Shown on the channel's page, whose times are the hotel's (Lisbon's
	// summer time, UTC+1): the warning said 2027-05-01T11:59:00Z.
	require.Equal(t, []string{"a fetch of 2027-05-01 12:59:00 WEST was left out: one of 2027-05-01 13:00:00 WEST was imported already"},
		r.Warnings)
	require.Equal(t, 1, h.soldOn(t, "2027-05-10"))

	// The guest cancels on the platform: the next fetch no longer has it.
	r = imp(t2.Add(15 * time.Minute))
	require.Equal(t, 1, r.Cancelled)
	require.Equal(t, 0, h.soldOn(t, "2027-05-10"), "the stay the platform cancelled frees its nights")
	res, err := h.st.Reservation(ctx, h.code, "airbnb", "R0/e@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)
}

// The same after an import that left no events (the platform cancelled
// every stay): an older calendar, which still had the stay, is not let back
// in — it used to be, until the next fetch, holding nights the platform had
// freed.
func TestAnOlderFetchAfterAnEmptyingImportIsLeftOut(t *testing.T) {
	h, feed := icalHotel(t)
	t0 := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	imp := importer(t, h, feed)
	require.Equal(t, 1, imp(t0, ev("e@airbnb.com", "2027-05-10", "2027-05-12")).New)
	require.Equal(t, 1, imp(t0.Add(10*time.Minute)).Cancelled, "the platform cancelled it: no events left")
	r := imp(t0.Add(5*time.Minute), ev("e@airbnb.com", "2027-05-10", "2027-05-12"))
	require.Zero(t, r.New+r.Modified, "an older calendar is left out")
	require.NotEmpty(t, r.Warnings)
	require.Equal(t, 0, h.soldOn(t, "2027-05-10"))
}

// importer imports the events of a fetch made at a time into feed.
func importer(t *testing.T, h *hotel, feed inventory.ICalFeedRef) func(at time.Time, events ...inventory.CalendarEvent) inventory.ImportResult {
	return func(at time.Time, events ...inventory.CalendarEvent) inventory.ImportResult {
		t.Helper()
		r, err := h.st.ImportCalendar(context.Background(), feed, events, nil, at)
		require.NoError(t, err)
		return r
	}
}

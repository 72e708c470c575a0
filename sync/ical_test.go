package sync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/fixtures/icalfeed"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// icalHotel is a hotel with an iCal channel "airbnb" whose feed for room
// type R0 (pool P0, 10 rooms) is served by a local feed server.
type icalHotel struct {
	*hotel
	feed   *icalfeed.Server
	feedID int64
	fan    *sync.Fanout
}

func newICalHotel(t *testing.T) *icalHotel {
	t.Helper()
	ctx := context.Background()
	h := &icalHotel{hotel: newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true}), feed: icalfeed.New(t)}
	_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	f, err := h.st.SetICalFeed(ctx, h.secrets, h.code, "airbnb", "R0", h.feed.URL(), 0, inventory.System)
	require.NoError(t, err)
	h.feedID = f.ID
	h.cfg.Store = h.st
	h.cfg.ICalFetcher = &ical.Fetcher{AllowPrivate: true} // the feed server is on loopback
	h.fan = h.fanout()
	return h
}

// poll makes the feed due and runs one import round, as a worker does.
func (h *icalHotel) poll() inventory.ICalFeed {
	h.t.Helper()
	ctx := context.Background()
	require.NoError(h.t, h.st.FetchICalFeedNow(ctx, h.code, "airbnb", h.feedID))
	n, err := h.fan.ImportDueICalFeeds(ctx)
	require.NoError(h.t, err)
	require.Equal(h.t, 1, n, "the feed was due")
	fs, err := h.st.ICalFeeds(ctx, h.code, "airbnb")
	require.NoError(h.t, err)
	require.Len(h.t, fs, 1)
	return fs[0]
}

// revisions counts the airbnb channel's reservation revisions by kind.
func (h *icalHotel) revisions() map[string]int {
	h.t.Helper()
	rows, err := h.st.DB().Query(context.Background(), `SELECT rv.kind, count(*)::int FROM reservation_revisions rv
		JOIN reservations r ON r.property_id = rv.property_id AND r.id = rv.reservation_id
		JOIN channels c ON c.property_id = r.property_id AND c.id = r.channel_id
		WHERE r.property_id = $1 AND c.code = 'airbnb' GROUP BY rv.kind`, h.id)
	require.NoError(h.t, err)
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(h.t, rows.Scan(&k, &n))
		out[k] = n
	}
	require.NoError(h.t, rows.Err())
	return out
}

// sold is what the pool has sold on each night from the first to the last.
func (h *icalHotel) sold(from inventory.Date, nights int) []int {
	h.t.Helper()
	av := h.availability(from, from.AddDays(nights))["P0"]
	out := make([]int, nights)
	for i := range out {
		out[i] = 10 - av[from.AddDays(i)]
	}
	return out
}

// New, extended, shortened and vanished events become new, modify and
// cancel revisions; an identical fetch (or a 304) changes nothing.
func TestICalImportTurnsFeedChangesIntoRevisions(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	d := h.today.AddDays(10)
	ev := func(uid string, from, nights int) icalfeed.Event {
		return icalfeed.Event{UID: uid, Start: d.AddDays(from), End: d.AddDays(from + nights), Summary: "Reserved"}
	}

	h.feed.SetEvents(ev("HM-1@airbnb.com", 0, 2), ev("HM-2@airbnb.com", 5, 1))
	f := h.poll()
	require.Nil(t, f.LastError)
	require.NotNil(t, f.LastOKAt)
	require.Equal(t, 2, f.Events)
	require.Equal(t, map[string]int{"new": 2}, h.revisions())
	require.Equal(t, []int{1, 1, 0, 0, 0, 1, 0}, h.sold(d, 7))

	// The same calendar again: the server answers 304 to our ETag.
	h.poll()
	require.Equal(t, map[string]int{"new": 2}, h.revisions())
	inm := h.feed.Requests()
	require.NotEmpty(t, inm[len(inm)-1], "the second fetch is conditional")

	h.feed.SetEvents(ev("HM-1@airbnb.com", 0, 3), ev("HM-2@airbnb.com", 5, 1)) // extended
	h.poll()
	require.Equal(t, map[string]int{"new": 2, "modify": 1}, h.revisions())
	require.Equal(t, []int{1, 1, 1, 0, 0, 1, 0}, h.sold(d, 7))

	h.feed.SetEvents(ev("HM-1@airbnb.com", 1, 1), ev("HM-2@airbnb.com", 5, 1)) // shortened and moved
	h.poll()
	require.Equal(t, map[string]int{"new": 2, "modify": 2}, h.revisions())
	require.Equal(t, []int{0, 1, 0, 0, 0, 1, 0}, h.sold(d, 7))

	h.feed.SetEvents(ev("HM-1@airbnb.com", 1, 1)) // HM-2 vanished: cancelled
	h.poll()
	require.Equal(t, map[string]int{"new": 2, "modify": 2, "cancel": 1}, h.revisions())
	require.Equal(t, []int{0, 1, 0, 0, 0, 0, 0}, h.sold(d, 7))

	// The same events in a new body (without validators): nothing changes.
	h.feed.SetBody("text/calendar", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\n"+
		"BEGIN:VEVENT\r\nDTSTAMP:20261130T000000Z\r\nDTSTART;VALUE=DATE:"+compact(d.AddDays(1))+"\r\nDTEND;VALUE=DATE:"+compact(d.AddDays(2))+
		"\r\nSUMMARY:Reserved\r\nUID:HM-1@airbnb.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f = h.poll()
	require.Nil(t, f.LastError)
	require.Equal(t, map[string]int{"new": 2, "modify": 2, "cancel": 1}, h.revisions())
}

func compact(d inventory.Date) string {
	s := d.String()
	return s[0:4] + s[5:7] + s[8:10]
}

// Airbnb renumbers its "Not available" blocks daily once they have begun
// (their start clamped to a few days ago): a block that comes back under a
// new UID keeps its booking instead of adding one.
func TestICalImportDailyUIDChangeDoesNotAddABooking(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	d := h.today
	block := func(uid string) icalfeed.Event {
		return icalfeed.Event{UID: uid, Start: d.AddDays(-3), End: d.AddDays(4), Summary: "Airbnb (Not available)"}
	}
	h.feed.SetEvents(block("1418fb94e984-aaaa@airbnb.com"))
	h.poll()
	for _, uid := range []string{"1418fb94e984-bbbb@airbnb.com", "1418fb94e984-cccc@airbnb.com"} {
		h.feed.SetEvents(block(uid))
		h.poll()
	}
	require.Equal(t, map[string]int{"new": 1}, h.revisions())
	require.Equal(t, []int{1, 1, 1, 1, 0}, h.sold(d, 5))
}

// A bad fetch changes nothing: an empty body, an HTML page served with 200,
// a 500, a truncated calendar. Each is recorded as failed with its reason,
// and the feed is flagged stale once its last good fetch is too old; a good
// fetch clears the flag.
func TestICalImportNeverTrustsABadFetch(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	ctx := context.Background()
	d := h.today.AddDays(5)
	h.feed.SetEvents(icalfeed.Event{UID: "HM-1@airbnb.com", Start: d, End: d.AddDays(2), Summary: "Reserved"})
	good := h.poll()
	require.Nil(t, good.LastError)

	for _, c := range []struct {
		name   string
		set    func()
		status int
		reason string
	}{
		{"empty body", func() { h.feed.SetBody("text/calendar", nil) }, 200, "empty"},
		{"HTML page with 200", func() {
			h.feed.SetBody("text/html", []byte("<!DOCTYPE html><html><body>Sorry, something went wrong</body></html>"))
		}, 200, "HTML page"},
		{"server error", func() { h.feed.SetStatus(http.StatusInternalServerError) }, 500, "500"},
		{"truncated calendar", func() {
			h.feed.SetStatus(0)
			h.feed.SetBody("text/calendar", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"))
		}, 200, "truncated"},
	} {
		c.set()
		f := h.poll()
		require.NotNil(t, f.LastError, c.name)
		require.Contains(t, *f.LastError, c.reason, c.name)
		require.Equal(t, c.status, *f.LastStatus, c.name)
		require.Equal(t, good.LastOKAt, f.LastOKAt, "%s: the last good fetch stays", c.name)
		require.Equal(t, map[string]int{"new": 1}, h.revisions(), "%s changes nothing", c.name)
		require.Equal(t, []int{1, 1}, h.sold(d, 2), c.name)
	}

	// Stale after a while without a good fetch: one incident, however often raised.
	_, err := h.st.DB().Exec(ctx, `UPDATE ical_feeds SET last_ok_at = now() - interval '3 hours'`)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '3 hours'`) // enabled before that too
	require.NoError(t, err)
	for range 2 {
		n, err := h.st.RaiseStaleFeeds(ctx, 2*time.Hour)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	require.Equal(t, 1, h.openIncidents("stale_feed"))
	h.feed.SetEvents(icalfeed.Event{UID: "HM-1@airbnb.com", Start: d, End: d.AddDays(2), Summary: "Reserved"})
	f := h.poll()
	require.Nil(t, f.LastError)
	require.Equal(t, 0, h.openIncidents("stale_feed"), "a good fetch resolves it")
}

// Feeds on private addresses are refused unless the deployment allows them.
func TestICalImportRefusesPrivateAddressesByDefault(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	h.cfg.ICalFetcher = nil // the default: private addresses refused
	h.fan = h.fanout()
	h.feed.SetEvents(icalfeed.Event{UID: "X", Start: h.today.AddDays(1), End: h.today.AddDays(2)})
	f := h.poll()
	require.NotNil(t, f.LastError)
	require.Contains(t, *f.LastError, "private")
	require.Zero(t, h.feed.Fetches(), "keyrack never connected")
	require.Empty(t, h.revisions())
}

// The elected scheduler flags an export calendar no platform has fetched
// for ICalExportStaleAfter, and clears the flag once one does.
func TestTheSchedulerFlagsAnExportCalendarNoPlatformFetches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newICalHotel(t)
	h.cfg.ICalExportStaleAfter = time.Hour
	f := h.fanout()
	_, token, err := h.st.CreateExportToken(ctx, h.code, "airbnb", "R0", inventory.System)
	require.NoError(t, err)
	require.NoError(t, f.RunDue(ctx))
	require.Zero(t, h.openIncidents("stale_export"), "made just now")
	_, err = h.st.DB().Exec(ctx, `UPDATE ical_export_tokens SET created_at = now() - interval '2 hours'`)
	require.NoError(t, err)
	require.NoError(t, f.RunDue(ctx))
	require.Equal(t, 1, h.openIncidents("stale_export"))
	_, err = h.st.LookupExportToken(ctx, token)
	require.NoError(t, err)
	require.NoError(t, f.RunDue(ctx))
	require.Zero(t, h.openIncidents("stale_export"), "fetched since")
}

// An event keyrack cannot read in an otherwise good calendar (its DTEND
// arrives in a form the parser does not know) keeps its booking, with a
// warning on the feed: the platform did not drop it.
func TestICalImportKeepsTheBookingOfAnEventItCannotRead(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	d := h.today.AddDays(10)
	h.feed.SetEvents(icalfeed.Event{UID: "HM-1@airbnb.com", Start: d, End: d.AddDays(2), Summary: "Reserved"})
	f := h.poll()
	require.Nil(t, f.LastError)
	require.Equal(t, []int{1, 1}, h.sold(d, 2))

	h.feed.SetBody("text/calendar", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"+
		"BEGIN:VEVENT\r\nDTSTAMP:20261130T000000Z\r\nDTSTART;VALUE=DATE:"+compact(d)+"\r\nDTEND;VALUE=DATE:"+d.AddDays(2).String()+
		"\r\nSUMMARY:Reserved\r\nUID:HM-1@airbnb.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f = h.poll()
	require.Nil(t, f.LastError)
	require.NotEmpty(t, f.Warnings)
	require.Equal(t, []int{1, 1}, h.sold(d, 2))
	require.Equal(t, map[string]int{"new": 1}, h.revisions())
}

// A NUL byte in one event's UID neither stops the feed nor makes its
// event a new booking on every poll.
func TestICalImportTakesAUIDWithANULByte(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	d := h.today.AddDays(10)
	h.feed.SetBody("text/calendar", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"+
		"BEGIN:VEVENT\r\nDTSTAMP:20261130T000000Z\r\nDTSTART;VALUE=DATE:"+compact(d)+"\r\nDTEND;VALUE=DATE:"+compact(d.AddDays(2))+
		"\r\nSUMMARY:Reserved\r\nUID:HM-1@airbnb.com\r\nEND:VEVENT\r\n"+
		"BEGIN:VEVENT\r\nDTSTAMP:20261130T000000Z\r\nDTSTART;VALUE=DATE:"+compact(d.AddDays(5))+"\r\nDTEND;VALUE=DATE:"+compact(d.AddDays(6))+
		"\r\nSUMMARY:Reserved\r\nUID:bad\x00uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	for range 2 {
		f := h.poll()
		require.Nil(t, f.LastError)
	}
	require.Equal(t, []int{1, 1, 0, 0, 0, 1, 0}, h.sold(d, 7))
	require.Equal(t, map[string]int{"new": 2}, h.revisions())
}

// A feed whose platform answers 304 is still fetched whole once a day of
// the property's calendar: what a calendar takes depends on the day it is
// read — a block "until 2099" holds the nights of an import window that
// moves on with the days, and a recurring event's occurrences enter that
// window as the days pass — so a 304 to yesterday's ETag left the nights
// entering the window on sale for as long as the calendar did not change.
func TestAnUnchangedFeedIsFetchedWholeOnTheNextDay(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	ctx := context.Background()
	h.feed.SetBody("text/calendar", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Owner//Calendar//EN\r\n"+
		"BEGIN:VEVENT\r\nDTSTAMP:20261130T000000Z\r\nDTSTART;VALUE=DATE:"+compact(h.today.AddDays(-3))+"\r\nDTEND;VALUE=DATE:20990101"+
		"\r\nSUMMARY:Closed\r\nUID:until-2099@owner\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	h.poll()
	h.poll()
	inm := h.feed.Requests()
	require.Len(t, inm, 2)
	require.Empty(t, inm[0])
	require.NotEmpty(t, inm[1], "a second fetch on the same day is conditional")

	// The last import was made yesterday, on the property's calendar.
	_, err := h.st.DB().Exec(ctx, `UPDATE ical_feeds SET imported_fetch_at = imported_fetch_at - interval '1 day'`)
	require.NoError(t, err)
	f := h.poll()
	require.Nil(t, f.LastError)
	inm = h.feed.Requests()
	require.Empty(t, inm[2], "the first fetch of a new day is not conditional: its events are read again for the new day")
	h.poll()
	inm = h.feed.Requests()
	require.NotEmpty(t, inm[3], "and the next one that day is conditional again")
}

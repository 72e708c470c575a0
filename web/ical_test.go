package web_test

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// icalChannel adds an iCal channel to property p through the API and
// returns the path of a new export token's calendar for room type DBL-STD.
func (e *apiEnv) icalChannel(p, code string) string {
	e.t.Helper()
	e.must(http.StatusCreated, "POST", "/api/v1/properties/"+p+"/channels", map[string]any{"code": code, "kind": "ical"})
	e.must(http.StatusOK, "PUT", "/api/v1/properties/"+p+"/channels/"+code+"/mappings", map[string]any{"channel_room": "DBL", "room_type": "DBL-STD"})
	tok := e.must(http.StatusCreated, "POST", "/api/v1/properties/"+p+"/channels/"+code+"/export-tokens", map[string]any{"room_type": "DBL-STD"}).JSON(e.t)
	return tok["path"].(string)
}

// get fetches path without an API key, with header pairs.
func (e *apiEnv) get(path string, extra ...string) response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.ts.URL+path, nil)
	require.NoError(e.t, err)
	return e.send(req, extra...)
}

// book applies a must-accept booking of one DBL-STD room on channel ch.
func (e *apiEnv) book(p, ch, id, arrival, departure string) {
	e.t.Helper()
	_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: p, Channel: ch, ExternalID: id, Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate(arrival), Departure: inventory.MustDate(departure)}},
		Guest: inventory.Guest{Name: "Guest " + id}})
	require.NoError(e.t, err)
}

var dtstamp = regexp.MustCompile(`(?m)^DTSTAMP:\d{8}T\d{6}Z\r$`)

// golden compares got with testdata/name (DTSTAMP lines, the time the
// calendar last changed, normalised), or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	norm := dtstamp.ReplaceAllString(string(got), "DTSTAMP:(when the calendar last changed)\r")
	path := filepath.Join("testdata", name)
	if *updateGolden {
		require.NoError(t, os.WriteFile(path, []byte(norm), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./web/ -run %s -update to create it", t.Name())
	require.Equal(t, string(want), norm, "%s differs (go test -update rewrites it)", path)
}

// Each iCal channel's export holds every night the room type cannot be sold
// except those of the channel's own bookings: three calendar channels and
// an OTA booked on different nights, and a night closed to sale.
func TestICalExportLeavesOutEachChannelsOwnBookings(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	sec, err := inventory.NewSecrets("test secret of keyrack's API tests")
	require.NoError(t, err)
	today := time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC)
	e.ts = newTestServer(t, web.New(web.Config{Store: e.st, Secrets: sec, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return today }}))
	e.router = openAPIRouter(t, e.ts.URL)
	e.hotel("P", 1)
	feeds := map[string]string{}
	for _, ch := range []string{"airbnb", "vrbo", "gcal"} {
		feeds[ch] = e.icalChannel("P", ch)
	}
	e.book("P", "airbnb", "HM1", "2027-03-01", "2027-03-03")
	e.book("P", "vrbo", "V1", "2027-03-05", "2027-03-07")
	e.book("P", "gcal", "G1", "2027-03-10", "2027-03-11")
	e.book("P", "expedia", "E1", "2027-03-20", "2027-03-22")
	e.book("P", "airbnb", "HM0", "2027-01-20", "2027-01-25") // before today: not in any feed
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/pools/DBL/nights?from=2027-03-15&to=2027-03-16", map[string]any{"closed": true})

	bodies := map[string]response{}
	for ch, path := range feeds {
		r := e.get(path)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", ch, r.Body)
		require.Equal(t, "text/calendar; charset=utf-8", r.Header.Get("Content-Type"))
		require.NotEmpty(t, r.Header.Get("ETag"))
		require.NotEmpty(t, r.Header.Get("Last-Modified"))
		golden(t, "ical_export_"+ch+".ics", r.Body)
		bodies[ch] = r
	}
	for ch, own := range map[string]string{"airbnb": "20270301", "vrbo": "20270305", "gcal": "20270310"} {
		body := string(bodies[ch].Body)
		require.NotContains(t, body, "DTSTART;VALUE=DATE:"+own, "%s does not get its own booking back", ch)
		for other, theirs := range map[string]string{"airbnb": "20270301", "vrbo": "20270305", "gcal": "20270310", "expedia": "20270320", "closed": "20270315"} {
			if other != ch {
				require.Contains(t, body, "DTSTART;VALUE=DATE:"+theirs, "%s sees %s's nights", ch, other)
			}
		}
	}

	// Polled again unchanged: 304 by ETag or by date, same bytes otherwise.
	a := bodies["airbnb"]
	r := e.get(feeds["airbnb"], "If-None-Match", a.Header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, r.Status)
	require.Empty(t, r.Body)
	r = e.get(feeds["airbnb"], "If-Modified-Since", a.Header.Get("Last-Modified"))
	require.Equal(t, http.StatusNotModified, r.Status)
	r = e.get(feeds["airbnb"], "If-None-Match", `"something else"`)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, string(a.Body), string(r.Body), "the same nights give the same bytes")

	// A new booking elsewhere changes the calendar: a new ETag, a full answer.
	e.book("P", "vrbo", "V2", "2027-04-01", "2027-04-02")
	r = e.get(feeds["airbnb"], "If-None-Match", a.Header.Get("ETag"))
	require.Equal(t, http.StatusOK, r.Status)
	require.NotEqual(t, a.Header.Get("ETag"), r.Header.Get("ETag"))
	require.Contains(t, string(r.Body), "DTSTART;VALUE=DATE:20270401")
	r = e.get(feeds["vrbo"], "If-None-Match", bodies["vrbo"].Header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, r.Status, "vrbo's own booking does not change vrbo's calendar")

	// Unknown, malformed and revoked tokens are 404 alike.
	for _, path := range []string{"/ical/nope.ics", "/ical/" + strings.Repeat("x", 43) + ".ics", strings.TrimSuffix(feeds["gcal"], ".ics")} {
		require.Equal(t, http.StatusNotFound, e.get(path).Status, path)
	}
}

// A stay in progress is exported from today on under the UID of its real
// first night: the same booking, unchanged, keeps its event's UID from day
// to day (a UID that changes daily reads as a new booking every day to
// some importers), while a booking that starts today is named after today.
func TestICalExportKeepsTheUIDOfAStayInProgressFromDayToDay(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	sec, err := inventory.NewSecrets("test secret of keyrack's API tests")
	require.NoError(t, err)
	now := time.Date(2027, 3, 2, 12, 0, 0, 0, time.UTC)
	e.ts = newTestServer(t, web.New(web.Config{Store: e.st, Secrets: sec, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}))
	e.router = openAPIRouter(t, e.ts.URL)
	e.hotel("P", 1)
	path := e.icalChannel("P", "airbnb")
	e.book("P", "expedia", "E1", "2027-03-01", "2027-03-10")
	e.book("P", "expedia", "E2", "2027-03-12", "2027-03-14")
	event := regexp.MustCompile(`(?m)^UID:(.*)\r\nDTSTAMP:.*\r\nDTSTART;VALUE=DATE:(\d{8})\r$`)
	read := func() [][]string {
		t.Helper()
		r := e.get(path)
		require.Equal(t, http.StatusOK, r.Status)
		var out [][]string
		for _, m := range event.FindAllStringSubmatch(string(r.Body), -1) {
			out = append(out, m[1:])
		}
		return out
	}
	// The nights beyond the channel's horizon (365 nights) are one event
	// whose UID stays as it moves on with the days.
	const beyond = "p-dbl-std-beyond-horizon@keyrack"
	require.Equal(t, [][]string{{"p-dbl-std-20270301@keyrack", "20270302"}, {"p-dbl-std-20270312@keyrack", "20270312"}, {beyond, "20280301"}}, read())
	now = now.AddDate(0, 0, 1)
	require.Equal(t, [][]string{{"p-dbl-std-20270301@keyrack", "20270303"}, {"p-dbl-std-20270312@keyrack", "20270312"}, {beyond, "20280302"}}, read(),
		"the stay in progress keeps its UID; the export starts today")
	now = time.Date(2027, 3, 12, 12, 0, 0, 0, time.UTC)
	require.Equal(t, [][]string{{"p-dbl-std-20270312@keyrack", "20270312"}, {beyond, "20280311"}}, read(), "a stay that ended is not exported")
}

// A platform that polls with If-Modified-Since alone (the Last-Modified it
// was given) gets a calendar that changed since it was served, whatever
// the clock: Last-Modified was when the change was first served, to the
// second, so a change served within the second of the previous one — or
// after the database's clock stepped back (an NTP correction, a failover to
// a server a few seconds behind) — went out under a Last-Modified no later
// than the one the platform held, and was answered 304: the platform kept
// selling the night just booked. Last-Modified now moves on by at least a
// second at each change.
func TestAChangedCalendarIsNeverNotModifiedSinceTheOneServedBefore(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	feed := e.icalChannel("P", "airbnb")
	first := e.get(feed)
	require.Equal(t, http.StatusOK, first.Status)
	held, err := http.ParseTime(first.Header.Get("Last-Modified"))
	require.NoError(t, err)
	// As if that answer had been served a moment ahead of the clock now.
	ahead := held.Add(5 * time.Second)
	_, err = e.st.DB().Exec(context.Background(), `UPDATE ical_export_tokens SET served_changed_at = $1`, ahead)
	require.NoError(t, err)
	ims := ahead.UTC().Format(http.TimeFormat)

	lisbon, err := time.LoadLocation("Europe/Lisbon")
	require.NoError(t, err)
	today := inventory.Today(lisbon)
	e.book("P", "expedia", "E1", today.AddDays(3).String(), today.AddDays(4).String())
	r := e.get(feed, "If-Modified-Since", ims)
	require.Equal(t, http.StatusOK, r.Status, "the calendar changed since the one the platform holds")
	require.Contains(t, string(r.Body), "DTSTART;VALUE=DATE:"+strings.ReplaceAll(today.AddDays(3).String(), "-", ""))
	changed, err := http.ParseTime(r.Header.Get("Last-Modified"))
	require.NoError(t, err)
	require.True(t, changed.After(ahead), "Last-Modified %s moved on from %s", changed, ahead)
	r = e.get(feed, "If-Modified-Since", r.Header.Get("Last-Modified"))
	require.Equal(t, http.StatusNotModified, r.Status, "unchanged since: 304 as before")
}

package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/fixtures/icalfeed"
	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// End to end with real PostgreSQL and Redis: an event appearing in the
// calendar keyrack imports from airbnb closes that night on the OTA test
// channel B and in vrbo's iCal export, but not in airbnb's own export; when
// the event goes away (picked up by "sync now"), the night opens again.
func TestICalEventClosesTheNightEverywhereButItsOwnCalendar(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	f := e.runFanout(func(c *sync.Config) {
		c.Store = e.st
		c.ICalFetcher = &ical.Fetcher{AllowPrivate: true} // the test's feed server is on loopback
		c.ICalCheckInterval = 50 * time.Millisecond
	})
	ctx := context.Background()

	e.hotel("P", 1)
	b := otachannel.New()
	t.Cleanup(b.Close)
	e.otaChannel("P", "B", "ota_push", "HTL-B", "b-user", "b-secret", map[string]any{"endpoint": b.URL()})
	airbnbExport := e.icalChannel("P", "airbnb")
	vrboExport := e.icalChannel("P", "vrbo")
	feed := icalfeed.New(t)
	fd := e.must(http.StatusOK, "PUT", "/api/v1/properties/P/channels/airbnb/ical-feeds",
		map[string]any{"room_type": "DBL-STD", "url": feed.URL()}).JSON(t)
	feedID := itoa(fd["id"].(float64))

	loc, err := time.LoadLocation("Europe/Lisbon")
	require.NoError(t, err)
	night := inventory.Today(loc).AddDays(20)
	dtstart := "DTSTART;VALUE=DATE:" + strings.ReplaceAll(night.String(), "-", "")
	require.NoError(t, f.Resync(ctx, "P", "B"))
	require.NoError(t, b.WaitFor("DBL", night, 1, deliveryWait), "B starts with the room open")

	feed.SetEvents(icalfeed.Event{UID: "HM-9@airbnb.com", Start: night, End: night.AddDays(1), Summary: "Reserved"})
	e.must(http.StatusAccepted, "POST", "/api/v1/properties/P/channels/airbnb/ical-feeds/"+feedID+"/sync", nil)
	require.NoError(t, b.WaitFor("DBL", night, 0, deliveryWait), "the imported booking closes the night on B")
	require.Contains(t, string(e.get(vrboExport).Body), dtstart, "vrbo's calendar shows the night taken")
	require.NotContains(t, string(e.get(airbnbExport).Body), dtstart, "airbnb's own booking is not echoed back to it")
	res, err := e.st.Reservation(context.Background(), "P", "airbnb", "DBL-STD/HM-9@airbnb.com")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, res.Status)

	feeds := e.must(http.StatusOK, "GET", "/api/v1/properties/P/channels/airbnb/ical-feeds", nil).List(t)
	require.NotEmpty(t, feeds[0]["last_ok_at"], "the last good fetch is shown")
	require.Equal(t, float64(1), feeds[0]["events"])

	// The event disappears from a valid calendar: cancelled, open everywhere.
	feed.SetEvents()
	e.must(http.StatusAccepted, "POST", "/api/v1/properties/P/channels/airbnb/ical-feeds/"+feedID+"/sync", nil)
	require.NoError(t, b.WaitFor("DBL", night, 1, deliveryWait), "the cancellation opens the night on B")
	require.NotContains(t, string(e.get(vrboExport).Body), dtstart)
}

package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A reservation a pull-mode channel serves that keyrack refuses (a hotel
// code the channel's account does not serve) is confirmed at the OTA and
// not in keyrack: an alert, naming the channel, the record and why, with
// the way to the channel's settings, and the menu marks Alerts. The poll
// that takes it, once staff correct the hotel code, closes it.
func TestAPulledBookingKeyrackRefusesIsAnAlert(t *testing.T) {
	t.Parallel()
	a := newOverdueUI(t, func(c *sync.Config) {
		c.PullAllowPrivate = true // the OTA test channel is on loopback
		c.PullCheckInterval = 20 * time.Millisecond
	})
	a.seedHotel("P", 2)
	ctx := context.Background()
	oc := otachannel.New()
	t.Cleanup(oc.Close)
	_, err := a.st.CreateChannel(ctx, "P", inventory.Channel{Code: "bookingcom", Kind: inventory.ChannelOTAPull, Enabled: true,
		HotelCode: "HOTEL-P", HorizonDays: 30, OTASettings: inventory.OTASettings{PullURL: oc.PullURL(), PullInterval: 5}}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, a.st.SetMapping(ctx, "P", "bookingcom", inventory.Mapping{ChannelRoom: "BDC-DBL", RoomType: "DBL-STD"}, inventory.System))
	arrival := gridToday(t).AddDays(4)
	booking := func(id, hotel string) otaxml.Reservation {
		return otaxml.Reservation{ID: id, Kind: inventory.New, HotelCode: hotel, Guest: inventory.Guest{Name: "Ada Lovelace"},
			LastModified: time.Now().UTC().Truncate(time.Second),
			Stays:        []otaxml.Stay{{RoomType: "BDC-DBL", RatePlan: "BAR", Arrival: arrival, Departure: arrival.AddDays(1), Units: 1, Adults: 2}}}
	}
	oc.AddPending(booking("BDC-1", "HOTEL-P"))
	oc.AddPending(booking("BDC-2", "HOTEL-ELSEWHERE"))
	a.login("victor")
	require.NotContains(t, a.get("/admin/p/P/grid").Body, menuAlerting, "nothing open yet")

	a.start(a.fanout.RunWorker)
	a.start(a.fanout.RunScheduler)
	eventuallyUI(t, "the good booking acknowledged", func() bool { return oc.AckCount("BDC-1") == 1 })
	eventuallyUI(t, "the refusal raised", func() bool { return len(openIncidents(t, a.st, "P")) == 1 })
	require.Equal(t, "pull_refused", openIncidents(t, a.st, "P")[0].Kind)

	p := a.get("/admin/p/P/alerts")
	require.Contains(t, p.Body, "Bookings keyrack refused from pull-mode channels")
	require.NotContains(t, p.Body, "All is well")
	require.NotContains(t, p.Body, "Other alerts", "a kind the page knows")
	require.Contains(t, p.Body, "<strong>BDC-2</strong>")
	require.Contains(t, p.Body, "HOTEL-ELSEWHERE")
	require.NotContains(t, p.Body, "<strong>BDC-1</strong>", "the booking taken is not listed")
	require.Contains(t, p.Body, `<span class="bad">1</span> of 2`)
	require.Contains(t, p.Body, "the other channels still sell their rooms")
	require.Contains(t, p.Body, `href="/admin/p/P/channels/bookingcom#settings-title"`)
	for _, path := range []string{"/admin/p/P/grid", "/admin/p/P/bookings", "/admin/p/P/alerts"} {
		require.Contains(t, a.get(path).Body, menuAlerting, path)
	}
	require.Contains(t, a.get("/admin/p/P/alerts?kind=pull_refused").Body, "<strong>BDC-2</strong>", "the section alone")

	_, err = a.st.UpdateChannel(ctx, "P", "bookingcom", inventory.ChannelPatch{HotelCode: new("HOTEL-ELSEWHERE")}, inventory.System)
	require.NoError(t, err)
	eventuallyUI(t, "the corrected booking acknowledged", func() bool { return oc.AckCount("BDC-2") == 1 })
	eventuallyUI(t, "the alert closed", func() bool { return len(openIncidents(t, a.st, "P")) == 0 })
	require.Contains(t, a.get("/admin/p/P/alerts").Body, "All is well")
	require.NotContains(t, a.get("/admin/p/P/grid").Body, menuAlerting)
}

package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// What an OTA holds after the changes staff make to its channel through
// the API: each must leave it selling only what the pool offers.

// Lowering a channel's horizon through the API closes the nights beyond
// it at the OTA (0 and Close): keyrack sends it nothing more there, and
// told nothing more, it would go on selling the last counts it had.
// Raising it again sends the pool's values.
func TestALoweredHorizonClosesTheNightsBeyondItAtTheOTA(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30})
	today := inventory.Today(time.UTC)
	for _, d := range []inventory.Date{today.AddDays(1), today.AddDays(20), today.AddDays(29)} {
		require.NoError(t, oc.WaitFor("DBL", d, 3, deliveryWait))
	}
	e.waitAcked("B", today.AddDays(1), today.AddDays(29), 3)

	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/B", map[string]any{"horizon_days": 10})
	for _, d := range []inventory.Date{today.AddDays(11), today.AddDays(20), today.AddDays(29)} {
		require.NoError(t, oc.WaitFor("DBL", d, 0, deliveryWait), "DBL closed on %s", d)
	}
	v, _ := oc.Value("DBL", today.AddDays(5))
	require.Equal(t, 3, v, "the nights within the horizon are untouched")

	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/B", map[string]any{"horizon_days": 30})
	for _, d := range []inventory.Date{today.AddDays(11), today.AddDays(20), today.AddDays(29)} {
		require.NoError(t, oc.WaitFor("DBL", d, 3, deliveryWait), "DBL open again on %s", d)
	}
}

// A channel's hotel code changed through the API (the OTA's id of the
// hotel) is sent every night of its horizon under the new code at once:
// the OTA's hotel under that code was told nothing by keyrack, and what
// the channel acknowledged was the old one's.
func TestAChangedHotelCodeIsSentTheWholeHorizon(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30})
	today := inventory.Today(time.UTC)
	e.waitAcked("B", today.AddDays(1), today.AddDays(29), 3)

	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/B", map[string]any{"hotel_code": "HTL-B2"})
	require.Eventually(t, func() bool {
		told := map[inventory.Date]bool{}
		for _, r := range oc.Received() {
			if r.Message.HotelCode != "HTL-B2" {
				continue
			}
			for _, a := range r.Message.Avail {
				if a.Room == "DBL" && a.BookingLimit != nil && *a.BookingLimit == 3 {
					for d := a.Start; !a.End.Before(d); d = d.AddDays(1) {
						told[d] = true
					}
				}
			}
		}
		for d := today.AddDays(1); d.Before(today.AddDays(30)); d = d.AddDays(1) {
			if !told[d] {
				return false
			}
		}
		return true
	}, deliveryWait, 20*time.Millisecond, "hotel HTL-B2 told every night of B's horizon")
}

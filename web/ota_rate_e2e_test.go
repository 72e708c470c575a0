package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A channel that keeps availability per room and rate (as Weekendesk's
// messages carry it) refuses an item without RatePlanCode. Set to ari_level "rate" through the
// API, it is sent every night of its horizon again at once, as one
// AvailStatusMessage per mapped rate, each naming its RatePlanCode — not at
// the nightly resync — and every later change goes out the same way.
func TestAChannelSetToTakeAvailabilityPerRateIsSentEachRateAtOnce(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "SM", map[string]any{"horizon_days": 30})
	today := inventory.Today(time.UTC)
	night := today.AddDays(20)
	require.NoError(t, oc.WaitFor("DBL", night, 3, deliveryWait), "the room-level catch-up")

	oc.RejectRooms("DBL") // from now on, an item without a rate is refused
	for _, rate := range []string{"BAR", "NRF"} {
		e.must(http.StatusOK, "PUT", "/api/v1/properties/P/channels/SM/mappings",
			map[string]any{"channel_room": "DBL", "channel_rate": rate, "room_type": "DBL-STD"})
	}
	got := e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/SM", map[string]any{"ari_level": "rate"}).JSON(t)
	require.Equal(t, "rate", got["ari_level"])
	bar, nrf := otachannel.Key("DBL", "BAR"), otachannel.Key("DBL", "NRF")
	for _, key := range []string{bar, nrf} {
		require.NoError(t, oc.WaitFor(key, night, 3, deliveryWait), "the rate-level catch-up")
	}

	e.waitAcked("SM", today.AddDays(1), today.AddDays(29), 3) // the catch-ups are over
	before, refused := len(oc.Received()), oc.Stats().RejectedRooms
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/pools/DBL/nights?from="+night.String()+"&to="+night.AddDays(1).String(),
		map[string]any{"closed": true})
	for _, key := range []string{bar, nrf} {
		require.NoError(t, oc.WaitFor(key, night, 0, deliveryWait), "the stop-sell on %s", key)
	}
	var rates []string
	for _, r := range oc.Received()[before:] {
		for _, a := range r.Message.Avail {
			require.Equal(t, "DBL", a.Room)
			require.Equal(t, "Close", a.Restrictions[0].Status)
			rates = append(rates, a.RatePlan)
		}
	}
	require.ElementsMatch(t, []string{"BAR", "NRF"}, rates, "one AvailStatusMessage per rate, none without one")
	require.Equal(t, refused, oc.Stats().RejectedRooms, "nothing was sent without a rate once the channel took rates")
}

// Deleting the last mapping of a room code through the API closes the
// room at the OTA (0 and Close on every night of its horizon): told
// nothing more, the OTA would go on selling the last count it had.
func TestADeletedMappingClosesTheRoomAtTheOTA(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30})
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/channels/B/mappings", map[string]any{"channel_room": "DBL2", "room_type": "DBL-STD"})
	today := inventory.Today(time.UTC)
	night := today.AddDays(20)
	require.NoError(t, oc.WaitFor("DBL2", night, 3, deliveryWait))

	e.must(http.StatusNoContent, "DELETE", "/api/v1/properties/P/channels/B/mappings?channel_room=DBL2", nil)
	for _, d := range []inventory.Date{today.AddDays(1), night, today.AddDays(29)} {
		require.NoError(t, oc.WaitFor("DBL2", d, 0, deliveryWait), "DBL2 closed on %s", d)
	}
	v, _ := oc.Value("DBL", night)
	require.Equal(t, 3, v, "the room still mapped is untouched")
}

// A channel set to "avail_limit" (SiteMinder's pmsXchange takes
// restrictions in requests of their own) is sent the rooms to sell only: a
// stop-sell goes as BookingLimit 0, with no RestrictionStatus that would
// overwrite the channel's own restrictions.
func TestAnAvailLimitChannelIsSentTheRoomsToSellOnly(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "SM", map[string]any{"horizon_days": 30, "ari_message": "avail_limit"})
	night := inventory.Today(time.UTC).AddDays(20)
	require.NoError(t, oc.WaitFor("DBL", night, 3, deliveryWait))
	e.must(http.StatusBadRequest, "PATCH", "/api/v1/properties/P/channels/SM", map[string]any{"ari_message": "limit"})

	e.waitAcked("SM", night, night.AddDays(1), 3)
	before := len(oc.Received())
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/pools/DBL/nights?from="+night.String()+"&to="+night.AddDays(1).String(),
		map[string]any{"closed": true})
	require.NoError(t, oc.WaitFor("DBL", night, 0, deliveryWait))
	for _, r := range oc.Received()[before:] {
		for _, a := range r.Message.Avail {
			require.Empty(t, a.Restrictions, "no RestrictionStatus")
			require.NotNil(t, a.BookingLimit)
		}
	}
}

// A channel that takes a push but warns that something was not processed,
// naming no item, is not failed for it (a channel may say so routinely),
// but staff see its words in the channel's status and delivery log.
func TestAChannelsWarningThatSomethingWasNotProcessedReachesStaff(t *testing.T) {
	t.Parallel()
	e, f := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30})
	night := inventory.Today(time.UTC).AddDays(10)
	require.NoError(t, oc.WaitFor("DBL", night, 3, deliveryWait))
	e.waitAcked("B", night, night.AddDays(1), 3)

	oc.Warn("Authorization error: no access to hotel 4821375")
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/pools/DBL/nights?from="+night.String()+"&to="+night.AddDays(1).String(),
		map[string]any{"closed": true})
	require.NoError(t, oc.WaitFor("DBL", night, 0, deliveryWait))
	require.Eventually(t, func() bool {
		st, err := f.Status(context.Background(), "P")
		require.NoError(t, err)
		for _, s := range st {
			if s.Channel == "B" {
				return strings.Contains(s.LastError, "no access to hotel 4821375") && s.InSync
			}
		}
		return false
	}, deliveryWait, 20*time.Millisecond, "the warning in B's status, the push taken")
	log, err := f.Deliveries(context.Background(), "P", "B", 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, sync.DeliveryOK, log[0].Outcome)
	require.Contains(t, log[0].Error, "did not process something")
}

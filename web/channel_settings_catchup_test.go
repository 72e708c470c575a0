package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel switched to another availability message through the API is
// sent its whole horizon in that message at once, not at the nightly
// resync: it holds no value in the new message until then.
func TestAChannelGivenAnotherARIMessageIsSentItAtOnce(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "SM", map[string]any{"horizon_days": 30})
	today := inventory.Today(time.UTC)
	e.waitAcked("SM", today.AddDays(1), today.AddDays(29), 3) // the first catch-up is over
	before := len(oc.Received())

	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/SM", map[string]any{"ari_message": "invcount"})
	require.Eventually(t, func() bool {
		for _, r := range oc.Received()[before:] {
			if len(r.Message.Counts) > 0 {
				return true
			}
		}
		return false
	}, deliveryWait, 20*time.Millisecond, "an OTA_HotelInvCountNotifRQ")
}

// A mapping deleted through the API on a channel that has nothing left to
// be sent closes the room there at once: the deletion itself starts the
// delivery that carries the closure.
func TestAMappingDeletedOnAChannelInSyncClosesTheRoomAtOnce(t *testing.T) {
	t.Parallel()
	e, _ := newPushHotel(t)
	oc := e.pushChannel("P", "B", map[string]any{"horizon_days": 30})
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/channels/B/mappings", map[string]any{"channel_room": "DBL2", "room_type": "DBL-STD"})
	today := inventory.Today(time.UTC)
	night := today.AddDays(20)
	require.NoError(t, oc.WaitFor("DBL2", night, 3, deliveryWait))
	e.waitAcked("B", today.AddDays(1), today.AddDays(29), 3) // nothing left to send

	e.must(http.StatusNoContent, "DELETE", "/api/v1/properties/P/channels/B/mappings?channel_room=DBL2", nil)
	require.NoError(t, oc.WaitFor("DBL2", night, 0, deliveryWait), "DBL2 closed")
}

// A mapping deleted on the channel's page queues the delivery that closes
// the room on the channel, as the API does, and says so only when the room
// code is no longer sent.
func TestAMappingDeletedOnTheChannelsPageQueuesItsClosure(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	endpoint := "http://127.0.0.1:9/ota" // no worker runs: nothing is delivered
	_, err := e.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, e.st.SetMapping(ctx, "P", "expedia", inventory.Mapping{ChannelRoom: "SUP", RoomType: "DBL-STD"}, inventory.System))
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	require.True(t, statusOfChannel(t, e.fan, "expedia").InSync)

	// A rate's mapping deleted while the room code stays mapped for any
	// rate closes nothing, and staff are not told it does.
	require.NoError(t, e.st.SetMapping(ctx, "P", "expedia", inventory.Mapping{ChannelRoom: "SUP", ChannelRate: "NRF", RoomType: "DBL-STD"}, inventory.System))
	p := e.post(from, from+"/mappings/delete", url.Values{"room": {"SUP"}, "rate": {"NRF"}, "confirm": {"yes"}})
	requireRedirectBack(t, p, "expedia")
	require.NotContains(t, e.get(p.Header.Get("Location")).Body, "no longer sends")

	p = e.post(from, from+"/mappings/delete", url.Values{"room": {"SUP"}, "confirm": {"yes"}})
	requireRedirectBack(t, p, "expedia")
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "keyrack no longer sends expedia the availability of room SUP")

	// At the room level the room code is what is closed, even when its
	// last mapping named a rate.
	require.NoError(t, e.st.SetMapping(ctx, "P", "expedia", inventory.Mapping{ChannelRoom: "TWN", ChannelRate: "NRF", RoomType: "DBL-STD"}, inventory.System))
	p = e.post(from, from+"/mappings/delete", url.Values{"room": {"TWN"}, "rate": {"NRF"}, "confirm": {"yes"}})
	requireRedirectBack(t, p, "expedia")
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "keyrack no longer sends expedia the availability of room TWN:")
	st := statusOfChannel(t, e.fan, "expedia")
	require.False(t, st.InSync, "the delivery carrying SUP's closure is queued")
	require.NotEmpty(t, st.Queued)
}

// Disabling a channel keyrack pushes no availability to (a PMS, a calendar
// platform) does not tell staff it goes on selling what it was last sent:
// it was sent none.
func TestDisablingAChannelNotPushedAvailabilitySaysNothingOfWhatItWasSent(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	e.login("anna")
	const from = "/admin/p/P/channels/pms"
	p := e.post(from, from+"/enabled", url.Values{"enabled": {"false"}})
	requireRedirectBack(t, p, "pms")
	body := e.get(p.Header.Get("Location")).Body
	require.Contains(t, body, "Channel pms is disabled")
	require.NotContains(t, body, "It goes on selling")
}

// A channel that keeps availability per room and rate holds a count for
// each pair: a room code mapped through two rates to two pools is no
// mistake there, and its page does not say it is.
func TestARoomCodeOnTwoPoolsIsNoMistakeAtTheRateLevel(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreatePool(ctx, "P", inventory.Pool{Code: "SGL", Units: 3}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreateRoomType(ctx, "P", inventory.RoomType{Code: "SGL-STD", Pool: "SGL"}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, e.st.SetMapping(ctx, "P", "expedia", inventory.Mapping{ChannelRoom: "DBL", ChannelRate: "SGLUSE", RoomType: "SGL-STD"}, inventory.System))
	rate := "rate"
	_, err = e.st.UpdateChannel(ctx, "P", "expedia", inventory.ChannelPatch{ARILevel: &rate}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	require.NotContains(t, e.get("/admin/p/P/channels/expedia").Body, "mapped to room types of different pools")
}

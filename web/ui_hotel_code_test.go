package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A hotel code changed on the channel's page sends the channel its whole
// horizon under the new code, even with no endpoint in the form, and
// tells staff that the hotel under the old code is told nothing more: it
// goes on selling what it was last sent until closed at the channel.
func TestAHotelCodeChangedOnThePageResyncsAndWarnsOfTheOldOne(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	e.seedHotel("P", 2)
	endpoint := "http://127.0.0.1:9/ota" // no worker runs: nothing is delivered
	_, err := e.st.UpdateChannel(context.Background(), "P", "expedia", inventory.ChannelPatch{Endpoint: &endpoint, HotelCode: new("EXP-OLD")}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	require.True(t, statusOfChannel(t, e.fan, "expedia").InSync)

	from := "/admin/p/P/channels/expedia"
	p := e.post(from, from+"/settings", url.Values{"hotel_code": {"EXP-NEW"}})
	requireRedirectBack(t, p, "expedia")
	st := statusOfChannel(t, e.fan, "expedia")
	require.Equal(t, 365, st.DirtyNights, "the whole horizon, under the new hotel code")
	require.Equal(t, "bulk", st.Queued)
	flash := e.get(p.Header.Get("Location")).Body
	require.Contains(t, flash, "keyrack tells hotel EXP-OLD nothing more")

	// The same code again, or only the endpoint: no warning.
	p = e.post(from, from+"/settings", url.Values{"hotel_code": {"EXP-NEW"}, "endpoint": {endpoint}})
	requireRedirectBack(t, p, "expedia")
	require.NotContains(t, e.get(p.Header.Get("Location")).Body, "nothing more")
	require.Equal(t, http.StatusOK, e.get(from).Status)
}

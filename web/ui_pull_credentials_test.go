package web_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A pull-mode OTA never sends keyrack anything — keyrack fetches its
// bookings with the credentials keyrack presents, and /ota/{channel} takes
// only push channels — yet its page warned "secret not set: the channel
// cannot authenticate" and offered to rotate an inbound secret that would
// serve nothing. It says that keyrack fetches, and offers the outbound
// credentials only.
func TestAPullChannelIsNotAskedForAnInboundSecret(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	_, err := e.st.CreateChannel(context.Background(), "P", inventory.Channel{Code: "bdc", Kind: inventory.ChannelOTAPull, Enabled: true,
		OTASettings: inventory.OTASettings{PullURL: "https://pull.example/res"}}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	creds := section(t, e.get("/admin/p/P/channels/bdc").Body, "creds-title")
	require.NotContains(t, creds, "the channel cannot authenticate")
	require.NotContains(t, creds, "Rotate the inbound secret")
	require.Contains(t, creds, "keyrack fetches this channel's bookings")
	require.Contains(t, creds, "Set what keyrack presents")
	require.Contains(t, section(t, e.get("/admin/p/P/channels/expedia").Body, "creds-title"), "Rotate the inbound secret", "a push channel keeps it")
}

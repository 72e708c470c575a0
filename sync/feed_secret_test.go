package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A PMS channel being set up is given its webhook endpoint and its signing
// secret in two calls (PATCH the channel, PUT its credentials). Bookings
// that came in between failed for good — "no outbound secret" was taken
// for a permanent refusal: a webhook_failed incident each, never sent once
// the secret was there, and the next revision of the same reservation went
// out without its booking. They wait for the secret, and go out in order
// once it is set.
func TestAPMSGivenItsSecretAfterItsEndpointIsSentWhatCameMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	ch, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "pms", Kind: inventory.ChannelPMS, Enabled: true,
		Endpoint: recv.srv.URL, HorizonDays: 30}, inventory.System)
	require.NoError(t, err)
	h.chanIDs["pms"] = ch.ID

	h.book("A", "ota-1", 0, h.today.AddDays(2), 1, 1)
	// tried says every entry's webhook has been tried (its last error
	// recorded): waited for rather than a fixed sleep, which a loaded
	// machine could end before the webhook ran, testing nothing.
	tried := func(n int) func() bool {
		return func() bool {
			f := h.feed("pms")
			for _, e := range f {
				if e.LastError == "" {
					return false
				}
			}
			return len(f) == n
		}
	}
	eventually(t, convergeTimeout, "the booking's webhook to be tried", tried(1))
	_, err = h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Modify, Mode: inventory.MustAccept, SentAt: time.Now().Add(time.Minute),
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today.AddDays(2), Departure: h.today.AddDays(4), Rooms: 1}}})
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the modification's webhook to be tried", tried(2))
	require.Empty(t, recv.requests(), "nothing can be signed yet")
	require.Zero(t, h.openIncidents("webhook_failed"), "a channel still being set up has not refused anything")

	require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "pms", inventory.Credentials{
		OutboundUser: "keyrack", OutboundSecret: pmsSecret}, inventory.System))
	eventually(t, convergeTimeout, "both webhooks once the secret is set", func() bool { return len(recv.delivered()) == 2 })
	got := recv.delivered()
	require.Equal(t, inventory.New, got[0].Kind, "the booking first")
	require.Equal(t, inventory.Modify, got[1].Kind)
	for _, r := range recv.requests() {
		require.NoError(t, r.signature)
	}
	require.Zero(t, h.openIncidents("webhook_failed"))
}

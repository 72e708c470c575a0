package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel moved to another endpoint while a delivery to it runs (staff
// switching an OTA from its test system to its live one) is sent its whole
// horizon at the new endpoint: the running delivery had read the channel
// once, when it began, and its next round pushed the resync the move
// brought about to the old endpoint, clearing it — the live system got
// nothing but later changes until the nightly resync.
func TestAChannelMovedDuringADeliveryGetsItsHorizonAtTheNewEndpoint(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	ctx := context.Background()
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))

	live := testchannel.New()
	t.Cleanup(live.Close)
	live.RequireCredentials("keyrack-A", "s3cret-A")
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverWithPause(ctx, h.id, h.chanIDs["A"], func() {
		// As the channel's settings page does: save, then catch up.
		endpoint := live.URL()
		_, err := h.st.UpdateChannel(ctx, h.code, "A", inventory.ChannelPatch{Endpoint: &endpoint}, inventory.System)
		require.NoError(t, err)
		require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	}))
	// The task the running delivery handed over, if any.
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))

	from, to := h.horizon()
	for d := from; d.Before(to); d = d.AddDays(1) {
		v, ok := live.Value(h.room("A", 0), d)
		require.True(t, ok, "the new endpoint was sent %s", d)
		require.Equal(t, 10, v)
	}
}

// A channel whose credentials staff correct while a delivery to it runs —
// the push with the old ones refused (401) — is not dead-lettered: the
// delivery archived it, for credentials no longer the channel's, and
// nothing sent it anything more until its next change or staff retried
// it by hand, though keyrack now held the right ones.
func TestCredentialsCorrectedDuringADeliveryAreNotDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	ctx := context.Background()
	require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "A",
		inventory.Credentials{OutboundSecret: "a typo"}, inventory.System))
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	_ = h.fan.DeliverWithPause(ctx, h.id, h.chanIDs["A"], func() {
		require.NoError(t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, "A",
			inventory.Credentials{OutboundSecret: "s3cret-A"}, inventory.System))
	})
	st, err := h.status()
	require.NoError(t, err)
	require.Len(t, st, 1)
	require.False(t, st[0].Archived, "the channel is not dead-lettered for credentials it no longer has")
	require.NotEmpty(t, st[0].Queued, "a delivery with the corrected credentials is on its way")
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["A"]))
	require.Empty(t, h.mismatches(h.horizon()))
}

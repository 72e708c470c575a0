package sync_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Whoever sets a channel's pull URL (an API key of the property, an admin)
// chooses where keyrack connects, as with an iCal feed's URL — and the
// answer to a poll is stored whole as the channel's inbound message, which
// the same key reads back (GET …/channels/{c}/messages). A pull URL on a
// private address (a cloud's metadata service, an internal admin page) is
// refused as the iCal fetcher refuses one, not fetched and shown: the
// channel's poll error and its stale-pull incident say the address is
// private and which setting allows it.
func TestAPullURLOnAPrivateAddressIsNotFetchedAndShown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := startPullHotel(t, pullOptions{refusePrivate: true})
	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"AccessKeyId":"ASIA-INTERNAL-ONLY","SecretAccessKey":"internal-secret-value"}`))
	}))
	t.Cleanup(internal.Close)
	u := internal.URL + "/latest/meta-data/iam/security-credentials/role"
	_, err := h.st.UpdateChannel(ctx, h.code, "BDC", inventory.ChannelPatch{PullURL: &u}, inventory.System)
	require.NoError(t, err)

	refused := func() bool {
		s := h.pullState().Error
		return s != nil && strings.Contains(*s, "private")
	}
	eventually(t, convergeTimeout, "a poll of the new URL", func() bool { return hits.Load() > 0 || refused() })
	require.Zero(t, hits.Load(), "keyrack connected to a loopback pull URL")
	st := h.pullState()
	require.Contains(t, *st.Error, "KEYRACK_PULL_ALLOW_PRIVATE=1", "the error says which setting allows it")
	require.Nil(t, st.OKAt)
	require.Zero(t, hits.Load(), "keyrack connected to a loopback pull URL")
	require.Zero(t, h.oc.Stats().Fetches+h.oc.Stats().Unauthorized, "nor to the channel's own, on loopback too")
	ms, err := h.st.InboundMessages(ctx, h.code, "BDC", 10)
	require.NoError(t, err)
	for _, m := range ms {
		require.NotContains(t, m.Raw, "internal-secret-value", "the internal answer is stored for the key holder to read")
	}

	// Refused for 11 minutes now, the polls going on: the incident says why.
	_, err = h.st.DB().Exec(ctx, `UPDATE sync_channels SET pull_failing_since = pull_failing_since - interval '11 minutes', pulled_at = NULL
		WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID)
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the next poll refused", func() bool {
		s := h.pullState()
		return s.ErrorAt != nil && s.ErrorAt.After(*st.ErrorAt)
	})
	require.NoError(t, h.fan.RunDue(ctx))
	incs, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, incs, 1)
	require.Equal(t, "stale_pull", incs[0].Kind)
	require.Contains(t, incs[0].Message, "private")
	require.Contains(t, incs[0].Message, "KEYRACK_PULL_ALLOW_PRIVATE=1")
	require.Zero(t, hits.Load())
}

package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// An iCal channel switched off for a week and then on again is not flagged
// stale the moment it is enabled: its feed has not been fetched for a week
// because no one was meant to poll it, and its first poll after the
// enabling has not had its chance yet. It is stale only once it has been
// enabled for the threshold without a good fetch, as a new feed is.
func TestAnICalChannelEnabledAgainIsNotStaleBeforeItHasHadTheTimeToPoll(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	const after = 2 * time.Hour
	raise := func() int {
		t.Helper()
		n, err := h.st.RaiseStaleFeeds(ctx, after)
		require.NoError(t, err)
		return n
	}
	openStale := func() int {
		t.Helper()
		open, err := h.st.Incidents(ctx, h.code, true)
		require.NoError(t, err)
		n := 0
		for _, in := range open {
			if in.Kind == "stale_feed" {
				n++
			}
		}
		return n
	}
	enable := func(on bool) {
		t.Helper()
		_, err := h.st.UpdateChannel(ctx, h.code, "airbnb", inventory.ChannelPatch{Enabled: &on}, inventory.System)
		require.NoError(t, err)
	}
	// enabledFor dates the channel's (last) enabling d ago.
	enabledFor := func(d time.Duration) {
		t.Helper()
		_, err := h.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - $2::interval
			WHERE property_id = (SELECT id FROM properties WHERE code = $1) AND code = 'airbnb'`, h.code, d)
		require.NoError(t, err)
	}

	// Enabled for a month, fetched well until a week ago, when staff
	// switched the channel off.
	enabledFor(30 * 24 * time.Hour)
	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: time.Now().Add(-7 * 24 * time.Hour), Status: 200, Events: 1}))
	enable(false)
	require.Zero(t, raise())

	enable(true)
	require.Zero(t, raise(), "enabled a moment ago: its first poll has not had its chance")
	require.Zero(t, openStale())

	// The threshold has passed since the enabling, and still no good fetch.
	enabledFor(after + time.Minute)
	require.Equal(t, 1, raise(), "enabled for longer than the threshold without a good fetch: stale")
	require.Equal(t, 1, openStale())
}

package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A feed's stale-feed incident does not outlive its channel being
// disabled: no one polls that feed any more, so no good fetch would ever
// resolve it, and the alerts page and keyrack_ical_feeds_stale would show
// it for as long as the channel stays off (a stale export's incident ends
// so too). Enabled again and still failing, it is raised again.
func TestAStaleFeedIncidentEndsWhenItsChannelIsDisabled(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
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
	raise := func() int {
		t.Helper()
		n, err := h.st.RaiseStaleFeeds(ctx, 2*time.Hour)
		require.NoError(t, err)
		return n
	}

	// enabledFor dates the channel's (last) enabling d ago: staleness
	// counts from it too (TestAnICalChannelEnabledAgainIsNotStaleBeforeItHasHadTheTimeToPoll).
	enabledFor := func(d time.Duration) {
		t.Helper()
		_, err := h.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - $2::interval
			WHERE property_id = (SELECT id FROM properties WHERE code = $1) AND code = 'airbnb'`, h.code, d)
		require.NoError(t, err)
	}

	// Last good fetch three hours ago, failing since: stale after 2 h.
	enabledFor(24 * time.Hour)
	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: time.Now().Add(-3 * time.Hour), Status: 200, Events: 1}))
	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: time.Now(), Status: 500, Err: "ical: answered 500"}))
	require.Equal(t, 1, raise())
	require.Equal(t, 1, openStale())

	enable(false)
	require.Zero(t, raise())
	require.Zero(t, openStale(), "the feed of a disabled channel is not polled: its incident is resolved, not left open for good")

	enable(true)
	enabledFor(3 * time.Hour)
	require.Equal(t, 1, raise())
	require.Equal(t, 1, openStale(), "enabled again for longer than the threshold and still without a good fetch: stale again")
}

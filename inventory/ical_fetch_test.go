package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestICalFeedsAreClaimedOnceAndKeepTheirFetchState(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	sec, err := inventory.NewSecrets("ical import test secret")
	require.NoError(t, err)

	due, err := h.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "a new feed is due at once")
	require.Equal(t, "https://www.airbnb.com/calendar/ical/1.ics?s=x", due[0].URL)
	require.Equal(t, "R0", due[0].RoomType)
	again, err := h.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Empty(t, again, "a claimed feed is not due again before its interval")
	fs, err := h.st.ICalFeeds(ctx, h.code, "airbnb")
	require.NoError(t, err)
	require.InDelta(t, 900, time.Until(fs[0].NextFetchAt).Seconds(), 100, "next poll in 15 min ±10%")

	// A failed fetch is recorded and changes nothing else; staleness is
	// raised once, and a good fetch resolves it.
	at := time.Now()
	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: at, Status: 200, Err: "the feed answered an HTML page, not a calendar"}))
	n, err := h.st.RaiseStaleFeeds(ctx, time.Hour)
	require.NoError(t, err)
	require.Zero(t, n, "not stale within the hour")
	for range 2 {
		n, err = h.st.RaiseStaleFeeds(ctx, -time.Minute)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	open, err := h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, "stale_feed", open[0].Kind)
	require.Contains(t, open[0].Message, "HTML page")

	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: at, Status: 200, ETag: `"v1"`, Events: 3}))
	open, err = h.st.Incidents(ctx, h.code, true)
	require.NoError(t, err)
	require.Empty(t, open, "a good fetch resolves the stale feed")
	require.NoError(t, h.st.RecordICalFetch(ctx, feed, inventory.ICalFetch{At: at, Status: 304, NotModified: true}))
	fs, err = h.st.ICalFeeds(ctx, h.code, "airbnb")
	require.NoError(t, err)
	require.Equal(t, 3, fs[0].Events, "304 keeps the count")
	require.Nil(t, fs[0].LastError)
	require.Equal(t, 304, *fs[0].LastStatus)

	require.NoError(t, h.st.FetchICalFeedNow(ctx, h.code, "airbnb", feed.ID))
	due, err = h.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "sync now")
	require.Equal(t, `"v1"`, due[0].ETag)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(h.st.FetchICalFeedNow(ctx, h.code, "airbnb", 99999)))
}

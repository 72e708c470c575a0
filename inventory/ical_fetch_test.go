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

	// A good fetch is imported, then recorded, as a worker does: its
	// validators are sent again on the day of that import.
	_, err = h.st.ImportCalendar(ctx, feed, nil, nil, at)
	require.NoError(t, err)
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

// An export calendar no platform has fetched for too long raises one
// incident (a platform that stops polling sends no error); a fetch, or
// revoking the calendar, resolves it at the next check.
func TestAnExportNoPlatformFetchesRaisesAnIncidentThatAFetchResolves(t *testing.T) {
	h, _ := icalHotel(t)
	ctx := context.Background()
	fetched, fetchedToken, err := h.st.CreateExportToken(ctx, h.code, "airbnb", "R0", inventory.System)
	require.NoError(t, err)
	unused, _, err := h.st.CreateExportToken(ctx, h.code, "airbnb", "R0", inventory.System)
	require.NoError(t, err)
	open := func() []inventory.Incident {
		t.Helper()
		incs, err := h.st.Incidents(ctx, h.code, true)
		require.NoError(t, err)
		return incs
	}

	n, err := h.st.RaiseStaleExports(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Zero(t, n, "new calendars have a day to be fetched")
	require.Empty(t, open())

	_, err = h.st.DB().Exec(ctx, `UPDATE ical_export_tokens SET created_at = now() - interval '2 days'`)
	require.NoError(t, err)
	for range 2 {
		n, err = h.st.RaiseStaleExports(ctx, 24*time.Hour)
		require.NoError(t, err)
		require.Equal(t, 2, n)
	}
	incs := open()
	require.Len(t, incs, 2, "one incident per calendar, however often raised")
	for _, in := range incs {
		require.Equal(t, "stale_export", in.Kind)
		require.Contains(t, in.Message, "no platform has fetched the iCal export of airbnb for R0")
		require.Contains(t, in.Message, "since it was made on")
	}
	require.Contains(t, incs[0].Message+incs[1].Message, "/ical/"+unused.Prefix+"…")

	// The platform fetches one: its incident is resolved, the other stays.
	_, err = h.st.LookupExportToken(ctx, fetchedToken)
	require.NoError(t, err)
	n, err = h.st.RaiseStaleExports(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	incs = open()
	require.Len(t, incs, 1)
	require.Equal(t, float64(unused.ID), incs[0].Details["token_id"])
	require.NotEqual(t, float64(fetched.ID), incs[0].Details["token_id"])

	// A fetch that stops again is reported with its date.
	_, err = h.st.DB().Exec(ctx, `UPDATE ical_export_tokens SET last_used_at = now() - interval '30 hours' WHERE id = $1`, fetched.ID)
	require.NoError(t, err)
	n, err = h.st.RaiseStaleExports(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	found := false
	for _, in := range open() {
		if in.Details["token_id"] == float64(fetched.ID) {
			found = true
			require.Contains(t, in.Message, "since 20")
			require.NotContains(t, in.Message, "made on")
		}
	}
	require.True(t, found)

	// Revoked calendars are not expected to be fetched.
	for _, id := range []int64{fetched.ID, unused.ID} {
		_, err = h.st.RevokeExportToken(ctx, h.code, "airbnb", id, inventory.System)
		require.NoError(t, err)
	}
	n, err = h.st.RaiseStaleExports(ctx, 24*time.Hour)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, open())
}

// A feed whose URL the secret does not open (sealed by a process with
// another KEYRACK_SECRET) fails on its own, visibly; the feeds claimed with
// it are handed out — their next polls were moved on as they were claimed.
func TestAFeedWhoseURLDoesNotOpenHoldsNoOtherBack(t *testing.T) {
	h, feed := icalHotel(t)
	ctx := context.Background()
	other, err := inventory.NewSecrets("another deployment secret")
	require.NoError(t, err)
	_, err = h.st.CreateRoomType(ctx, h.code, inventory.RoomType{Code: "R1", Pool: "P0"}, inventory.System)
	require.NoError(t, err)
	_, err = h.st.SetICalFeed(ctx, other, h.code, "airbnb", "R1", "https://www.airbnb.com/calendar/ical/2.ics?s=y", 0, inventory.System)
	require.NoError(t, err)
	sec, err := inventory.NewSecrets("ical import test secret")
	require.NoError(t, err)

	due, err := h.st.DueICalFeeds(ctx, sec, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, feed.ID, due[0].ID)
	fs, err := h.st.ICalFeeds(ctx, h.code, "airbnb")
	require.NoError(t, err)
	require.Len(t, fs, 2)
	for _, f := range fs {
		if f.ID == feed.ID {
			require.Nil(t, f.LastError)
			continue
		}
		require.NotNil(t, f.LastError, "the feed that does not open says so")
		require.Contains(t, *f.LastError, "KEYRACK_SECRET")
	}
}

package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A feed whose last fetch got no answer at all (the address refused, the
// host unreachable) was shown "HTTP 0" beside the fetch's time, a status
// no server sends; staff reading it looked for a web server answering 0.
// The page says the platform did not answer; an answer keeps its status.
func TestAFeedFetchWithoutAnswerIsNotShownAsAnHTTPStatus(t *testing.T) {
	t.Parallel()
	e := newICalUI(t)
	ctx := context.Background()
	const from = "/admin/p/P/channels/airbnb"
	e.post(from, from+"/feeds", url.Values{"room_type": {"DBL-STD"}, "url": {"https://calendar.example.com/1.ics"}})
	feeds, err := e.st.ICalFeeds(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Len(t, feeds, 1)
	ref := inventory.ICalFeedRef{Property: "P", ID: feeds[0].ID}
	require.NoError(t, e.st.RecordICalFetch(ctx, ref, inventory.ICalFetch{At: time.Now(), Status: 0,
		Err: `ical: fetch https://calendar.example.com/…: dial tcp: connection refused`}))
	shown := section(t, e.get(from).Body, "feeds-title")
	require.NotContains(t, shown, "HTTP 0")
	require.Contains(t, shown, "no answer")

	require.NoError(t, e.st.RecordICalFetch(ctx, ref, inventory.ICalFetch{At: time.Now(), Status: 503, Err: "ical: HTTP 503"}))
	require.Contains(t, section(t, e.get(from).Body, "feeds-title"), "HTTP 503")
}

package sync_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Google Calendar's "secret address in iCal format" and Vrbo's export URL
// carry their secret in the path, not the query
// (…/calendar/ical/<id>/private-<secret>/basic.ics). keyrack seals a feed's
// URL and shows its host only: a failed fetch must not put the path's
// secret into the feed's last error, which the API, the channel page (a
// viewer too), the stale-feed incident and the log all show.
func TestAFailedFetchDoesNotShowTheSecretInTheFeedURLPath(t *testing.T) {
	t.Parallel()
	h := newICalHotel(t)
	ctx := context.Background()
	const secret = "private-0123456789abcdef0123456789abcdef"
	base := strings.TrimSuffix(h.feed.URL(), "/feed.ics")
	_, err := h.st.SetICalFeed(ctx, h.secrets, h.code, "airbnb", "R0", base+"/calendar/ical/host%40gmail.com/"+secret+"/basic.ics", 0, inventory.System)
	require.NoError(t, err)
	h.feed.SetStatus(http.StatusNotFound)
	f := h.poll()
	require.NotNil(t, f.LastError)
	require.NotContains(t, *f.LastError, secret, "the feed's last error: %s", *f.LastError)
	require.NotContains(t, *f.LastError, "gmail", "the feed's last error: %s", *f.LastError)
	require.Contains(t, *f.LastError, "404", "the feed's last error: %s", *f.LastError)
}

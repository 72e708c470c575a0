package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// /metrics needs a key for all properties and counts open incidents by
// kind, stale iCal feeds among them.
func TestMetricsCountOpenIncidentsAndStaleFeeds(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	e.icalChannel("P", "airbnb")
	e.must(http.StatusOK, "PUT", "/api/v1/properties/P/channels/airbnb/ical-feeds",
		map[string]any{"room_type": "DBL-STD", "url": "https://www.airbnb.test/calendar/ical/1.ics?s=x"})

	require.Equal(t, http.StatusUnauthorized, e.get("/metrics").Status)
	require.Equal(t, http.StatusForbidden, e.get("/metrics", "Authorization", "Bearer "+e.propertyKey("P")).Status)
	r := e.get("/metrics", "Authorization", "Bearer "+e.admin)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "keyrack_ical_feeds_stale 0\n")
	require.Contains(t, string(r.Body), `keyrack_incidents_open{kind="overbooking"} 0`)

	ctx := context.Background()
	_, err := e.st.DB().Exec(ctx, `UPDATE ical_feeds SET created_at = now() - interval '1 day'`)
	require.NoError(t, err)
	n, err := e.st.RaiseStaleFeeds(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r = e.get("/metrics", "Authorization", "Bearer "+e.admin)
	require.Contains(t, string(r.Body), "keyrack_ical_feeds_stale 1\n")
	require.Contains(t, string(r.Body), `keyrack_incidents_open{kind="stale_feed"} 1`)
}

package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
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
	_, err = e.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '1 day'`) // enabled before that too
	require.NoError(t, err)
	n, err := e.st.RaiseStaleFeeds(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r = e.get("/metrics", "Authorization", "Bearer "+e.admin)
	require.Contains(t, string(r.Body), "keyrack_ical_feeds_stale 1\n")
	require.Contains(t, string(r.Body), `keyrack_incidents_open{kind="stale_feed"} 1`)
}

// metrics is /metrics as the admin key reads it.
func (e *apiEnv) metrics() string {
	e.t.Helper()
	r := e.get("/metrics", "Authorization", "Bearer "+e.admin)
	require.Equal(e.t, http.StatusOK, r.Status, "%s", r.Body)
	return string(r.Body)
}

// With the fan-out there, /metrics says how far it is behind: a booking's
// change waits in the outbox until a worker relays it.
func TestMetricsShowTheFanOutsBacklog(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	e.withFanout() // no worker runs: nothing is relayed
	m := e.metrics()
	for _, line := range []string{`keyrack_outbox_pending{topic="availability"} 0`, `keyrack_outbox_oldest_seconds{topic="reservation"} 0`,
		`keyrack_sync_channels_pending{mark="change"} 0`, `keyrack_sync_oldest_pending_seconds{mark="resync"} 0`,
		"keyrack_sync_deliveries_total 0", "keyrack_sync_delivery_failures_total 0", "keyrack_sync_channels_dead_lettered 0",
		"keyrack_feed_unacked 0", "keyrack_feed_oldest_unacked_seconds 0", "keyrack_feed_webhooks_pending 0"} {
		require.Contains(t, m, line+"\n")
	}
	_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-12-01"), Departure: inventory.MustDate("2027-12-03")}}})
	require.NoError(t, err)
	m = e.metrics()
	require.Contains(t, m, `keyrack_outbox_pending{topic="availability"} 1`+"\n")
	require.Contains(t, m, `keyrack_outbox_pending{topic="reservation"} 1`+"\n", "for the PMS")
	require.NotContains(t, m, `keyrack_outbox_oldest_seconds{topic="availability"} 0`+"\n")
}

// A pull-mode OTA nobody has polled lately shows in /metrics: only the
// elected scheduler polls, and with none leading — or the channel failing —
// its bookings stop reaching keyrack while no error is recorded anywhere.
func TestMetricsShowAPullModeChannelNobodyHasPolledLately(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	e.withFanout() // no scheduler runs: nothing is polled
	metric := func() string {
		t.Helper()
		body := e.metrics()
		m := regexp.MustCompile(`(?m)^keyrack_pull_oldest_seconds (\S+)$`).FindStringSubmatch(body)
		require.NotNil(t, m, "%s", body)
		return m[1]
	}
	require.Equal(t, "0", metric(), "no pull-mode channel")
	e.otaChannel("P", "bdc", "ota_pull", "HTL-P", "u", "s", map[string]any{"pull_url": "https://bdc.test/reservations"})
	_, err := e.st.DB().Exec(context.Background(), `UPDATE channels SET created_at = now() - interval '1 hour' WHERE code = 'bdc'`)
	require.NoError(t, err)
	secs, err := strconv.ParseFloat(metric(), 64)
	require.NoError(t, err)
	require.InDelta(t, 3600, secs, 60, "never polled since it was made an hour ago")
}

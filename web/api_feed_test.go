package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/pms"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A booking from an OTA reaches the PMS's pull feed; the PMS acknowledges
// it and it leaves the feed.
func TestThePMSPullsRevisionsAndAcknowledgesThem(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 4)
	e.hotel("Q", 1)
	f, _, _ := e.withFanout(func(c *sync.Config) {
		c.FeedAckTimeout, c.ScheduleInterval, c.ResyncAt = 2*time.Second, 100*time.Millisecond, "off"
	})
	ctx, cancel := context.WithCancel(context.Background())
	var roles gosync.WaitGroup
	roles.Go(func() { _ = f.RunWorker(ctx) })
	roles.Go(func() { _ = f.RunScheduler(ctx) })
	// The roles stop before the queue's connections close (cleanups run last first).
	t.Cleanup(func() { cancel(); roles.Wait() })

	// The PMS takes webhooks too: configured through the API, checked with the signature.
	var hooks gosync.Map // feed id → verified
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := pms.Verify("pms-signing-secret", r.Header.Get(pms.SignatureHeader), body, time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var rev pms.Revision
		_ = json.Unmarshal(body, &rev)
		hooks.Store(rev.FeedID, rev.ExternalID)
	}))
	t.Cleanup(recv.Close)
	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/pms", map[string]any{"endpoint": recv.URL})
	e.must(http.StatusNoContent, "PUT", "/api/v1/properties/P/channels/pms/credentials", map[string]any{"outbound_secret": "pms-signing-secret"})
	pmsKey := e.propertyKey("P")
	_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "EXP-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-05-01"), Departure: inventory.MustDate("2027-05-03")}},
		Guest: inventory.Guest{Name: "Ana Silva"}})
	require.NoError(t, err)

	var revs []any
	require.Eventually(t, func() bool {
		r := e.do("GET", "/api/v1/revisions/feed", pmsKey, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		revs = r.JSON(t)["revisions"].([]any)
		return len(revs) == 1
	}, deliveryWait, 50*time.Millisecond, "the booking reaches the PMS feed")
	rev := revs[0].(map[string]any)
	require.Equal(t, "EXP-1", rev["external_id"])
	require.Equal(t, "expedia", rev["origin_channel"])
	id := int64(rev["feed_id"].(float64))
	require.Eventually(t, func() bool { v, ok := hooks.Load(id); return ok && v == "EXP-1" }, deliveryWait, 50*time.Millisecond,
		"the same revision reaches the PMS's webhook, signed")
	ack := "/api/v1/revisions/" + jsonNumber(id) + "/ack"

	// Another property's key cannot see or acknowledge it.
	problemOf(t, e.do("GET", "/api/v1/revisions/feed?property=P", e.propertyKey("Q"), nil), http.StatusForbidden)
	problemOf(t, e.do("POST", ack, e.propertyKey("Q"), nil), http.StatusNotFound)
	// A key for all properties names the property.
	problemOf(t, e.do("GET", "/api/v1/revisions/feed", e.admin, nil), http.StatusBadRequest)
	require.Len(t, e.must(http.StatusOK, "GET", "/api/v1/revisions/feed?property=P", nil).JSON(t)["revisions"], 1)

	// Left unacknowledged past the timeout, it raises an incident staff see.
	unacked := func() int {
		n := 0
		for _, i := range e.do("GET", "/api/v1/properties/P/incidents", pmsKey, nil).List(t) {
			if i["kind"] == "unacked_revision" {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool { return unacked() == 1 }, deliveryWait, 100*time.Millisecond, "the unacknowledged revision is an incident")

	require.Equal(t, http.StatusOK, e.do("POST", ack, pmsKey, nil).Status)
	require.Zero(t, unacked(), "the ack resolves it")
	require.Equal(t, http.StatusOK, e.do("POST", ack, pmsKey, nil).Status, "acknowledging again is a no-op")
	require.Empty(t, e.do("GET", "/api/v1/revisions/feed", pmsKey, nil).JSON(t)["revisions"])
	problemOf(t, e.do("POST", "/api/v1/revisions/999999/ack", pmsKey, nil), http.StatusNotFound)
	problemOf(t, e.do("GET", "/api/v1/revisions/feed?after=x", pmsKey, nil), http.StatusBadRequest)
}

// Acknowledging on a channel that is not a PMS names the channel as the
// field at fault, not the feed id (it said "id: channel expedia is not a
// PMS channel", pointing the integrator at a valid id).
func TestAnAckOnAChannelThatIsNotAPMSNamesTheChannel(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	e.withFanout()
	p := problemOf(t, e.do("POST", "/api/v1/revisions/1/ack?property=P&channel=expedia", e.admin, nil), http.StatusBadRequest)
	errs := p["errors"].([]any)
	require.Len(t, errs, 1)
	require.Equal(t, "channel", errs[0].(map[string]any)["field"], "%v", p)
	require.Equal(t, "/channel", errs[0].(map[string]any)["pointer"])
}

// After keyrack's database is restored from a backup, feed ids go back to
// where the backup left them: a PMS reading on from the cursor it kept,
// beyond anything this database issued, is told so rather than answered an
// empty feed (and, once new ids pass its cursor, skipping those below it).
func TestAFeedCursorBeyondWhatTheDatabaseIssuedIsAConflict(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 4)
	f, _, _ := e.withFanout(func(c *sync.Config) { c.ResyncAt = "off" })
	ctx, cancel := context.WithCancel(context.Background())
	var roles gosync.WaitGroup
	roles.Go(func() { _ = f.RunWorker(ctx) })
	t.Cleanup(func() { cancel(); roles.Wait() })
	pmsKey := e.propertyKey("P")
	for _, id := range []string{"EXP-1", "EXP-2", "EXP-3"} {
		_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: id, Kind: inventory.New,
			Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-05-01"), Departure: inventory.MustDate("2027-05-03")}}})
		require.NoError(t, err)
	}
	var revs []any
	require.Eventually(t, func() bool {
		revs = e.do("GET", "/api/v1/revisions/feed", pmsKey, nil).JSON(t)["revisions"].([]any)
		return len(revs) == 3
	}, deliveryWait, 50*time.Millisecond)
	first := int64(revs[0].(map[string]any)["feed_id"].(float64))
	cursor := int64(revs[2].(map[string]any)["feed_id"].(float64))
	// The PMS has read on to its cursor.
	require.Empty(t, e.must(http.StatusOK, "GET", "/api/v1/revisions/feed?property=P&after="+jsonNumber(cursor), nil).JSON(t)["revisions"])

	// The backup was taken after the first revision reached the feed.
	_, err := e.st.DB().Exec(context.Background(), `DELETE FROM feed_entries WHERE id > $1`, first)
	require.NoError(t, err)
	_, err = e.st.DB().Exec(context.Background(), `SELECT setval(pg_get_serial_sequence('feed_entries', 'id'), $1)`, first)
	require.NoError(t, err)

	p := problemOf(t, e.do("GET", "/api/v1/revisions/feed?after="+jsonNumber(cursor), pmsKey, nil), http.StatusConflict)
	require.Contains(t, p["detail"], "restored from a backup")
	require.Contains(t, p["detail"], "after="+jsonNumber(cursor))
	require.Contains(t, p["detail"], "the last feed id this keyrack has issued is "+jsonNumber(first))
	// Read from the start, the feed answers as always.
	require.Len(t, e.do("GET", "/api/v1/revisions/feed?after=0", pmsKey, nil).JSON(t)["revisions"], 1)
	require.Empty(t, e.do("GET", "/api/v1/revisions/feed?after="+jsonNumber(first), pmsKey, nil).JSON(t)["revisions"])
}

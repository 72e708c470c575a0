package sync_test

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
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A webhook sent again once the PMS is back (resendFailedWebhooks) is sent
// again so once: one the PMS keeps failing on (503 for that booking alone)
// fails for good a second time and stays with staff, rather than start a
// fresh round of retries after every later webhook that gets through.
func TestAWebhookSentAgainAfterAnOutageIsSentAgainOnlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu gosync.Mutex
	down, sent := true, map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rev pms.Revision
		_ = json.Unmarshal(body, &rev)
		mu.Lock()
		defer mu.Unlock()
		sent[rev.ExternalID]++
		if down || rev.ExternalID == "flaky-1" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	sentFor := func(id string) int {
		mu.Lock()
		defer mu.Unlock()
		return sent[id]
	}
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) { c.MaxRetry = 1 }})
	h.addPMS("pms", srv.URL)
	failed := func(id string) bool {
		var failed bool
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT coalesce(bool_and(e.failed_at IS NOT NULL), false)
			FROM feed_entries e JOIN reservations r ON r.property_id = e.property_id AND r.id = e.reservation_id
			WHERE e.property_id = $1 AND r.external_id = $2`, h.id, id).Scan(&failed))
		return failed
	}
	delivered := func(id string) bool {
		for _, e := range h.feed("pms") {
			if e.ExternalID == id && e.DeliveredAt != nil {
				return true
			}
		}
		return false
	}

	h.book("A", "flaky-1", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook to fail for good during the outage", func() bool { return failed("flaky-1") })
	firstRound := sentFor("flaky-1")

	// The PMS is back, but still fails on that booking: it is sent again
	// once, and fails for good again.
	mu.Lock()
	down = false
	mu.Unlock()
	h.book("A", "ok-1", 0, h.today.AddDays(3), 1, 1)
	eventually(t, convergeTimeout, "the next webhook", func() bool { return delivered("ok-1") })
	eventually(t, convergeTimeout, "the booking sent again to fail for good again", func() bool {
		return sentFor("flaky-1") > firstRound && failed("flaky-1")
	})
	secondRound := sentFor("flaky-1")

	h.book("A", "ok-2", 0, h.today.AddDays(4), 1, 1)
	eventually(t, convergeTimeout, "the webhook after it", func() bool { return delivered("ok-2") })
	time.Sleep(time.Second)
	require.Equal(t, secondRound, sentFor("flaky-1"), "not sent again after every webhook that gets through")
	require.Equal(t, 1, h.openIncidents("webhook_failed"), "it stays with staff")
}

package sync_test

import (
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A webhook whose task asynq archived without its handler noticing (a
// worker gone during the last attempt) is recorded failed by the sweeper,
// with an incident, like one out of retries — not taken for a task Redis
// still holds and left pending for good.
func TestAWebhookArchivedBehindItsHandlersBackIsRecordedFailed(t *testing.T) {
	t.Parallel()
	pmsUp := newPMSEndpoint(t)
	pmsUp.setDown(true)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) {
		c.RetryBase, c.RetryMax = 3*time.Second, 3*time.Second
	}})
	h.addPMS("pms", pmsUp.srv.URL)
	h.book("A", "ota-1", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook's first attempt", func() bool {
		f := h.feed("pms")
		return len(f) == 1 && f[0].Attempts >= 1
	})
	id := h.feed("pms")[0].FeedID
	// Archived while it waits for its retry (not while an attempt runs).
	eventually(t, convergeTimeout, "the task archived", func() bool { return h.fan.ArchiveWebhookTask(h.id, id) == nil })
	eventually(t, convergeTimeout, "the webhook_failed incident", func() bool { return h.openIncidents("webhook_failed") == 1 })
	require.Equal(t, 1, statusOf(t, h, "pms").WebhooksFailed)
	require.Empty(t, pmsUp.delivered())
}

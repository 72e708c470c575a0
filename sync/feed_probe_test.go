package sync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A PMS back from an outage longer than its webhooks' retries is sent what
// it missed even when no new booking comes to reach it first (a small hotel
// on a quiet day): the oldest failed webhook is sent again while nothing
// else is on its way, and once it gets through the rest follow. Before,
// they waited for the next booking's webhook — for days.
func TestAPMSBackFromALongOutageIsSentWhatItMissedWithoutANewBooking(t *testing.T) {
	t.Parallel()
	endpoint := newPMSEndpoint(t)
	endpoint.setDown(true)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) { c.MaxRetry = 2 }})
	h.addPMS("pms", endpoint.srv.URL)

	h.book("A", "quiet-1", 0, h.today.AddDays(2), 1, 1)
	h.book("A", "quiet-2", 0, h.today.AddDays(3), 1, 1)
	eventually(t, convergeTimeout, "both webhooks to fail for good", func() bool { return h.openIncidents("webhook_failed") == 2 })
	// Probes sent while the PMS is still down use up nothing.
	time.Sleep(3 * h.cfg.StaleAfter)
	endpoint.setDown(false)
	eventually(t, convergeTimeout, "what the PMS missed to reach it, with no new booking", func() bool {
		return len(endpoint.delivered()) == 2
	})
	eventually(t, convergeTimeout, "their incidents to be resolved", func() bool { return h.openIncidents("webhook_failed") == 0 })
}

// A webhook that has just used up its retries is not probed at once: a
// sweep right after (a worker just started: its first sweep probes) sent
// the PMS the whole retry budget again.
func TestAWebhookJustFailedForGoodIsNotProbedAtOnce(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 1000, http.StatusInternalServerError)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) { c.MaxRetry = 2 }})
	h.addPMS("pms", recv.srv.URL)
	h.book("A", "ota-1", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook_failed incident", func() bool { return h.openIncidents("webhook_failed") == 1 })
	require.NoError(t, h.fanout().Sweep(context.Background())) // a new worker's first sweep
	time.Sleep(time.Second)
	require.Len(t, recv.requests(), 3, "the first attempt and two retries, then nothing")
}

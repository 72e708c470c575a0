package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// pmsEndpoint is a PMS's webhook endpoint that the test takes down and
// brings back: while down it answers every webhook 503, except those of
// the reservations in refuse, answered 404 (a permanent refusal) whether
// it is up or not.
type pmsEndpoint struct {
	*receiver
	down   bool            // guarded by the receiver's mu
	refuse map[string]bool // external ids; set before the first webhook
}

func newPMSEndpoint(t *testing.T) *pmsEndpoint {
	e := &pmsEndpoint{receiver: newReceiver(t, 0, 0), refuse: map[string]bool{}}
	e.answer = func(wh webhook) int {
		switch {
		case e.refuse[wh.rev.ExternalID]:
			return http.StatusNotFound
		case e.down:
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	return e
}

func (e *pmsEndpoint) setDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
}

// delivered lists "<external id>/<revision seq>" of what the PMS accepted, in
// the order it did.
func (e *pmsEndpoint) delivered() []string {
	var out []string
	for _, w := range e.requests() {
		if w.status < 300 {
			out = append(out, fmt.Sprintf("%s/%d", w.rev.ExternalID, w.rev.RevisionSeq))
		}
	}
	return out
}

// sentFor counts the requests that carried a revision of reservation external.
func (e *pmsEndpoint) sentFor(external string) int {
	n := 0
	for _, w := range e.requests() {
		if w.rev.ExternalID == external {
			n++
		}
	}
	return n
}

// A PMS down for longer than a webhook's retry budget (maintenance, an
// outage) is sent, once a webhook reaches it again, what failed for good
// meanwhile — in order, each webhook_failed incident resolved by its
// delivery — but not what it refused for good (a 404). Before, those
// bookings never reached the front desk unless staff retried each incident
// by hand.
func TestAPMSBackFromALongOutageIsSentWhatFailedMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pmsUp := newPMSEndpoint(t)
	pmsUp.setDown(true)
	pmsUp.refuse["refused-1"] = true
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) { c.MaxRetry = 2 }})
	h.addPMS("pms", pmsUp.srv.URL)

	h.book("A", "ota-1", 0, h.today.AddDays(2), 1, 1)
	_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Modify, Mode: inventory.MustAccept, Version: 1,
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today.AddDays(2), Departure: h.today.AddDays(4), Rooms: 1}}})
	require.NoError(t, err)
	h.book("A", "ota-2", 0, h.today.AddDays(5), 1, 1)
	h.book("A", "refused-1", 0, h.today.AddDays(6), 1, 1)
	eventually(t, convergeTimeout, "every webhook to fail for good", func() bool { return h.openIncidents("webhook_failed") == 4 })
	require.Empty(t, pmsUp.delivered())
	require.Equal(t, 1, pmsUp.sentFor("refused-1"), "a 404 is not retried")

	// The PMS is back: the next booking's webhook reaches it, and what it
	// missed follows.
	pmsUp.setDown(false)
	h.book("A", "ota-3", 0, h.today.AddDays(7), 1, 1)
	eventually(t, convergeTimeout, "what failed during the outage to be sent again", func() bool {
		return len(pmsUp.delivered()) == 4
	})
	got := pmsUp.delivered()
	require.ElementsMatch(t, []string{"ota-3/1", "ota-1/1", "ota-1/2", "ota-2/1"}, got)
	require.Less(t, strings.Index(strings.Join(got, " "), "ota-1/1"), strings.Index(strings.Join(got, " "), "ota-1/2"),
		"a reservation's revisions in order: %v", got)
	for _, w := range pmsUp.requests() {
		require.NoError(t, w.signature)
	}
	eventually(t, convergeTimeout, "the incidents of the delivered ones to be resolved", func() bool {
		return h.openIncidents("webhook_failed") == 1
	})
	var open string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT details->>'channel' || ' ' || message FROM incidents
		WHERE property_id = $1 AND kind = 'webhook_failed' AND resolved_at IS NULL`, h.id).Scan(&open))
	require.Contains(t, open, "refused-1", "the permanent refusal stays for staff")
	for _, e := range h.feed("pms") {
		if e.ExternalID == "refused-1" {
			require.Nil(t, e.DeliveredAt)
		} else {
			require.NotNil(t, e.DeliveredAt, "%s/%d", e.ExternalID, e.RevisionSeq)
		}
	}

	// Nothing is sent twice, and the refused revision is not sent again.
	h.book("A", "ota-4", 0, h.today.AddDays(8), 1, 1)
	eventually(t, convergeTimeout, "the next webhook", func() bool { return len(pmsUp.delivered()) == 5 })
	time.Sleep(time.Second)
	require.Len(t, pmsUp.delivered(), 5)
	require.Equal(t, 1, pmsUp.sentFor("refused-1"))
}

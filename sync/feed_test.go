package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/pms"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// pmsSecret is the outbound secret of the tests' PMS channels: the key of
// their webhook signatures.
const pmsSecret = "pms-webhook-secret"

// receiver is a PMS's webhook endpoint: it records every request and
// answers fail (a status) to the first failFirst of them, 204 afterwards.
type receiver struct {
	srv       *httptest.Server
	mu        gosync.Mutex
	failFirst int
	fail      int
	got       []webhook
	// limit, when set, is how many requests a second it takes; the rest
	// are answered 429 with Retry-After: 1.
	limit  int
	recent []time.Time
	// answer, when set (before the first request), decides each answer's
	// status instead, called with mu held.
	answer func(webhook) int
	// slowFirst, when set (before the first request), is how long the
	// first request waits before the receiver handles (and counts) it.
	slowFirst time.Duration
	started   int
}

type webhook struct {
	status    int
	signature error // what pms.Verify said
	feedID    string
	rev       pms.Revision
	// arrived is when the request came, answered when the receiver
	// answered it.
	arrived, answered time.Time
}

func newReceiver(t *testing.T, failFirst, fail int) *receiver {
	r := &receiver{failFirst: failFirst, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived := time.Now()
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.started++
		slow := r.started == 1 && r.slowFirst > 0
		r.mu.Unlock()
		if slow {
			time.Sleep(r.slowFirst)
		}
		wh := webhook{signature: pms.Verify(pmsSecret, req.Header.Get(pms.SignatureHeader), body, 5*time.Minute),
			feedID: req.Header.Get("Keyrack-Feed-Id"), arrived: arrived}
		if err := json.Unmarshal(body, &wh.rev); err != nil {
			wh.signature = err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		wh.status = http.StatusNoContent
		if r.answer != nil {
			wh.status = r.answer(wh)
		} else if len(r.got) < r.failFirst {
			wh.status = r.fail
		}
		if r.limit > 0 {
			now := time.Now()
			r.recent = slices.DeleteFunc(r.recent, func(t time.Time) bool { return now.Sub(t) >= time.Second })
			if len(r.recent) >= r.limit {
				wh.status = http.StatusTooManyRequests
				w.Header().Set("Retry-After", "1")
			} else {
				r.recent = append(r.recent, now)
			}
		}
		wh.answered = time.Now()
		r.got = append(r.got, wh)
		w.WriteHeader(wh.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setLimit(perSecond int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limit = perSecond
}

// answered counts the requests it answered with status.
func (r *receiver) answered(status int) int {
	n := 0
	for _, w := range r.requests() {
		if w.status == status {
			n++
		}
	}
	return n
}

func (r *receiver) requests() []webhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhook(nil), r.got...)
}

// delivered is what the receiver accepted (answered 2xx).
func (r *receiver) delivered() []pms.Revision {
	var out []pms.Revision
	for _, w := range r.requests() {
		if w.status < 300 {
			out = append(out, w.rev)
		}
	}
	return out
}

// addPMS adds a PMS channel to the hotel, sending webhooks to endpoint (none
// when empty: pull-only).
func (h *hotel) addPMS(code, endpoint string) {
	h.t.Helper()
	ctx := context.Background()
	ch, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: code, Kind: inventory.ChannelPMS, Enabled: true,
		Endpoint: endpoint, HorizonDays: 30}, inventory.System)
	require.NoError(h.t, err)
	require.NoError(h.t, h.st.SetChannelCredentials(ctx, h.secrets, h.code, code, inventory.Credentials{
		OutboundUser: "keyrack", OutboundSecret: pmsSecret}, inventory.System))
	h.chanIDs[code] = ch.ID
}

func (h *hotel) feed(channel string) []sync.FeedEntry {
	h.t.Helper()
	entries, err := h.fan.Feed(context.Background(), h.code, channel, 0, 0)
	require.NoError(h.t, err)
	return entries
}

// openIncidents counts a kind's open incidents of the hotel.
func (h *hotel) openIncidents(kind string) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM incidents
		WHERE property_id = $1 AND kind = $2 AND resolved_at IS NULL`, h.id, kind).Scan(&n))
	return n
}

func TestABookingFromAnOTAReachesThePMSSignedAndOnTheFeedUntilAcked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}})
	h.addPMS("pms", recv.srv.URL)

	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	eventually(t, convergeTimeout, "the webhook", func() bool { return len(recv.delivered()) == 1 })
	w := recv.requests()[0]
	require.NoError(t, w.signature, "the signature verifies with the channel's secret")
	require.Equal(t, pms.ErrBadSignature, pms.Verify("another secret", "t=1,v1=00", []byte("{}"), 0))
	rev := w.rev
	require.Equal(t, "H", rev.Property)
	require.Equal(t, "pms", rev.Channel)
	require.Equal(t, "A", rev.Origin)
	require.Equal(t, "ota-1", rev.ExternalID)
	require.Equal(t, 1, rev.RevisionSeq)
	require.Equal(t, inventory.New, rev.Kind)
	require.Equal(t, inventory.Confirmed, rev.Status)
	require.Len(t, rev.Stays, 1)
	require.Equal(t, h.today.AddDays(3), rev.Reservation.Arrival)
	require.Equal(t, "A", rev.Reservation.Channel)
	require.NotZero(t, rev.FeedID)
	require.Equal(t, w.feedID, jsonNumber(rev.FeedID))

	// The same revision is on the pull feed, with the same feed id.
	feed := h.feed("pms")
	require.Len(t, feed, 1)
	require.Equal(t, rev.FeedID, feed[0].FeedID)
	require.Equal(t, "ota-1", feed[0].ExternalID)
	eventually(t, 10*time.Second, "the delivery to be recorded", func() bool { return h.feed("pms")[0].DeliveredAt != nil })

	// A cancellation is a second revision, newer.
	_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Cancel, Mode: inventory.MustAccept})
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the cancellation's webhook", func() bool { return len(recv.delivered()) == 2 })
	cancel := recv.delivered()[1]
	require.Equal(t, 2, cancel.RevisionSeq)
	require.Equal(t, inventory.Cancel, cancel.Kind)
	require.Equal(t, inventory.Cancelled, cancel.Status)
	require.Len(t, h.feed("pms"), 2)
	after, err := h.fan.Feed(ctx, h.code, "pms", rev.FeedID, 0)
	require.NoError(t, err)
	require.Len(t, after, 1, "after= skips what the PMS has seen")
	require.Equal(t, cancel.FeedID, after[0].FeedID)

	eventually(t, 10*time.Second, "the cancellation's delivery to be recorded", func() bool { return h.feed("pms")[1].DeliveredAt != nil })
	b, err := h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, []any{2, 0}, []any{b.FeedUnacked, b.WebhooksPending}, "delivered, not acknowledged")
	require.Positive(t, b.FeedOldestUnacked)

	// Acking removes an entry from the feed; acking again changes nothing.
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", rev.FeedID))
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", rev.FeedID))
	feed = h.feed("pms")
	require.Len(t, feed, 1)
	require.Equal(t, cancel.FeedID, feed[0].FeedID)
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", cancel.FeedID))
	require.Empty(t, h.feed("pms"))
	b, err = h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, []any{0, time.Duration(0)}, []any{b.FeedUnacked, b.FeedOldestUnacked})

	err = h.fan.Ack(ctx, h.code, "pms", cancel.FeedID+1000)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	_, err = h.fan.Feed(ctx, h.code, "A", 0, 0)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "only PMS channels have a feed")
	require.Len(t, recv.requests(), 2, "no webhook twice")
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A pull-only PMS that is given a webhook endpoint is sent by webhook what
// it has not acknowledged from its feed — not what it has — so a revision
// that came before its endpoint was set (as when a PMS is being set up
// while bookings arrive) reaches it all the same.
func TestAPMSGivenAnEndpointIsSentWhatItHasNotAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}})
	h.addPMS("pms", "")

	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	h.book("A", "ota-2", 0, h.today.AddDays(5), 1, 1)
	eventually(t, convergeTimeout, "both on the pull feed", func() bool { return len(h.feed("pms")) == 2 })
	feed := h.feed("pms")
	require.False(t, feed[0].Webhook)
	require.Equal(t, "ota-1", feed[0].ExternalID)
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", feed[0].FeedID), "the PMS pulled and applied the first")

	url := recv.srv.URL
	_, err := h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{Endpoint: &url}, inventory.System)
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the webhook", func() bool { return len(recv.delivered()) == 1 })
	require.Equal(t, "ota-2", recv.delivered()[0].ExternalID)
	require.Equal(t, feed[1].FeedID, recv.delivered()[0].FeedID)
	eventually(t, 10*time.Second, "the delivery to be recorded", func() bool {
		f := h.feed("pms")
		return len(f) == 1 && f[0].Webhook && f[0].DeliveredAt != nil
	})

	// Later revisions go by webhook as usual; the acknowledged one never.
	h.book("A", "ota-3", 0, h.today.AddDays(7), 1, 1)
	eventually(t, convergeTimeout, "the next webhook", func() bool { return len(recv.delivered()) == 2 })
	require.Equal(t, "ota-3", recv.delivered()[1].ExternalID)
	require.Len(t, recv.requests(), 2, "nothing sent twice, the acknowledged revision not at all")
}

// A PMS gets reservations, not availability: a booking puts no work in the
// availability queue for it (before, every booking marked it and ran a
// delivery that only recorded why nothing was sent, which staff then saw as
// the channel's last error), and a full resync leaves it out — naming it is
// refused. Staff see what it was sent: the revision, its webhook, its
// acknowledgement.
func TestAPMSIsSentReservationsNotAvailability(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}}).primed()
	h.addPMS("pms", recv.srv.URL)
	// Mapped as a PMS is, so that its webhooks name its room codes.
	require.NoError(t, h.st.SetMapping(ctx, h.code, "pms", inventory.Mapping{ChannelRoom: "pms-R0", RoomType: "R0"}, inventory.System))

	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	h.waitConverged("A", "B")
	eventually(t, convergeTimeout, "the webhook", func() bool { return len(recv.delivered()) == 1 })
	eventually(t, 10*time.Second, "the webhook to be recorded", func() bool {
		sent, err := h.fan.SentRevisions(ctx, h.code, "pms")
		require.NoError(t, err)
		return len(sent) == 1 && sent[0].DeliveredAt != nil
	})
	// The relay marks the channels it sends to, and makes their state row,
	// in the transaction that marked B.
	stateRows := func() int {
		var n int
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_channels WHERE property_id = $1 AND channel_id = $2`,
			h.id, h.chanIDs["pms"]).Scan(&n))
		return n
	}
	require.Zero(t, stateRows(), "no availability work for the PMS")

	err := h.fan.Resync(ctx, h.code, "pms")
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%v", err)
	require.ErrorContains(t, err, "availability is not pushed to a PMS")
	require.NoError(t, h.fan.Resync(ctx, h.code, ""))
	require.Zero(t, stateRows(), "the property's resync leaves the PMS out")
	h.waitConverged("A", "B")

	st, err := h.status()
	require.NoError(t, err)
	for _, s := range st {
		if s.Channel == "pms" {
			require.Empty(t, s.LastError)
			require.Zero(t, s.Deliveries)
			require.NotNil(t, s.LastWebhook)
			require.Equal(t, 1, s.FeedUnacked)
		}
	}
	sent, err := h.fan.SentRevisions(ctx, h.code, "pms")
	require.NoError(t, err)
	require.Len(t, sent, 1)
	require.Equal(t, "ota-1", sent[0].ExternalID)
	require.Equal(t, "A", sent[0].Origin)
	require.Equal(t, inventory.New, sent[0].Kind)
	require.True(t, sent[0].Webhook)
	require.Equal(t, 1, sent[0].Attempts)
	require.Nil(t, sent[0].AckedAt)
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", sent[0].FeedID))
	sent, err = h.fan.SentRevisions(ctx, h.code, "pms")
	require.NoError(t, err)
	require.NotNil(t, sent[0].AckedAt, "acknowledged revisions stay in the list")
	_, err = h.fan.SentRevisions(ctx, h.code, "A")
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "only a PMS is sent revisions")
}

// A PMS that throttles keyrack (429, Retry-After: 1) while a backlog of
// webhooks waits is not sent a retry by every waiting webhook every second:
// the channel's webhooks wait out its pause together, so it answers about
// as many 429s as it takes webhooks — not the backlog's size each second.
func TestAThrottlingPMSIsNotFloodedWithRetries(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 0, 0)
	recv.setLimit(10)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, units: []int{100}})
	h.addPMS("pms", recv.srv.URL)
	const n = 60
	for i := range n {
		h.book("A", fmt.Sprintf("ota-%d", i), 0, h.today.AddDays(1+i%20), 1, 1)
	}
	eventually(t, convergeTimeout, "every webhook", func() bool { return len(recv.delivered()) == n })
	throttled := recv.answered(http.StatusTooManyRequests)
	t.Logf("%d webhooks, %d answered 429", n, throttled)
	require.LessOrEqual(t, throttled, n, "429s")
}

// A PMS channel's rate limit paces its webhooks: a receiver that takes
// twice the limit never has to answer 429 (sent all at once, the 20 would
// be; with a narrower margin, a busy machine's delay between a webhook's
// turn and its arrival bunched two seconds' turns into one second once).
func TestAPMSChannelsRateLimitPacesItsWebhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	recv.setLimit(10)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, units: []int{100},
		config: func(c *sync.Config) { c.RateWindow = time.Second }})
	h.addPMS("pms", recv.srv.URL)
	limit := 5
	_, err := h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{RateLimit: &limit}, inventory.System)
	require.NoError(t, err)
	const n = 20
	for i := range n {
		h.book("A", fmt.Sprintf("ota-%d", i), 0, h.today.AddDays(1+i%20), 1, 1)
	}
	eventually(t, convergeTimeout, "every webhook", func() bool { return len(recv.delivered()) == n })
	require.Zero(t, recv.answered(http.StatusTooManyRequests), "429s")
	require.Len(t, recv.requests(), n, "each webhook sent once")
}

// A PMS counts a webhook when it handles it, which may be well after
// keyrack sent it: keyrack counts it until its answer, so the next webhook
// does not reach a PMS still counting the slow one — also while the slow
// one is still in flight a window after it was sent (webhooks go out
// outside the pair's lock: counted from its sending until its answer came,
// the next went out then, and under load a CI run saw a 429 with the
// first taking 800 ms of a 1 s window).
func TestAWebhookCountsAgainstTheRateLimitUntilItsAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	recv.slowFirst = 3 * time.Second // three windows
	recv.setLimit(1)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, units: []int{100},
		config: func(c *sync.Config) { c.RateWindow = time.Second }})
	h.addPMS("pms", recv.srv.URL)
	limit := 1
	_, err := h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{RateLimit: &limit}, inventory.System)
	require.NoError(t, err)
	h.book("A", "ota-slow", 0, h.today.AddDays(1), 1, 1)
	eventually(t, convergeTimeout, "the slow webhook to be sent", func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return recv.started == 1
	})
	h.book("A", "ota-next", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "both webhooks", func() bool { return len(recv.delivered()) == 2 })
	require.Zero(t, recv.answered(http.StatusTooManyRequests), "429s")
	got := map[string]webhook{}
	for _, wh := range recv.requests() {
		got[wh.rev.Reservation.ExternalID] = wh
	}
	require.GreaterOrEqual(t, got["ota-next"].arrived.Sub(got["ota-slow"].answered), time.Second-time.Millisecond,
		"the next webhook comes a window after the slow one's answer, not while it is in flight")
}

func TestABookingFromThePMSIsNotSentBackToIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", recv.srv.URL)
	h.addPMS("backoffice", "") // a second PMS, pull-only

	_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "pms", ExternalID: "walk-in-1",
		Kind: inventory.New, Mode: inventory.MayReject,
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today, Departure: h.today.AddDays(1), Rooms: 1}}})
	require.NoError(t, err)
	h.book("A", "ota-2", 0, h.today.AddDays(5), 1, 1)

	// The OTA booking reaches the PMS; its own walk-in, taken before, never does.
	eventually(t, convergeTimeout, "the OTA booking's webhook", func() bool { return len(recv.delivered()) >= 1 })
	eventually(t, convergeTimeout, "both bookings on the pull-only PMS's feed", func() bool { return len(h.feed("backoffice")) == 2 })
	time.Sleep(500 * time.Millisecond)
	got := recv.delivered()
	require.Len(t, got, 1)
	require.Equal(t, "ota-2", got[0].ExternalID)
	feed := h.feed("pms")
	require.Len(t, feed, 1)
	require.Equal(t, "ota-2", feed[0].ExternalID)

	back := h.feed("backoffice")
	require.Equal(t, "walk-in-1", back[0].ExternalID)
	require.Equal(t, "pms", back[0].Origin)
	require.False(t, back[0].Webhook, "a PMS without an endpoint is pull-only")

	// One channel's entry cannot be acked through another's feed.
	err = h.fan.Ack(ctx, h.code, "pms", back[0].FeedID)
	require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(err))
	require.Len(t, h.feed("backoffice"), 2)
}

func TestAFailingWebhookReceiverGetsTheRevisionOnceInEffect(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 3, http.StatusInternalServerError)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", recv.srv.URL)

	h.book("A", "ota-3", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook to get through", func() bool { return len(recv.delivered()) == 1 })
	time.Sleep(time.Second)
	reqs := recv.requests()
	require.Len(t, reqs, 4, "three 500s, then one success, then nothing more")
	for _, r := range reqs {
		require.NoError(t, r.signature)
		require.Equal(t, reqs[0].rev.FeedID, r.rev.FeedID, "every attempt carries the same feed id")
		require.Equal(t, 1, r.rev.RevisionSeq)
	}
	feed := h.feed("pms")
	require.Len(t, feed, 1)
	require.Equal(t, 4, feed[0].Attempts)
	require.NotNil(t, feed[0].DeliveredAt)
	require.Zero(t, h.openIncidents("webhook_failed"))
}

func TestAWebhookRefusedForGoodRaisesAnIncidentAndStaysOnTheFeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 1, http.StatusUnauthorized)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", recv.srv.URL)

	h.book("A", "ota-4", 0, h.today.AddDays(2), 1, 1)
	h.book("A", "ota-5", 0, h.today.AddDays(3), 1, 1)
	eventually(t, convergeTimeout, "the webhook_failed incident", func() bool { return h.openIncidents("webhook_failed") >= 1 })
	eventually(t, convergeTimeout, "the other webhook", func() bool { return len(recv.delivered()) == 1 })
	time.Sleep(500 * time.Millisecond)
	require.Len(t, recv.requests(), 2, "a 401 is not retried")
	require.Equal(t, 1, h.openIncidents("webhook_failed"))
	feed := h.feed("pms")
	require.Len(t, feed, 2)
	refused := feed[0]
	if refused.DeliveredAt != nil {
		refused = feed[1]
	}
	require.Contains(t, refused.LastError, "401")
	st := statusOf(t, h, "pms")
	require.Equal(t, 2, st.FeedUnacked)
	require.Equal(t, 1, st.WebhooksFailed)
	require.Zero(t, st.WebhooksPending)

	// Staff retry it once the receiver is fixed: delivered, incident resolved.
	require.NoError(t, h.fan.RetryWebhook(ctx, h.code, "pms", refused.FeedID))
	eventually(t, convergeTimeout, "the retried webhook", func() bool { return len(recv.delivered()) == 2 })
	eventually(t, 10*time.Second, "the incident to be resolved", func() bool { return h.openIncidents("webhook_failed") == 0 })
	require.Equal(t, refused.FeedID, recv.delivered()[1].FeedID)
}

func TestAnAckResolvesTheIncidentOfAFailedWebhook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 1000, http.StatusForbidden)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", recv.srv.URL)

	h.book("A", "ota-6", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook_failed incident", func() bool { return h.openIncidents("webhook_failed") == 1 })
	feed := h.feed("pms")
	require.Len(t, feed, 1, "a revision whose webhook failed stays on the pull feed")
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", feed[0].FeedID))
	require.Zero(t, h.openIncidents("webhook_failed"), "the PMS has the revision")
}

func TestAnUnacknowledgedRevisionRaisesAnIncidentThatTheAckResolves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) {
		c.FeedAckTimeout = 500 * time.Millisecond
	}})
	h.addPMS("pms", "")
	sched := h.fanout()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.RunScheduler(sctx) }()
	t.Cleanup(func() { stop(); <-done })

	h.book("A", "ota-5", 0, h.today.AddDays(2), 1, 1)
	h.book("A", "ota-6", 0, h.today.AddDays(4), 1, 1)
	eventually(t, convergeTimeout, "both revisions on the feed", func() bool { return len(h.feed("pms")) == 2 })
	feed := h.feed("pms")
	// One acked at once raises nothing.
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", feed[0].FeedID))
	eventually(t, convergeTimeout, "the alarm", func() bool { return h.openIncidents("unacked_revision") == 1 })
	var feedID int64
	var msg string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT feed_entry_id, message FROM incidents
		WHERE property_id = $1 AND kind = 'unacked_revision'`, h.id).Scan(&feedID, &msg))
	require.Equal(t, feed[1].FeedID, feedID)
	require.Contains(t, msg, "ota-6")
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 1, h.openIncidents("unacked_revision"), "raised once, not once per check")

	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", feed[1].FeedID))
	require.Zero(t, h.openIncidents("unacked_revision"))
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, h.openIncidents("unacked_revision"), "an acked revision never raises again")
}

func TestWebhooksWaitOutARedisOutage(t *testing.T) {
	t.Parallel()
	redis := synctest.StartRedis(t)
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, redisURL: redis.URL})
	h.addPMS("pms", recv.srv.URL)

	redis.Stop()
	for i := range 10 {
		h.book("A", "outage-"+jsonNumber(int64(i)), 0, h.today.AddDays(1+i), 1, 1)
	}
	eventually(t, convergeTimeout, "the feed entries without Redis", func() bool { return len(h.feed("pms")) == 10 })
	time.Sleep(2 * time.Second)
	require.Empty(t, recv.requests(), "nothing can be delivered without Redis")
	require.Equal(t, 10, statusOf(t, h, "pms").WebhooksPending)
	b, err := h.fan.Backlog(context.Background())
	require.NoError(t, err)
	require.Equal(t, []any{10, 10}, []any{b.WebhooksPending, b.FeedUnacked})
	require.GreaterOrEqual(t, b.FeedOldestUnacked, 2*time.Second)

	redis.Start() // empty: every enqueue the relay tried is gone
	eventually(t, convergeTimeout, "every webhook after Redis returns", func() bool { return len(recv.delivered()) == 10 })
	seen := map[string]bool{}
	for _, r := range recv.delivered() {
		seen[r.ExternalID] = true
	}
	require.Len(t, seen, 10)
}

func TestARemodifiedReservationReachesThePMSInRevisionOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 3, http.StatusBadGateway)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", recv.srv.URL)

	h.book("A", "ota-7", 0, h.today.AddDays(2), 1, 1)
	for i, nights := range []int{2, 3} {
		_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-7",
			Kind: inventory.Modify, Mode: inventory.MustAccept, Version: int64(i + 1),
			Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today.AddDays(2), Departure: h.today.AddDays(2 + nights), Rooms: 1}}})
		require.NoError(t, err)
	}
	eventually(t, convergeTimeout, "three webhooks", func() bool { return len(recv.delivered()) == 3 })
	last := 0
	for _, r := range recv.requests() {
		require.GreaterOrEqual(t, r.rev.RevisionSeq, last, "no revision is sent before an older one got through")
		last = r.rev.RevisionSeq
	}
	got := recv.delivered()
	for i, r := range got {
		require.Equal(t, i+1, r.RevisionSeq)
		require.Equal(t, h.today.AddDays(5), r.Reservation.Departure, "every payload carries the current state")
	}
	require.Equal(t, h.today.AddDays(4), got[1].Stays[0].Departure, "and what its own revision said")
}

func TestAWebhookOutOfRetriesRaisesAnIncident(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 1000, http.StatusInternalServerError)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) { c.MaxRetry = 2 }})
	h.addPMS("pms", recv.srv.URL)

	h.book("A", "ota-8", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook_failed incident", func() bool { return h.openIncidents("webhook_failed") == 1 })
	time.Sleep(time.Second)
	require.Len(t, recv.requests(), 3, "the first attempt and two retries, then nothing")
	feed := h.feed("pms")
	require.Len(t, feed, 1)
	require.Equal(t, 3, feed[0].Attempts)
	require.Contains(t, feed[0].LastError, "500")
	require.Equal(t, 1, statusOf(t, h, "pms").WebhooksFailed)
}

// A PMS whose webhook endpoint redirects (its URL moved to https, say) is
// not sent the revision at the new address: the webhook fails for good at
// once, the incident names where the endpoint points so staff can fix the
// channel's URL, and the revision stays on the pull feed. (Followed, the
// redirect became a GET without the revision, and its 200 counted as
// delivered.)
func TestAWebhookEndpointThatRedirectsRaisesAnIncidentNamingWhereTo(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 0, 0)
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, recv.srv.URL+"/webhooks", http.StatusFound)
	}))
	t.Cleanup(moved.Close)
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.addPMS("pms", moved.URL)

	h.book("A", "ota-9", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the webhook_failed incident", func() bool { return h.openIncidents("webhook_failed") == 1 })
	feed := h.feed("pms")
	require.Len(t, feed, 1)
	require.Nil(t, feed[0].DeliveredAt, "the PMS never got the revision")
	require.Contains(t, feed[0].LastError, recv.srv.URL+"/webhooks")
	var msg string
	require.NoError(t, h.st.DB().QueryRow(context.Background(), `SELECT message FROM incidents
		WHERE property_id = $1 AND kind = 'webhook_failed'`, h.id).Scan(&msg))
	require.Contains(t, msg, recv.srv.URL+"/webhooks")
	require.Empty(t, recv.requests(), "nothing is sent where the endpoint redirects")
}

// Revisions of one reservation reach the PMS's feed in order, with
// several workers relaying: one relay at a time takes a property's rows. (A
// second relay skipped the first's locked row and put the cancellation on
// the feed — and out by webhook — before the booking it cancels, under
// the lower feed id; and a lower id committed after a PMS had read on past
// a higher one was never read by ?after=.)
func TestOneReservationsRevisionsReachTheFeedInOrderWithSeveralRelays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	h.addPMS("pms", recv.srv.URL)
	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Cancel, Mode: inventory.MustAccept})
	require.NoError(t, err)

	// A first relay is at work: it holds the property's relay and the
	// booking's outbox row, its transaction open.
	first, err := h.st.DB().Begin(ctx)
	require.NoError(t, err)
	_, err = first.Exec(ctx, sync.FeedLockSQL, h.id)
	require.NoError(t, err)
	var n int
	require.NoError(t, first.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM outbox WHERE property_id = $1 AND topic = 'reservation'
		AND done_at IS NULL AND revision_seq = 1 FOR UPDATE) AS c`, h.id).Scan(&n))
	require.Equal(t, 1, n)
	// A second one, meanwhile, leaves the property to it.
	_, err = h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)
	for _, e := range h.feed("pms") {
		_ = h.fan.SendWebhookNow(ctx, h.id, e.FeedID)
	}
	require.NoError(t, first.Rollback(ctx))
	_, err = h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)

	feed := h.feed("pms")
	require.Len(t, feed, 2)
	require.Equal(t, 1, feed[0].RevisionSeq, "the feed lists the reservation's revisions oldest first")
	require.Less(t, feed[0].FeedID, feed[1].FeedID)
	for _, w := range recv.delivered() {
		require.NotEqual(t, 2, w.RevisionSeq, "the cancellation reached the PMS before the booking")
	}
}

// A revision made while the PMS had no endpoint is sent (by the sweeper)
// before a later revision of the same reservation made once it has one:
// the webhook waits for every older revision not delivered, not only those
// first meant for a webhook.
func TestARevisionMadeBeforeTheEndpointGoesOutBeforeItsSuccessor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	h.addPMS("pms", "")
	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	_, err := h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)
	url := recv.srv.URL
	_, err = h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{Endpoint: &url}, inventory.System)
	require.NoError(t, err)
	_, err = h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Cancel, Mode: inventory.MustAccept})
	require.NoError(t, err)
	_, err = h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)

	feed := h.feed("pms")
	require.Len(t, feed, 2)
	require.False(t, feed[0].Webhook, "made while the PMS had no endpoint")
	require.Error(t, h.fan.SendWebhookNow(ctx, h.id, feed[1].FeedID), "the cancellation waits for the booking")
	require.Empty(t, recv.delivered())
}

// A PMS channel disabled for a while (an upgrade, a migration) gets the
// bookings taken meanwhile once it is enabled again: on its feed, and by
// webhook. (The relay made entries for enabled PMS channels only.)
func TestAPMSEnabledAgainGetsTheBookingsTakenWhileItWasOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	h.addPMS("pms", recv.srv.URL)
	off, on := false, true
	_, err := h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{Enabled: &off}, inventory.System)
	require.NoError(t, err)
	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	_, err = h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)
	feed := h.feed("pms")
	require.Len(t, feed, 1, "the booking is on the disabled PMS's feed")
	require.NoError(t, h.fan.SendWebhookNow(ctx, h.id, feed[0].FeedID))
	require.Empty(t, recv.delivered(), "no webhook while it is disabled")

	_, err = h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{Enabled: &on}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.fan.Sweep(ctx)) // queues its webhook
	require.True(t, h.feed("pms")[0].Webhook)
	require.NoError(t, h.fan.SendWebhookNow(ctx, h.id, feed[0].FeedID))
	require.Len(t, recv.delivered(), 1, "sent once the PMS is enabled")
}

// A PMS enabled again after a while is sent what reached its feed
// meanwhile, and has the usual time to acknowledge it from then: the
// alarm counted from each revision's arrival, raising one incident per
// revision the moment the PMS came back. Nor does /metrics count a
// disabled PMS's feed as unacknowledged.
func TestAPMSEnabledAgainHasTimeToAcknowledgeWhatCameWhileItWasOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true, config: func(c *sync.Config) { c.FeedAckTimeout = time.Hour }})
	h.addPMS("pms", "")
	off, on := false, true
	_, err := h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{Enabled: &off}, inventory.System)
	require.NoError(t, err)
	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	_, err = h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `UPDATE feed_entries SET created_at = now() - interval '2 hours' WHERE property_id = $1`, h.id)
	require.NoError(t, err)
	b, err := h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, b.FeedUnacked, "the PMS is disabled")

	_, err = h.st.UpdateChannel(ctx, h.code, "pms", inventory.ChannelPatch{Enabled: &on}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.fan.RunDue(ctx))
	require.Zero(t, h.openIncidents("unacked_revision"), "just enabled again: its hour starts now")
	b, err = h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, b.FeedUnacked)
	require.Less(t, b.FeedOldestUnacked, time.Minute)

	_, err = h.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '2 hours' WHERE property_id = $1 AND code = 'pms'`, h.id)
	require.NoError(t, err)
	require.NoError(t, h.fan.RunDue(ctx))
	require.Equal(t, 1, h.openIncidents("unacked_revision"), "an hour after it came back, still not acknowledged")
}

// The alert of a revision the PMS has not acknowledged says since when in
// the hotel's time, as the rest of its alerts page does: it said PostgreSQL's
// UTC rendering of the revision's arrival, to the microsecond ("since
// 2026-12-02 08:15:23.123456+00"), which a front desk on Kiritimati
// (UTC+14) read as a moment of the day before.
func TestAnUnacknowledgedRevisionsAlertSaysSinceWhenInTheHotelsTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true, zone: "Pacific/Kiritimati",
		config: func(c *sync.Config) { c.FeedAckTimeout = time.Hour }})
	h.addPMS("pms", "")
	h.book("A", "ota-1", 0, h.today.AddDays(3), 2, 1)
	_, err := h.fan.RelayReservationsOf(ctx, h.id)
	require.NoError(t, err)
	var arrived time.Time
	require.NoError(t, h.st.DB().QueryRow(ctx, `UPDATE feed_entries SET created_at = now() - interval '2 hours'
		WHERE property_id = $1 RETURNING created_at`, h.id).Scan(&arrived))
	_, err = h.st.DB().Exec(ctx, `UPDATE channels SET enabled_at = now() - interval '3 hours' WHERE property_id = $1`, h.id)
	require.NoError(t, err)
	require.NoError(t, h.fan.RunDue(ctx))
	var msg string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT message FROM incidents
		WHERE property_id = $1 AND kind = 'unacked_revision'`, h.id).Scan(&msg))
	local := arrived.In(h.loc).Format("2006-01-02 15:04") + " +14"
	require.Equal(t, "pms has not acknowledged revision 1 of reservation ota-1 from A since "+local, msg)
}

package sync_test

import (
	"context"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// webhookReads counts, per feed id, the times a worker's webhook handler
// read its feed entry (one read per run of the handler), through the
// fan-out's own connections.
type webhookReads struct {
	mu gosync.Mutex
	n  map[int64]int
}

func (r *webhookReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "s.paused_until - clock_timestamp()") && len(d.Args) == 2 {
		if id, ok := d.Args[1].(int64); ok {
			r.mu.Lock()
			r.n[id]++
			r.mu.Unlock()
		}
	}
	return ctx
}

func (r *webhookReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *webhookReads) of(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[id]
}

// A webhook waiting for an older revision of its reservation while the PMS
// is down looks again about as often as the older one is tried — not
// several times a second, each time querying PostgreSQL and taking a
// worker, for as long as the outage lasts — and, once the PMS is back,
// goes out right after the older one is delivered.
func TestAWebhookWaitingForAnOlderRevisionDoesNotPollThroughAnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reads := &webhookReads{n: map[int64]int{}}
	pmsUp := newPMSEndpoint(t)
	pmsUp.setDown(true)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, config: func(c *sync.Config) {
		c.RetryBase, c.RetryMax = 200*time.Millisecond, 5*time.Second
		pc := c.DB.Config()
		pc.ConnConfig.Tracer = reads
		db, err := pgxpool.NewWithConfig(ctx, pc)
		require.NoError(t, err)
		t.Cleanup(db.Close)
		c.DB = db
	}})
	h.addPMS("pms", pmsUp.srv.URL)

	h.book("A", "ota-1", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "the booking's first attempt", func() bool {
		f := h.feed("pms")
		return len(f) == 1 && f[0].Attempts >= 1
	})
	_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Modify, Mode: inventory.MustAccept, Version: 1,
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today.AddDays(2), Departure: h.today.AddDays(4), Rooms: 1}}})
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the modification on the feed", func() bool { return len(h.feed("pms")) == 2 })
	newer := h.feed("pms")[1].FeedID
	eventually(t, convergeTimeout, "the modification's webhook to wait", func() bool { return reads.of(newer) >= 1 })

	const outage = 5 * time.Second
	looked, tried := reads.of(newer), h.feed("pms")[0].Attempts
	time.Sleep(outage)
	looked, tried = reads.of(newer)-looked, h.feed("pms")[0].Attempts-tried
	t.Logf("in %s of outage the booking's webhook was tried %d times; the waiting modification's looked %d times", outage, tried, looked)
	require.Empty(t, pmsUp.delivered())
	for _, w := range pmsUp.requests() {
		// (Counted from what the PMS got, not as its requests less the
		// booking's recorded attempts: an attempt is recorded after its
		// answer, so a loaded machine could read one in between.)
		require.NotEqual(t, 2, w.rev.RevisionSeq, "the modification was never sent")
	}
	require.LessOrEqual(t, looked, tried+2, "the waiting webhook looks about as often as the older one is tried")

	pmsUp.setDown(false)
	eventually(t, convergeTimeout, "both revisions delivered", func() bool {
		f := h.feed("pms")
		return f[0].DeliveredAt != nil && f[1].DeliveredAt != nil
	})
	require.Equal(t, []string{"ota-1/1", "ota-1/2"}, pmsUp.delivered())
	f := h.feed("pms")
	after := f[1].DeliveredAt.Sub(*f[0].DeliveredAt)
	t.Logf("the modification was delivered %s after the booking", after)
	require.Less(t, after, 2*time.Second, "the modification goes right after the booking once the PMS is back")
}

package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// feedWrites counts, from now on, every update of a row of the hotel's
// feed_entries, telling apart those that record a webhook attempt.
func feedWrites(t *testing.T, h *hotel) (count func() (attempts, others int)) {
	t.Helper()
	ctx := context.Background()
	_, err := h.st.DB().Exec(ctx, `
		CREATE TABLE feed_writes (feed_id bigint NOT NULL, attempt boolean NOT NULL);
		CREATE FUNCTION feed_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO feed_writes VALUES (NEW.id, NEW.attempts <> OLD.attempts); RETURN NEW; END $$;
		CREATE TRIGGER feed_write AFTER UPDATE ON feed_entries FOR EACH ROW EXECUTE FUNCTION feed_write()`)
	require.NoError(t, err)
	return func() (attempts, others int) {
		t.Helper()
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FILTER (WHERE attempt), count(*) FILTER (WHERE NOT attempt)
			FROM feed_writes`).Scan(&attempts, &others))
		return attempts, others
	}
}

// While a PMS's endpoint is down, the webhooks waiting for their next
// retry (and the one waiting for an older revision of its reservation)
// are left alone by the sweeper until that retry is due: it used to
// re-stamp every one of them every StaleAfter (5 s) for as long as the
// outage lasted — a write per pending webhook every few seconds, hours on
// end, each an index update and a dead row. Nothing is lost for it: Redis
// restarting empty in the middle of the outage, every webhook still
// reaches the PMS once it is back, a reservation's revisions in order.
func TestTheSweeperDoesNotRewriteWebhooksWaitingOutAnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	redis := synctest.StartRedis(t)
	pmsUp := newPMSEndpoint(t)
	pmsUp.setDown(true)
	h := newHotel(t, hotelOptions{channels: []string{"A"}, redisURL: redis.URL, config: func(c *sync.Config) {
		c.RetryBase, c.RetryMax = 10*time.Second, 20*time.Second
	}})
	h.addPMS("pms", pmsUp.srv.URL)
	writes := feedWrites(t, h)

	for i, id := range []string{"ota-1", "ota-2", "ota-3"} {
		h.book("A", id, 0, h.today.AddDays(2+2*i), 1, 1)
	}
	eventually(t, convergeTimeout, "every booking's first attempt", func() bool {
		f := h.feed("pms")
		return len(f) == 3 && f[0].Attempts >= 1 && f[1].Attempts >= 1 && f[2].Attempts >= 1
	})
	_, err := h.st.ApplyRevision(ctx, inventory.Revision{Property: h.code, Channel: "A", ExternalID: "ota-1",
		Kind: inventory.Modify, Mode: inventory.MustAccept, Version: 1,
		Stays: []inventory.RoomStay{{RoomType: "R0", Arrival: h.today.AddDays(2), Departure: h.today.AddDays(3), Rooms: 2}}})
	require.NoError(t, err)
	eventually(t, convergeTimeout, "the modification on the feed", func() bool { return len(h.feed("pms")) == 4 })
	// Every webhook has been looked at by the sweeper once it was
	// StaleAfter (1 s here) old.
	time.Sleep(2 * time.Second)

	const outage = 5 * time.Second
	tried0, others0 := writes()
	time.Sleep(outage)
	tried, others := writes()
	tried, others = tried-tried0, others-others0
	t.Logf("in %s of outage, 4 webhooks pending: %d attempts recorded, %d other writes", outage, tried, others)
	require.Empty(t, pmsUp.delivered())
	require.LessOrEqual(t, others, 4+tried,
		"the pending webhooks are rewritten at most once per attempt (each notes when to look at it next), not every StaleAfter")

	// Redis restarts empty: every waiting retry is lost. The PMS is back.
	redis.Stop()
	redis.Start()
	pmsUp.setDown(false)
	eventually(t, convergeTimeout, "every webhook delivered", func() bool { return len(pmsUp.delivered()) == 4 })
	got := strings.Join(pmsUp.delivered(), " ")
	for _, want := range []string{"ota-1/1", "ota-1/2", "ota-2/1", "ota-3/1"} {
		require.Contains(t, got, want)
	}
	require.Less(t, strings.Index(got, "ota-1/1"), strings.Index(got, "ota-1/2"), "a reservation's revisions in order: %s", got)
	// The PMS records a webhook as it arrives; keyrack records it delivered
	// once the answer is back.
	eventually(t, convergeTimeout, "every webhook recorded delivered", func() bool {
		for _, e := range h.feed("pms") {
			if e.DeliveredAt == nil {
				return false
			}
		}
		return true
	})
}

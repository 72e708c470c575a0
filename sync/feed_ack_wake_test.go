package sync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// A PMS that takes webhooks and reads the pull feed too may acknowledge
// on the feed a revision whose webhook it keeps failing on: the newer
// revision of the same reservation, whose webhook waited for that one,
// goes out at once — not at the end of the wait that followed the older
// one's retries (ten seconds and more here; up to ten minutes in
// production).
func TestAcknowledgingAnOlderRevisionOnTheFeedSendsTheNewerOneAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, pmsUp, older := waitingModification(t, "")
	require.Equal(t, []string(nil), pmsUp.delivered())

	// The PMS read the booking on the feed and acknowledges it.
	acked := time.Now()
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", older))
	eventually(t, convergeTimeout, "the modification delivered", func() bool {
		return len(pmsUp.delivered()) == 1
	})
	took := time.Since(acked)
	t.Logf("the modification was delivered %s after the booking was acknowledged", took)
	require.Equal(t, []string{"ota-1/2"}, pmsUp.delivered())
	require.Less(t, took, 5*time.Second, "the acknowledgement wakes the revision that waited for the acknowledged one")
}

// The same after Redis restarted empty while the newer revision waited:
// its task is gone, and the acknowledgement enqueues it again rather than
// leave it to the sweeper, which looks for it only once its wait would
// have ended.
func TestAcknowledgingAnOlderRevisionSendsTheNewerOneAtOnceAfterRedisLostIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	redis, h, pmsUp, older := modificationLeftToItsTask(t)
	redis.Stop()
	redis.Start() // empty: both waiting tasks are gone
	// The fan-out's own connections reach it again: after the dials that
	// failed while Redis was down, its client dials again only once a
	// second, and an acknowledgement before then finds Redis down — a wake
	// that is lost, which is not what this test is about (on a busy CI
	// machine the modification then went at the end of its wait, 13–18 s).
	eventually(t, convergeTimeout, "the fan-out to reach Redis again", func() bool {
		_, err := h.fan.Archived(ctx)
		return err == nil
	})

	acked := time.Now()
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", older))
	eventually(t, convergeTimeout, "the modification delivered", func() bool { return len(pmsUp.delivered()) == 1 })
	took := time.Since(acked)
	t.Logf("the modification was delivered %s after the booking was acknowledged", took)
	require.Equal(t, []string{"ota-1/2"}, pmsUp.delivered())
	require.Less(t, took, 5*time.Second, "the acknowledgement enqueues the revision that waited, lost with Redis")
}

// modificationLeftToItsTask is waitingModification on a Redis of the
// test's own, once the sweeper has looked at both webhooks and left them
// to their tasks until they are due (it moves their queued_at there): it
// does not send the modification by itself soon after Redis loses its
// task.
func modificationLeftToItsTask(t *testing.T) (redis *synctest.RedisServer, h *hotel, pmsUp *pmsEndpoint, older int64) {
	t.Helper()
	redis = synctest.StartRedis(t)
	h, pmsUp, older = waitingModification(t, redis.URL)
	eventually(t, convergeTimeout, "the sweeper to leave both webhooks to their tasks", func() bool {
		var n int
		require.NoError(t, h.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM feed_entries WHERE queued_at > now()`).Scan(&n))
		return n == 2
	})
	return redis, h, pmsUp, older
}

// waitingModification is a hotel whose PMS channel fails every webhook of
// a reservation's first revision (its endpoint answers 503) and takes the
// rest, with a booking on channel A and its modification, whose webhook
// waits for the booking's: the booking's feed id.
func waitingModification(t *testing.T, redisURL string) (h *hotel, pmsUp *pmsEndpoint, older int64) {
	t.Helper()
	ctx := context.Background()
	reads := &webhookReads{n: map[int64]int{}}
	pmsUp = newPMSEndpoint(t)
	pmsUp.answer = func(wh webhook) int {
		if wh.rev.RevisionSeq == 1 {
			return http.StatusServiceUnavailable // this one never gets through by webhook
		}
		return http.StatusNoContent
	}
	h = newHotel(t, hotelOptions{channels: []string{"A"}, redisURL: redisURL, config: func(c *sync.Config) {
		c.RetryBase, c.RetryMax = 10*time.Second, time.Minute
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
	f := h.feed("pms")
	newer := f[1].FeedID
	eventually(t, convergeTimeout, "the modification's webhook to wait for the booking's", func() bool { return reads.of(newer) >= 1 })
	return h, pmsUp, f[0].FeedID
}

// An acknowledgement in the second after Redis came back — keyrack's
// client, after the dials that failed while it was down, dials again only
// once a second — still sends the revision that waited at once: the wake
// tries for its 2 s, not once.
func TestAnAcknowledgementJustAfterRedisReturnsSendsTheNewerRevisionAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	redis, h, pmsUp, older := modificationLeftToItsTask(t)
	redis.Stop()
	// Long enough for keyrack's processes to fail their dials.
	for range 20 {
		_, _ = h.fan.Archived(ctx)
		time.Sleep(50 * time.Millisecond)
	}
	redis.Start() // empty: the waiting tasks are gone

	acked := time.Now()
	require.NoError(t, h.fan.Ack(ctx, h.code, "pms", older))
	eventually(t, convergeTimeout, "the modification delivered", func() bool { return len(pmsUp.delivered()) == 1 })
	took := time.Since(acked)
	t.Logf("the modification was delivered %s after the booking was acknowledged", took)
	require.Less(t, took, 5*time.Second, "the acknowledgement's wake waited for Redis's client")
}

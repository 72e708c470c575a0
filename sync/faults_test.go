package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

func TestRedisDownForTenSecondsLosesNothing(t *testing.T) {
	t.Parallel()
	redis := synctest.StartRedis(t)
	h := newHotel(t, hotelOptions{units: []int{300, 300}, redisURL: redis.URL}).primed()

	redis.Stop()
	stopped := time.Now()
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 200 {
		c := h.channels[rng.IntN(len(h.channels))]
		h.book(c, fmt.Sprintf("outage-%d", i), rng.IntN(2), h.today.AddDays(1+rng.IntN(20)), 1+rng.IntN(3), 1)
		time.Sleep(40 * time.Millisecond) // 200 bookings over about 8 s
	}
	// Bookings go on while Redis is down, and the relay still turns the
	// outbox into dirty marks in PostgreSQL.
	eventually(t, convergeTimeout, "the relay to take every outbox row without Redis", func() bool { return h.pendingOutbox() == 0 })
	st, err := h.status()
	require.NoError(t, err)
	for _, s := range st {
		require.False(t, s.InSync, "channel %s cannot have been delivered to without Redis", s.Channel)
	}
	time.Sleep(time.Until(stopped.Add(10 * time.Second)))

	// Redis comes back empty (it kept nothing on disk): every wake-up the
	// relay could not enqueue, and every task Redis held, is gone.
	redis.Start()
	h.waitConverged()
	require.Zero(t, h.pendingOutbox(), "no outbox row left behind")
	archived, err := h.fan.Archived(context.Background())
	require.NoError(t, err)
	require.Empty(t, archived)
}

func TestAWorkerKilledMidDeliveryIsRetried(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{noWorker: true})
	worker := h.startWorkerProcess() // h.fan only resyncs and reads status: the worker is the other process
	h.primed()
	time.Sleep(h.cfg.EchoWindow + 200*time.Millisecond) // A is quiet: its booking is not echoed
	arrival := h.today.AddDays(4)

	h.tc["B"].Hold()
	h.book("A", "A-kill", 0, arrival, 2, 3)
	eventually(t, convergeTimeout, "the delivery to B to be in flight", func() bool { return h.tc["B"].InFlight() == 1 })
	require.NoError(t, worker.Process.Signal(syscall.SIGKILL))
	_ = worker.Wait()
	// The channel saw its caller vanish and did not apply the update.
	eventually(t, convergeTimeout, "B to drop the update of the dead worker", func() bool { return h.tc["B"].Stats().Abandoned == 1 })
	h.tc["B"].Release()
	got, _ := h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 10, got, "B cannot know of the booking yet")

	h.startWorker() // a new worker, as a supervisor would start
	h.waitConverged()
	require.GreaterOrEqual(t, h.tc["B"].Stats().Applied, 1, "the delivery was retried")
	got, _ = h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 7, got)
	require.Zero(t, h.tc["A"].Stats().Applied, "still no echo to A")
}

func TestAFlakyChannelAndAThrottlingOneBothConverge(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{units: []int{200}}).primed()
	h.tc["B"].FailShare(0.5)
	h.tc["C"].Limit(2, time.Second) // beyond 2 requests a second: 429 with Retry-After

	rng := rand.New(rand.NewPCG(5, 5))
	for i := range 100 {
		c := []string{"A", "D"}[i%2]
		h.book(c, fmt.Sprintf("flaky-%d", i), 0, h.today.AddDays(1+rng.IntN(15)), 1+rng.IntN(2), 1)
		time.Sleep(20 * time.Millisecond)
	}
	h.waitConverged()
	require.Positive(t, h.tc["B"].Stats().Failed, "B must have failed some requests")
	require.Positive(t, h.tc["C"].Stats().Throttled, "C must have answered 429 to some requests")
	t.Logf("B: %+v", h.tc["B"].Stats())
	t.Logf("C: %+v", h.tc["C"].Stats())
	archived, err := h.fan.Archived(context.Background())
	require.NoError(t, err)
	require.Empty(t, archived, "failures within the budget archive nothing")
	st, err := h.status()
	require.NoError(t, err)
	for _, s := range st {
		require.False(t, s.Archived, s.Channel)
	}
}

func TestADeliveryOutOfRetriesIsArchivedVisibleAndRetryable(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) {
		c.MaxRetry = 2
		c.RetryBase = 20 * time.Millisecond
		c.RetryMax = 100 * time.Millisecond
	}}).primed()
	ctx := context.Background()
	arrival := h.today.AddDays(2)
	h.tc["B"].FailAll(true)
	h.book("A", "A-dead", 0, arrival, 1, 1)
	h.waitConverged("C", "D")

	var archived []sync.ArchivedTask
	eventually(t, convergeTimeout, "the delivery to B to be archived", func() bool {
		var err error
		archived, err = h.fan.Archived(ctx)
		require.NoError(t, err)
		return len(archived) > 0
	})
	require.Len(t, archived, 1)
	a := archived[0]
	require.Equal(t, h.code, a.Property)
	require.Equal(t, "B", a.Channel)
	require.Equal(t, 2, a.Retried)
	require.Contains(t, a.LastError, "HTTP 500")
	require.Equal(t, 3, h.tc["B"].Stats().Failed, "one attempt and two retries")
	st := statusOf(t, h, "B")
	require.True(t, st.Archived)
	require.False(t, st.InSync)
	require.Contains(t, st.LastError, "HTTP 500")
	b, err := h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, []any{1, 1, int64(3)}, []any{b.DeadLettered, b.ChannelsPending["change"], b.Failures},
		"B dead-lettered, its change pending, three attempts failed")

	// Archived means left alone: the sweeper does not resurrect it.
	time.Sleep(3 * h.cfg.SweepInterval)
	require.Equal(t, 3, h.tc["B"].Stats().Failed)

	h.tc["B"].FailAll(false)
	require.NoError(t, h.fan.RetryArchived(ctx, a.Queue, a.ID))
	h.waitConverged()
	archived, err = h.fan.Archived(ctx)
	require.NoError(t, err)
	require.Empty(t, archived)
	b, err = h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, []any{0, 0}, []any{b.DeadLettered, b.ChannelsPending["change"]})
	got, _ := h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 9, got)
	require.False(t, statusOf(t, h, "B").Archived)
}

func TestAChannelRefusingOurCredentialsIsArchivedAtOnce(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{}).primed()
	h.tc["C"].RequireCredentials("keyrack-C", "a new password keyrack does not know")
	h.book("A", "A-401", 0, h.today.AddDays(1), 1, 1)
	eventually(t, convergeTimeout, "the delivery to C to be archived", func() bool {
		a, err := h.fan.Archived(context.Background())
		require.NoError(t, err)
		return len(a) == 1 && a[0].Channel == "C" && strings.Contains(a[0].LastError, "HTTP 401")
	})
	require.Equal(t, 1, h.tc["C"].Stats().Unauthorized, "a permanent failure is not retried")
	h.waitConverged("B", "D")
}

func TestAnOlderStateCanNeverOverwriteANewerOne(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{}).primed()
	ctx := context.Background()
	arrival := h.today.AddDays(2)

	// A slow delivery of an older state is in flight to B …
	h.tc["B"].Hold()
	h.book("A", "old-1", 0, arrival, 1, 1) // 9 left
	eventually(t, convergeTimeout, "the first delivery to B to be in flight", func() bool { return h.tc["B"].InFlight() == 1 })
	// … while newer changes land, and asynq hands out duplicate deliveries.
	h.book("C", "new-1", 0, arrival, 1, 1) // 8 left
	h.book("D", "new-2", 0, arrival, 1, 2) // 6 left
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- h.fan.DeliverNow(ctx, h.id, h.chanIDs["B"]) }()
	}
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 1, h.tc["B"].InFlight(), "the other deliveries wait for the one in flight")
	h.tc["B"].Release()
	for range 2 {
		require.NoError(t, <-errs)
	}
	h.waitConverged()

	got, _ := h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 6, got)
	require.Equal(t, 1, h.tc["B"].Stats().MaxInFlight, "deliveries to one channel never overlap")
	var seen []int
	for _, r := range h.tc["B"].Received() {
		for _, it := range r.Request.Availability {
			if !arrival.Before(it.From) && arrival.Before(it.To) {
				seen = append(seen, it.Available)
			}
		}
	}
	require.NotEmpty(t, seen)
	for i := 1; i < len(seen); i++ {
		require.LessOrEqual(t, seen[i], seen[i-1], "B was sent an older value after a newer one: %v", seen)
	}
	require.Equal(t, 6, seen[len(seen)-1])

	// The acknowledgement is the newest state; recording an older one late
	// (a delivery that read before the last change) changes nothing.
	var value int
	var version, nightVersion int64
	load := func() {
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT a.available, a.version, n.version FROM sync_acks a
			JOIN nights n ON n.property_id = a.property_id AND n.pool_id = a.pool_id AND n.night = a.night
			WHERE a.channel_id = $1 AND a.night = $2`, h.chanIDs["B"], arrival).Scan(&value, &version, &nightVersion))
	}
	load()
	require.Equal(t, 6, value)
	require.Equal(t, nightVersion, version)
	require.NoError(t, h.fan.RecordAck(ctx, h.id, h.chanIDs["B"], h.poolIDs[0], arrival, 9, version-1))
	load()
	require.Equal(t, 6, value)
	require.Equal(t, nightVersion, version)
}

func TestChannelRateLimitDelaysAndCoalescesInsteadOfDropping(t *testing.T) {
	t.Parallel()
	const limit, window = 2, 2 * time.Second
	h := newHotel(t, hotelOptions{units: []int{100}, rateLimit: map[string]int{"B": limit},
		config: func(c *sync.Config) { c.RateWindow = window }}).primed()
	// The channel enforces a slightly tighter limit than keyrack keeps to,
	// so a request that keyrack let through too early would meet a 429.
	h.tc["B"].Limit(limit, window-200*time.Millisecond)

	const bookings = 30
	for i := range bookings {
		h.book("A", fmt.Sprintf("rl-%d", i), 0, h.today.AddDays(1+i%10), 1, 1)
		time.Sleep(100 * time.Millisecond)
	}
	h.waitConverged()
	got := h.tc["B"].Received()
	t.Logf("B: %d requests for %d bookings", len(got), bookings)
	require.Less(t, len(got), bookings/2, "the rate limit coalesces changes")
	require.Zero(t, h.tc["B"].Stats().Throttled, "keyrack kept to the limit")
	for i := limit; i < len(got); i++ {
		require.GreaterOrEqual(t, got[i].At.Sub(got[i-limit].At), window-200*time.Millisecond,
			"more than %d requests within %s", limit, window)
	}
	archived, err := h.fan.Archived(context.Background())
	require.NoError(t, err)
	require.Empty(t, archived, "waiting for the rate limit is not a failure")
}

func statusOf(t testing.TB, h *hotel, channel string) sync.ChannelStatus {
	t.Helper()
	st, err := h.status()
	require.NoError(t, err)
	for _, s := range st {
		if s.Channel == channel {
			return s
		}
	}
	t.Fatalf("no status for channel %s", channel)
	return sync.ChannelStatus{}
}

// The sweeper does not revive a channel whose delivery has just ended: the
// delivery releases the pair's lock in its last statement, just before it
// commits clearing the marks, and the sweeper must not act on the marks it
// saw before that commit (it did, a few times a second under load, logging
// "delivery stopped" for channels that were up to date).
func TestTheSweeperLeavesAChannelWhoseDeliveryIsCommitting(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	f := h.fan
	ctx := context.Background()
	db := h.st.DB()
	b := h.chanIDs["B"]
	require.NoError(t, f.DeliverNow(ctx, h.id, b))
	_, err := db.Exec(ctx, `INSERT INTO sync_channels (property_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, h.id, b)
	require.NoError(t, err)
	h.insertChangeMark(db, "B", 0, h.today, h.today.AddDays(1))

	// A delivery's last transaction: the pair's row updated and the marks
	// cleared, not committed yet; the pair's lock is free already.
	tx, err := db.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `UPDATE sync_channels SET deliveries = deliveries + 1 WHERE property_id = $1 AND channel_id = $2`, h.id, b)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `DELETE FROM sync_dirty WHERE property_id = $1 AND channel_id = $2`, h.id, b)
	require.NoError(t, err)

	swept := make(chan error, 1)
	go func() { swept <- f.Sweep(ctx) }()
	time.Sleep(300 * time.Millisecond) // the sweeper found the marks, and waits for the row
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, <-swept)
	var queued *string
	require.NoError(t, db.QueryRow(ctx, `SELECT queued FROM sync_channels WHERE property_id = $1 AND channel_id = $2`, h.id, b).Scan(&queued))
	require.Nil(t, queued, "no task for a channel with nothing left to deliver")
}

// A channel that answers 429 to a task's last allowed attempt is not
// dead-lettered: asynq retries the task after Retry-After without counting
// the attempt, so staff must not see the channel as out of retries (status,
// channels page, keyrack_sync_channels_dead_lettered), and the sweeper must
// go on watching it.
func TestAChannelThrottlingTheLastAttemptIsNotDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	ctx := context.Background()
	h.tc["B"].Limit(1, time.Minute) // the resync uses B's one request of the minute
	require.NoError(t, h.fan.Resync(ctx, h.code, "B"))
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, h.chanIDs["B"]))
	h.book("A", "A-1", 0, h.today.AddDays(2), 1, 1)
	_, err := h.fan.RelayNow(ctx)
	require.NoError(t, err)

	err, archives := h.fan.DeliverLastAttempt(ctx, h.id, h.chanIDs["B"])
	require.ErrorContains(t, err, "429")
	require.False(t, archives, "asynq retries a 429, last attempt or not")
	st := statusOf(t, h, "B")
	require.False(t, st.Archived, "B's task waits out Retry-After, yet B is shown as dead-lettered")
	require.Equal(t, "critical", st.Queued, "the task that comes back is recorded as the one that waits")
	b, err := h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, b.DeadLettered)
}

// A dead letter is an open failure only until its channel is up to date
// again: once the next booking has woken the channel and a delivery has
// brought it up to date, staff no longer see it on the alerts page, the
// channels page or in GET …/incidents — which agree with the channel's
// status and the dead-lettered metric — and the next outage shows its own
// dead letter alone, not one more for every outage before.
func TestADeadLetterIsNoLongerListedOnceItsChannelCatchesUp(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) {
		c.MaxRetry = 2
		c.RetryBase = 20 * time.Millisecond
		c.RetryMax = 100 * time.Millisecond
	}}).primed()
	ctx := context.Background()
	deadLetters := func() ([]sync.ArchivedTask, int) {
		a, err := h.fan.Archived(ctx)
		require.NoError(t, err)
		b, err := h.fan.Backlog(ctx)
		require.NoError(t, err)
		return a, b.DeadLettered
	}
	outage := func(booking string, night inventory.Date, before string) sync.ArchivedTask {
		h.tc["B"].FailAll(true)
		h.book("A", booking, 0, night, 1, 1)
		// Listed once, as the status and the metric say, and this outage's
		// task, not the one before — all read at one moment (the channel
		// is recorded as dead-lettered just before asynq archives its task,
		// and a wake-up of B meanwhile, failing again, passes through
		// other states).
		var a []sync.ArchivedTask
		eventually(t, convergeTimeout, "B's dead letter, listed once", func() bool {
			var metric int
			a, metric = deadLetters()
			return len(a) == 1 && a[0].Channel == "B" && a[0].ID != before && metric == 1 && statusOf(t, h, "B").Archived
		})
		return a[0]
	}

	first := outage("A-dead", h.today.AddDays(2), "")
	// B is back; the next booking wakes it and it catches up on everything.
	h.tc["B"].FailAll(false)
	h.book("A", "A-next", 0, h.today.AddDays(5), 1, 1)
	h.waitConverged()
	require.False(t, statusOf(t, h, "B").Archived)
	a, metric := deadLetters()
	require.Empty(t, a, "B is up to date, yet its dead letter is listed as an open failed delivery")
	require.Zero(t, metric)

	outage("A-again", h.today.AddDays(7), first.ID)
	eventually(t, convergeTimeout, "the first outage's dead letter dropped as the second is archived", func() bool {
		kept, err := h.fan.DeadLettersKept()
		require.NoError(t, err)
		return kept == 1
	})
}

// Staff retry a dead letter once the channel is said to be back (README:
// "RetryArchived runs it again", "with a fresh retry budget"). A channel
// just back from an outage often fails once more; the retried task must
// then be retried with backoff like any other, not archived again at its
// first failure.
func TestARetriedDeadLetterGetsAFreshRetryBudget(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) {
		c.MaxRetry = 2
		c.RetryBase = time.Second
		c.RetryMax = time.Second
	}}).primed()
	ctx := context.Background()
	arrival := h.today.AddDays(2)
	h.tc["B"].FailAll(true)
	h.book("A", "A-dead", 0, arrival, 1, 1)
	var archived []sync.ArchivedTask
	eventually(t, convergeTimeout, "the delivery to B to be archived", func() bool {
		var err error
		archived, err = h.fan.Archived(ctx)
		require.NoError(t, err)
		return len(archived) == 1
	})
	failed := h.tc["B"].Stats().Failed
	require.Equal(t, 3, failed, "one attempt and two retries")

	require.NoError(t, h.fan.RetryArchived(ctx, archived[0].Queue, archived[0].ID))
	eventually(t, convergeTimeout, "the retried task's first attempt", func() bool { return h.tc["B"].Stats().Failed > failed })
	h.tc["B"].FailAll(false) // B is back for good a moment later
	from, to := h.horizon()
	deadline := time.Now().Add(20 * time.Second)
	for len(h.mismatches(from, to, "B")) > 0 {
		if time.Now().After(deadline) {
			st := statusOf(t, h, "B")
			t.Fatalf("B never caught up after staff retried its dead letter: its retried task failed %d time(s) and is archived=%v again (last error %q); %d requests since",
				h.tc["B"].Stats().Failed-failed, st.Archived, st.LastError, h.tc["B"].Stats().Failed-failed)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A dead letter survives Redis restarting empty: the channel's status and
// keyrack_sync_channels_dead_lettered still say it is out of retries, so
// the alerts page, the channels page and GET …/incidents must still list it
// for staff to retry (or the channel must be retried by itself). Otherwise
// the metric says 1, the pages say none, there is no retry button, and the
// channel stays stale until the next booking on its pools.
func TestADeadLetterIsStillListedAfterRedisRestartsEmpty(t *testing.T) {
	t.Parallel()
	redis := synctest.StartRedis(t)
	h := newHotel(t, hotelOptions{redisURL: redis.URL, config: func(c *sync.Config) {
		c.MaxRetry = 2
		c.RetryBase = 20 * time.Millisecond
		c.RetryMax = 100 * time.Millisecond
	}}).primed()
	ctx := context.Background()
	arrival := h.today.AddDays(2)
	h.tc["B"].FailAll(true)
	h.book("A", "A-dead", 0, arrival, 1, 1)
	eventually(t, convergeTimeout, "the delivery to B to be archived", func() bool {
		a, err := h.fan.Archived(ctx)
		require.NoError(t, err)
		return len(a) == 1
	})
	redis.Stop()
	redis.Start() // empty: it kept nothing on disk
	h.tc["B"].FailAll(false)

	eventually(t, convergeTimeout, "Redis to answer again", func() bool {
		_, err := h.fan.Archived(ctx)
		return err == nil
	})
	var b sync.Backlog
	var a []sync.ArchivedTask
	caughtUp := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !caughtUp; time.Sleep(100 * time.Millisecond) {
		var err error
		b, err = h.fan.Backlog(ctx)
		require.NoError(t, err)
		a, err = h.fan.Archived(ctx)
		require.NoError(t, err)
		caughtUp = len(h.mismatches(h.horizon())) == 0
	}
	require.True(t, caughtUp || len(a) == b.DeadLettered,
		"after Redis restarted empty: keyrack_sync_channels_dead_lettered=%d and B's status archived=%v, but %d dead letters listed for staff to retry, and B still stale: %v",
		b.DeadLettered, statusOf(t, h, "B").Archived, len(a), h.mismatches(h.horizon()))
}

// A channel that takes the connection and never answers holds nobody up:
// its push times out (PushTimeout), the others are delivered meanwhile, the
// failure is recorded, its lock is released (a retry, not LockWait later,
// brings it up to date once it answers again).
func TestAChannelThatNeverAnswersTimesOutAndHoldsNoOneUp(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) {
		c.PushTimeout = 2 * time.Second
		c.RetryBase = 500 * time.Millisecond
		c.RetryMax = time.Second
	}}).primed()
	arrival := h.today.AddDays(3)
	h.tc["B"].Hold()
	start := time.Now()
	h.book("A", "A-hang", 0, arrival, 2, 1)
	h.waitConverged("C", "D")
	t.Logf("C and D converged after %s while B hangs", time.Since(start))
	eventually(t, convergeTimeout, "B's push to time out and be recorded", func() bool {
		st := statusOf(t, h, "B")
		return st.LastError != "" && h.tc["B"].Stats().Abandoned >= 1
	})
	t.Logf("B's recorded error: %q", statusOf(t, h, "B").LastError)
	h.tc["B"].Release()
	released := time.Now()
	h.waitConverged()
	t.Logf("B converged %s after it answered again", time.Since(released))
	require.Less(t, time.Since(released), 30*time.Second, "B waited for a lock")
}

// Redis restarts empty while a channel's delivery waits for its retry (its
// backoff long): the retry is lost with Redis, yet the channel catches up
// without a new booking — the sweeper finds its marks and no task.
func TestARetryLostWithRedisIsDeliveredWithoutANewBooking(t *testing.T) {
	t.Parallel()
	redis := synctest.StartRedis(t)
	h := newHotel(t, hotelOptions{redisURL: redis.URL, config: func(c *sync.Config) {
		c.RetryBase = 5 * time.Minute
		c.RetryMax = 10 * time.Minute
	}}).primed()
	h.tc["B"].FailAll(true)
	h.book("A", "A-lost", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "B's first attempt to fail", func() bool { return h.tc["B"].Stats().Failed >= 1 })
	redis.Stop()
	redis.Start()
	h.tc["B"].FailAll(false)
	start := time.Now()
	h.waitConverged()
	t.Logf("B converged %s after Redis came back empty", time.Since(start))
}

// While the outbox relay cannot write the dirty marks (the disk is full,
// or its statements time out), a booking's change waits in the outbox and
// no channel has it; staff must not be told the channels are in sync. Once
// PostgreSQL takes writes again, every channel catches up by itself.
func TestAChangeTheRelayCannotWriteIsNotShownInSync(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{}).primed()
	heal := relayCannotWrite(t, h)
	arrival := h.today.AddDays(2)
	h.book("A", "A-full", 0, arrival, 1, 1)
	time.Sleep(2 * time.Second) // the relay has tried, many times
	require.Positive(t, h.pendingOutbox(), "the relay cannot have taken the row")
	got, _ := h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 10, got, "B cannot know of the booking")
	st := statusOf(t, h, "B")
	require.False(t, st.InSync, "B is shown in sync (dirty nights %d, last error %q) while the booking's change waits in the outbox and B holds %d instead of 9",
		st.DirtyNights, st.LastError, got)
	heal()
}

// relayCannotWrite makes PostgreSQL refuse the relay's writes of the dirty
// marks as a full disk would (SQLSTATE 53100), until heal is called.
func relayCannotWrite(t *testing.T, h *hotel) (heal func()) {
	t.Helper()
	ctx := context.Background()
	_, err := h.st.DB().Exec(ctx, `
		CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION USING ERRCODE = 'disk_full', MESSAGE = 'could not extend file: No space left on device'; END $$;
		CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON sync_dirty FOR EACH ROW EXECUTE FUNCTION disk_full()`)
	require.NoError(t, err)
	return func() {
		_, err := h.st.DB().Exec(ctx, `DROP TRIGGER disk_full ON sync_dirty`)
		require.NoError(t, err)
	}
}

// The same outage, healed: every channel catches up by itself.
func TestChannelsCatchUpOnceTheRelayCanWriteAgain(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{}).primed()
	heal := relayCannotWrite(t, h)
	for i := range 20 {
		h.book("A", fmt.Sprintf("A-full-%d", i), 0, h.today.AddDays(1+i%10), 1, 1)
	}
	time.Sleep(2 * time.Second)
	require.Positive(t, h.pendingOutbox())
	heal()
	start := time.Now()
	h.waitConverged()
	t.Logf("converged %s after the relay could write again", time.Since(start))
}

// A channel counts a request when it handles it, which may be well after
// keyrack sent it (a slow network, a busy channel); keyrack counts it until
// its answer came back, so the request after the window never reaches a
// channel that still counts the slow one.
func TestARateLimitedRequestCountsUntilItsAnswer(t *testing.T) {
	t.Parallel()
	const limit, window = 2, 2 * time.Second
	h := newHotel(t, hotelOptions{units: []int{100}, rateLimit: map[string]int{"B": limit},
		config: func(c *sync.Config) { c.RateWindow = window }}).primed()
	h.tc["B"].Limit(limit, window-200*time.Millisecond)
	time.Sleep(window) // the priming's requests are out of keyrack's window

	// The first request takes the channel 700 ms to handle; the rest none.
	h.tc["B"].Delay(700 * time.Millisecond)
	h.book("A", "slow-0", 0, h.today.AddDays(1), 1, 1)
	eventually(t, convergeTimeout, "the slow request to be handled", func() bool { return len(h.tc["B"].Received()) == 1 })
	h.tc["B"].Delay(0)
	for i := range 12 {
		h.book("A", fmt.Sprintf("fast-%d", i), 0, h.today.AddDays(2+i%5), 1, 1)
		time.Sleep(100 * time.Millisecond)
	}
	h.waitConverged()
	require.Greater(t, len(h.tc["B"].Received()), limit, "requests after the first window")
	require.Zero(t, h.tc["B"].Stats().Throttled, "keyrack kept to the limit as the channel counts it")
}

// A worker process that cannot reach Redis — a wrong REDIS_URL in its unit
// file, or a network that cuts it off from Redis alone — still runs its
// relay beside the other workers and takes its share of the changes. The
// channels and PMS webhooks it marks queued, with no task in Redis, waited
// for the other workers' sweepers to find them stale (StaleAfter, 5 s): in
// the multi-process drill every channel's fan-out was held back for seconds
// at a time while nothing told staff why. It now hands back at once what it
// could not enqueue, and a worker that reaches Redis delivers it.
func TestAWorkerThatCannotReachRedisHandsItsWakeUpsToTheOthers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recv := newReceiver(t, 0, 0)
	h := newHotel(t, hotelOptions{noWorker: true, config: func(c *sync.Config) {
		// A queued task is looked for in Redis only after an hour: what
		// reaches the channels here does not come from that check.
		c.StaleAfter = time.Hour
	}})
	h.addPMS("pms", recv.srv.URL)
	run := func(f *sync.Fanout) (stop func()) {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.RunWorker(wctx) }()
		return func() { cancel(); <-done }
	}
	stop := run(h.fanout())
	h.primed()
	stop()

	// The worker without Redis, alone: it takes the booking's changes.
	t.Cleanup(run(withoutRedis(t, h.cfg)))
	arrival := h.today.AddDays(3)
	h.book("A", "cut-off-1", 0, arrival, 2, 4)
	eventually(t, convergeTimeout, "the worker without Redis to relay the booking", func() bool {
		var n int
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE done_at IS NULL`).Scan(&n))
		return n == 0 && len(h.feed("pms")) == 1
	})
	require.False(t, h.inSync("B"), "B is marked, not delivered: the worker without Redis can wake nobody")

	// A worker that reaches Redis delivers it, without waiting for the
	// task the other could not enqueue to go stale.
	h.startWorker()
	h.waitConverged("B", "C", "D")
	got, _ := h.tc["B"].Value(h.room("B", 0), arrival)
	require.Equal(t, 6, got)
	eventually(t, convergeTimeout, "the PMS's webhook", func() bool { return len(recv.delivered()) == 1 })
	require.Equal(t, "cut-off-1", recv.delivered()[0].ExternalID)
}

// A channel whose deliveries wait for its rate limit says so in its status.
// In the multi-process drill (5 bookings a second on OTAs taking 60
// requests a minute) expedia and bookingcom stood "pending for 41s (155
// nights, queued)" every minute with nothing saying why — after a worker
// had just been killed, staff could not tell a channel held back by its
// own limit from one left stuck.
func TestAChannelHeldBackByItsRateLimitSaysSo(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B", "C"}, rateLimit: map[string]int{"B": 1},
		config: func(c *sync.Config) { c.RateWindow = time.Hour }}).primed() // the resync took B's one request
	require.Empty(t, statusOf(t, h, "B").LastError)
	h.tc["C"].Limit(1, time.Hour) // C's own limit: beyond it, 429 with a Retry-After of about an hour

	h.book("A", "held-back", 0, h.today.AddDays(2), 1, 1)
	eventually(t, convergeTimeout, "C to take the first booking", func() bool { return len(h.tc["C"].Received()) == 1 })
	h.book("A", "held-back-2", 0, h.today.AddDays(3), 1, 1)
	eventually(t, convergeTimeout, "B's status to say why it waits", func() bool {
		return statusOf(t, h, "B").LastError != ""
	})
	s := statusOf(t, h, "B")
	require.Contains(t, s.LastError, "not sent yet: the channel's rate limit (1 request per 1h0m0s) is used up")
	require.Regexp(t, `the next push goes in about (1h0m0s|59m\d+s), with every change made meanwhile$`, s.LastError)
	require.False(t, s.InSync)
	require.Zero(t, s.Failures, "waiting for the rate limit is not a failure")
	require.Empty(t, h.tc["B"].Received(), "nothing was sent past the limit")

	// C took the first booking and answered the second 429: the next
	// change's delivery waits for the pause C asked for, and says so.
	eventually(t, convergeTimeout, "C's 429", func() bool { return h.tc["C"].Stats().Throttled == 1 })
	h.book("A", "held-back-3", 0, h.today.AddDays(4), 1, 1)
	eventually(t, convergeTimeout, "C's status to say why it waits", func() bool {
		return strings.HasPrefix(statusOf(t, h, "C").LastError, "not sent yet")
	})
	require.Regexp(t, `^not sent yet: the channel asked keyrack to wait \(HTTP 429 with Retry-After\); the next push goes in about (1h0m0s|59m\d+s)$`,
		statusOf(t, h, "C").LastError)
	require.Equal(t, 1, h.tc["C"].Stats().Throttled, "nothing more was sent during the pause")
}

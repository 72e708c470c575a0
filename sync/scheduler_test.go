package sync_test

import (
	"context"
	"log/slog"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// The leading scheduler vacuums and analyzes keyrack's tables as autovacuum
// would (inventory.MaintainTables), every MaintainInterval.
func TestTheSchedulerMaintainsTheTables(t *testing.T) {
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true, config: func(c *sync.Config) {
		c.MaintainInterval = 20 * time.Millisecond
	}})
	ctx := context.Background()
	db := h.st.DB()
	// Where the server runs autovacuum, it must not take the outbox first.
	_, err := db.Exec(ctx, `ALTER TABLE outbox SET (autovacuum_enabled = false)`)
	require.NoError(t, err)
	vacuums := func() (n int64) {
		require.NoError(t, db.QueryRow(ctx, `SELECT vacuum_count FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'outbox'`).Scan(&n))
		return n
	}
	before := vacuums()
	// 500 dead rows, counted before the scheduler starts (it would analyze
	// the table as the counts come in).
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	inventorytest.ChurnOutbox(t, db, conn, 500, true)

	sched := h.fanout()
	sched.MaintainEvenWithAutovacuum()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.RunScheduler(sctx) }()
	t.Cleanup(func() { stop(); <-done })
	eventually(t, 10*time.Second, "the scheduler vacuums the outbox's 500 dead rows", func() bool {
		return vacuums() > before
	})
}

// A leading scheduler whose process is stopped (SIGSTOP) or hangs keeps its
// session open, and PostgreSQL kept its lead with it: the pull-mode
// channels went unpolled for as long as it hung. A scheduler that does not
// lead now ends the session of a leader that has given no sign of life on
// it for TakeOverAfter and takes the lead; the old leader, let go, finds it
// no longer leads before it does anything more, says so and stands by.
func TestALeaderThatStoppedAnsweringIsReplaced(t *testing.T) {
	t.Parallel()
	h := startPullHotel(t, pullOptions{noScheduler: true})
	h.cfg.TakeOverAfter = time.Second

	// The leader that hangs asks for its polls in a queue of its own, which
	// no worker serves: a poll it asks for is told from the new leader's.
	// It looks for polls due every 20 ms, the new leader every second, so
	// a hung leader's pull loop still asking for them would take nearly
	// all of them.
	var logged synctest.LockedBuffer
	cfg := h.cfg
	h.cfg.QueuePrefix = synctest.QueuePrefix(t, h.redisURL)
	h.cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	hung := h.fanout()
	h.cfg = cfg
	var hang, released atomic.Bool
	var afterRelease atomic.Int32
	hanging, release := make(chan struct{}, 1), make(chan struct{})
	hung.PauseLeader(func() {
		switch {
		case released.Load():
			afterRelease.Add(1)
		case hang.Load():
			select {
			case hanging <- struct{}{}:
			default:
			}
			<-release
		}
	})
	runScheduler(t, hung)
	var letGo gosync.Once
	letGoHung := func() { letGo.Do(func() { released.Store(true); close(release) }) }
	t.Cleanup(letGoHung) // before the scheduler is stopped, if the test fails
	eventually(t, convergeTimeout, "the first scheduler to lead", hung.IsLeader)
	hang.Store(true)
	select {
	case <-hanging:
	case <-time.After(convergeTimeout):
		t.Fatal("the leader did not come to its next piece of work")
	}

	h.cfg.PullCheckInterval = time.Second
	good := h.fanout()
	h.cfg = cfg
	runScheduler(t, good)
	eventually(t, convergeTimeout, "the scheduler standing by to take the lead", good.IsLeader)
	queued, err := hung.PullsQueued()
	require.NoError(t, err)
	h.oc.AddPending(h.booking("BDC-hung", h.today.AddDays(3), 1, 1))
	eventually(t, convergeTimeout, "the booking pulled", func() bool { return len(h.oc.Pending()) == 0 })
	require.Equal(t, 9, h.available(h.today.AddDays(3)))
	now, err := hung.PullsQueued()
	require.NoError(t, err)
	require.Equal(t, queued, now, "the replaced leader asked for no poll")

	letGoHung()
	eventually(t, convergeTimeout, "the old leader to find it no longer leads", func() bool { return !hung.IsLeader() })
	time.Sleep(10 * h.cfg.ScheduleInterval)
	require.Zero(t, afterRelease.Load(), "the old leader did no more leader's work")
	require.True(t, good.IsLeader())
	require.Equal(t, 1, strings.Count(logged.String(), "this process no longer leads"), logged.String())
}

// A leader busy with a piece of its round longer than TakeOverAfter (a
// nightly resync of many channels, say) beats while it works: it keeps the
// lead. A piece that takes longer than pieceMax is taken for stuck, and
// another scheduler takes over.
func TestALeaderBusyWithLongWorkKeepsTheLeadUntilItIsStuck(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true, config: func(c *sync.Config) {
		c.TakeOverAfter = time.Second
	}})
	busy := h.fanout()
	var slow, stuck atomic.Bool
	var pieces atomic.Int32
	unstuck := make(chan struct{})
	busy.SlowLeader(func(ctx context.Context) {
		switch {
		case stuck.Load():
			select { // as a statement waiting on a lock: it ends with ctx
			case <-ctx.Done():
			case <-unstuck:
			}
		case slow.Load():
			pieces.Add(1)
			time.Sleep(3 * time.Second) // three times TakeOverAfter
		}
	}, 5*time.Second)
	runScheduler(t, busy)
	t.Cleanup(func() { close(unstuck) }) // before the scheduler is stopped
	eventually(t, convergeTimeout, "the first scheduler to lead", busy.IsLeader)
	slow.Store(true)
	other := h.fanout()
	runScheduler(t, other)
	eventually(t, convergeTimeout, "the leader to go through two long pieces of work", func() bool {
		require.False(t, other.IsLeader(), "the busy leader was replaced")
		return pieces.Load() >= 3
	})
	require.True(t, busy.IsLeader())

	stuck.Store(true)
	eventually(t, convergeTimeout, "the other scheduler to take over from the stuck one", other.IsLeader)
	eventually(t, convergeTimeout, "the stuck one's piece to end and it to stand by", func() bool { return !busy.IsLeader() })
}

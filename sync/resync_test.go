package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

func TestAResyncSendsEveryNightOfTheHorizonAgain(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{units: []int{10, 5}}).primed()
	ctx := context.Background()
	require.NoError(t, h.st.SetClosed(ctx, inventory.NightRange{Property: h.code, Pool: "P1",
		From: h.today.AddDays(10), To: h.today.AddDays(12)}, true, inventory.Staff("anna")))
	h.waitConverged()
	for _, c := range h.channels {
		h.tc[c].Reset()
	}

	require.NoError(t, h.fan.Resync(ctx, h.code, "B"))
	h.waitConverged()
	got := h.tc["B"].Received()
	require.Len(t, got, 1)
	require.True(t, got[0].Request.Full)
	type item struct {
		Room      string
		From, To  inventory.Date
		Available int
	}
	var items []item
	for _, it := range got[0].Request.Availability {
		items = append(items, item{it.Room, it.From, it.To, it.Available})
	}
	require.ElementsMatch(t, []item{
		{"B-R0", h.today, h.today.AddDays(30), 10},
		{"B-R1", h.today, h.today.AddDays(10), 5},
		{"B-R1", h.today.AddDays(10), h.today.AddDays(12), 0},
		{"B-R1", h.today.AddDays(12), h.today.AddDays(30), 5},
	}, items, "the values B had acknowledged already, merged into ranges")
	for _, c := range []string{"A", "C", "D"} {
		require.Zero(t, h.tc[c].Stats().Requests, c)
	}

	err := h.fan.Resync(ctx, h.code, "nope")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	err = h.fan.Resync(ctx, "NOPE", "")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

func TestOneElectedSchedulerRunsTheNightlyResyncOncePerDay(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{config: func(c *sync.Config) { c.ResyncAt = "00:00" }})
	type runner struct {
		f      *sync.Fanout
		cancel context.CancelFunc
		done   chan error
	}
	start := func() *runner {
		r := &runner{f: h.fanout(), done: make(chan error, 1)}
		var ctx context.Context
		ctx, r.cancel = context.WithCancel(context.Background())
		go func() { r.done <- r.f.RunScheduler(ctx) }()
		t.Cleanup(func() { r.cancel(); <-r.done })
		return r
	}
	a, b := start(), start()
	eventually(t, convergeTimeout, "a leader", func() bool { return a.f.IsLeader() || b.f.IsLeader() })
	require.False(t, a.f.IsLeader() && b.f.IsLeader(), "two leaders")

	// The nightly resync (due: it is past 00:00 everywhere) brings every
	// channel up to date, once.
	h.waitConverged()
	time.Sleep(10 * h.cfg.ScheduleInterval)
	for _, c := range h.channels {
		st := h.tc[c].Stats()
		require.Equal(t, 1, st.Applied, "channel %s resynced once a day, not once per scheduler run", c)
		require.True(t, h.tc[c].Received()[0].Request.Full)
	}
	require.True(t, a.f.IsLeader() != b.f.IsLeader(), "exactly one leader")

	// The leader stops: the other takes over.
	leader, other := a, b
	if b.f.IsLeader() {
		leader, other = b, a
	}
	leader.cancel()
	require.NoError(t, <-leader.done)
	leader.done <- nil // for the cleanup
	eventually(t, convergeTimeout, "the other scheduler to take over", other.f.IsLeader)
}

func TestBulkWorkDoesNotHoldBookingsBack(t *testing.T) {
	t.Parallel()
	bulk := []string{"X1", "X2", "X3", "X4", "X5", "X6"}
	h := newHotel(t, hotelOptions{units: []int{10, 10}, channels: append([]string{"A", "B", "C", "D"}, bulk...),
		config: func(c *sync.Config) { c.BulkConcurrency = 1 }}).primed()
	ctx := context.Background()
	// The X channels sell only the second pool, and are slow.
	for _, x := range bulk {
		_, err := h.st.DB().Exec(ctx, `DELETE FROM mappings WHERE channel_id = $1 AND channel_room = $2`, h.chanIDs[x], h.room(x, 0))
		require.NoError(t, err)
		h.tc[x].Delay(500 * time.Millisecond)
	}
	for _, x := range bulk {
		require.NoError(t, h.fan.Resync(ctx, h.code, x))
	}
	arrival := h.today.AddDays(5)
	h.book("A", "A-urgent", 0, arrival, 1, 4)
	eventually(t, convergeTimeout, "B, C and D to hear of the booking", func() bool {
		for _, c := range []string{"B", "C", "D"} {
			if v, _ := h.tc[c].Value(h.room(c, 0), arrival); v != 6 {
				return false
			}
		}
		return true
	})
	behind := 0
	for _, x := range bulk {
		if h.tc[x].Stats().Applied == 0 {
			behind++
		}
	}
	t.Logf("%d of %d bulk resyncs still waiting when the booking had reached every channel", behind, len(bulk))
	require.Positive(t, behind, "the booking waited for the bulk resyncs")
	h.waitConverged("A", "B", "C", "D")
	for _, x := range bulk {
		eventually(t, convergeTimeout, x+"'s resync", func() bool { return h.tc[x].Stats().Applied == 1 })
	}
}

// A booking on a channel whose full resync still waits for the bulk workers
// reaches it at once, on its own: the booking's delivery sends the nights
// that changed and leaves the resync's to the bulk workers.
func TestABookingDoesNotWaitForItsChannelsPendingResync(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B", "X"},
		config: func(c *sync.Config) { c.BulkConcurrency = 1 }}).primed()
	ctx := context.Background()
	// X's resync takes the only bulk worker and holds it.
	h.tc["X"].Hold()
	require.NoError(t, h.fan.Resync(ctx, h.code, "X"))
	eventually(t, convergeTimeout, "X's resync to be under way", func() bool { return h.tc["X"].InFlight() == 1 })
	require.NoError(t, h.fan.Resync(ctx, h.code, "B"))

	arrival := h.today.AddDays(5)
	h.book("A", "A-1", 0, arrival, 2, 3)
	eventually(t, convergeTimeout, "B to hear of the booking", func() bool {
		v, _ := h.tc["B"].Value(h.room("B", 0), arrival)
		return v == 7
	})
	got := h.tc["B"].Received()
	require.Len(t, got, 1, "B's resync waits for the bulk worker")
	require.False(t, got[0].Request.Full)
	require.Len(t, got[0].Request.Availability, 1)
	it := got[0].Request.Availability[0]
	require.Equal(t, []any{h.room("B", 0), arrival, arrival.AddDays(2), 7}, []any{it.Room, it.From, it.To, it.Available},
		"only the booking's nights")

	h.tc["X"].Release()
	eventually(t, convergeTimeout, "B's resync", func() bool {
		for _, r := range h.tc["B"].Received() {
			if r.Request.Full {
				return true
			}
		}
		return false
	})
	h.waitConverged()
}

// A delivery that read a channel just before its endpoint was set drops the
// marks it read, not the catch-up resync that setting the endpoint started.
func TestTheCatchUpResyncSurvivesADeliveryThatSawNoEndpoint(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	f := h.fan
	ctx := context.Background()
	var endpoint string
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT endpoint FROM channels WHERE id = $1`, h.chanIDs["B"]).Scan(&endpoint))
	_, err := h.st.DB().Exec(ctx, `UPDATE channels SET endpoint = '' WHERE id = $1`, h.chanIDs["B"])
	require.NoError(t, err)
	require.NoError(t, f.Resync(ctx, h.code, "B"))
	require.NoError(t, f.DeliverWithPause(ctx, h.id, h.chanIDs["B"], func() {
		// The endpoint is set, and the channel caught up, as the API does.
		_, err := h.st.DB().Exec(ctx, `UPDATE channels SET endpoint = $2 WHERE id = $1`, h.chanIDs["B"], endpoint)
		require.NoError(t, err)
		require.NoError(t, f.Resync(ctx, h.code, "B"))
	}))
	require.Zero(t, h.tc["B"].Stats().Requests, "the delivery saw no endpoint")
	require.NoError(t, f.DeliverNow(ctx, h.id, h.chanIDs["B"]))
	got := h.tc["B"].Received()
	require.Len(t, got, 1, "the catch-up resync is delivered")
	require.True(t, got[0].Request.Full)
}

// While a booking's change is being delivered, bulk work runs one delivery
// at a time and the other bulk workers wait; once the bookings' deliveries
// stop, bulk work runs at its full concurrency again.
func TestBulkWorkStepsAsideWhileBookingsAreDelivered(t *testing.T) {
	t.Parallel()
	bulk := []string{"X1", "X2", "X3", "X4"}
	h := newHotel(t, hotelOptions{channels: append([]string{"A", "B"}, bulk...),
		config: func(c *sync.Config) { c.BulkConcurrency = 4; c.BulkQuiet = 200 * time.Millisecond }}).primed()
	ctx := context.Background()
	resyncing := func() (n int) {
		for _, x := range bulk {
			n += h.tc[x].InFlight()
		}
		return n
	}
	resync := func() {
		for _, x := range bulk {
			h.tc[x].Hold()
			require.NoError(t, h.fan.Resync(ctx, h.code, x))
		}
	}
	release := func() {
		for _, x := range bulk {
			h.tc[x].Release()
		}
	}

	// No booking on the way: the four resyncs run at once.
	resync()
	eventually(t, convergeTimeout, "four resyncs at once", func() bool { return resyncing() == 4 })
	release()
	h.waitConverged()

	// A booking's delivery to B is under way (B holds it).
	h.tc["B"].Hold()
	arrival := h.today.AddDays(5)
	h.book("A", "A-1", 0, arrival, 1, 1)
	eventually(t, convergeTimeout, "the booking's delivery to B to be under way", func() bool { return h.tc["B"].InFlight() == 1 })
	eventually(t, convergeTimeout, "the X channels to hear of the booking", func() bool {
		for _, x := range bulk {
			if v, _ := h.tc[x].Value(h.room(x, 0), arrival); v != 9 {
				return false
			}
		}
		return true
	})
	resync()
	eventually(t, convergeTimeout, "a resync under way", func() bool { return resyncing() > 0 })
	time.Sleep(500 * time.Millisecond) // the other bulk workers have the tasks, and wait
	require.Equal(t, 1, resyncing(), "bulk deliveries running while a booking's delivery runs")

	// The booking delivered, the others go at once.
	h.tc["B"].Release()
	eventually(t, convergeTimeout, "four resyncs at once", func() bool { return resyncing() == 4 })
	release()
	h.waitConverged()
}

// A bulk delivery reads the channel's acknowledgements by index even when
// the table was empty the last time PostgreSQL looked at it — as on a new
// installation's first full sync, which writes every acknowledgement there
// is. A generic plan made then scanned the whole table for each night until
// the next ANALYZE (the bench's first sync of 80 channels read 390 million
// rows that way and took 17–20 s instead of 2).
func TestAFirstFullSyncReadsAcknowledgementsByIndex(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{noWorker: true})
	ctx := context.Background()
	db := h.st.DB()
	_, err := db.Exec(ctx, `ANALYZE sync_acks`)
	require.NoError(t, err)
	from, to := h.horizon()
	h.insertChangeMark(db, "A", 0, from, to)
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = sync.AckRowsScanned(ctx, conn, h.id, h.chanIDs["A"], true)
	require.NoError(t, err)

	// The other channels' acknowledgements arrive (nothing analyzes them).
	_, err = db.Exec(ctx, `INSERT INTO sync_acks (property_id, channel_id, pool_id, night, available, version, acked_at)
		SELECT $1, c, $2, $3::date + g, 10, 1, now() FROM unnest($4::bigint[]) AS c, generate_series(0, 9999) AS g`,
		h.id, h.poolIDs[0], from, []int64{h.chanIDs["B"], h.chanIDs["C"], h.chanIDs["D"]})
	require.NoError(t, err)
	scanned, err := sync.AckRowsScanned(ctx, conn, h.id, h.chanIDs["A"], true)
	require.NoError(t, err)
	require.Zero(t, scanned, "rows of sync_acks read by sequential scans for 30 nights")
}

package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// overdueChannels is the channels Fanout.Overdue lists for property, as
// undelivered and unpolled.
func overdueChannels(t *testing.T, f *sync.Fanout, property string) (undelivered, unpolled []string) {
	t.Helper()
	o, err := f.Overdue(context.Background(), property)
	require.NoError(t, err)
	for _, ch := range o.Undelivered {
		undelivered = append(undelivered, ch.Channel)
	}
	for _, ch := range o.Unpolled {
		unpolled = append(unpolled, ch.Channel)
	}
	return undelivered, unpolled
}

// overdueSetUp adds a second property, Q, beside h's (its channels must
// never be listed for h's), and gives the test a function running SQL on
// the test's schema.
func overdueSetUp(t *testing.T, h *hotel) (context.Context, *pgxpool.Pool, func(sql string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	db := h.st.DB()
	_, err := h.st.CreateProperty(ctx, inventory.Property{Code: "Q", Name: "Other", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	return ctx, db, func(sql string, args ...any) {
		t.Helper()
		_, err := db.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
}

// A channel's changes are overdue only when they are booking-driven
// changes (not a resync's bulk work, not the channel's own booking echoed
// back) to an enabled channel keyrack pushes to, with an endpoint, waiting
// longer than DeliveryOverdue with no delivery attempted since, and no
// pause the channel asked for that ended less than DeliveryOverdue ago; and
// only the property asked about is looked at.
func TestOverdueDeliveriesAreOnlyThoseNoWorkerAttempted(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	ctx, db, exec := overdueSetUp(t, h)
	from := h.today.AddDays(1)
	h.insertChangeMark(db, "A", 0, from, from.AddDays(2))
	since := func(minutes int) { exec(`UPDATE sync_dirty SET since = now() - $1 * interval '1 minute'`, minutes) }
	undelivered := func(property string) []string { u, _ := overdueChannels(t, h.fan, property); return u }

	since(4)
	require.Empty(t, undelivered("H"), "4 minutes is within DeliveryOverdue")
	since(6)
	require.Equal(t, []string{"A"}, undelivered("H"))
	require.Equal(t, []string{"A"}, undelivered(""))
	require.Empty(t, undelivered("Q"), "another property's channel")

	exec(`UPDATE channels SET enabled = false WHERE id = $1`, h.chanIDs["A"])
	require.Empty(t, undelivered("H"), "a disabled channel is not delivered to")
	exec(`UPDATE channels SET enabled = true WHERE id = $1`, h.chanIDs["A"])

	exec(`UPDATE sync_dirty SET resync = true`)
	require.Empty(t, undelivered("H"), "a resync's mark may wait behind bookings")
	exec(`UPDATE sync_dirty SET resync = false`)

	exec(`UPDATE sync_dirty SET echo = nights`)
	require.Empty(t, undelivered("H"), "the channel's own booking is not sent back to it")
	exec(`UPDATE sync_dirty SET echo = '{}'`)

	// A delivery since the mark, with no error: a worker delivers.
	exec(`INSERT INTO sync_channels (property_id, channel_id, last_delivery_at) VALUES ($1, $2, now())`, h.id, h.chanIDs["A"])
	require.Empty(t, undelivered("H"), "delivered to since")
	exec(`UPDATE sync_channels SET last_delivery_at = now() - interval '1 hour'`)
	require.Equal(t, []string{"A"}, undelivered("H"))

	// The channel asked keyrack to wait until a minute ago: the delivery
	// after the pause has DeliveryOverdue to happen.
	exec(`UPDATE sync_channels SET paused_until = now() - interval '1 minute'`)
	require.Empty(t, undelivered("H"), "the pause ended a minute ago")
	exec(`UPDATE sync_channels SET paused_until = now() - interval '6 minutes'`)
	require.Equal(t, []string{"A"}, undelivered("H"))

	// No endpoint, or a kind keyrack does not push to (no connector for
	// gds here): nothing for a worker to deliver.
	exec(`UPDATE channels SET endpoint = '' WHERE id = $1`, h.chanIDs["A"])
	require.Empty(t, undelivered("H"), "no endpoint")
	exec(`UPDATE channels SET endpoint = 'http://127.0.0.1:1/ota', kind = 'gds' WHERE id = $1`, h.chanIDs["A"])
	require.Empty(t, undelivered("H"), "not a kind this keyrack pushes to")
	exec(`UPDATE channels SET kind = 'ota_push' WHERE id = $1`, h.chanIDs["A"])

	// Two channels: each with its own last delivery.
	h.insertChangeMark(db, "B", 0, from, from.AddDays(2))
	since(10)
	exec(`INSERT INTO sync_channels (property_id, channel_id, last_delivery_at) VALUES ($1, $2, now() - interval '2 hours')`, h.id, h.chanIDs["B"])
	o, err := h.fan.Overdue(ctx, "H")
	require.NoError(t, err)
	require.Len(t, o.Undelivered, 2)
	require.NotNil(t, o.Undelivered[0].LastDone)
	require.NotNil(t, o.Undelivered[1].LastDone)
	require.InDelta(t, time.Hour.Seconds(), time.Since(*o.Undelivered[0].LastDone).Seconds(), 60, "A: an hour ago")
	require.InDelta(t, 2*time.Hour.Seconds(), time.Since(*o.Undelivered[1].LastDone).Seconds(), 60, "B: two hours ago")
}

// Changes the relay has not taken are overdue after RelayOverdue (2 min).
func TestOverdueRelayCountsAfterTwoMinutes(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	h.book("A", "A-1", 0, h.today.AddDays(2), 1, 1)
	ctx := context.Background()
	for _, c := range []struct {
		minutes int
		overdue bool
	}{{1, false}, {3, true}} {
		_, err := h.st.DB().Exec(ctx, `UPDATE outbox SET created_at = now() - $1 * interval '1 minute'`, c.minutes)
		require.NoError(t, err)
		o, err := h.fan.Overdue(ctx, "H")
		require.NoError(t, err)
		require.Equal(t, c.overdue, o.Unrelayed > 0, "waited %d minutes", c.minutes)
	}
}

// A pull-mode channel is overdue only while enabled, with a pull URL, not
// polled with success for PullStaleAfter and two of its intervals since it
// was made or enabled again, and no open stale-pull incident of its own
// says so already; a push channel with a pull URL is never polled, and not
// listed.
func TestOverduePullsAreOnlyEnabledPullChannelsNobodyPolled(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	ctx, db, exec := overdueSetUp(t, h)
	for _, code := range []string{"pull", "pull2"} {
		_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: code, Kind: inventory.ChannelOTAPull, Enabled: true,
			OTASettings: inventory.OTASettings{PullURL: "https://supply.example/reservations", PullInterval: 60}}, inventory.System)
		require.NoError(t, err)
	}
	exec(`UPDATE channels SET pull_url = 'https://supply.example/reservations' WHERE code = 'A'`) // a push channel
	exec(`UPDATE channels SET created_at = now() - interval '1 hour', enabled_at = now() - interval '1 hour'`)
	unpolled := func(property string) []string { _, u := overdueChannels(t, h.fan, property); return u }
	require.Equal(t, []string{"pull", "pull2"}, unpolled("H"))
	require.Empty(t, unpolled("Q"), "another property's")
	exec(`DELETE FROM channels WHERE code = 'pull2'`)

	exec(`UPDATE channels SET enabled = false WHERE code = 'pull'`)
	require.Empty(t, unpolled("H"), "disabled")
	exec(`UPDATE channels SET enabled = true WHERE code = 'pull'`)
	exec(`UPDATE channels SET pull_url = '' WHERE code = 'pull'`)
	require.Empty(t, unpolled("H"), "no pull URL: nothing to poll")
	exec(`UPDATE channels SET pull_url = 'https://supply.example/reservations' WHERE code = 'pull'`)

	exec(`UPDATE channels SET enabled_at = now() - interval '1 minute' WHERE code = 'pull'`)
	require.Empty(t, unpolled("H"), "enabled again a minute ago")
	exec(`UPDATE channels SET enabled_at = now() - interval '1 hour' WHERE code = 'pull'`)

	// Polled every hour, last with success 90 minutes ago: within two
	// intervals.
	exec(`UPDATE channels SET pull_interval_s = 3600 WHERE code = 'pull'`)
	var pullID int64
	require.NoError(t, db.QueryRow(ctx, `SELECT id FROM channels WHERE code = 'pull'`).Scan(&pullID))
	exec(`INSERT INTO sync_channels (property_id, channel_id, pull_ok_at) VALUES ($1, $2, now() - interval '90 minutes')`, h.id, pullID)
	require.Empty(t, unpolled("H"), "within two of its intervals")
	exec(`UPDATE channels SET pull_interval_s = 60 WHERE code = 'pull'`)
	require.Equal(t, []string{"pull"}, unpolled("H"))

	// A stale-pull incident already says so: only an open one of its own.
	exec(`INSERT INTO incidents (property_id, kind, channel_id, message) VALUES ($1, 'stale_pull', $2, 'x')`, h.id, h.chanIDs["A"])
	require.Equal(t, []string{"pull"}, unpolled("H"), "another channel's incident")
	exec(`INSERT INTO incidents (property_id, kind, channel_id, message, resolved_at) VALUES ($1, 'stale_pull', $2, 'x', now())`, h.id, pullID)
	require.Equal(t, []string{"pull"}, unpolled("H"), "a resolved incident")
	exec(`INSERT INTO incidents (property_id, kind, channel_id, message) VALUES ($1, 'stale_pull', $2, 'x')`, h.id, pullID)
	require.Empty(t, unpolled("H"))
}

// With no property there is nothing for a scheduler to do: no scheduler
// is not overdue, however long ago one led.
func TestNoSchedulerIsNotOverdueWithoutAProperty(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	q, err := sync.OpenQueue(synctest.RedisURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	f, err := sync.New(sync.Config{DB: st.DB(), Queue: q, Logger: testLogger(), ResyncAt: "off"})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = st.DB().Exec(ctx, `UPDATE scheduler_lead SET led_at = now() - interval '1 day'`)
	require.NoError(t, err)
	o, err := f.Overdue(ctx, "")
	require.NoError(t, err)
	require.True(t, o.Empty(), "%+v", o)
	b, err := f.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, b.SchedulerUnled)

	_, err = st.CreateProperty(ctx, inventory.Property{Code: "H", Name: "Hotel", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	_, err = st.DB().Exec(ctx, `UPDATE properties SET created_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	o, err = f.Overdue(ctx, "")
	require.NoError(t, err)
	require.False(t, o.SchedulerIdleSince.IsZero(), "no scheduler since the property was made")
}

// The lead is checked at each round on the session holding it: when the
// database ends that session (a network cut, an administrator), the leader
// steps down and a scheduler takes the lead again, rather than go on
// working without it.
func TestASchedulerWhoseSessionEndsTakesTheLeadAgain(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.fan.RunScheduler(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	leader := func() (pid int) {
		_ = h.st.DB().QueryRow(context.Background(), `SELECT coalesce(max(pid), 0) FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1
				AND (classid::bigint << 32) | objid::bigint = hashtextextended(current_schema() || '/keyrack/sync/scheduler', 0)`).Scan(&pid)
		return pid
	}
	eventually(t, 30*time.Second, "a scheduler to lead", func() bool { return leader() != 0 })
	first := leader()
	_, err := h.st.DB().Exec(context.Background(), `SELECT pg_terminate_backend($1)`, first)
	require.NoError(t, err)
	eventually(t, 30*time.Second, "a scheduler to lead again", func() bool {
		pid := leader()
		return pid != 0 && pid != first
	})
	o, err := h.fan.Overdue(context.Background(), "")
	require.NoError(t, err)
	require.True(t, o.SchedulerLeads)
}

// A scheduler that holds the lead but whose round never ends (it waits on
// a lock someone holds, say) keeps every other process from taking over:
// past SchedulerStuck since its round began it is overdue, as stuck, not
// as missing; a round begun recently, or a lead no one holds, is not.
func TestASchedulerLeadingWithoutRoundsIsStuck(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	ctx := context.Background()
	_, err := h.st.DB().Exec(ctx, `UPDATE properties SET created_at = now() - interval '1 day'`)
	require.NoError(t, err)
	// A leader, as the scheduler takes the lead.
	conn, err := h.st.DB().Acquire(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Conn().Close(ctx); conn.Release() })
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended(current_schema() || '/keyrack/sync/scheduler', 0))`)
	require.NoError(t, err)

	for _, c := range []struct {
		minutes int
		stuck   bool
	}{{0, false}, {20, false}, {31, true}} {
		_, err := h.st.DB().Exec(ctx, `UPDATE scheduler_lead SET led_at = now() - $1 * interval '1 minute'`, c.minutes)
		require.NoError(t, err)
		o, err := h.fan.Overdue(ctx, "Q")
		require.NoError(t, err)
		require.True(t, o.SchedulerLeads)
		require.Zero(t, o.SchedulerIdleSince, "a scheduler leads")
		require.Equal(t, c.stuck, !o.SchedulerStuckSince.IsZero(), "round begun %d minutes ago", c.minutes)
		require.Equal(t, !c.stuck, o.Empty())
		if c.stuck {
			require.WithinDuration(t, time.Now().Add(-31*time.Minute), o.SchedulerStuckSince, time.Minute)
		}
	}

	// The lead let go: no scheduler, not a stuck one.
	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	o, err := h.fan.Overdue(ctx, "")
	require.NoError(t, err)
	require.False(t, o.SchedulerLeads)
	require.Zero(t, o.SchedulerStuckSince)
	require.NotZero(t, o.SchedulerIdleSince)
}

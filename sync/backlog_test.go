package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// The backlog follows a resync, then a booking through the fan-out: pending
// in the outbox until relayed, then pending for the other channels (not its
// own) until each is delivered to, a failed delivery counted.
func TestBacklogSaysHowFarTheFanOutIsBehind(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B", "C"}, noWorker: true})
	ctx := context.Background()
	backlog := func() sync.Backlog {
		t.Helper()
		b, err := h.fan.Backlog(ctx)
		require.NoError(t, err)
		return b
	}
	b := backlog()
	require.Equal(t, map[string]int{"availability": 0, "reservation": 0}, b.OutboxPending)
	require.Equal(t, map[string]int{"change": 0, "resync": 0}, b.ChannelsPending)
	require.Zero(t, b.OutboxOldest["availability"])
	require.Zero(t, b.OldestPending["change"])

	require.NoError(t, h.fan.Resync(ctx, h.code, ""))
	b = backlog()
	require.Equal(t, 3, b.ChannelsPending["resync"])
	require.Zero(t, b.ChannelsPending["change"])
	require.Less(t, b.OldestPending["resync"], time.Minute)
	failing := map[string]bool{}
	deliver := func(channels ...string) {
		t.Helper()
		for _, c := range channels {
			err := h.fan.DeliverNow(ctx, h.id, h.chanIDs[c])
			require.Equal(t, failing[c], err != nil, "%s: %v", c, err)
		}
	}
	deliver("A", "B", "C")
	b = backlog()
	require.Zero(t, b.ChannelsPending["resync"])
	require.Equal(t, int64(3), b.Deliveries)

	h.book("A", "A-1", 0, h.today.AddDays(3), 2, 1)
	// Aged by 90 s while it is read (and only then: the relay dates the
	// channel's own change by it).
	age := func(interval string) {
		t.Helper()
		_, err := h.st.DB().Exec(ctx, `UPDATE outbox SET created_at = created_at + $1::interval WHERE done_at IS NULL`, interval)
		require.NoError(t, err)
	}
	age("-90 seconds")
	b = backlog()
	require.Equal(t, 1, b.OutboxPending["availability"])
	require.InDelta(t, 90, b.OutboxOldest["availability"].Seconds(), 5)
	require.Equal(t, 0, b.ChannelsPending["change"])
	age("90 seconds")

	_, err := h.fan.RelayNow(ctx)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `UPDATE sync_dirty SET since = now() - interval '1 minute'`)
	require.NoError(t, err)
	b = backlog()
	require.Zero(t, b.OutboxPending["availability"])
	require.Equal(t, 2, b.ChannelsPending["change"], "B and C; A took the booking itself")
	require.InDelta(t, 60, b.OldestPending["change"].Seconds(), 5)
	require.Zero(t, b.ChannelsPending["resync"])

	h.tc["C"].FailAll(true)
	failing["C"] = true
	deliver("B", "C")
	b = backlog()
	require.Equal(t, 1, b.ChannelsPending["change"], "C")
	require.Equal(t, int64(4), b.Deliveries, "B took a push")
	require.Equal(t, int64(1), b.Failures)
	require.Zero(t, b.DeadLettered)

	h.tc["C"].FailAll(false)
	failing["C"] = false
	deliver("C")
	b = backlog()
	require.Zero(t, b.ChannelsPending["change"])
	require.Zero(t, b.OldestPending["change"])
	require.Equal(t, int64(5), b.Deliveries)
}

// A mark that gains a change while a delivery pushes what it held stays,
// dated from then: what waits is that change, not the first one of the
// mark, which the push delivered. (Dated from its first change, a busy
// rate-limited channel's mark looked older with every round.)
func TestAMarkChangedDuringItsDeliveryIsDatedAfresh(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true, rateLimit: map[string]int{"B": 1}})
	ctx := context.Background()
	h.book("A", "A-1", 0, h.today.AddDays(3), 1, 1)
	_, err := h.fan.RelayNow(ctx)
	require.NoError(t, err)
	_, err = h.st.DB().Exec(ctx, `UPDATE sync_dirty SET since = now() - interval '1 minute'`)
	require.NoError(t, err)
	require.NoError(t, h.fan.DeliverWithPause(ctx, h.id, h.chanIDs["B"], func() {
		h.book("A", "A-2", 0, h.today.AddDays(4), 1, 1)
		_, err := h.fan.RelayNow(ctx)
		require.NoError(t, err)
	}))
	require.Equal(t, 1, h.tc["B"].Stats().Applied, "one push; the rate limit (1 a minute) holds the next")
	b, err := h.fan.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, b.ChannelsPending["change"], "A-2 waits for B")
	require.Less(t, b.OldestPending["change"], 10*time.Second, "since A-2 was relayed, not since A-1")
}

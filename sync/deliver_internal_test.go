package sync

import (
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestAdmitRequestNeverLetsMoreThanTheLimitIntoAWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var sent []time.Time
	now := t0
	var admitted []time.Time
	// Ask every 500 ms for two minutes with a limit of 10 a minute.
	for now.Before(t0.Add(2 * time.Minute)) {
		wait, kept := admitRequest(now, sent, 10, time.Minute)
		if wait == 0 {
			sent = kept
			admitted = append(admitted, now)
		} else {
			require.Positive(t, wait)
			// Waiting exactly that long must be enough.
			w2, _ := admitRequest(now.Add(wait), sent, 10, time.Minute)
			require.Zero(t, w2)
		}
		now = now.Add(500 * time.Millisecond)
	}
	require.Len(t, admitted, 20, "two windows' worth")
	for i := 10; i < len(admitted); i++ {
		require.GreaterOrEqual(t, admitted[i].Sub(admitted[i-10]), time.Minute)
	}
	// The first ten go at once: a quiet channel gets a change without delay.
	require.Equal(t, t0.Add(4500*time.Millisecond), admitted[9])

	wait, kept := admitRequest(now, sent, 0, time.Minute)
	require.Zero(t, wait)
	require.Nil(t, kept, "no limit, nothing to keep")
}

// Webhooks are answered out of order, so the window they leave is not
// sorted: the wait is still from the limit-th latest.
func TestAdmitRequestReadsAnUnsortedWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	sent := []time.Time{t0.Add(40 * time.Second), t0.Add(10 * time.Second), t0.Add(30 * time.Second)}
	wait, _ := admitRequest(t0.Add(50*time.Second), sent, 2, time.Minute)
	require.Equal(t, 40*time.Second, wait, "the second latest, at 30 s, leaves the window at 90 s")
}

func TestBackoffGrowsWithJitterUpToItsCeiling(t *testing.T) {
	t.Parallel()
	for n := range 40 {
		want := min(500*time.Millisecond<<min(n, 30), 10*time.Minute)
		if n >= 30 {
			want = 10 * time.Minute
		}
		for range 20 {
			d := backoff(n, 500*time.Millisecond, 10*time.Minute)
			require.GreaterOrEqual(t, d, want/2, "retry %d", n)
			require.LessOrEqual(t, d, want, "retry %d", n)
		}
	}
}

func TestRetryDelayHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	f := &Fanout{cfg: Config{RetryBase: time.Second, RetryMax: time.Minute}}
	require.Equal(t, 7*time.Second, f.retryDelay(0, connectors.RateLimited(7*time.Second, nil), nil))
	require.Equal(t, time.Minute, f.retryDelay(0, connectors.RateLimited(time.Hour, nil), nil), "capped")
	require.False(t, isFailure(connectors.RateLimited(time.Second, nil)), "a 429 does not spend the budget")
	require.True(t, isFailure(connectors.Retryable(nil)))
	require.False(t, isFailure(errBusy))
}

func TestDecide(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	const window = 5 * time.Second
	for _, c := range []struct {
		name string
		n    nightState
		want verdict
	}{
		{"never told", nightState{Available: 3}, send},
		{"resync", nightState{Available: 3, Forced: true, Ack: &ack{Available: 3}}, send},
		{"holds it", nightState{Available: 3, Ack: &ack{Available: 3}}, skip},
		{"holds another value", nightState{Available: 3, Ack: &ack{Available: 4}}, send},
		{"its own booking, quiet before", nightState{Available: 3, Echo: true,
			Ack: &ack{Available: 4, AckedAt: t0, OriginChangedAt: at(time.Minute)}}, settle},
		{"its own booking, a delivery just before", nightState{Available: 3, Echo: true,
			Ack: &ack{Available: 4, AckedAt: t0, OriginChangedAt: at(2 * time.Second)}}, send},
		{"its own booking, another change on its way", nightState{Available: 3, Echo: true, Pending: true,
			Ack: &ack{Available: 4, AckedAt: t0, OriginChangedAt: at(time.Minute)}}, skip},
		{"its own booking and someone else's", nightState{Available: 3,
			Ack: &ack{Available: 3, AckedAt: t0, OriginChangedAt: at(time.Minute)}}, send},
		{"its own booking, delivered after", nightState{Available: 3, Echo: true, Ack: &ack{Available: 3, AckedAt: t0}}, skip},
	} {
		require.Equal(t, c.want, c.n.decide(window), c.name)
	}
}

func TestUpdateMergesEqualConsecutiveNightsPerRoom(t *testing.T) {
	t.Parallel()
	d := inventory.MustDate("2026-12-01")
	night := func(pool int64, i, avail int, acked *int) nightState {
		n := nightState{Pool: pool, Night: d.AddDays(i), Available: avail, Version: int64(10 + i)}
		if acked != nil {
			n.Ack = &ack{Available: *acked}
		}
		return n
	}
	five := 5
	w := &work{nights: []nightState{
		night(1, 0, 4, nil), night(1, 1, 4, nil), night(1, 2, 5, &five), // acknowledged: not sent
		night(1, 3, 4, nil), night(1, 4, 3, nil),
		night(2, 0, 4, nil), // pool 2 is not mapped
		night(3, 0, 1, nil), night(3, 1, 1, nil),
	}}
	u, runs, itemRun := w.update(map[int64][]product{1: {{room: "DBL"}, {room: "DBL-SEA"}}, 3: {{room: "STE", rate: "BAR"}}}, time.Second)
	require.Equal(t, []connectors.Availability{
		{Room: "DBL", From: d, To: d.AddDays(2), Available: 4},
		{Room: "DBL-SEA", From: d, To: d.AddDays(2), Available: 4},
		{Room: "DBL", From: d.AddDays(3), To: d.AddDays(4), Available: 4},
		{Room: "DBL-SEA", From: d.AddDays(3), To: d.AddDays(4), Available: 4},
		{Room: "DBL", From: d.AddDays(4), To: d.AddDays(5), Available: 3},
		{Room: "DBL-SEA", From: d.AddDays(4), To: d.AddDays(5), Available: 3},
		{Room: "STE", Rate: "BAR", From: d, To: d.AddDays(2), Available: 1},
	}, u.Items)
	require.False(t, u.Full)
	require.Len(t, runs, 4)
	require.Equal(t, []int64{10, 11}, runs[0].Versions)
	require.Len(t, itemRun, len(u.Items))
	require.Same(t, runs[3], itemRun[6])
}

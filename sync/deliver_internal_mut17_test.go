package sync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The wait is from the limit-th latest request, whatever the order the
// window holds them in: not from the latest (too long), nor the oldest
// (too short) — and waiting any less is not enough.
func TestAdmitRequestWaitsForTheLimitThLatestOfAnUnsortedWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	for _, sent := range [][]time.Time{
		{sec(10), sec(40), sec(30), sec(20)},
		{sec(40), sec(10), sec(20), sec(30)},
		{sec(20), sec(30), sec(10), sec(40)},
	} {
		now := sec(50)
		wait, _ := admitRequest(now, sent, 2, time.Minute)
		require.Equal(t, 40*time.Second, wait, "%v: the second latest, at 30 s, leaves the window at 90 s", sent)
		w, _ := admitRequest(now.Add(wait-time.Millisecond), sent, 2, time.Minute)
		require.Positive(t, w, "%v: a moment earlier is too early", sent)
		w, kept := admitRequest(now.Add(wait), sent, 2, time.Minute)
		require.Zero(t, w, "%v", sent)
		require.Len(t, kept, 2, "%v: the latest, and this one", sent)
	}
}

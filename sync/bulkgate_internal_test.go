package sync

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTheBulkGateHoldsBulkWorkBackButNeverStarvesIt(t *testing.T) {
	g := newBulkGate(1, time.Hour)
	free, err := g.bulk(context.Background(), time.Hour)
	require.NoError(t, err, "nothing critical ever ran: no wait")
	free()

	done := g.critical()
	first, err := g.bulk(context.Background(), time.Hour)
	require.NoError(t, err, "the one slot")
	firstStart := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = g.bulk(ctx, time.Hour)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the slot is taken: it waits until its context ends")

	start := time.Now()
	late, err := g.bulk(context.Background(), 100*time.Millisecond)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	late()

	first()
	firstRan, released := time.Since(firstStart), time.Now()
	second, err := g.bulk(context.Background(), time.Hour)
	require.NoError(t, err, "the slot given back")
	require.GreaterOrEqual(t, time.Since(released), firstRan-5*time.Millisecond,
		"ended while bookings are being delivered, the slot rests as long as the first ran")
	second()

	done()
	g.lastEnd.Store(0) // the quiet spell over: not busy
	start = time.Now()
	third, err := g.bulk(context.Background(), time.Hour)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 50*time.Millisecond, "no booking being delivered: no rest, no wait")
	third()
}

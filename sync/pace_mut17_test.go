package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A push sent as several messages counts each one until its answer too:
// the first message, handled late by the channel, does not let the
// message a window after its sending reach a channel that still counts it.
func TestEachMessageOfASplitPushCountsUntilItsAnswer(t *testing.T) {
	t.Parallel()
	const limit, window = 2, 2 * time.Second
	h := splitHotel(t, hotelOptions{channels: []string{"A", "B"}, rateLimit: map[string]int{"B": limit},
		config: func(c *sync.Config) { c.RateWindow = window }})
	h.tc["B"].Limit(limit, window-200*time.Millisecond)
	time.Sleep(window) // the set-up's requests are out of keyrack's window

	// The resync's first message takes the channel 700 ms to handle; the
	// rest none.
	h.tc["B"].Delay(700 * time.Millisecond)
	require.NoError(t, h.fan.Resync(context.Background(), h.code, "B"))
	eventually(t, convergeTimeout, "the slow first message to be under way", func() bool { return h.tc["B"].InFlight() == 1 })
	h.tc["B"].Delay(0)
	h.waitConverged()
	require.Greater(t, len(h.tc["B"].Received()), 2*limit, "the resync went out in several windows' worth of requests")
	require.Zero(t, h.tc["B"].Stats().Throttled, "keyrack kept to the limit as the channel counts it")
}

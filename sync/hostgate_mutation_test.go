package sync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyrack/keyrack/sync"
)

// A delivery put off by its channel's rate limit gives back the push slot
// of its host: with one push at a time to a host (two workers), a slot kept
// by each delivery the rate limit put off would leave the host at its
// limit for good, and the channel would never be sent anything again.
func TestADeliveryPutOffByTheRateLimitGivesBackItsHostSlot(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, rateLimit: map[string]int{"B": 1}, config: func(c *sync.Config) {
		c.Concurrency = 2 // one push at a time to a host
		c.RateWindow = 500 * time.Millisecond
	}}).primed()
	for i := range 4 {
		// Each booking comes while B's window is still full of the last push.
		h.book("A", fmt.Sprintf("paced-%d", i), 0, h.today.AddDays(1+i), 1, 1)
		time.Sleep(100 * time.Millisecond)
	}
	eventually(t, 30*time.Second, "B to hold every booking", func() bool {
		return len(h.mismatches(h.horizon())) == 0
	})
}

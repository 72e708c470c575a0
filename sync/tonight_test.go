package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// OTAs sell "tonight" past midnight (same-day cut-offs into the early
// morning). While a property sells a night (its NightSoldUntil), keyrack
// keeps every channel told that night's availability; after midnight with
// the sale ending at midnight it tells them nothing of it.
func TestLastNightIsSentToTheChannelsWhileItIsStillSold(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{zone: inventorytest.ZoneWhereItIs(2), units: []int{10}}).primed()
	ctx := context.Background()
	lastNight := h.today.AddDays(-1) // h.today: the property's date, 02:xx in its zone
	held := func(channel string) (int, bool) { return h.tc[channel].Value(h.room(channel, 0), lastNight) }

	// The sale of a night ends at midnight: a booking of last night,
	// taken, is not sent to anyone.
	h.book("A", "LATE-1", 0, lastNight, 1, 1)
	eventually(t, convergeTimeout, "the booking's change relayed and delivered", func() bool {
		return h.pendingOutbox() == 0 && h.inSync()
	})
	for _, c := range []string{"B", "C", "D"} {
		v, ok := held(c)
		require.False(t, ok, "channel %s was sent last night (%d) after its sale ended at midnight", c, v)
	}

	// Sold until 06:00: it is on sale again, and every channel is told it.
	six := 6 * time.Hour
	_, err := h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &six}, inventory.Staff("anna"))
	require.NoError(t, err)
	eventually(t, convergeTimeout, "every channel told last night's 9 rooms", func() bool {
		for _, c := range h.channels {
			if v, ok := held(c); !ok || v != 9 {
				return false
			}
		}
		return true
	})

	// And a booking of it now reaches every other channel.
	h.book("B", "LATE-2", 0, lastNight, 1, 2)
	eventually(t, convergeTimeout, "every channel told last night's 7 rooms", func() bool {
		for _, c := range h.channels {
			if v, ok := held(c); !ok || v != 7 {
				return false
			}
		}
		return true
	})
	h.today = lastNight // the horizon now starts at last night
	h.waitConverged()
}

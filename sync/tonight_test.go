package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
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

// The nightly resync is for tonight: while last night is still sold it is
// not yet due for the new day, and once last night's sale ends (here: its
// time moved before the clock's) it is due again, bringing the horizon's
// new last night — resynced at 00:30 for the calendar's day, it waited a
// day for the next.
func TestTheNightlyResyncRunsAgainWhenLastNightsSaleEnds(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{zone: inventorytest.ZoneWhereItIs(2), soldUntil: 6 * time.Hour,
		config: func(c *sync.Config) { c.ResyncAt = "00:00" }})
	ctx := context.Background()
	lastNight := h.today // tonight: the night before the property's date, still sold until 06:00
	runScheduler(t, h.fanout())
	fulls := func(c string) int {
		n := 0
		for _, r := range h.tc[c].Received() {
			if r.Request.Full {
				n++
			}
		}
		return n
	}
	resyncedOn := func() []inventory.Date {
		rows, err := h.st.DB().Query(ctx, `SELECT resynced_on FROM sync_channels WHERE property_id = $1 ORDER BY channel_id`, h.id)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[inventory.Date])
		require.NoError(t, err)
		return out
	}
	eventually(t, convergeTimeout, "the nightly resync of every channel", func() bool {
		for _, c := range h.channels {
			if fulls(c) != 1 {
				return false
			}
		}
		return true
	})
	require.Equal(t, []inventory.Date{lastNight, lastNight, lastNight, lastNight}, resyncedOn(), "resynced for tonight")
	time.Sleep(5 * h.cfg.ScheduleInterval)
	for _, c := range h.channels {
		require.Equal(t, 1, fulls(c), "channel %s resynced once for tonight", c)
	}

	one := time.Hour // 02:xx now: last night's sale is over
	_, err := h.st.UpdateProperty(ctx, h.code, inventory.PropertyUpdate{NightSoldUntil: &one}, inventory.Staff("anna"))
	require.NoError(t, err)
	today := lastNight.AddDays(1)
	eventually(t, convergeTimeout, "the nightly resync for the new tonight", func() bool {
		for _, c := range h.channels {
			if fulls(c) != 2 {
				return false
			}
		}
		return true
	})
	require.Equal(t, []inventory.Date{today, today, today, today}, resyncedOn())
	h.today = today
	h.waitConverged() // the horizon's new last night, today + 29, included
}

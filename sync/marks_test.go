package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// marksOf is where each channel stands on pool P0's night, by channel code.
func marksOf(t *testing.T, m *sync.NightMarks, night inventory.Date) map[string]sync.ChannelNight {
	t.Helper()
	out := map[string]sync.ChannelNight{}
	for _, cn := range m.Night("P0", night) {
		out[cn.Channel.Code] = cn
	}
	return out
}

// The grid's "not yet acknowledged" marks: a booking is pending for every
// channel until the worker has delivered it, then for none; a value a
// channel acknowledged that differs from the pool's is pending until a
// delivery corrects it; past nights and nights beyond a channel's horizon
// are not sent; disabled channels and channels that do not sell the pool do
// not count.
func TestNightMarksShowWhatChannelsHaveNotAcknowledged(t *testing.T) {
	t.Parallel()
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}, noWorker: true})
	f := h.fan
	ctx := context.Background()
	for _, ch := range []inventory.Channel{
		{Code: "OFF", Kind: inventory.ChannelOTAPush, Enabled: false, Endpoint: "http://127.0.0.1:1/"},
		{Code: "UNMAPPED", Kind: inventory.ChannelOTAPush, Enabled: true, Endpoint: "http://127.0.0.1:1/"},
	} {
		_, err := h.st.CreateChannel(ctx, h.code, ch, inventory.System)
		require.NoError(t, err)
	}
	require.NoError(t, h.st.SetMapping(ctx, h.code, "OFF", inventory.Mapping{ChannelRoom: "X", RoomType: "R0"}, inventory.System))
	from, to := h.today.AddDays(-1), h.today.AddDays(35)
	marks := func() *sync.NightMarks {
		t.Helper()
		m, err := f.NightMarks(ctx, h.code, from, to)
		require.NoError(t, err)
		return m
	}

	m := marks()
	require.Equal(t, h.today, m.Today)
	var codes []string
	for _, c := range m.Channels {
		codes = append(codes, c.Code)
		require.True(t, c.Pushed)
		require.Equal(t, []string{"P0"}, c.Pools)
	}
	require.Equal(t, []string{"A", "B"}, codes, "only enabled channels that sell a pool count")
	require.Len(t, m.Night("P0", h.today), 2)
	require.Nil(t, m.Night("P0", to), "outside the range")
	require.Nil(t, m.Night("NOPE", h.today))
	for _, c := range []string{"A", "B"} {
		require.Equal(t, sync.MarkUnconfirmed, marksOf(t, m, h.today.AddDays(2))[c].State, "never sent yet")
		require.Equal(t, sync.MarkNotSent, marksOf(t, m, h.today.AddDays(-1))[c].State, "a past night")
		require.Equal(t, sync.MarkNotSent, marksOf(t, m, h.today.AddDays(30))[c].State, "beyond the horizon of 30 nights")
	}

	// A booking on A: the relay has not run, so its nights are pending for
	// B, and for A too, which never confirmed a value for them.
	arrival := h.today.AddDays(3)
	h.book("A", "A-1", 0, arrival, 2, 2)
	m = marks()
	for _, d := range []inventory.Date{arrival, arrival.AddDays(1)} {
		require.ElementsMatch(t, []string{"A", "B"}, m.Pending("P0", d), "night %s", d)
		require.Equal(t, "a change waits for the relay", marksOf(t, m, d)["B"].Why)
	}
	require.Empty(t, m.Pending("P0", arrival.AddDays(2)), "the departure night is not touched")

	// B acknowledged a value the pool no longer offers on another night:
	// pending, with what it holds.
	other := h.today.AddDays(10)
	require.NoError(t, f.RecordAck(ctx, h.id, h.chanIDs["B"], h.poolIDs[0], other, 3, 0))
	m = marks()
	require.Equal(t, []string{"B"}, m.Pending("P0", other))
	b := marksOf(t, m, other)["B"]
	require.Equal(t, "acknowledged 3, the pool offers 10", b.Why)
	require.Equal(t, 3, *b.Acked)
	require.NotNil(t, b.AckedAt)

	// The worker relays and delivers: the booked nights are acknowledged by
	// both channels with the pool's value.
	h.startWorker()
	// (A delivery in flight can leave a night pending for a moment after
	// another has been acknowledged: wait until every channel holds it.)
	eventually(t, convergeTimeout, "the booked nights to be acknowledged by every channel", func() bool {
		m := marks()
		for _, c := range []string{"A", "B"} {
			if marksOf(t, m, arrival)[c].State != sync.MarkSynced {
				return false
			}
		}
		return len(m.Pending("P0", arrival)) == 0 && len(m.Pending("P0", arrival.AddDays(1))) == 0
	})
	m = marks()
	for _, c := range []string{"A", "B"} {
		cn := marksOf(t, m, arrival)[c]
		require.Equal(t, sync.MarkSynced, cn.State, c)
		require.Equal(t, 8, *cn.Acked, c)
	}
	require.Equal(t, []string{"B"}, m.Pending("P0", other), "nothing changed that night: B still holds 3")

	// A full resync brings every channel up to date on every night of its horizon.
	require.NoError(t, f.Resync(ctx, h.code, ""))
	eventually(t, convergeTimeout, "no night of the horizon to be pending", func() bool {
		m := marks()
		for d := h.today; d.Before(h.today.AddDays(30)); d = d.AddDays(1) {
			for _, cn := range m.Night("P0", d) {
				if cn.State != sync.MarkSynced {
					return false
				}
			}
		}
		return true
	})
	require.Equal(t, 10, *marksOf(t, marks(), other)["B"].Acked)

	_, err := f.NightMarks(ctx, "NOPE", from, to)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	_, err = f.NightMarks(ctx, h.code, to, from)
	require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err))
}

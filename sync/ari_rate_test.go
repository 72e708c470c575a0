package sync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
	"github.com/stretchr/testify/require"
)

// A channel that keeps availability per room and rate (ari_level "rate",
// Weekendesk-style) is told every pair of room and rate codes mapped on it
// — each pool's value for each of its rates —, and a room code mapped with
// no rate code on its own; a channel at the room level (the default) is
// told each room code once whatever rates are mapped to it. A pool-night
// counts as acknowledged only once the channel took it for every rate: a
// refused rate stays undelivered, with its rate named for staff, until the
// channel takes it.
func TestAChannelWithAvailabilityPerRateIsToldEachMappedRate(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A", "B"}})
	for _, c := range []string{"A", "B"} {
		h.mapRates(c, h.room(c, 0), 0, "BAR", "NRF")
	}
	h.setLevel("A", "rate")
	// A refuses an item of A-R0 without a rate, as a channel keeping
	// availability per rate may refuse one without RatePlanCode; A-R1 has
	// no rate mapped and goes as it is.
	a0BAR, a0NRF, a1 := testchannel.Key("A-R0", "BAR"), testchannel.Key("A-R0", "NRF"), "A-R1"
	h.tc["A"].AcceptRooms(a0BAR, a0NRF, a1)

	from, to := h.horizon()
	// holds lists where A differs from the pools on [from, to).
	holds := func() []string {
		want := h.availability(from, to)
		var bad []string
		for key, pool := range map[string]string{a0BAR: "P0", a0NRF: "P0", a1: "P1"} {
			for d := from; d.Before(to); d = d.AddDays(1) {
				if got, ok := h.tc["A"].Value(key, d); !ok || got != want[pool][d] {
					bad = append(bad, fmt.Sprintf("%s %s: %d (told: %v), pool %d", key, d, got, ok, want[pool][d]))
				}
			}
		}
		return bad
	}
	require.NoError(t, h.fan.Resync(ctx, h.code, ""))
	h.waitConverged("B")
	eventually(t, convergeTimeout, "A holds each rate's value", func() bool { return len(holds()) == 0 && h.inSync("A") })
	if _, ok := h.tc["A"].Value("A-R0", from); ok {
		t.Errorf("A was told A-R0 without a rate")
	}
	for _, r := range h.tc["B"].Received() {
		for _, it := range r.Request.Availability {
			if it.Rate != "" {
				t.Fatalf("B (room level) was told a rate: %+v", it)
			}
		}
	}
	h.tc["A"].Reset()
	h.tc["B"].Reset()

	// A booking on B reaches both of A's rates.
	night := h.today.AddDays(3)
	h.book("B", "b-1", 0, night, 2, 3)
	eventually(t, convergeTimeout, "A holds the booking on each rate", func() bool { return len(holds()) == 0 && h.inSync("A") })
	got, _ := h.tc["A"].Value(a0NRF, night.AddDays(1))
	require.Equal(t, 7, got)
	var items []string
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			items = append(items, testchannel.Key(it.Room, it.Rate))
		}
	}
	require.ElementsMatch(t, []string{a0BAR, a0NRF}, items, "one item per rate of the booked pool")

	// A refuses NRF: the nights are not acknowledged, and the delivery log
	// names the rate.
	h.tc["A"].AcceptRooms(a0BAR, a1)
	h.book("B", "b-2", 0, night, 1, 1)
	var rejected sync.Delivery
	eventually(t, convergeTimeout, "the refusal in A's delivery log", func() bool {
		log, err := h.fan.Deliveries(ctx, h.code, "A", 1)
		require.NoError(t, err)
		if len(log) == 1 && log[0].Outcome == sync.DeliveryRejected {
			rejected = log[0]
			return true
		}
		return false
	})
	require.Contains(t, rejected.Error, "room A-R0 rate NRF")
	rp := payloadOf(t, rejected)
	require.Len(t, rp.Rejected, 1)
	require.Equal(t, "NRF", rp.Rejected[0].Rate)
	var acked bool
	require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sync_acks
		WHERE property_id = $1 AND channel_id = $2 AND pool_id = $3 AND night = $4 AND available = 6)`,
		h.id, h.chanIDs["A"], h.poolIDs[0], night).Scan(&acked))
	require.False(t, acked, "a pool-night whose NRF A refused counts as acknowledged")
	if v, _ := h.tc["A"].Value(a0BAR, night); v != 6 {
		t.Errorf("A's BAR holds %d, want 6", v)
	}
	// Once A takes NRF again, the next delivery brings it up to date.
	h.tc["A"].AcceptRooms(a0BAR, a0NRF, a1)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A holds every rate again", func() bool { return len(holds()) == 0 && h.inSync("A") })
}

// A resync that a channel's new level (or a new mapping) brings about while
// a delivery to the channel runs is taken by that run's next round: it
// must be sent the channel's items as they are now, not as they were when
// the run began — a channel told its room codes once more would keep them
// acknowledged, and never get its rates until the nightly resync.
func TestALevelChangedDuringARunIsSentAsItIsNow(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.mapRates("A", "A-R0", 0, "BAR", "NRF")
	h.tc["A"].Hold()
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "a push to A under way", func() bool { return h.tc["A"].InFlight() == 1 })
	h.setLevel("A", "rate")
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	h.tc["A"].Release()

	from, to := h.horizon()
	eventually(t, convergeTimeout, "A holds each rate", func() bool {
		for _, key := range []string{testchannel.Key("A-R0", "BAR"), testchannel.Key("A-R0", "NRF")} {
			for d := from; d.Before(to); d = d.AddDays(1) {
				if v, ok := h.tc["A"].Value(key, d); !ok || v != 10 {
					return false
				}
			}
		}
		return h.inSync("A")
	})
}

// setLevel sets channel's ari_level.
func (h *hotel) setLevel(channel, level string) {
	h.t.Helper()
	_, err := h.st.UpdateChannel(context.Background(), h.code, channel, inventory.ChannelPatch{ARILevel: &level}, inventory.System)
	require.NoError(h.t, err)
}

// mapRates maps channel's room code room, with each of rates, to room
// type R<pool>.
func (h *hotel) mapRates(channel, room string, pool int, rates ...string) {
	h.t.Helper()
	for _, r := range rates {
		require.NoError(h.t, h.st.SetMapping(context.Background(), h.code, channel,
			inventory.Mapping{ChannelRoom: room, ChannelRate: r, RoomType: fmt.Sprintf("R%d", pool)}, inventory.System))
	}
}

package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/fixtures/testchannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// holdsOn reports whether channel c holds want for key on every night of
// the horizon.
func (h *hotel) holdsOn(c, key string, want int) bool {
	from, to := h.horizon()
	for d := from; d.Before(to); d = d.AddDays(1) {
		if v, ok := h.tc[c].Value(key, d); !ok || v != want {
			return false
		}
	}
	return true
}

// closures counts the items waiting to be closed on their channels.
func (h *hotel) closures() int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM sync_closures`).Scan(&n))
	return n
}

// A room code mapped, through two rates, to room types of two pools is sent
// one pool's availability — the pool created first, as the channel page
// tells staff.
func TestARoomCodeMappedToTwoPoolsIsSentThePoolCreatedFirst(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A"}})
	// A-R1 is R1's (P1, 4 rooms) for any rate, and R0's (P0, 10) for SGLUSE.
	require.NoError(t, h.st.SetMapping(ctx, h.code, "A", inventory.Mapping{ChannelRoom: "A-R1", ChannelRate: "SGLUSE", RoomType: "R0"}, inventory.System))
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A in sync", func() bool { return h.inSync("A") && h.holdsOn("A", "A-R0", 10) })
	require.True(t, h.holdsOn("A", "A-R1", 10), "A-R1 is sent P0's availability, the pool created first")
}

// At the rate level, a room code's mapping for any rate ("") is no item of
// its own while rates of it are mapped: deleting it closes nothing, and the
// rates go on being sent their pool's values. Closed, the room code would
// be sent 0 without a rate, which a channel keeping availability per rate
// refuses, or takes for every rate of the room.
func TestTheAnyRateMappingDeletedAtTheRateLevelClosesNothingWhileRatesStayMapped(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.setLevel("A", "rate")
	h.mapRates("A", "A-R0", 0, "BAR", "NRF")
	bar, nrf := testchannel.Key("A-R0", "BAR"), testchannel.Key("A-R0", "NRF")
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A holds each rate", func() bool { return h.inSync("A") && h.holdsOn("A", bar, 10) && h.holdsOn("A", nrf, 10) })
	h.tc["A"].Reset()

	closed, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R0", "", inventory.System)
	require.NoError(t, err)
	require.False(t, closed, "A-R0 was sent as its rates, which stay mapped")
	require.Zero(t, h.closures())
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A resent", func() bool { return len(h.tc["A"].Received()) > 0 && h.inSync("A") })
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			require.NotEmpty(t, it.Rate, "an item without a rate: %+v", it)
		}
	}
	require.True(t, h.holdsOn("A", bar, 10))
	require.True(t, h.holdsOn("A", nrf, 10))
}

// At the room level, a room code's last mapping deleted closes the room
// code, whatever rate that mapping named: the channel was sent the room
// code alone, and is sent 0 for it, with no rate.
func TestTheLastMappingOfARoomCodeDeletedAtTheRoomLevelClosesTheRoomCode(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A"}}).primed()
	require.NoError(t, h.st.SetMapping(ctx, h.code, "A", inventory.Mapping{ChannelRoom: "A-R1", ChannelRate: "BAR", RoomType: "R1"}, inventory.System))
	closed, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
	require.NoError(t, err)
	require.False(t, closed, "A-R1 is still sent, for BAR")
	closed, err = h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "BAR", inventory.System)
	require.NoError(t, err)
	require.True(t, closed)
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "A-R1 closed on A", func() bool { return h.inSync("A") && h.holdsOn("A", "A-R1", 0) })
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			require.Empty(t, it.Rate, "a room-level channel was sent a rate: %+v", it)
		}
	}
}

// A room deleted again while a delivery that found it mapped runs is
// closed before that delivery ends, in a round of its own: the running
// one drops the closure it read (the room was mapped then), not the newer
// one, which is work left.
func TestARoomDeletedAgainWhileADeliveryRunsIsClosedByIt(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A"}, noWorker: true})
	a := h.chanIDs["A"]
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	require.NoError(t, h.fan.DeliverNow(ctx, h.id, a))
	require.True(t, h.holdsOn("A", "A-R1", 4))

	_, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.st.SetMapping(ctx, h.code, "A", inventory.Mapping{ChannelRoom: "A-R1", RoomType: "R1"}, inventory.System))
	require.NoError(t, h.fan.DeliverWithPause(ctx, h.id, a, func() {
		// The delivery has read A-R1 mapped, and the first closure.
		closed, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
		require.NoError(t, err)
		require.True(t, closed)
	}))
	require.True(t, h.holdsOn("A", "A-R1", 0), "A-R1 closed on A")
	require.Zero(t, h.closures())
}

// A closure goes out once, also when the delivery that sends it goes on
// for another round (a change that came in meanwhile).
func TestAClosureIsSentOnceByADeliveryOfSeveralRounds(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A", "B"}}).primed()
	_, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
	require.NoError(t, err)
	h.tc["A"].Hold()
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "the closure's push under way", func() bool { return h.tc["A"].InFlight() == 1 })
	night := h.today.AddDays(3)
	h.book("B", "b-1", 0, night, 1, 2)
	eventually(t, convergeTimeout, "A marked for the booking", func() bool {
		var n int
		require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT count(*) FROM sync_dirty WHERE property_id = $1 AND channel_id = $2 AND NOT resync`,
			h.id, h.chanIDs["A"]).Scan(&n))
		return n > 0
	})
	h.tc["A"].Release()
	eventually(t, convergeTimeout, "A holds the booking", func() bool {
		v, _ := h.tc["A"].Value("A-R0", night)
		return v == 8 && h.inSync("A")
	})
	var sent int
	for _, r := range h.tc["A"].Received() {
		for _, it := range r.Request.Availability {
			if it.Room == "A-R1" {
				sent++
			}
		}
	}
	require.Equal(t, 1, sent, "A-R1's closure items sent")
	require.True(t, h.holdsOn("A", "A-R1", 0))
}

// A rate a channel at the rate level refuses is named, with its room, in
// what the channel's status tells staff, and the delivery log names the
// rate of each item pushed.
func TestARefusedRateIsNamedInTheChannelsStatus(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}})
	h.setLevel("A", "rate")
	h.mapRates("A", "A-R0", 0, "BAR", "NRF")
	h.tc["A"].AcceptRooms(testchannel.Key("A-R0", "BAR"))
	require.NoError(t, h.fan.Resync(ctx, h.code, "A"))
	eventually(t, convergeTimeout, "the refusal in A's status", func() bool {
		s, err := h.status()
		require.NoError(t, err)
		for _, c := range s {
			if c.Channel == "A" && strings.Contains(c.LastError, "room A-R0 rate NRF") {
				return true
			}
		}
		return false
	})
	log, err := h.fan.Deliveries(ctx, h.code, "A", 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	var rates []string
	for _, it := range payloadOf(t, log[0]).Items {
		rates = append(rates, it.Rate)
	}
	require.ElementsMatch(t, []string{"BAR", "NRF"}, rates)
}

// At the room level a room code mapped through several rates is one item:
// the channel's own booking of it is not sent back to it, as a booking of
// a room code mapped once is not.
func TestARoomCodeMappedThroughSeveralRatesIsOneItemForTheEchoRule(t *testing.T) {
	h := newHotel(t, hotelOptions{channels: []string{"A", "B"}})
	h.mapRates("A", "A-R0", 0, "BAR", "NRF")
	h.primed()
	time.Sleep(h.cfg.EchoWindow + 200*time.Millisecond) // A's count is known right when it sells
	arrival := h.today.AddDays(3)
	h.book("A", "A-1", 0, arrival, 2, 2)
	eventually(t, convergeTimeout, "B hears of the booking", func() bool {
		v, _ := h.tc["B"].Value("B-R0", arrival)
		return v == 8
	})
	h.waitConverged()
	require.Zero(t, h.tc["A"].Stats().Requests, "the booking came from A: nothing may be echoed back to it")
}

// A room closed on one channel is closed there only: another channel of
// the property is sent nothing of it.
func TestAClosureGoesToItsOwnChannelOnly(t *testing.T) {
	ctx := context.Background()
	h := newHotel(t, hotelOptions{units: []int{10, 4}, channels: []string{"A", "B"}}).primed()
	_, err := h.st.DeleteMapping(ctx, h.code, "A", "A-R1", "", inventory.System)
	require.NoError(t, err)
	h.tc["A"].Hold() // B's delivery runs while A's closure waits
	require.NoError(t, h.fan.Resync(ctx, h.code, ""))
	h.waitConverged("B")
	h.tc["A"].Release()
	eventually(t, convergeTimeout, "A-R1 closed on A", func() bool { return h.inSync("A") && h.holdsOn("A", "A-R1", 0) })
	for _, r := range h.tc["B"].Received() {
		for _, it := range r.Request.Availability {
			require.NotEqual(t, "A-R1", it.Room, "B was sent A's closure")
		}
	}
}

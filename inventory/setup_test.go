package inventory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// hotel is a test property: pools named P0, P1, … each with one room type
// R0, R1, … and channels C0, C1, … of kind ota_push.
type hotel struct {
	st       *inventory.Store
	code     string
	pools    []string
	rooms    []string
	channels []string
}

// newHotel creates a property in its own fresh schema.
func newHotel(t testing.TB, tz string, units []int, factor inventory.Factor, channels int) *hotel {
	t.Helper()
	return newHotelIn(t, inventorytest.New(t), "H1", tz, units, factor, channels)
}

func newHotelIn(t testing.TB, st *inventory.Store, code, tz string, units []int, factor inventory.Factor, channels int) *hotel {
	t.Helper()
	ctx := context.Background()
	h := &hotel{st: st, code: code}
	_, err := st.CreateProperty(ctx, inventory.Property{Code: code, Name: "Test hotel " + code, TimeZone: tz, Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	for i, u := range units {
		p := fmt.Sprintf("P%d", i)
		r := fmt.Sprintf("R%d", i)
		_, err := st.CreatePool(ctx, code, inventory.Pool{Code: p, Units: u, OverbookingFactor: factor}, inventory.System)
		require.NoError(t, err)
		_, err = st.CreateRoomType(ctx, code, inventory.RoomType{Code: r, Pool: p}, inventory.System)
		require.NoError(t, err)
		h.pools = append(h.pools, p)
		h.rooms = append(h.rooms, r)
	}
	for i := 0; i < channels; i++ {
		c := fmt.Sprintf("C%d", i)
		_, err := st.CreateChannel(ctx, code, inventory.Channel{Code: c, Kind: inventory.ChannelOTAPush, Enabled: true}, inventory.System)
		require.NoError(t, err)
		h.channels = append(h.channels, c)
	}
	return h
}

// booking is a one-stay revision of room type room from arrival for nights nights.
func (h *hotel) booking(channel, id string, kind inventory.RevisionKind, room string, arrival string, nights, rooms int, mode inventory.Mode) inventory.Revision {
	a := inventory.MustDate(arrival)
	return inventory.Revision{
		Property: h.code, Channel: channel, ExternalID: id, Kind: kind, Mode: mode,
		Stays: []inventory.RoomStay{{RoomType: room, Arrival: a, Departure: a.AddDays(nights), Rooms: rooms}},
	}
}

// nights returns pool → night → Night for [from, to).
func (h *hotel) nights(t testing.TB, from string, n int) map[string]map[inventory.Date]inventory.Night {
	t.Helper()
	f := inventory.MustDate(from)
	got, err := h.st.Availability(context.Background(), h.code, f, f.AddDays(n))
	require.NoError(t, err)
	out := map[string]map[inventory.Date]inventory.Night{}
	for _, x := range got {
		if out[x.Pool] == nil {
			out[x.Pool] = map[inventory.Date]inventory.Night{}
		}
		out[x.Pool][x.Night] = x
	}
	return out
}

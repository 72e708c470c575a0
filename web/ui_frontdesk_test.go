package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A booking's rooms are the rooms it takes on its busiest night: a guest in
// one room whose stay the channel sent as two stays one after the other (a
// rate change, a room move) has one room, not two; rooms side by side add
// up.
func TestABookingOfStaysOneAfterAnotherIsOneRoom(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 10)
	ctx := context.Background()
	d := inventory.MustDate
	book := func(id string, stays ...inventory.RoomStay) int64 {
		out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: id, Kind: inventory.New, Stays: stays})
		require.NoError(t, err)
		return out.ReservationID
	}
	moved := book("MOVED",
		inventory.RoomStay{RoomType: "DBL-STD", Arrival: d("2027-11-01"), Departure: d("2027-11-03"), Rooms: 1},
		inventory.RoomStay{RoomType: "DBL-STD", Arrival: d("2027-11-03"), Departure: d("2027-11-05"), Rooms: 1})
	two := book("TWO",
		inventory.RoomStay{RoomType: "DBL-STD", Arrival: d("2027-11-01"), Departure: d("2027-11-03"), Rooms: 1},
		inventory.RoomStay{RoomType: "DBL-STD", Arrival: d("2027-11-01"), Departure: d("2027-11-03"), Rooms: 1})
	// Two rooms, a third joining for the last night.
	three := book("THREE",
		inventory.RoomStay{RoomType: "DBL-STD", Arrival: d("2027-11-01"), Departure: d("2027-11-04"), Rooms: 2},
		inventory.RoomStay{RoomType: "DBL-STD", Arrival: d("2027-11-03"), Departure: d("2027-11-04"), Rooms: 1})
	e.login("anna")

	list := e.get("/admin/p/P/bookings")
	for id, rooms := range map[string]int{"MOVED": 1, "TWO": 2, "THREE": 3} {
		row := list.Body[strings.Index(list.Body, ">"+id+"</a>"):]
		row = row[:strings.Index(row, "</tr>")]
		require.Contains(t, row, fmt.Sprintf("<td>%d × DBL-STD</td>", rooms), id)
	}
	for id, rooms := range map[int64]int{moved: 1, two: 2, three: 3} {
		p := e.get(fmt.Sprintf("/admin/p/P/bookings/%d", id))
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, fmt.Sprintf("<dt>Rooms</dt><dd>%d</dd>", rooms), id)
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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

// Lowering a pool's units below what is sold (rooms out of order) is made —
// the bookings stay — but the answer says which nights it overbooked, with
// and without htmx; a change that overbooks nothing says nothing of it.
func TestLoweringUnitsBelowWhatIsSoldSaysTheNightsAreOverbooked(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	for _, id := range []string{"A", "B"} {
		_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: id, Kind: inventory.New,
			Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-10-01"), Departure: inventory.MustDate("2027-10-02")}}})
		require.NoError(t, err)
	}
	e.login("anna")
	flash := func(p page) string {
		t.Helper()
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		u, err := url.Parse(p.Header.Get("Location"))
		require.NoError(t, err)
		return u.Query().Get("flash")
	}
	edit := url.Values{"pool": {"DBL"}, "from": {"2027-10-01"}, "to": {"2027-10-02"}, "units": {"1"}}

	f := flash(e.post("/admin/p/P/grid", "/admin/p/P/grid/edit", edit))
	require.Contains(t, f, "units set to 1")
	require.Contains(t, f, "Overbooked: 1 night is sold past the new limit, 2027-10-01 (2 sold, limit 1)")
	require.NotContains(t, f, "2027-10-02 (")
	require.Len(t, openIncidents(t, e.st, "P"), 1)

	p := e.post("/admin/p/P/grid", "/admin/p/P/grid/edit", edit, "HX-Request", "true")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "Overbooked: 1 night is sold past the new limit, 2027-10-01 (2 sold, limit 1)")

	edit.Set("units", "3")
	require.NotContains(t, flash(e.post("/admin/p/P/grid", "/admin/p/P/grid/edit", edit)), "Overbooked")
}

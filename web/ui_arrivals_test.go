package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// The front desk finds who arrives today in one click: the bookings page
// links to today's confirmed arrivals (today in the hotel's time zone), and
// its search takes an arrival date. The stay dates could only select the
// bookings staying on some night — tonight's were every guest in the house,
// those arriving among those staying on, in the order they last changed.
func TestTodaysArrivalsAreOneClickFromTheBookingsPage(t *testing.T) {
	t.Parallel()
	// 00:30 on 2 December in Lisbon is still 1 December in New York: the
	// hotel's own date is the one that counts.
	now := time.Date(2026, 12, 2, 0, 30, 0, 0, time.UTC)
	e := &bookingsEnv{uiEnv: newUI(t, func(c *web.Config) { c.Now = func() time.Time { return now } }), ids: map[string]int64{}}
	e.seedHotel("P", 5)
	book := func(id, arrival string, nights int) {
		t.Helper()
		a := inventory.MustDate(arrival)
		out, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: id, Kind: inventory.New,
			Guest: inventory.Guest{Name: "Guest " + id}, Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: a, Departure: a.AddDays(nights), Rooms: 1}}})
		require.NoError(t, err)
		e.ids[id] = out.ReservationID
	}
	book("ARRIVES-TODAY", "2026-12-02", 2)
	book("ARRIVES-TODAY-TOO", "2026-12-02", 1)
	book("CANCELLED-TODAY", "2026-12-02", 3)
	_, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "CANCELLED-TODAY", Kind: inventory.Cancel})
	require.NoError(t, err)
	book("STAYS-ON", "2026-12-01", 3)
	book("ARRIVES-TOMORROW", "2026-12-03", 1)
	book("ARRIVED-LAST-WEEK", "2026-11-25", 2)
	e.login("anna")

	p := e.get("/admin/p/P/bookings")
	require.Contains(t, p.Body, `<a href="/admin/p/P/bookings?arrival=2026-12-02&amp;status=confirmed">Today&#39;s arrivals</a>`)
	require.ElementsMatch(t, []string{"ARRIVES-TODAY", "ARRIVES-TODAY-TOO"}, e.listed("?arrival=2026-12-02&status=confirmed"))
	require.ElementsMatch(t, []string{"ARRIVES-TODAY", "ARRIVES-TODAY-TOO", "CANCELLED-TODAY"}, e.listed("?arrival=2026-12-02"))
	require.Equal(t, []string{"ARRIVES-TOMORROW"}, e.listed("?arrival=2026-12-03"))
	// With the stay dates: arriving that day, among those staying then.
	require.Equal(t, []string{"ARRIVES-TOMORROW"}, e.listed("?arrival=2026-12-03&from=2026-12-03&to=2026-12-04"))
	require.Empty(t, e.listed("?arrival=2026-12-03&to=2026-12-03"))

	p = e.get("/admin/p/P/bookings?arrival=2026-12-02")
	require.Contains(t, p.Body, `<input type="date" id="arrival" name="arrival" value="2026-12-02">`, "the form keeps the date")
	p = e.get("/admin/p/P/bookings?arrival=tonight")
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "The arrival date tonight is not a date (YYYY-MM-DD).")
}

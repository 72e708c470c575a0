package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The API books in keyrack's own codes. A stay naming a room type the
// property does not have (a typo in the PMS's room mapping) was kept as a
// parked booking and answered 201 confirmed while it held no room — the
// channels went on selling the guest's room — and a modification naming
// one released the room the booking held, answered 200. Both are a 400
// naming the stay's room_type, and change nothing.
func TestABookingForARoomTypeThePropertyDoesNotHaveIsRefused(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 4)
	key := e.propertyKey("P")
	sold := func() float64 {
		r := e.must(http.StatusOK, "GET", "/api/v1/properties/P/availability?from=2027-05-01&to=2027-05-02", nil).JSON(t)
		return r["pools"].([]any)[0].(map[string]any)["nights"].([]any)[0].(map[string]any)["sold"].(float64)
	}
	field := func(r response) string {
		p := problemOf(t, r, http.StatusBadRequest)
		errs := p["errors"].([]any)
		require.Len(t, errs, 1, "%v", p)
		return errs[0].(map[string]any)["field"].(string)
	}

	typo := booking("W-1", "2027-05-01", "2027-05-04", 1)
	typo["stays"].([]any)[0].(map[string]any)["room_type"] = "DBL-STX"
	require.Equal(t, "stays[0].room_type", field(e.do("POST", "/api/v1/properties/P/reservations", key, typo)))
	problemOf(t, e.do("GET", "/api/v1/properties/P/reservations/pms/W-1", key, nil), http.StatusNotFound)
	// Booked for another channel through the API: the same codes.
	typo["channel"] = "expedia"
	require.Equal(t, "stays[0].room_type", field(e.do("POST", "/api/v1/properties/P/reservations", key, typo)))
	require.Zero(t, sold())

	e.must(http.StatusCreated, "POST", "/api/v1/properties/P/reservations", booking("W-2", "2027-05-01", "2027-05-04", 1))
	require.Equal(t, 1.0, sold())
	change := booking("", "2027-05-01", "2027-05-04", 1)
	delete(change, "id")
	change["stays"] = append(change["stays"].([]any), map[string]any{"room_type": "TWN", "arrival": "2027-05-01", "departure": "2027-05-02"})
	require.Equal(t, "stays[1].room_type", field(e.do("PUT", "/api/v1/properties/P/reservations/pms/W-2", key, change)))
	require.Equal(t, 1.0, sold(), "the guest keeps the room")
	res := e.must(http.StatusOK, "GET", "/api/v1/properties/P/reservations/pms/W-2", nil).JSON(t)
	require.Equal(t, false, res["parked"])
	require.Equal(t, 1.0, res["revisions"])
}

package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	gosync "sync"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestAPIBookingModifyAndCancelMoveThePool(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	key := e.propertyKey("P")
	base := "/api/v1/properties/P"

	r := e.do("POST", base+"/reservations", key, booking("PMS-1", "2027-05-01", "2027-05-03", 2))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	repeat := e.do("POST", base+"/reservations", key, booking("PMS-1", "2027-05-01", "2027-05-03", 2))
	require.Equal(t, http.StatusOK, repeat.Status, "%s", repeat.Body)
	require.Equal(t, true, repeat.JSON(t)["outcome"].(map[string]any)["duplicate"])
	res := r.JSON(t)["reservation"].(map[string]any)
	require.Equal(t, "pms", res["channel"], "the PMS channel is the default")
	require.Equal(t, "confirmed", res["status"])
	require.Equal(t, "/api/v1/properties/P/reservations/pms/PMS-1", r.Header.Get("Location"))

	avail := func(night string) map[string]any {
		a := e.do("GET", base+"/availability?from="+night+"&to=2027-05-04", key, nil)
		require.Equal(t, http.StatusOK, a.Status, "%s", a.Body)
		pools := a.JSON(t)["pools"].([]any)
		require.Len(t, pools, 1)
		return pools[0].(map[string]any)["nights"].([]any)[0].(map[string]any)
	}
	require.Equal(t, float64(2), avail("2027-05-01")["sold"])
	require.Equal(t, float64(1), avail("2027-05-02")["available"])

	m := booking("", "2027-05-02", "2027-05-04", 1)
	delete(m, "id")
	r = e.do("PUT", base+"/reservations/pms/PMS-1", key, m)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, float64(0), avail("2027-05-01")["sold"])
	require.Equal(t, float64(1), avail("2027-05-03")["sold"])

	r = e.do("POST", base+"/reservations/pms/PMS-1/cancel", key, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "cancelled", r.JSON(t)["reservation"].(map[string]any)["status"])
	require.Equal(t, float64(0), avail("2027-05-03")["sold"])

	got := e.do("GET", base+"/reservations/pms/PMS-1", key, nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.Equal(t, float64(3), got.JSON(t)["revisions"])
	problemOf(t, e.do("GET", base+"/reservations/pms/NOPE", key, nil), http.StatusNotFound)
	// Creating it again: the very same booking is a harmless repeat, another one a conflict.
	problemOf(t, e.do("POST", base+"/reservations", key, booking("PMS-1", "2027-05-20", "2027-05-21", 1)), http.StatusConflict)
	problemOf(t, e.do("POST", base+"/reservations/pms/NOPE/cancel", key, nil), http.StatusNotFound)
}

// A create sent again is answered as a repeat — also when it leaves out a
// stay's rooms (1 by default), as the first did — but not once the
// reservation has changed since: its answer would be the first one's,
// "confirmed" of a booking since cancelled.
func TestARepeatedCreateIsARepeatUntilTheReservationChanges(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	key := e.propertyKey("P")
	base := "/api/v1/properties/P"
	b := booking("PMS-7", "2027-05-01", "2027-05-03", 1)
	delete(b["stays"].([]any)[0].(map[string]any), "rooms")
	require.Equal(t, http.StatusCreated, e.do("POST", base+"/reservations", key, b).Status)
	repeat := e.do("POST", base+"/reservations", key, b)
	require.Equal(t, http.StatusOK, repeat.Status, "the very same booking, sent again: %s", repeat.Body)
	require.Equal(t, true, repeat.JSON(t)["outcome"].(map[string]any)["duplicate"])

	require.Equal(t, http.StatusOK, e.do("POST", base+"/reservations/pms/PMS-7/cancel", key, nil).Status)
	p := problemOf(t, e.do("POST", base+"/reservations", key, b), http.StatusConflict)
	require.Contains(t, p["detail"], "cancelled now")
	require.Contains(t, p["detail"], "PUT /api/v1/properties/P/reservations/pms/PMS-7")
	b2 := booking("", "2027-05-01", "2027-05-03", 1)
	delete(b2, "id")
	r := e.do("PUT", base+"/reservations/pms/PMS-7", key, b2)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "confirmed", r.JSON(t)["reservation"].(map[string]any)["status"], "a change reinstates it")
}

func TestAPIBookingThatDoesNotFitIs409WithTheShortNights(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	base := "/api/v1/properties/P"
	e.must(http.StatusCreated, "POST", base+"/reservations", booking("A", "2027-06-02", "2027-06-03", 2))

	p := problemOf(t, e.do("POST", base+"/reservations", e.admin, booking("B", "2027-06-01", "2027-06-04", 1)), http.StatusConflict)
	short := p["short_nights"].([]any)
	require.Len(t, short, 1)
	require.Equal(t, map[string]any{"pool": "DBL", "night": "2027-06-02", "wanted": float64(1), "available": float64(0)}, short[0])
	problemOf(t, e.do("GET", base+"/reservations/pms/B", e.admin, nil), http.StatusNotFound)
	// So does a modification that needs more than is left, and it changes nothing.
	grow := booking("", "2027-06-02", "2027-06-03", 3)
	delete(grow, "id")
	p = problemOf(t, e.do("PUT", base+"/reservations/pms/A", e.admin, grow), http.StatusConflict)
	require.Len(t, p["short_nights"], 1)
	a := e.must(http.StatusOK, "GET", base+"/reservations/pms/A", nil).JSON(t)
	require.Equal(t, float64(2), a["stays"].([]any)[0].(map[string]any)["rooms"])
	// A stop-sell refuses too.
	e.must(http.StatusOK, "PUT", base+"/pools/DBL/nights?from=2027-06-10&to=2027-06-11", map[string]any{"closed": true})
	p = problemOf(t, e.do("POST", base+"/reservations", e.admin, booking("C", "2027-06-10", "2027-06-11", 1)), http.StatusConflict)
	require.Len(t, p["short_nights"], 1)
}

func TestIdempotencyKeyReplaysTheFirstAnswerAndRefusesAnotherBody(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	key := e.propertyKey("P")
	path := "/api/v1/properties/P/reservations"
	body := booking("IDEM-1", "2027-07-01", "2027-07-02", 1)

	first := e.do("POST", path, key, body, "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	require.Empty(t, first.Header.Get("Idempotent-Replayed"))
	again := e.do("POST", path, key, body, "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusCreated, again.Status)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, string(first.Body), string(again.Body))
	require.Equal(t, "application/json; charset=utf-8", again.Header.Get("Content-Type"))

	res, err := e.st.Reservation(context.Background(), "P", "pms", "IDEM-1")
	require.NoError(t, err)
	require.Equal(t, 1, res.Revisions, "the replay did not run again")

	other := booking("IDEM-1", "2027-07-01", "2027-07-02", 2)
	problemOf(t, e.do("POST", path, key, other, "Idempotency-Key", "k-1"), http.StatusUnprocessableEntity)
	problemOf(t, e.do("PUT", path+"/pms/IDEM-1", key, other, "Idempotency-Key", "k-1"), http.StatusUnprocessableEntity)

	// A refusal is an answer too: replayed, not re-run, even once rooms free up.
	full := booking("IDEM-2", "2027-07-01", "2027-07-02", 2)
	problemOf(t, e.do("POST", path, key, full, "Idempotency-Key", "k-2"), http.StatusConflict)
	e.must(http.StatusOK, "POST", path+"/pms/IDEM-1/cancel", nil)
	replayed := e.do("POST", path, key, full, "Idempotency-Key", "k-2")
	require.Equal(t, http.StatusConflict, replayed.Status)
	require.Equal(t, "true", replayed.Header.Get("Idempotent-Replayed"))

	// Keys belong to their API key: another key's k-1 is a new request.
	require.Equal(t, http.StatusCreated, e.do("POST", path, e.admin, booking("IDEM-3", "2027-07-05", "2027-07-06", 1), "Idempotency-Key", "k-1").Status)
}

func TestConcurrentRequestsWithOneIdempotencyKeyRunOnce(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 50)
	path := "/api/v1/properties/P/reservations"
	const n = 16
	var wg gosync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The same key and body, so at most one may book; the others
			// replay it or are told it is still running.
			results[i] = e.do("POST", path, e.admin, booking("RACE-1", "2027-08-01", "2027-08-02", 1), "Idempotency-Key", "race")
		}()
	}
	wg.Wait()
	created, inProgress := 0, 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusCreated && r.Header.Get("Idempotent-Replayed") == "":
			created++
		case r.Status == http.StatusCreated:
		case r.Status == http.StatusConflict:
			inProgress++
		default:
			t.Fatalf("unexpected answer %d: %s", r.Status, r.Body)
		}
	}
	require.Equal(t, 1, created, "exactly one request ran")
	res, err := e.st.Reservation(context.Background(), "P", "pms", "RACE-1")
	require.NoError(t, err)
	require.Equal(t, 1, res.Revisions)
	t.Logf("%d in progress answers", inProgress)

	// With different bodies under one key, still only one runs.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("POST", path, e.admin, booking("RACE-"+string(rune('A'+i)), "2027-08-01", "2027-08-02", 1), "Idempotency-Key", "race-2")
		}()
	}
	wg.Wait()
	created = 0
	for _, r := range results {
		if r.Status == http.StatusCreated {
			created++
		} else {
			require.Contains(t, []int{http.StatusConflict, http.StatusUnprocessableEntity}, r.Status, "%s", r.Body)
		}
	}
	require.Equal(t, 1, created)
	nights, err := e.st.Availability(context.Background(), "P", inventory.MustDate("2027-08-01"), inventory.MustDate("2027-08-02"))
	require.NoError(t, err)
	require.Equal(t, 2, nights[0].Sold, "RACE-1 and one RACE-x")
}

func TestAPIValidationNamesTheFields(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	base := "/api/v1/properties/P"

	p := problemOf(t, e.do("POST", base+"/pools", e.admin, `{"code":"X","units":1,"colour":"red"}`), http.StatusBadRequest)
	require.Equal(t, "colour", p["errors"].([]any)[0].(map[string]any)["field"])
	p = problemOf(t, e.do("POST", base+"/pools", e.admin, `{"code":"bad code!","units":-1}`), http.StatusBadRequest)
	fields := map[string]bool{}
	for _, fe := range p["errors"].([]any) {
		fields[fe.(map[string]any)["field"].(string)] = true
	}
	require.Equal(t, map[string]bool{"code": true, "units": true}, fields)
	p = problemOf(t, e.do("POST", base+"/pools", e.admin, `{"code":"X","units":"many"}`), http.StatusBadRequest)
	require.Equal(t, "units", p["errors"].([]any)[0].(map[string]any)["field"])
	p = problemOf(t, e.do("POST", base+"/reservations", e.admin, `{"id":"R","stays":[{"room_type":"DBL-STD","arrival":"2027-01-05","departure":"2027-01-02"}]}`), http.StatusBadRequest)
	require.Equal(t, "stays[0].departure", p["errors"].([]any)[0].(map[string]any)["field"])
	require.Equal(t, "/stays/0/departure", p["errors"].([]any)[0].(map[string]any)["pointer"])
	p = problemOf(t, e.do("POST", "/api/v1/properties", e.admin, map[string]any{"code": "Z", "name": "Z", "time_zone": "Mars/Olympus", "currency": "euro"}), http.StatusBadRequest)
	require.Len(t, p["errors"], 2)
	problemOf(t, e.do("POST", base+"/channels", e.admin, map[string]any{"code": "pms", "kind": "pms"}), http.StatusConflict)
	problemOf(t, e.do("GET", base+"/availability?from=2027-01-05&to=2027-01-01", e.admin, nil), http.StatusBadRequest)
	problemOf(t, e.do("POST", base+"/pools", e.admin, `{"code":`), http.StatusBadRequest)
	p = problemOf(t, e.do("PUT", base+"/channels/expedia/mappings", e.admin, map[string]any{"channel_room": "X", "room_type": "NOPE"}), http.StatusBadRequest)
	require.Equal(t, "room_type", p["errors"].([]any)[0].(map[string]any)["field"])
}

// A reservation id may hold a "/": an iCal import's is its room type and
// the event's UID ("DBL-STD/HM1@airbnb.com"). Sent escaped (%2F), it names
// the reservation — it could not be read, changed or cancelled through the
// API, as no route matched the decoded path.
func TestAReservationWhoseIDHoldsASlashIsReachedThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	key := e.propertyKey("P")
	base := "/api/v1/properties/P"
	r := e.do("POST", base+"/reservations", key, booking("DBL-STD/HM1@airbnb.com", "2027-05-01", "2027-05-03", 1))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	loc := r.Header.Get("Location")
	require.Equal(t, base+"/reservations/pms/DBL-STD%2FHM1@airbnb.com", loc)
	got := e.do("GET", loc, key, nil)
	require.Equal(t, http.StatusOK, got.Status, "%s", got.Body)
	require.Equal(t, "DBL-STD/HM1@airbnb.com", got.JSON(t)["external_id"])
	r = e.do("POST", loc+"/cancel", key, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "cancelled", r.JSON(t)["reservation"].(map[string]any)["status"])
	problemOf(t, e.do("GET", base+"/reservations/pms/DBL-STD%2FNOPE", key, nil), http.StatusNotFound)
}

// An address naming what the database cannot store (a NUL) names nothing
// keyrack holds: a 404 saying why, not a 500 from PostgreSQL.
func TestAnAddressKeyrackCannotStoreNamesNothing(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	key := e.propertyKey("P")
	p := problemOf(t, e.do("GET", "/api/v1/properties/P/reservations/pms/A%00B", key, nil), http.StatusNotFound)
	require.Contains(t, p["detail"], "no id is named so")
	p = problemOf(t, e.do("POST", "/api/v1/properties/P/reservations/pms/A%00B/cancel", key, nil), http.StatusNotFound)
	require.Contains(t, p["detail"], "cannot store")
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/api/v1/properties/P/reservations/pms/A%00B", "", nil).Status,
		"authentication first")
}

// A PMS whose connection dropped before the answer sends the request again
// with the same Idempotency-Key: it must get the first answer again, the
// Location of the reservation it made included.
func TestAReplayedCreationStillSaysWhereTheReservationIs(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	key := e.propertyKey("P")
	path := "/api/v1/properties/P/reservations"
	body := booking("LOC-1", "2027-07-01", "2027-07-02", 1)

	first := e.do("POST", path, key, body, "Idempotency-Key", "loc-1")
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	require.NotEmpty(t, first.Header.Get("Location"))
	again := e.do("POST", path, key, body, "Idempotency-Key", "loc-1")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, first.Header.Get("Location"), again.Header.Get("Location"), "the replayed 201 does not say where the reservation is")
}

// A booking the channel has already confirmed to the guest — entered from
// an OTA's extranet (after a restore from a backup, say), or a guest
// already in the house — is recorded with "mode": "must_accept" even where
// it does not fit: the API refused it with 409, so it could not be
// recorded at all, while the guest held the room. It raises an overbooking
// alert as an OTA's push does; without the mode, the API still refuses.
func TestAPIBookingTheChannelConfirmedIsRecordedPastTheLimit(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	base := "/api/v1/properties/P"
	e.must(http.StatusCreated, "POST", base+"/reservations", booking("A", "2027-06-02", "2027-06-03", 1))

	lost := booking("EXP-7", "2027-06-01", "2027-06-04", 1)
	lost["channel"] = "expedia"
	problemOf(t, e.do("POST", base+"/reservations", e.admin, lost), http.StatusConflict)
	lost["mode"] = "must_accept"
	r := e.must(http.StatusCreated, "POST", base+"/reservations", lost).JSON(t)
	require.Equal(t, "confirmed", r["reservation"].(map[string]any)["status"])
	require.Equal(t, []any{map[string]any{"pool": "DBL", "night": "2027-06-02", "wanted": float64(1), "available": float64(0)}},
		r["outcome"].(map[string]any)["overbooked"])
	var incs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.must(http.StatusOK, "GET", base+"/incidents", nil).Body), &incs))
	require.Len(t, incs, 1)
	require.Equal(t, "overbooking", incs[0]["kind"])
	require.Equal(t, "2027-06-02", incs[0]["night"])

	// A change too: may-reject refused, must-accept recorded.
	grow := booking("", "2027-06-01", "2027-06-04", 2)
	delete(grow, "id")
	problemOf(t, e.do("PUT", base+"/reservations/expedia/EXP-7", e.admin, grow), http.StatusConflict)
	grow["mode"] = "must_accept"
	r = e.must(http.StatusOK, "PUT", base+"/reservations/expedia/EXP-7", grow).JSON(t)
	require.Equal(t, float64(2), r["reservation"].(map[string]any)["stays"].([]any)[0].(map[string]any)["rooms"])

	bad := booking("B", "2027-07-01", "2027-07-02", 1)
	bad["mode"] = "force"
	p := problemOf(t, e.do("POST", base+"/reservations", e.admin, bad), http.StatusBadRequest)
	require.Equal(t, "mode", p["errors"].([]any)[0].(map[string]any)["field"])
	problemOf(t, e.do("GET", base+"/reservations/pms/B", e.admin, nil), http.StatusNotFound)
}

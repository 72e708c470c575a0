package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// lisbonDay is the day n days from today in Lisbon (the test hotels' zone).
func lisbonDay(t *testing.T, n int) string {
	loc, err := time.LoadLocation("Europe/Lisbon")
	require.NoError(t, err)
	return inventory.Today(loc).AddDays(n).String()
}

// Through the API, a PMS erases the data of a past stay's guest: the
// answer, a GET and the answer kept for the booking's Idempotency-Key all
// say {"erased": true}, and the same booking sent again is the duplicate
// it was (its hash), changing nothing. A stay that has not ended is a 409
// saying why; another property's key gets 403, an unknown booking 404.
func TestAPIErasesTheGuestDataOfAStayThatEnded(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.hotel("Q", 3)
	key, other := e.propertyKey("P"), e.propertyKey("Q")
	base := "/api/v1/properties/P"
	past := booking("PMS-PAST", lisbonDay(t, -6), lisbonDay(t, -3), 1)
	past["guest"] = map[string]any{"name": "Zelie Quarnstrom", "email": "zq@example.org", "phone": "+351 912 000 111"}
	created := e.do("POST", base+"/reservations", key, past, "Idempotency-Key", "create-past")
	require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
	future := booking("PMS-FUTURE", lisbonDay(t, 10), lisbonDay(t, 12), 1)
	e.must(http.StatusCreated, "POST", base+"/reservations", future)

	problemOf(t, e.do("POST", base+"/reservations/pms/PMS-PAST/erase-guest-data", other, nil), http.StatusForbidden)
	problemOf(t, e.do("POST", "/api/v1/properties/Q/reservations/pms/PMS-PAST/erase-guest-data", other, nil), http.StatusNotFound)
	problemOf(t, e.do("POST", base+"/reservations/pms/NOPE/erase-guest-data", key, nil), http.StatusNotFound)
	p := problemOf(t, e.do("POST", base+"/reservations/pms/PMS-FUTURE/erase-guest-data", key, nil), http.StatusConflict)
	require.Contains(t, p["detail"], "has not ended")
	require.Contains(t, p["detail"], "the hotel still needs the guest's data")
	require.Equal(t, "Ana Silva", e.must(http.StatusOK, "GET", base+"/reservations/pms/PMS-FUTURE", nil).JSON(t)["guest"].(map[string]any)["name"])

	r := e.must(http.StatusOK, "POST", base+"/reservations/pms/PMS-PAST/erase-guest-data", nil)
	res := r.JSON(t)
	require.Equal(t, map[string]any{"erased": true}, res["guest"])
	require.NotEmpty(t, res["guest_erased_at"])
	require.Equal(t, "confirmed", res["status"])
	require.Equal(t, lisbonDay(t, -3), res["departure"])
	again := e.must(http.StatusOK, "POST", base+"/reservations/pms/PMS-PAST/erase-guest-data", nil).JSON(t)
	require.Equal(t, res["guest_erased_at"], again["guest_erased_at"], "erasing again changes nothing")

	replay := e.do("POST", base+"/reservations", key, past, "Idempotency-Key", "create-past")
	require.Equal(t, http.StatusCreated, replay.Status, "%s", replay.Body)
	require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
	require.Equal(t, map[string]any{"erased": true}, replay.JSON(t)["reservation"].(map[string]any)["guest"], "the kept answer is erased too")
	dup := e.do("POST", base+"/reservations", key, past)
	require.Equal(t, http.StatusOK, dup.Status, "the booking sent again is its duplicate: %s", dup.Body)
	require.Equal(t, true, dup.JSON(t)["outcome"].(map[string]any)["duplicate"])
	got := e.must(http.StatusOK, "GET", base+"/reservations/pms/PMS-PAST", nil).JSON(t)
	require.Equal(t, map[string]any{"erased": true}, got["guest"])
	require.Equal(t, float64(1), got["revisions"])
	var traces int
	require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM reservations x WHERE to_jsonb(x)::text LIKE '%Zelie%')
		+ (SELECT count(*) FROM reservation_revisions x WHERE to_jsonb(x)::text LIKE '%Zelie%')
		+ (SELECT count(*) FROM idempotency_keys WHERE convert_from(response, 'UTF8') LIKE '%Zelie%')`).Scan(&traces))
	require.Zero(t, traces)
}

// On a booking's page an admin erases the guest's data, ticking the
// confirmation; the page then says it was erased and shows none of it. A
// viewer has no such form and is refused (403), an admin of another
// property finds no booking (404), a stay that has not ended shows why it
// cannot be erased and is refused (409), and without the confirmation
// nothing is erased (400).
func TestStaffEraseAGuestsDataFromTheBookingPage(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("ALFA", 3)
	e.seedHotel("BRAVO", 3)
	ctx := context.Background()
	_, err := e.st.CreatePropertyStaffUser(ctx, "bruno", inventory.RoleAdmin, "BRAVO", uiPassword, inventory.System)
	require.NoError(t, err)
	book := func(id string, from, to int) int64 {
		out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "ALFA", Channel: "expedia", ExternalID: id, Kind: inventory.New,
			Mode: inventory.MustAccept, Guest: inventory.Guest{Name: "Zelie Quarnstrom", Email: "zq@example.org"},
			Stays: []inventory.RoomStay{{ChannelRoom: "DBL", RoomType: "DBL-STD", Arrival: inventory.MustDate(lisbonDay(t, from)),
				Departure: inventory.MustDate(lisbonDay(t, to)), Rooms: 1}},
			Raw: []byte(`<OTA_HotelResNotifRQ><UniqueID ID="` + id + `"/><GivenName>Zelie</GivenName><AddressLine>Rua das Flores 12</AddressLine></OTA_HotelResNotifRQ>`)})
		require.NoError(t, err)
		return out.ReservationID
	}
	past, future := book("EXP-PAST", -5, -2), book("EXP-FUTURE", 3, 5)
	pastPage := "/admin/p/ALFA/bookings/" + strconv.FormatInt(past, 10)
	futurePage := "/admin/p/ALFA/bookings/" + strconv.FormatInt(future, 10)
	erase := func(page string) string { return page + "/erase-guest-data" }
	confirm := func() url.Values { return url.Values{"confirm": {"yes"}} } // post adds its page's CSRF token to the form
	guestOf := func(id int64) inventory.Guest {
		r, err := e.st.ReservationByID(ctx, "ALFA", id)
		require.NoError(t, err)
		return r.Guest
	}

	viewer := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	viewer.login("victor")
	p := viewer.get(pastPage)
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, "Erase guest data")
	p = viewer.post(pastPage, erase(pastPage), confirm())
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Contains(t, p.Body, "can look but not change")

	bravo := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	bravo.login("bruno")
	p = bravo.post("/admin/p/BRAVO/grid", erase(pastPage), confirm())
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, p.Body, "There is no property ALFA")
	p = bravo.post("/admin/p/BRAVO/grid", erase("/admin/p/BRAVO/bookings/"+strconv.FormatInt(past, 10)), confirm())
	require.Equal(t, http.StatusNotFound, p.Status, "ALFA's booking through BRAVO's page: %s", p.Body)

	e.login("anna")
	p = e.get(futurePage)
	require.NotContains(t, p.Body, "Erase guest data</button>")
	require.Contains(t, p.Body, "can be erased once the stay has ended (after check-out on "+lisbonDay(t, 5)+")")
	p = e.post(futurePage, erase(futurePage), confirm())
	require.Equal(t, http.StatusConflict, p.Status)
	require.Contains(t, p.Body, "has not ended")
	require.Equal(t, "Zelie Quarnstrom", guestOf(future).Name)

	p = e.get(pastPage)
	require.Contains(t, p.Body, `action="`+erase(pastPage)+`"`)
	require.Contains(t, p.Body, `name="confirm" value="yes" required`)
	require.Contains(t, p.Body, "This cannot be undone.")
	p = e.post(pastPage, erase(pastPage), nil)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "tick the box")
	require.Equal(t, "Zelie Quarnstrom", guestOf(past).Name, "nothing was erased by viewer, BRAVO's admin or without the confirmation")

	p = e.post(pastPage, erase(pastPage), confirm())
	require.Equal(t, http.StatusSeeOther, p.Status, "%s", p.Body)
	loc := p.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, pastPage+"?flash="), loc)
	p = e.get(loc)
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "The guest data of booking EXP-PAST from expedia is erased")
	require.Contains(t, p.Body, "personal data erased")
	require.Contains(t, p.Body, "guest data erased")
	require.Contains(t, p.Body, "by staff:anna")
	require.Contains(t, p.Body, `<th scope="row">Guest data erased</th>`)
	require.Contains(t, p.Body, "reservation.erase_guest_data", "as recorded")
	for _, trace := range []string{"Zelie", "zq@example.org", "Rua das Flores"} {
		require.NotContains(t, p.Body, trace)
	}
	require.NotContains(t, p.Body, "Erase guest data</button>", "nothing left to erase")
	require.Equal(t, inventory.ErasedGuest, guestOf(past))
}

// An OTA sending a booking again after its guest's data was erased is
// answered as before (the booking stands), and keyrack keeps neither its
// guest's data nor the message: its log entry says why it was not kept.
// The message the booking first came in, which names it, was erased with it.
func TestAnOTASendingAnErasedBookingAgainIsAnsweredAndNotKept(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "booking", "ota_push", "H-P", "bk-user", "bk-secret", nil)
	msg := resNotif("Commit", "OTA-OLD", "H-P", lisbonDay(t, -6), lisbonDay(t, -3))
	first := e.otaPost("booking", "bk-user", "bk-secret", msg)
	require.True(t, otaRS(t, first).Success, "%s", first.Body)
	traces := func() int { return inventorytest.GuestTraces(t, e.st.DB(), "Silva") }
	require.Equal(t, 3, traces())

	e.must(http.StatusOK, "POST", "/api/v1/properties/P/reservations/booking/OTA-OLD/erase-guest-data", nil)
	require.Zero(t, traces(), "the message the booking came in is erased with it")

	again := e.otaPost("booking", "bk-user", "bk-secret", msg)
	require.Equal(t, http.StatusOK, again.Status)
	require.True(t, otaRS(t, again).Success, "%s", again.Body)
	require.Zero(t, traces())
	msgs := e.must(http.StatusOK, "GET", "/api/v1/properties/P/channels/booking/messages", nil).List(t)
	require.Len(t, msgs, 2)
	require.Equal(t, inventory.ErasedMessageNote, msgs[0]["raw"], "the newest")
	require.Equal(t, "ok", msgs[0]["outcome"])
	res := e.must(http.StatusOK, "GET", "/api/v1/properties/P/reservations/booking/OTA-OLD", nil).JSON(t)
	require.Equal(t, float64(1), res["revisions"])
	require.Equal(t, map[string]any{"erased": true}, res["guest"])
}

package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// The front desk (a PMS key) changes a booking an OTA made — the guest
// extends the stay at the desk. The OTA did not change its own count, so it
// is told the pool's new value on the added night. (The API's change was
// taken for the OTA's own and suppressed as an echo: the OTA went on
// offering a room the pool no longer had.)
func TestTheFrontDesksChangeOfAnOTABookingReachesThatOTA(t *testing.T) {
	t.Parallel()
	e, f := newPushHotel(t)
	ctx := context.Background()
	a := e.pushChannel("P", "A", nil)
	require.NoError(t, f.Resync(ctx, "P", "A"))
	for d := inventory.MustDate("2027-03-01"); d.Before(inventory.MustDate("2027-03-05")); d = d.AddDays(1) {
		require.NoError(t, a.WaitFor("DBL", d, 3, deliveryWait))
	}
	e.waitAcked("A", inventory.MustDate("2027-03-01"), inventory.MustDate("2027-03-05"), 3)

	// A sells one room for 1–3 March (its own count goes down by itself).
	made := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05Z") // dated, in the past: ordered before the API's change
	r := e.otaPost("A", "a-user", "a-secret", resNotifMade("Commit", "A-1", "HTL-A", "2027-03-01", "2027-03-03", made))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))
	time.Sleep(2 * time.Second) // A's echo settles

	// The guest extends at the front desk: the PMS changes A-1 through the API.
	pmsKey := e.propertyKey("P")
	r = e.do("PUT", "/api/v1/properties/P/reservations/A/A-1", pmsKey, map[string]any{
		"stays": []any{map[string]any{"room_type": "DBL-STD", "arrival": "2027-03-01", "departure": "2027-03-04", "rooms": 1}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-03"), "the pool sold 3 March: %s", r.Body)
	// A never sold 3 March: it must be told 2 rooms are left.
	err := a.WaitFor("DBL", inventory.MustDate("2027-03-03"), 2, deliveryWait)
	if err != nil {
		v, _ := a.Value("DBL", inventory.MustDate("2027-03-03"))
		var acked int
		_ = e.st.DB().QueryRow(ctx, `SELECT a.available FROM sync_acks a JOIN channels c ON c.id = a.channel_id AND c.code = 'A'
			WHERE a.night = '2027-03-03'`).Scan(&acked)
		t.Fatalf("A holds %d for 3 March, keyrack records A as having acknowledged %d, the pool offers 2", v, acked)
	}
}

// An OTA in a zone east of UTC dates its bookings in local time without a
// zone (CreateDateTime="2027-01-10T10:00:00"), which keyrack reads as UTC:
// hours ahead of keyrack's clock. The front desk cancels that booking
// through the API an hour after it was made, and it is cancelled. (Dated by
// keyrack's clock alone, the cancellation was ordered before the booking and
// changed nothing, answered 200.)
func TestTheFrontDeskCancelsAnOTABookingDatedInLocalTime(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "A", "ota_push", "HTL-A", "a-user", "a-secret", nil)
	// Made an hour ago in UTC+8, sent as local time without its zone.
	made := time.Now().In(time.FixedZone("UTC+8", 8*3600)).Add(-time.Hour).Format("2006-01-02T15:04:05")
	r := e.otaPost("A", "a-user", "a-secret", resNotifMade("Commit", "A-1", "HTL-A", "2027-03-01", "2027-03-03", made))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))

	pmsKey := e.propertyKey("P")
	r = e.do("POST", "/api/v1/properties/P/reservations/A/A-1/cancel", pmsKey, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	res, err := e.st.Reservation(context.Background(), "P", "A", "A-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status, "answered %d: %s", r.Status, r.Body)
	require.Equal(t, 0, e.sold("P", "2027-03-01"), "the cancelled booking's night is free")
}

// The same for a change of stay: the front desk extends it, and it is extended.
func TestTheFrontDeskExtendsAnOTABookingDatedInLocalTime(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "A", "ota_push", "HTL-A", "a-user", "a-secret", nil)
	made := time.Now().In(time.FixedZone("UTC+8", 8*3600)).Add(-time.Hour).Format("2006-01-02T15:04:05")
	r := e.otaPost("A", "a-user", "a-secret", resNotifMade("Commit", "A-1", "HTL-A", "2027-03-01", "2027-03-03", made))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = e.do("PUT", "/api/v1/properties/P/reservations/A/A-1", e.propertyKey("P"), map[string]any{
		"stays": []any{map[string]any{"room_type": "DBL-STD", "arrival": "2027-03-01", "departure": "2027-03-04", "rooms": 1}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "2027-03-04", r.JSON(t)["reservation"].(map[string]any)["departure"], "the answer shows the change: %s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-03"))
}

// An OTA west of UTC (Los Angeles) dates its messages in local time without a
// zone, which keyrack reads as UTC: hours behind keyrack's clock. The front
// desk extends the guest's booking through the API; an hour later the guest
// changes the dates on the OTA, which sends a Modify with the whole new stay.
// The OTA's modification is the latest change and must stand: the OTA has
// confirmed those dates to the guest and sells from them.
func TestAnOTAModificationAfterTheFrontDesksChangeStandsWhenTheOTADatesInLocalTimeWestOfUTC(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "A", "ota_push", "HTL-A", "a-user", "a-secret", nil)
	la := time.FixedZone("UTC-8", -8*3600)
	local := func(t time.Time) string { return t.In(la).Format("2006-01-02T15:04:05") }
	made := local(time.Now().Add(-2 * time.Hour))
	r := e.otaPost("A", "a-user", "a-secret", resNotifMade("Commit", "A-1", "HTL-A", "2027-03-01", "2027-03-03", made))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	// The front desk extends the stay by a night.
	r = e.do("PUT", "/api/v1/properties/P/reservations/A/A-1", e.propertyKey("P"), map[string]any{
		"stays": []any{map[string]any{"room_type": "DBL-STD", "arrival": "2027-03-01", "departure": "2027-03-04", "rooms": 1}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-03"))

	// Later, the guest moves the stay on the OTA to 10–12 March: a Modify
	// dated now, in the OTA's local time.
	body := string(resNotifMade("Modify", "A-1", "HTL-A", "2027-03-10", "2027-03-12", made))
	body = strings.Replace(body, `CreateDateTime="`+made+`"`, `CreateDateTime="`+made+`" LastModifyDateTime="`+local(time.Now())+`"`, 1)
	r = e.otaPost("A", "a-user", "a-secret", []byte(body))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	res, err := e.st.Reservation(context.Background(), "P", "A", "A-1")
	require.NoError(t, err)
	require.Equal(t, "2027-03-10", res.Arrival.String(), "the OTA's later modification holds the guest's new dates")
	require.Equal(t, 1, e.sold("P", "2027-03-10"), "10 March is sold")
	require.Equal(t, 0, e.sold("P", "2027-03-01"), "1 March is free again")
}

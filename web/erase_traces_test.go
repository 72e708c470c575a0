package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/fixtures/icalfeed"
	"github.com/keyrack/keyrack/fixtures/otachannel"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/keyrack/keyrack/sync"
	"github.com/keyrack/keyrack/sync/synctest"
	"github.com/stretchr/testify/require"
)

// A guest booked through every way a booking comes in — an OTA's push (a
// real Weekendesk message, after it was sent with a wrong password and
// refused), an OTA keyrack pulls from, the PMS's API, staff
// recording what a channel confirmed, an iCal calendar naming the guest —
// and told to two PMSs, one down and one refusing, each echoing the guest
// back in its error, leaves no trace of the guest's name, email or phone
// in any table, nor in the fan-out's queues, once each booking's guest
// data is erased.
func TestErasingAGuestBookedEveryWayLeavesNoTraceInAnyTable(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.runFanout(func(c *sync.Config) {
		c.Store = e.st
		c.ICalFetcher = &ical.Fetcher{AllowPrivate: true} // the test's feed server is on loopback
		c.ICalCheckInterval = 50 * time.Millisecond
		c.MaxRetry = 1                                                      // the PMS that is down is given up on, and no later attempt writes meanwhile
		c.PullAllowPrivate, c.PullCheckInterval = true, 20*time.Millisecond // the pulled OTA is on loopback
	})
	ctx := context.Background()
	e.hotel("P", 5)
	const name, email, phone = "Rhea Vexquarn", "rhea.vexquarn@example.org", "+351919282737"
	traces := func() []string {
		var all []string
		for _, s := range []string{"Vexquarn", "vexquarn", phone} { // vexquarn: the email
			all = append(all, inventorytest.GuestTraceRows(t, e.st.DB(), s)...)
		}
		slices.Sort(all)
		return slices.Compact(all)
	}

	// Two PMSs besides the one that books through the API: one down, one
	// refusing the webhook, each answering with what it got.
	for code, status := range map[string]int{"pmsdown": http.StatusInternalServerError, "pmsrefuses": http.StatusUnprocessableEntity} {
		var known gosync.Map // booking → its guest, as the PMS keeps it
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rev struct {
				ExternalID string `json:"external_id"`
				Guest      struct{ Name, Email string }
			}
			_ = json.NewDecoder(r.Body).Decode(&rev)
			if rev.Guest.Name != "" {
				known.Store(rev.ExternalID, rev.Guest.Name+" <"+rev.Guest.Email+">")
			}
			guest, _ := known.Load(rev.ExternalID)
			http.Error(w, fmt.Sprintf("cannot take the booking of %v", guest), status)
		}))
		t.Cleanup(srv.Close)
		e.must(http.StatusCreated, "POST", "/api/v1/properties/P/channels", map[string]any{"code": code, "kind": "pms", "endpoint": srv.URL})
		e.must(http.StatusNoContent, "PUT", "/api/v1/properties/P/channels/"+code+"/credentials", map[string]any{"outbound_secret": "s-" + code})
	}

	// An OTA's push: Weekendesk's own sample with the guest's name, email
	// and phone, first with its dates the wrong way round (refused).
	e.weekendesk("P")
	msg := otaSample(t, "weekendesk_OTA_HotelResRQ_booking-notification.xml")
	for from, to := range map[string]string{"<Surname><![CDATA[Test]]>": "<Surname><![CDATA[Vexquarn]]>",
		"<GivenName><![CDATA[Test]]>": "<GivenName><![CDATA[Rhea]]>", "test@test.com": email, `PhoneNumber="123456789"`: `PhoneNumber="` + phone + `"`} {
		require.Contains(t, string(msg), from)
		msg = bytes.ReplaceAll(msg, []byte(from), []byte(to))
	}
	// Sent first with a wrong password: kept apart, unattributed.
	wrong := bytes.Replace(msg, []byte(`MessagePassword="password"`), []byte(`MessagePassword="guess"`), 1)
	require.Equal(t, http.StatusUnauthorized, e.otaPost("weekendesk", "", "", wrong).Status)
	refused := bytes.Replace(msg, []byte(`End="2017-11-01"`), []byte(`End="2017-10-30"`), 1)
	r := e.otaPost("weekendesk", "", "", refused)
	require.False(t, otaRS(t, r).Success, "%s", r.Body)
	r = e.otaPost("weekendesk", "", "", msg)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)

	// An OTA keyrack pulls its bookings from.
	pulled := otachannel.New()
	t.Cleanup(pulled.Close)
	pulled.SetCredentials("keyrack-pull", "out-pull")
	e.otaChannel("P", "bdc", "ota_pull", "HOTEL-BDC", "bdc-user", "bdc-secret", map[string]any{"pull_url": pulled.PullURL(), "pull_interval_s": 5,
		"credentials": map[string]any{"outbound_username": "keyrack-pull", "outbound_secret": "out-pull"}})
	pulled.AddPending(otaxml.Reservation{ID: "BDC-VX", Kind: inventory.New, HotelCode: "HOTEL-BDC", Guest: inventory.Guest{Name: name, Email: email, Phone: phone},
		Stays: []otaxml.Stay{{RoomType: "DBL", RatePlan: "BAR", Arrival: inventory.MustDate(lisbonDay(t, -7)), Departure: inventory.MustDate(lisbonDay(t, -4)), Units: 1, Adults: 2}}})
	require.Eventually(t, func() bool { return pulled.AckCount("BDC-VX") == 1 }, deliveryWait, 20*time.Millisecond, "the pulled booking acknowledged")

	// The PMS's API.
	pmsKey := e.propertyKey("P")
	api := booking("PMS-VX", lisbonDay(t, -6), lisbonDay(t, -3), 1)
	api["guest"] = map[string]any{"name": name, "email": email, "phone": phone}
	api["channel"] = "pms"
	r = e.do("POST", "/api/v1/properties/P/reservations", pmsKey, api, "Idempotency-Key", "vx-1")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

	// Staff recording a booking expedia confirmed.
	_, err := e.st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, uiPassword, inventory.System)
	require.NoError(t, err)
	ui := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	ui.login("anna")
	form := "/admin/p/P/bookings/new"
	p := ui.post(form, form, url.Values{"channel": {"expedia"}, "id": {"EXP-VX"}, "room_type": {"DBL-STD"}, "rate_plan": {"BAR"},
		"arrival": {lisbonDay(t, -5)}, "departure": {lisbonDay(t, -2)}, "rooms": {"1"}, "adults": {"2"}, "children": {"0"},
		"guest": {name}, "email": {email}, "phone": {phone}, "total": {"240.00"}, "currency": {"EUR"}})
	require.Equal(t, http.StatusSeeOther, p.Status, "%s", p.Body)

	// A calendar whose event names the guest, then drops it (cancelled).
	e.icalChannel("P", "airbnb")
	feed := icalfeed.New(t)
	fd := e.must(http.StatusOK, "PUT", "/api/v1/properties/P/channels/airbnb/ical-feeds", map[string]any{"room_type": "DBL-STD", "url": feed.URL()}).JSON(t)
	syncFeed := "/api/v1/properties/P/channels/airbnb/ical-feeds/" + itoa(fd["id"].(float64)) + "/sync"
	night := strings.ReplaceAll(lisbonDay(t, 20), "-", "")
	after := strings.ReplaceAll(lisbonDay(t, 22), "-", "")
	calendar := func(events string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + events + "END:VCALENDAR\r\n")
	}
	feed.SetBody("text/calendar", calendar("BEGIN:VEVENT\r\nUID:HM-VX@airbnb.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:"+night+
		"\r\nDTEND;VALUE=DATE:"+after+"\r\nSUMMARY:"+name+"\r\nDESCRIPTION:Guest "+name+", "+email+", "+phone+"\r\nEND:VEVENT\r\n"))
	e.must(http.StatusAccepted, "POST", syncFeed, nil)
	status := func() inventory.Status {
		res, err := e.st.Reservation(ctx, "P", "airbnb", "DBL-STD/HM-VX@airbnb.com")
		if err != nil {
			return ""
		}
		return res.Status
	}
	require.Eventually(t, func() bool { return status() == inventory.Confirmed }, deliveryWait, 50*time.Millisecond, "the calendar's booking")
	feed.SetBody("text/calendar", calendar(""))
	e.must(http.StatusAccepted, "POST", syncFeed, nil)
	require.Eventually(t, func() bool { return status() == inventory.Cancelled }, deliveryWait, 50*time.Millisecond, "its cancellation")

	// Every revision reaches each PMS but its own; the one down is given up
	// on, the one refusing refused, each with the guest in its error.
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT count(*) FROM reservation_revisions v
			JOIN channels c ON c.property_id = v.property_id AND c.code IN ('pmsdown', 'pmsrefuses')
			WHERE NOT EXISTS (SELECT 1 FROM feed_entries f WHERE f.property_id = v.property_id AND f.channel_id = c.id
				AND f.reservation_id = v.reservation_id AND f.revision_seq = v.seq AND f.failed_at IS NOT NULL)`).Scan(&pending))
		return pending == 0
	}, deliveryWait, 50*time.Millisecond, "every webhook failed for good")
	tables := func() map[string]int {
		n := map[string]int{}
		for _, row := range traces() {
			n[row[:strings.Index(row, ":")]]++
		}
		return n
	}
	before := tables()
	for _, table := range []string{"reservations", "reservation_revisions", "inbound_messages", "inbound_unattributed", "idempotency_keys", "feed_entries", "incidents"} {
		require.NotZero(t, before[table], "the guest is in %s before the erasure: %v", table, before)
	}

	for _, b := range [][2]string{{"weekendesk", "12345678"}, {"bdc", "BDC-VX"}, {"pms", "PMS-VX"}, {"expedia", "EXP-VX"}, {"airbnb", "DBL-STD/HM-VX@airbnb.com"}} {
		res, err := e.st.Reservation(ctx, "P", b[0], b[1])
		require.NoError(t, err, "%s %s", b[0], b[1])
		_, err = e.st.EraseGuestData(ctx, "P", res.ID, inventory.Staff("anna"))
		require.NoError(t, err, "%s %s", b[0], b[1])
	}
	require.Empty(t, tables(), "the guest's data left after the erasure: %s", strings.Join(traces(), "\n"))
	require.Empty(t, synctest.RedisKeysHolding(t, synctest.RedisURL(t), "Vexquarn"), "nor in the fan-out's queues (a failed webhook's task)")

	// What staff need stays: the failed webhooks, their incidents open,
	// saying which revision of which booking, the PMS's answer erased.
	var failed, open int
	var message string
	require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT (SELECT count(*) FROM feed_entries WHERE failed_at IS NOT NULL AND last_error LIKE '(guest data erased %'),
		count(*), min(message) FILTER (WHERE message LIKE '%PMS-VX%' AND details->>'channel' = 'pmsrefuses')
		FROM incidents WHERE kind = 'webhook_failed' AND resolved_at IS NULL AND details->>'last_error' LIKE '(guest data erased %'`).Scan(&failed, &open, &message))
	require.Equal(t, 12, failed)
	require.Equal(t, 12, open)
	require.Regexp(t, `^webhook to pmsrefuses failed for good after 1 attempts \(revision 1 of reservation PMS-VX\): \(guest data erased .* by staff:anna\)$`, message)

	// The PMS's booking, cancelled after the erasure: each PMS is sent the
	// cancellation (the guest erased) and answers from its own copy, named
	// again — keyrack keeps only that the webhook failed.
	r = e.do("POST", "/api/v1/properties/P/reservations/pms/PMS-VX/cancel", pmsKey, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Eventually(t, func() bool {
		var failed int
		require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT count(*) FROM feed_entries WHERE revision_seq = 2 AND failed_at IS NOT NULL
			AND reservation_id = (SELECT id FROM reservations WHERE external_id = 'PMS-VX')`).Scan(&failed))
		return failed == 2
	}, deliveryWait, 50*time.Millisecond, "the cancellation's webhooks failed for good")
	require.Empty(t, tables(), "the guest's data the PMS echoed after the erasure: %s", strings.Join(traces(), "\n"))
	require.Empty(t, synctest.RedisKeysHolding(t, synctest.RedisURL(t), "Vexquarn"))
}

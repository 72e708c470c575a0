package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// bookingsEnv is hotel P (5 double rooms, channels pms and expedia) with:
//   - EXP-1 from expedia: booked with a card number and security code in its
//     raw message, and modified to 2 rooms after all the others came in;
//   - PMS-7 from the PMS, whose guest is called <script>alert(1)</script>;
//   - PMS-8 from the PMS, booked and cancelled;
//   - EXP-9 from expedia for an unmapped room (parked);
//   - EXP-BIG from expedia, 6 rooms on one night: overbooked;
//   - EXP-P from expedia: a cancellation whose booking never came (pending);
//
// and hotel Q with a booking of its own. ids maps channel reservation ids to
// keyrack's.
type bookingsEnv struct {
	*uiEnv
	ids map[string]int64
}

const (
	bookingCard      = "4111111111111111"
	bookingCVV       = "7373"
	bookingBadGuest  = "<script>alert(1)</script>"
	bookingRawSecure = `<OTA_HotelResNotifRQ><PaymentCard CardCode="VI"><CardNumber>` + bookingCard + `</CardNumber><SeriesCode>` + bookingCVV + `</SeriesCode></PaymentCard><ResGuest>Ana Silva</ResGuest></OTA_HotelResNotifRQ>`
)

func newBookingsEnv(t *testing.T) *bookingsEnv {
	t.Helper()
	e := &bookingsEnv{uiEnv: newUI(t), ids: map[string]int64{}}
	e.seedHotel("P", 5)
	e.seedHotel("Q", 5)
	stay := func(room, channelRoom, arrival string, nights, rooms int) []inventory.RoomStay {
		a := inventory.MustDate(arrival)
		return []inventory.RoomStay{{RoomType: room, ChannelRoom: channelRoom, Arrival: a, Departure: a.AddDays(nights), Rooms: rooms}}
	}
	apply := func(rev inventory.Revision) inventory.Outcome {
		t.Helper()
		if rev.Property == "" {
			rev.Property = "P"
		}
		out, err := e.st.ApplyRevision(context.Background(), rev)
		require.NoError(t, err)
		if rev.Property == "P" {
			e.ids[rev.ExternalID] = out.ReservationID
		}
		return out
	}
	ana := inventory.Guest{Name: "Ana Silva", Email: "ana.silva@example.org"}
	apply(inventory.Revision{Channel: "expedia", ExternalID: "EXP-1", Kind: inventory.New, Guest: ana, Total: "300.00", Currency: "EUR",
		Stays: stay("DBL-STD", "DBL", "2026-12-01", 3, 1), Raw: []byte(bookingRawSecure), ContentType: "application/xml"})
	apply(inventory.Revision{Channel: "pms", ExternalID: "PMS-7", Kind: inventory.New, Guest: inventory.Guest{Name: bookingBadGuest},
		Stays: stay("DBL-STD", "", "2026-12-10", 2, 1), Raw: []byte(`{"guest":"` + bookingBadGuest + `"}`), ContentType: "application/json"})
	apply(inventory.Revision{Channel: "pms", ExternalID: "PMS-8", Kind: inventory.New, Guest: inventory.Guest{Name: "Carl Cancel"},
		Stays: stay("DBL-STD", "", "2026-12-05", 2, 1)})
	apply(inventory.Revision{Channel: "pms", ExternalID: "PMS-8", Kind: inventory.Cancel})
	out := apply(inventory.Revision{Channel: "expedia", ExternalID: "EXP-9", Kind: inventory.New, Guest: inventory.Guest{Name: "Dora Parked"},
		Stays: stay("", "SUITE", "2026-12-03", 1, 1)})
	require.True(t, out.Parked)
	out = apply(inventory.Revision{Channel: "expedia", ExternalID: "EXP-BIG", Kind: inventory.New, Guest: inventory.Guest{Name: "Team Offsite"},
		Stays: stay("DBL-STD", "DBL", "2026-12-20", 1, 6)})
	require.NotEmpty(t, out.Overbooked)
	out = apply(inventory.Revision{Channel: "expedia", ExternalID: "EXP-P", Kind: inventory.Cancel})
	require.Equal(t, inventory.Pending, out.Status)
	apply(inventory.Revision{Channel: "expedia", ExternalID: "EXP-1", Kind: inventory.Modify, Guest: ana, Total: "600.00", Currency: "EUR",
		Stays: stay("DBL-STD", "DBL", "2026-12-01", 3, 2), Raw: []byte(`<OTA_HotelResModifyNotifRQ><Rooms>2</Rooms></OTA_HotelResModifyNotifRQ>`), ContentType: "application/xml"})
	apply(inventory.Revision{Property: "Q", Channel: "expedia", ExternalID: "Q-1", Kind: inventory.New, Guest: ana,
		Stays: stay("DBL-STD", "DBL", "2026-12-01", 1, 1)})
	return e
}

var bookingRowID = regexp.MustCompile(`<th scope="row"><a href="/admin/p/P/bookings/(\d+)">([^<]*)</a></th>`)

// listed is the channel reservation ids a bookings page lists, in order; it
// checks each links to its booking page.
func (e *bookingsEnv) listed(query string) []string {
	e.t.Helper()
	p := e.get("/admin/p/P/bookings" + query)
	require.Equal(e.t, http.StatusOK, p.Status, p.Body)
	out := []string{}
	for _, m := range bookingRowID.FindAllStringSubmatch(p.Body, -1) {
		ext := html.UnescapeString(m[2])
		require.Equal(e.t, strconv.FormatInt(e.ids[ext], 10), m[1], "row %s links to its booking", ext)
		out = append(out, ext)
	}
	return out
}

// The bookings list shows every booking of the property from both channels,
// the most recently changed first, with its status, stay, rooms, guest
// (escaped), total and a mark on parked bookings.
func TestBookingsListShowsEveryBooking(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	e.login("anna")
	require.Equal(t, []string{"EXP-1", "EXP-P", "EXP-BIG", "EXP-9", "PMS-8", "PMS-7"}, e.listed(""), "the most recently changed first (EXP-1 was modified last); Q's booking is not listed")

	p := e.get("/admin/p/P/bookings")
	require.Contains(t, p.Body, `aria-current="page">Bookings</a>`)
	require.Contains(t, p.Body, html.EscapeString(bookingBadGuest))
	require.NotContains(t, p.Body, bookingBadGuest, "the guest's name is escaped")
	require.Contains(t, p.Body, "unmapped SUITE")
	require.Contains(t, p.Body, ">parked</span>")
	require.Contains(t, p.Body, "600.00 EUR")
	require.Contains(t, p.Body, "2 × DBL-STD", "EXP-1 after its modification")
	require.Contains(t, p.Body, `<span class="status status-cancelled">cancelled</span>`)
	require.Contains(t, p.Body, "2026-12-01</td>")
	require.Contains(t, p.Body, "2026-12-04</td>")
	// The form is a GET form with a label for every field and the
	// property's channels to choose from.
	require.Contains(t, p.Body, `<form class="search" method="get" action="/admin/p/P/bookings"`)
	for _, id := range []string{"channel", "status", "from", "to", "guest", "id"} {
		require.Contains(t, p.Body, `<label for="`+id+`">`)
		require.Contains(t, p.Body, `id="`+id+`" name="`+id+`"`)
	}
	require.Contains(t, p.Body, `<option value="expedia">expedia</option>`)
	require.Contains(t, p.Body, `<option value="pms">pms</option>`)
	require.Contains(t, p.Body, `<option value="cancelled">cancelled</option>`)
}

// Each filter narrows the list to what it says, the filters combine, and the
// form shows the search it ran.
func TestBookingsFiltersNarrowTheList(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	e.login("anna")
	require.Equal(t, []string{"PMS-8", "PMS-7"}, e.listed("?channel=pms"))
	require.Equal(t, []string{"EXP-1", "EXP-P", "EXP-BIG", "EXP-9"}, e.listed("?channel=expedia"))
	require.Equal(t, []string{"PMS-8"}, e.listed("?status=cancelled"))
	require.Equal(t, []string{"EXP-1", "EXP-BIG", "EXP-9", "PMS-7"}, e.listed("?status=confirmed"))
	require.Equal(t, []string{"EXP-P"}, e.listed("?status=pending"))
	// Stays overlapping the nights from 2026-12-03 up to (not including) 2026-12-05:
	// EXP-1 (12-01..12-04) and EXP-9 (12-03) do; PMS-8 arrives on the 5th.
	require.Equal(t, []string{"EXP-1", "EXP-9"}, e.listed("?from=2026-12-03&to=2026-12-05"))
	require.Equal(t, []string{"EXP-BIG", "PMS-8", "PMS-7"}, e.listed("?from=2026-12-06"), "a cancelled booking keeps its dates; a pending one has none")
	require.Equal(t, []string{"EXP-1"}, e.listed("?to=2026-12-02"))
	require.Equal(t, []string{"EXP-1"}, e.listed("?guest=ANA"))
	require.Equal(t, []string{"EXP-1"}, e.listed("?guest=silva%40example"), "e-mail too")
	require.Equal(t, []string{"PMS-7"}, e.listed("?guest="+url.QueryEscape("<script")))
	require.Empty(t, e.listed("?guest=%25"), "% is a character, not a wildcard")
	require.Equal(t, []string{"PMS-7"}, e.listed("?id=PMS-7"))
	require.Equal(t, []string{"EXP-9"}, e.listed("?id="+strconv.FormatInt(e.ids["EXP-9"], 10)), "keyrack's id")
	require.Equal(t, []string{"PMS-8"}, e.listed("?channel=pms&status=cancelled&from=2026-12-01"))
	require.Empty(t, e.listed("?channel=pms&id=EXP-1"))

	p := e.get("/admin/p/P/bookings?channel=pms&status=cancelled&from=2026-12-01&guest=carl")
	require.Contains(t, p.Body, `<option value="pms" selected>`)
	require.Contains(t, p.Body, `<option value="cancelled" selected>`)
	require.Contains(t, p.Body, `id="from" name="from" value="2026-12-01"`)
	require.Contains(t, p.Body, `id="guest" name="guest" value="carl"`)
	require.Contains(t, p.Body, "Clear the search")

	p = e.get("/admin/p/P/bookings?guest=nobody")
	require.Contains(t, p.Body, "No booking matches this search.")

	// A search that cannot run says why and keeps the form.
	for q, msg := range map[string]string{
		"?from=tomorrow":                 "is not a date",
		"?channel=booking":               "There is no channel booking",
		"?status=lost":                   "is not one of confirmed, pending, cancelled",
		"?from=2026-12-05&to=2026-12-01": "Staying from 2026-12-05 until 2026-12-01: “until” is the check-out day, after the first night — the guests staying the night of 2026-12-05 are found until 2026-12-06.",
		"?from=2026-12-05&to=2026-12-05": "“until” is the check-out day",
		"?page=0":                        "Page 0 does not exist",
	} {
		p := e.get("/admin/p/P/bookings" + q)
		require.Equal(t, http.StatusBadRequest, p.Status, q)
		require.Contains(t, p.Body, msg, q)
		require.Contains(t, p.Body, `<form class="search"`, q)
	}
}

// Fifty bookings to a page, with links to the next and previous pages that
// keep the search; htmx gets the results alone.
func TestBookingsPages(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 100)
	ctx := context.Background()
	for i := range 53 {
		a := inventory.MustDate("2026-12-01").AddDays(i % 7)
		_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "pms", ExternalID: fmt.Sprintf("R%02d", i), Kind: inventory.New,
			Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: a, Departure: a.AddDays(1), Rooms: 1}}})
		require.NoError(t, err)
	}
	e.login("victor")
	rows := regexp.MustCompile(`<th scope="row"><a href="[^"]+">(R\d\d)</a></th>`)
	p := e.get("/admin/p/P/bookings?channel=pms")
	first := rows.FindAllStringSubmatch(p.Body, -1)
	require.Len(t, first, 50)
	require.Equal(t, "R52", first[0][1])
	require.Contains(t, p.Body, `href="/admin/p/P/bookings?channel=pms&amp;page=2"`)
	require.NotContains(t, p.Body, `rel="prev"`)
	p = e.get("/admin/p/P/bookings?channel=pms&page=2")
	second := rows.FindAllStringSubmatch(p.Body, -1)
	require.Len(t, second, 3)
	require.Equal(t, []string{"R02", "R01", "R00"}, []string{second[0][1], second[1][1], second[2][1]})
	require.Contains(t, p.Body, `href="/admin/p/P/bookings?channel=pms"`)
	require.NotContains(t, p.Body, `rel="next"`)
	p = e.get("/admin/p/P/bookings?page=9")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "past the last one")

	// The search form's htmx request gets the results section alone, which
	// it swaps in place.
	p = e.get("/admin/p/P/bookings?channel=pms&page=2", "HX-Request", "true", "HX-Target", "booking-results")
	require.Equal(t, http.StatusOK, p.Status)
	require.True(t, strings.HasPrefix(strings.TrimSpace(p.Body), `<section id="booking-results"`), p.Body)
	require.NotContains(t, p.Body, "<html")
	require.Len(t, rows.FindAllStringSubmatch(p.Body, -1), 3)
	// A search that cannot run shows why in place of the results (htmx
	// swaps in 200 answers only).
	p = e.get("/admin/p/P/bookings?from=soon", "HX-Request", "true", "HX-Target", "booking-results")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, `<p class="error" role="alert">The first night soon is not a date (YYYY-MM-DD).</p>`)
	require.NotContains(t, p.Body, "<html")
	// Going back in history asks for the whole page.
	p = e.get("/admin/p/P/bookings?channel=pms", "HX-Request", "true", "HX-Target", "booking-results", "HX-History-Restore-Request", "true")
	require.Contains(t, p.Body, "<html")
}

// A booking's page shows it as it stands, every revision in order with its
// raw message masked and escaped, the nights it holds, its incidents and its
// audit trail.
func TestBookingPageShowsRevisionsRawMessagesAndAudit(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	e.login("anna")
	path := func(ext string) string { return "/admin/p/P/bookings/" + strconv.FormatInt(e.ids[ext], 10) }

	// The fan-out put EXP-1's revisions on the PMS's feed: the PMS
	// acknowledged the first; the webhook of the second failed.
	_, err := e.st.DB().Exec(context.Background(), `
		INSERT INTO feed_entries (property_id, channel_id, reservation_id, revision_seq, webhook, attempts, acked_at, failed_at, last_error)
		SELECT p.id, c.id, $1, v.seq, true, v.attempts, CASE WHEN v.seq = 1 THEN now() END, CASE WHEN v.seq = 2 THEN now() END, v.err
		FROM properties p JOIN channels c ON c.property_id = p.id AND c.code = 'pms'
		CROSS JOIN (VALUES (1, 1, NULL), (2, 8, 'HTTP 502 <b>Bad Gateway</b>')) AS v (seq, attempts, err)
		WHERE p.code = 'P'`, e.ids["EXP-1"])
	require.NoError(t, err)

	p := e.get(path("EXP-1"))
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Regexp(t, `#1 new(?s:.)*pms \(feed id \d+\):\s*<span class="ok">acknowledged(?s:.)*#2 modify`, p.Body)
	require.Regexp(t, `#2 modify(?s:.)*<span class="bad">webhook failed [^<]* after 8 attempts</span>, not acknowledged: HTTP 502 &lt;b&gt;Bad Gateway&lt;/b&gt;`, p.Body)
	require.Contains(t, p.Body, "<title>Booking expedia EXP-1 · Hotel P · keyrack</title>")
	require.Contains(t, p.Body, `<span class="status status-confirmed">confirmed</span>`)
	require.Contains(t, p.Body, "2026-12-01 → 2026-12-04 (3 nights)")
	require.Contains(t, p.Body, "<bdi>Ana Silva</bdi> · ana.silva@example.org")
	require.Contains(t, p.Body, "600.00 EUR")
	// Both revisions, in order, each with its raw message.
	i1, i2 := strings.Index(p.Body, "#1 new"), strings.Index(p.Body, "#2 modify")
	require.True(t, i1 > 0 && i2 > i1, "revision 1 then 2")
	require.Contains(t, p.Body, "from channel:expedia")
	require.Contains(t, p.Body, "<code>application/xml</code>")
	require.Contains(t, p.Body, "<summary>Raw message #1 (")
	require.Contains(t, p.Body, "<summary>Raw message #2 (")
	require.Contains(t, p.Body, html.EscapeString(`<CardNumber>XXXXXXXXXXXX1111</CardNumber>`), "masked and escaped")
	require.Contains(t, p.Body, html.EscapeString(`<SeriesCode>***</SeriesCode>`))
	require.Contains(t, p.Body, html.EscapeString(`<OTA_HotelResModifyNotifRQ><Rooms>2</Rooms></OTA_HotelResModifyNotifRQ>`))
	require.NotContains(t, p.Body, bookingCard)
	require.NotContains(t, p.Body, "<CardNumber>", "raw XML is shown as text")
	// The nights it holds: 2 rooms of DBL for 3 nights.
	require.Regexp(t, `<th scope="row">DBL</th><td class="when"><a [^>]+>2026-12-01</a></td><td class="when">2026-12-04</td><td class="num">3</td><td class="num">2</td>`, p.Body)
	// The audit trail, oldest first.
	a1, a2 := strings.Index(p.Body, "<th scope=\"row\">New booking</th>"), strings.Index(p.Body, "<th scope=\"row\">Changed</th>")
	require.True(t, a1 > 0 && a2 > a1, "audit: new then modify")
	require.Contains(t, p.Body, "No incident about this booking.")

	// A raw message that reached the table unmasked (written by something
	// other than the store) is masked on screen all the same.
	_, err = e.st.DB().Exec(context.Background(), `UPDATE reservation_revisions SET raw = $2
		WHERE property_id = (SELECT id FROM properties WHERE code = 'P') AND reservation_id = $1 AND seq = 2`, e.ids["EXP-1"], "card_number="+bookingCard+" cvv="+bookingCVV)
	require.NoError(t, err)
	p = e.get(path("EXP-1"))
	require.Contains(t, p.Body, "card_number=XXXXXXXXXXXX1111 cvv=***")
	require.NotContains(t, p.Body, bookingCard)

	// Escaped guest name and raw message.
	p = e.get(path("PMS-7"))
	require.Equal(t, http.StatusOK, p.Status)
	require.NotContains(t, p.Body, bookingBadGuest)
	require.Contains(t, p.Body, html.EscapeString(bookingBadGuest))
	require.Contains(t, p.Body, html.EscapeString(`{"guest":"`+bookingBadGuest+`"}`))
	require.Contains(t, p.Body, "<code>application/json</code>")

	// A cancelled booking holds nothing and its trail shows the cancellation.
	p = e.get(path("PMS-8"))
	require.Contains(t, p.Body, `<span class="status status-cancelled">cancelled</span>`)
	require.Contains(t, p.Body, "#2 cancel")
	require.Contains(t, p.Body, "This booking holds no nights: it is cancelled.")
	require.Contains(t, p.Body, `<th scope="row">Cancelled</th>`)
	require.Contains(t, p.Body, "No raw message was kept")

	// A parked booking says which code to map, with its incident.
	p = e.get(path("EXP-9"))
	require.Contains(t, p.Body, "This booking is parked")
	require.Contains(t, p.Body, "<strong>SUITE</strong>")
	require.Contains(t, p.Body, `<th scope="row">unmapped_booking</th>`)
	require.Contains(t, p.Body, `href="/admin/p/P/alerts"`)

	// A pending booking says why it holds nothing.
	p = e.get(path("EXP-P"))
	require.Contains(t, p.Body, `<span class="status status-pending">pending</span>`)
	require.Contains(t, p.Body, "not the booking it cancels")
	require.Contains(t, p.Body, "This booking holds no nights: it is pending.")

	// An overbooking shows on the revision and as an incident.
	p = e.get(path("EXP-BIG"))
	require.Contains(t, p.Body, "Overbooked:</span> DBL on 2026-12-20")
	require.Contains(t, p.Body, `<th scope="row">overbooking</th>`)
}

// A booking that does not exist here — unknown, not a number, or another
// property's — is a 404 page.
func TestBookingPageUnknownIs404(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	e.login("anna")
	q, err := e.st.Reservation(context.Background(), "Q", "expedia", "Q-1")
	require.NoError(t, err)
	for _, id := range []string{"999999", "abc", "0", strconv.FormatInt(q.ID, 10)} {
		p := e.get("/admin/p/P/bookings/" + id)
		require.Equal(t, http.StatusNotFound, p.Status, id)
		require.Contains(t, p.Body, "There is no booking", id)
	}
	require.Equal(t, http.StatusOK, e.get("/admin/p/Q/bookings/"+strconv.FormatInt(q.ID, 10)).Status)
	require.Equal(t, http.StatusNotFound, e.get("/admin/p/NOPE/bookings").Status)
}

// A viewer reads the bookings and a booking's page like an admin.
func TestBookingsViewerCanRead(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	e.login("victor")
	require.Equal(t, []string{"EXP-1", "EXP-P", "EXP-BIG", "EXP-9", "PMS-8", "PMS-7"}, e.listed(""))
	p := e.get("/admin/p/P/bookings/" + strconv.FormatInt(e.ids["EXP-1"], 10))
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "#2 modify")
	require.Contains(t, p.Body, html.EscapeString(`<CardNumber>XXXXXXXXXXXX1111</CardNumber>`))

	// Logged out, the pages send you to log in.
	anon := &uiEnv{t: t, st: e.st, ts: e.ts, client: newBrowserClient(t)}
	p = anon.get("/admin/p/P/bookings/" + strconv.FormatInt(e.ids["EXP-1"], 10))
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Contains(t, p.Header.Get("Location"), "/admin/login")
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// Staff record a booking an OTA confirmed whose message never reached
// keyrack — as the OTA's, must-accept (its rooms were sold again meanwhile:
// an overbooking alert), told to every channel, the OTA's own too — and
// later the OTA's cancellation of it. Bad input changes nothing and keeps
// what was typed.
func TestStaffRecordABookingAndACancellationAChannelMade(t *testing.T) {
	t.Parallel()
	e, night, _ := hotelWithExpediasBooking(t, 1, "anna")
	ctx := context.Background()

	list := "/admin/p/H/bookings"
	require.Contains(t, e.get(list).Body, `<a href="/admin/p/H/bookings/new">Record a booking a channel confirmed</a>`)
	form := "/admin/p/H/bookings/new"
	p := e.get(form)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, `<option value="expedia">expedia</option>`)
	require.NotContains(t, p.Body, `<option value="pms"`, "the PMS's bookings are entered in the PMS")

	good := url.Values{"channel": {"expedia"}, "id": {"E-2"}, "room_type": {"DBL-STD"}, "arrival": {night.String()},
		"departure": {night.AddDays(2).String()}, "rooms": {"1"}, "adults": {"2"}, "children": {"0"}, "guest": {"Ana Silva"}, "total": {"240.00"}, "currency": {"EUR"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{with("channel", "pms"), "Choose the channel that confirmed the booking."},
		{with("id", ""), "Give the channel&#39;s reservation id"},
		{with("room_type", "NOPE"), "Choose the room type booked."},
		{with("departure", night.String()), "The departure must be after the arrival"},
		{with("arrival", "next week"), "Arrival &#34;next week&#34; is not a date"},
		{with("rooms", "0"), "Rooms &#34;0&#34;: give a whole number from 1 to 1000."},
		{with("currency", "eur"), "Currency &#34;eur&#34;"},
		{with("total", "lots"), "is not an amount keyrack keeps"},
		// 12.345 is a decimal amount: the form says what is wrong with it.
		{with("total", "12.345"), "12 digits before the point and 2 after"},
	} {
		p := e.post(form, form, tc.form)
		require.Equal(t, http.StatusBadRequest, p.Status, "%v: %s", tc.form, p.Body)
		require.Contains(t, p.Body, tc.want, "%v", tc.form)
		require.Contains(t, p.Body, "Nothing was recorded.")
		require.Contains(t, p.Body, `value="Ana Silva"`, "what was typed stays in the form")
	}
	_, err := e.st.Reservation(ctx, "H", "expedia", "E-2")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "nothing was recorded by the refused forms")

	p = e.post(form, form, good)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	r, err := e.st.Reservation(ctx, "H", "expedia", "E-2")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, r.Status)
	require.Equal(t, "Ana Silva", r.Guest.Name)
	require.Equal(t, fmt.Sprintf("/admin/p/H/bookings/%d", r.ID), strings.SplitN(p.Header.Get("Location"), "?", 2)[0])
	page := e.get(p.Header.Get("Location"))
	require.Contains(t, page.Body, fmt.Sprintf("pool DBL is overbooked on %s", night), "the flash says the booking overbooks the night it was recorded past")
	require.Equal(t, 2, nightOf(t, e.st, "H", night).Sold, "recorded past the limit: the channel confirmed it")
	inc, err := e.st.Incidents(ctx, "H", true)
	require.NoError(t, err)
	require.NotEmpty(t, inc)
	require.Equal(t, "overbooking", string(inc[0].Kind))
	var origin *int64
	require.NoError(t, e.st.DB().QueryRow(ctx, `SELECT origin_channel_id FROM outbox WHERE topic = 'availability' ORDER BY id DESC LIMIT 1`).Scan(&origin))
	require.Nil(t, origin, "staff's entry is every channel's news, the OTA's own too: keyrack's count changed, not the OTA's")

	p = e.post(form, form, good)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "Booking E-2 from expedia is in keyrack already (it is confirmed).")
	require.Contains(t, p.Body, fmt.Sprintf(`<a href="/admin/p/H/bookings/%d">Open it</a>`, r.ID))

	booking := fmt.Sprintf("/admin/p/H/bookings/%d", r.ID)
	require.Contains(t, page.Body, "Record the cancellation")
	p = e.post(booking, booking+"/cancel", url.Values{})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "Nothing was cancelled")
	p = e.post(booking, booking+"/cancel", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "is cancelled in keyrack: its rooms are free again")
	r, err = e.st.Reservation(ctx, "H", "expedia", "E-2")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, r.Status)
	require.Equal(t, 1, nightOf(t, e.st, "H", night).Sold, "E-1 alone holds the night")
	require.NotContains(t, e.get(booking).Body, "Record the cancellation", "a cancelled booking has nothing to cancel")
	p = e.post(booking, booking+"/cancel", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Contains(t, e.get(p.Header.Get("Location")).Body, "holds no rooms: it is cancelled already")
	entries, err := e.st.Audit(ctx, "H", inventory.ReservationAuditSubject(r.ID), 10)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, a := range entries {
		require.Equal(t, "staff:anna", a.Actor, a.Action)
	}
}

// A viewer neither sees nor can use the forms.
func TestAViewerCannotRecordBookingsOrCancellations(t *testing.T) {
	t.Parallel()
	e, night, id := hotelWithExpediasBooking(t, 5, "victor")
	ctx := context.Background()
	require.NotContains(t, e.get("/admin/p/H/bookings").Body, "Record a booking")
	require.Equal(t, http.StatusForbidden, e.get("/admin/p/H/bookings/new").Status)
	booking := fmt.Sprintf("/admin/p/H/bookings/%d", id)
	require.NotContains(t, e.get(booking).Body, "Record the cancellation")
	p := e.post(booking, booking+"/cancel", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusForbidden, p.Status)
	p = e.post("/admin/p/H/bookings", "/admin/p/H/bookings/new", url.Values{"channel": {"expedia"}, "id": {"E-9"}, "room_type": {"DBL-STD"},
		"arrival": {night.String()}, "departure": {night.AddDays(1).String()}, "rooms": {"1"}})
	require.Equal(t, http.StatusForbidden, p.Status)
	r, err := e.st.Reservation(ctx, "H", "expedia", "E-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, r.Status)
	_, err = e.st.Reservation(ctx, "H", "expedia", "E-9")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

// hotelWithExpediasBooking is hotel H of units rooms whose expedia booking
// E-1 holds one room on a night ten days ahead, with user logged in.
func hotelWithExpediasBooking(t *testing.T, units int, user string) (*uiEnv, inventory.Date, int64) {
	e := newUI(t)
	e.seedHotel("H", units)
	night := gridToday(t).AddDays(10)
	out, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "H", Channel: "expedia", ExternalID: "E-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: night, Departure: night.AddDays(1)}}})
	require.NoError(t, err)
	e.login(user)
	return e, night, out.ReservationID
}

// Staff record a change the channel made to a booking: the form shows the
// booking as it stands, and what is posted replaces it, as the channel
// confirmed it.
func TestStaffRecordAChangeAChannelMade(t *testing.T) {
	t.Parallel()
	e, night, id := hotelWithExpediasBooking(t, 5, "anna")
	ctx := context.Background()
	booking := fmt.Sprintf("/admin/p/H/bookings/%d", id)
	require.Contains(t, e.get(booking).Body, `<a href="`+booking+`/change">record the change</a>`)
	p := e.get(booking + "/change")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, "Record a change expedia made to booking E-1")
	require.Contains(t, p.Body, `name="arrival" value="`+night.String()+`"`, "the form holds the booking as it stands")
	require.Contains(t, p.Body, `<option value="DBL-STD" selected>`)
	require.NotContains(t, p.Body, `name="channel"`, "the channel and its id are the booking's")

	change := url.Values{"room_type": {"DBL-STD"}, "arrival": {night.String()}, "departure": {night.AddDays(3).String()}, "rooms": {"2"}, "guest": {"Rui Costa"},
		"channel": {"other"}, "id": {"E-99"}} // a channel and id posted anyway are not the booking's: ignored
	bad := url.Values{"room_type": {"DBL-STD"}, "arrival": {night.String()}, "departure": {night.AddDays(-1).String()}, "rooms": {"2"}, "guest": {"Rui Costa"}}
	p = e.post(booking+"/change", booking+"/change", bad)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "The departure must be after the arrival")
	require.Contains(t, p.Body, `value="Rui Costa"`)
	r, err := e.st.Reservation(ctx, "H", "expedia", "E-1")
	require.NoError(t, err)
	require.Equal(t, night.AddDays(1), r.Departure, "nothing changed")

	p = e.post(booking+"/change", booking+"/change", change)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, e.get(p.Header.Get("Location")).Body, fmt.Sprintf("The change to booking E-1 from expedia is recorded: 2 × DBL-STD, %s to %s (3 nights).", night, night.AddDays(3)))
	r, err = e.st.Reservation(ctx, "H", "expedia", "E-1")
	require.NoError(t, err)
	require.Equal(t, id, r.ID)
	require.Equal(t, night.AddDays(3), r.Departure)
	require.Equal(t, "Rui Costa", r.Guest.Name)
	for i := range 3 {
		require.Equal(t, 2, nightOf(t, e.st, "H", night.AddDays(i)).Sold, "night %d", i)
	}
	_, err = e.st.Reservation(ctx, "H", "other", "E-99")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))

	// A cancelled booking has no change to record.
	p = e.post(booking, booking+"/cancel", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, http.StatusConflict, e.get(booking+"/change").Status)
	p = e.post(booking+"/change", booking+"/change", change)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Contains(t, p.Body, "cannot be changed here: it is cancelled.")
}

// A booking opened from a search links back to that search, not only to
// the whole list; a Referer from elsewhere is not linked.
func TestABookingOpenedFromASearchLinksBackToIt(t *testing.T) {
	t.Parallel()
	e, _, id := hotelWithExpediasBooking(t, 5, "anna")
	booking := fmt.Sprintf("/admin/p/H/bookings/%d", id)
	search := e.ts.URL + "/admin/p/H/bookings?channel=expedia&guest=silva&status="
	p := e.get(booking, "Referer", search)
	require.Contains(t, p.Body, `<a href="/admin/p/H/bookings?channel=expedia&amp;guest=silva&amp;status=">← Back to the bookings found</a>`)
	require.Contains(t, p.Body, `<a href="/admin/p/H/bookings">All bookings</a>`)
	for _, ref := range []string{"", e.ts.URL + "/admin/p/H/grid?from=2027-01-01", "https://evil.example/admin/p/H/bookings?x=1", e.ts.URL + "/admin/p/H/bookings"} {
		p := e.get(booking, "Referer", ref)
		require.NotContains(t, p.Body, "Back to the bookings found", ref)
		require.Contains(t, p.Body, `<a href="/admin/p/H/bookings">← All bookings</a>`, ref)
	}
}

// A change or cancellation staff record is a revision of its own, also when
// its content is that of an earlier one: recorded undated, a change back to
// what an earlier change said, or a cancellation recorded again after the
// channel reinstated the booking, was taken for that earlier revision
// delivered again and changed nothing, while the page said it was recorded.
func TestAChangeStaffRecordBackToAnEarlierOneIsApplied(t *testing.T) {
	t.Parallel()
	e, night, id := hotelWithExpediasBooking(t, 5, "anna")
	ctx := context.Background()
	booking := fmt.Sprintf("/admin/p/H/bookings/%d", id)
	change := func(rooms string) {
		t.Helper()
		p := e.post(booking+"/change", booking+"/change", url.Values{"room_type": {"DBL-STD"}, "arrival": {night.String()},
			"departure": {night.AddDays(1).String()}, "rooms": {rooms}, "guest": {"Rui Costa"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	}
	change("2")
	require.Equal(t, 2, nightOf(t, e.st, "H", night).Sold)
	change("1")
	require.Equal(t, 1, nightOf(t, e.st, "H", night).Sold)
	change("2")
	require.Equal(t, 2, nightOf(t, e.st, "H", night).Sold, "the change back to two rooms is applied")

	cancel := func() {
		t.Helper()
		p := e.post(booking, booking+"/cancel", url.Values{"confirm": {"yes"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		require.Contains(t, e.get(p.Header.Get("Location")).Body, "is cancelled in keyrack")
	}
	cancel()
	require.Equal(t, 0, nightOf(t, e.st, "H", night).Sold)
	// The channel reinstates the booking (a dated modification), then
	// cancels it again, a cancellation that does not reach keyrack either.
	_, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "H", Channel: "expedia", ExternalID: "E-1", Kind: inventory.Modify,
		SentAt: time.Now(), Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: night, Departure: night.AddDays(1)}}})
	require.NoError(t, err)
	r, err := e.st.Reservation(ctx, "H", "expedia", "E-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, r.Status)
	cancel()
	r, err = e.st.Reservation(ctx, "H", "expedia", "E-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, r.Status, "the cancellation recorded again is applied")
	require.Equal(t, 0, nightOf(t, e.st, "H", night).Sold)

	// A booking staff recorded and then recorded cancelled stays cancelled
	// when the channel's own message of it comes at last, dated by a clock
	// hours ahead of keyrack's (a local time east of UTC sent without its
	// zone).
	form := "/admin/p/H/bookings/new"
	p := e.post(form, form, url.Values{"channel": {"expedia"}, "id": {"E-5"}, "room_type": {"DBL-STD"}, "arrival": {night.String()},
		"departure": {night.AddDays(1).String()}, "rooms": {"1"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	r, err = e.st.Reservation(ctx, "H", "expedia", "E-5")
	require.NoError(t, err)
	booking = fmt.Sprintf("/admin/p/H/bookings/%d", r.ID)
	cancel()
	_, err = e.st.ApplyRevision(ctx, inventory.Revision{Property: "H", Channel: "expedia", ExternalID: "E-5", Kind: inventory.New,
		SentAt: time.Now().Add(9 * time.Hour), Stays: []inventory.RoomStay{{ChannelRoom: "DBL", Arrival: night, Departure: night.AddDays(1)}}})
	require.NoError(t, err)
	r, err = e.st.Reservation(ctx, "H", "expedia", "E-5")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, r.Status, "the channel's booking comes before the cancellation recorded of it")
	require.Equal(t, 0, nightOf(t, e.st, "H", night).Sold)
}

// A booking of several room stays (a double and a twin) is recorded, and
// its change recorded, on the form: "Another room stay" adds a row
// (nothing recorded), a row left empty is left out, a wrong row is named.
func TestStaffRecordABookingOfSeveralRoomStays(t *testing.T) {
	t.Parallel()
	e, night, _ := hotelWithExpediasBooking(t, 5, "anna")
	ctx := context.Background()
	_, err := e.st.CreatePool(ctx, "H", inventory.Pool{Code: "TWN", Name: "Twin rooms", Units: 3}, inventory.System)
	require.NoError(t, err)
	_, err = e.st.CreateRoomType(ctx, "H", inventory.RoomType{Code: "TWN-STD", Pool: "TWN"}, inventory.System)
	require.NoError(t, err)

	form := "/admin/p/H/bookings/new"
	p := e.get(form)
	require.Contains(t, p.Body, `<button type="submit" name="more" value="1" formnovalidate class="secondary">Another room stay</button>`)
	require.Contains(t, p.Body, `id="rec-room-1" name="room_type" required>`)
	require.NotContains(t, p.Body, `id="rec-room-2"`)
	first := url.Values{"channel": {"expedia"}, "id": {"E-7"}, "room_type": {"DBL-STD"}, "arrival": {night.String()},
		"departure": {night.AddDays(2).String()}, "rooms": {"1"}, "adults": {"2"}, "guest": {"Família Costa"}}
	more := url.Values{"more": {"1"}}
	for k, v := range first {
		more[k] = v
	}
	p = e.post(form, form, more)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, `<legend>Room stay 2`)
	require.Contains(t, p.Body, `id="rec-room-2" name="room_type" autofocus>`)
	require.Contains(t, p.Body, `id="rec-arrival-1" name="arrival" value="`+night.String()+`"`, "what was typed stays")
	require.Contains(t, p.Body, `value="Família Costa"`)
	_, err = e.st.Reservation(ctx, "H", "expedia", "E-7")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "adding a row records nothing")

	both := url.Values{"channel": {"expedia"}, "id": {"E-7"}, "guest": {"Família Costa"},
		"room_type": {"DBL-STD", "TWN-STD", ""}, "rate_plan": {"", "", ""}, "arrival": {night.String(), night.String(), ""},
		"departure": {night.AddDays(2).String(), night.AddDays(1).String(), ""}, "rooms": {"1", "2", "1"}, "adults": {"2", "3", "2"}, "children": {"0", "1", "0"}}
	bad := url.Values{}
	for k, v := range both {
		bad[k] = slices.Clone(v)
	}
	bad["departure"][1] = night.AddDays(-1).String()
	p = e.post(form, form, bad)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "Room stay 2: The departure must be after the arrival")
	require.Contains(t, p.Body, `<option value="TWN-STD" selected>`)
	_, err = e.st.Reservation(ctx, "H", "expedia", "E-7")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))

	p = e.post(form, form, both)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, e.get(p.Header.Get("Location")).Body,
		fmt.Sprintf("Booking E-7 from expedia is recorded: 1 × DBL-STD, %s to %s (2 nights); 2 × TWN-STD, %s to %s (1 night).",
			night, night.AddDays(2), night, night.AddDays(1)))
	r, err := e.st.Reservation(ctx, "H", "expedia", "E-7")
	require.NoError(t, err)
	require.Len(t, r.Stays, 2, "the empty third row is left out")
	sold := func(pool string, d inventory.Date) int {
		ns, err := e.st.Availability(ctx, "H", d, d.AddDays(1))
		require.NoError(t, err)
		for _, n := range ns {
			if n.Pool == pool {
				return n.Sold
			}
		}
		return -1
	}
	twin := func(d inventory.Date) int { return sold("TWN", d) }
	require.Equal(t, 2, twin(night))
	require.Equal(t, 2, sold("DBL", night), "E-1 and E-7's double")
	require.Equal(t, 1, sold("DBL", night.AddDays(1)), "E-7's double on its second night")

	// Its change: the form shows both stays; the twin emptied is dropped.
	booking := fmt.Sprintf("/admin/p/H/bookings/%d", r.ID)
	p = e.get(booking + "/change")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, `id="rec-arrival-2" name="arrival" value="`+night.String()+`"`)
	require.Contains(t, p.Body, `id="rec-rooms-2" name="rooms" value="2"`)
	change := url.Values{}
	for k, v := range both {
		change[k] = slices.Clone(v)
	}
	for _, k := range []string{"room_type", "arrival", "departure"} {
		change[k][1] = ""
	}
	p = e.post(booking+"/change", booking+"/change", change)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	r, err = e.st.Reservation(ctx, "H", "expedia", "E-7")
	require.NoError(t, err)
	require.Len(t, r.Stays, 1)
	require.Equal(t, 0, twin(night), "the twin is free again")
}

// The PMS's bookings are changed and cancelled in the PMS, which tells
// keyrack: the booking page says so, and the forms refuse them.
func TestAPMSBookingIsNotChangedOrCancelledHere(t *testing.T) {
	t.Parallel()
	e, night, _ := hotelWithExpediasBooking(t, 5, "anna")
	ctx := context.Background()
	out, err := e.st.ApplyRevision(ctx, inventory.Revision{Property: "H", Channel: "pms", ExternalID: "WALK-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: night, Departure: night.AddDays(1)}}})
	require.NoError(t, err)
	booking := fmt.Sprintf("/admin/p/H/bookings/%d", out.ReservationID)
	p := e.get(booking)
	require.NotContains(t, p.Body, "Record the cancellation")
	require.Contains(t, p.Body, "Changes and cancellations of this booking are not recorded here: it is the PMS&#39;s booking: change or cancel it in the PMS, which tells keyrack.")
	require.Equal(t, http.StatusConflict, e.get(booking+"/change").Status)
	p = e.post(booking, booking+"/cancel", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusConflict, p.Status)
	require.Contains(t, p.Body, "cannot be cancelled here: it is the PMS&#39;s booking")
	p = e.post(booking, booking+"/change", url.Values{"room_type": {"DBL-STD"}, "arrival": {night.String()}, "departure": {night.AddDays(3).String()}, "rooms": {"1"}})
	require.Equal(t, http.StatusConflict, p.Status)
	r, err := e.st.Reservation(ctx, "H", "pms", "WALK-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, r.Status)
	require.Equal(t, night.AddDays(1), r.Departure)
}

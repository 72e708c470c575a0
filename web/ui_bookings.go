package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// The bookings pages: a search over the property's reservations (a GET
// form, so a search is a bookmarkable URL and works without JavaScript;
// htmx swaps only the results as the form changes), and one booking with
// every revision as the channel sent it (raw message masked by the store),
// the nights it holds, its incidents and its audit trail. Both are for
// reading — viewers see everything —, but for one action of admins: erasing
// a guest's personal data (ui_booking_erase.go).

// bookingsPageSize is how many bookings one page of results shows.
const bookingsPageSize = 50

// routeUIBookings registers the bookings pages under /admin/p/:property.
func (s *Server) routeUIBookings(p *gin.RouterGroup) {
	p.GET("/bookings", s.uiBookings)
	p.GET("/bookings/new", s.requireEditor, s.uiRecordBookingForm)
	p.POST("/bookings/new", s.requireEditor, s.uiRecordBooking)
	p.GET("/bookings/:id", s.uiBooking)
	p.POST("/bookings/:id/erase-guest-data", s.requireEditor, s.uiEraseGuestData)
	p.POST("/bookings/:id/cancel", s.requireEditor, s.uiCancelBooking)
	p.GET("/bookings/:id/change", s.requireEditor, s.uiChangeBookingForm)
	p.POST("/bookings/:id/change", s.requireEditor, s.uiChangeBooking)
}

// bookingsForm is the search as typed, to fill the form in again.
type bookingsForm struct {
	Channel, Status, From, To, Arrival, Guest, ID string
}

// bookingsData is the bookings page.
type bookingsData struct {
	Form     bookingsForm
	Channels []inventory.Channel
	Statuses []inventory.Status
	Rows     []bookingRow
	Searched bool   // some filter is set
	Page     int    // 1-based
	First    int    // the number of the first row shown, 1-based
	Last     int    // the number of the last row shown
	Prev     string // the previous page's URL, "" on the first
	Next     string // the next page's URL, "" on the last
	Problem  string // why the search could not run
	Today    string // the property's date, for the link to its arrivals
}

// bookingRow is one booking in the results.
type bookingRow struct {
	inventory.Reservation
	Nights    int
	Rooms     int
	RoomTypes []string // our room type codes; an unmapped stay shows the channel's code
	Unmapped  []string // the channel's room codes that are not mapped
	// NoRoom are the rate codes of stays that name no room code at all
	// (OpenTravel's own sample books a rate plan alone): no mapping can match
	// them, so staff record the booking's room type instead.
	NoRoom []string
}

func newBookingRow(r inventory.Reservation) bookingRow {
	b := bookingRow{Reservation: r}
	if !r.Arrival.IsZero() {
		b.Nights = r.Departure.Sub(r.Arrival)
	}
	b.Rooms = peakRooms(r.Stays)
	for _, st := range r.Stays {
		if st.RoomType == "" {
			switch {
			case st.ChannelRoom == "":
				if !slices.Contains(b.NoRoom, st.ChannelRate) {
					b.NoRoom = append(b.NoRoom, st.ChannelRate)
				}
			case !slices.Contains(b.Unmapped, st.ChannelRoom):
				b.Unmapped = append(b.Unmapped, st.ChannelRoom)
			}
			continue
		}
		if !slices.Contains(b.RoomTypes, st.RoomType) {
			b.RoomTypes = append(b.RoomTypes, st.RoomType)
		}
	}
	return b
}

// peakRooms is how many rooms a booking's stays take on its busiest night.
// Stays one after the other are one room moved or repriced (a channel sends
// a stay per rate period, or per room when the guest changes rooms), not
// rooms added: summing them would show a one-room booking of two stays as
// two rooms.
func peakRooms(stays []inventory.RoomStay) int {
	peak := 0
	for _, st := range stays {
		if !st.Arrival.Before(st.Departure) {
			peak = max(peak, st.Rooms) // no nights to compare: at least its own rooms
			continue
		}
		// The busiest night begins on some stay's arrival.
		n := 0
		for _, o := range stays {
			if !o.Arrival.After(st.Arrival) && st.Arrival.Before(o.Departure) {
				n += o.Rooms
			}
		}
		peak = max(peak, n)
	}
	return peak
}

// uiBookings lists and searches the property's bookings.
func (s *Server) uiBookings(c *gin.Context) {
	ctx := c.Request.Context()
	prop := uiProp(c)
	f := bookingsForm{
		Channel: strings.TrimSpace(c.Query("channel")),
		Status:  strings.TrimSpace(c.Query("status")),
		From:    strings.TrimSpace(c.Query("from")),
		To:      strings.TrimSpace(c.Query("to")),
		Arrival: strings.TrimSpace(c.Query("arrival")),
		Guest:   strings.TrimSpace(c.Query("guest")),
		ID:      strings.TrimSpace(c.Query("id")),
	}
	d := bookingsData{Form: f, Statuses: inventory.ReservationStatuses, Page: 1,
		Searched: f != bookingsForm{}, Today: s.propertyToday(prop).String()}
	chans, err := s.store.Channels(ctx, prop.Code)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	d.Channels = chans

	q, problem := bookingsQuery(f, chans)
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100000 {
			problem = "Page " + p + " does not exist."
		} else {
			d.Page = n
		}
	}
	status := http.StatusOK
	base := "/admin/p/" + url.PathEscape(prop.Code) + "/bookings"
	if problem == "" {
		q.Limit, q.Offset = bookingsPageSize, (d.Page-1)*bookingsPageSize
		found, more, err := s.store.SearchReservations(ctx, prop.Code, q)
		switch {
		case inventory.ErrorCode(err) == inventory.EINVALID:
			problem = inventory.ErrorMessage(err)
		case err != nil:
			s.uiFail(c, err)
			return
		}
		for _, r := range found {
			d.Rows = append(d.Rows, newBookingRow(r))
		}
		d.First, d.Last = q.Offset+1, q.Offset+len(d.Rows)
		if d.Page > 1 {
			d.Prev = base + "?" + f.values(d.Page-1).Encode()
		}
		if more {
			d.Next = base + "?" + f.values(d.Page+1).Encode()
		}
	}
	if problem != "" {
		d.Problem = problem
		status = http.StatusBadRequest
	}
	// An htmx request from the search form swaps the results alone; going
	// back in the browser's history asks for the whole page again.
	c.Header("Vary", "HX-Request, HX-Target")
	if c.GetHeader("HX-Request") != "" && c.GetHeader("HX-Target") == "booking-results" && c.GetHeader("HX-History-Restore-Request") == "" {
		// htmx does not swap in error answers: the problem goes out as a
		// 200 so that staff see it in place of the results.
		// The address bar gets the search as a link to share: the form
		// sends every field, the empty ones too, and htmx would push them.
		push := base
		if v := f.values(d.Page); len(v) > 0 {
			push += "?" + v.Encode()
		}
		c.Header("HX-Push-Url", push)
		s.renderFragment(c, http.StatusOK, "bookings", "results", d)
		return
	}
	s.render(c, status, "bookings", "Bookings", "bookings", d)
}

// bookingsQuery turns the form into a store query, or says what is wrong
// with it in words staff can act on.
func bookingsQuery(f bookingsForm, chans []inventory.Channel) (inventory.ReservationQuery, string) {
	q := inventory.ReservationQuery{Channel: f.Channel, Status: inventory.Status(f.Status), Guest: f.Guest, ExternalID: f.ID}
	if f.Channel != "" && !slices.ContainsFunc(chans, func(ch inventory.Channel) bool { return ch.Code == f.Channel }) {
		return q, "There is no channel " + f.Channel + " in this property."
	}
	if f.Status != "" && !slices.Contains(inventory.ReservationStatuses, q.Status) {
		return q, "Status " + f.Status + " is not one of confirmed, pending, cancelled."
	}
	var err error
	if f.From != "" {
		if q.From, err = inventory.ParseDate(f.From); err != nil {
			return q, "The first night " + f.From + " is not a date (YYYY-MM-DD)."
		}
	}
	if f.To != "" {
		if q.To, err = inventory.ParseDate(f.To); err != nil {
			return q, "The last date " + f.To + " is not a date (YYYY-MM-DD)."
		}
	}
	if f.From != "" && f.To != "" && !q.From.Before(q.To) {
		return q, "Staying from " + f.From + " until " + f.To + ": “until” is the check-out day, after the first night — the guests staying the night of " +
			f.From + " are found until " + q.From.AddDays(1).String() + "."
	}
	if f.Arrival != "" {
		if q.Arrival, err = inventory.ParseDate(f.Arrival); err != nil {
			return q, "The arrival date " + f.Arrival + " is not a date (YYYY-MM-DD)."
		}
	}
	return q, ""
}

// values is the search as a query string, on page.
func (f bookingsForm) values(page int) url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"channel", f.Channel}, {"status", f.Status}, {"from", f.From}, {"to", f.To}, {"arrival", f.Arrival}, {"guest", f.Guest}, {"id", f.ID}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

// bookingData is one booking's page.
type bookingData struct {
	bookingRow
	Held      []heldRange
	History   []bookingRevision // every revision, in the order received
	Incidents []inventory.Incident
	Audit     []auditRow
	// AuditMore is set when the trail is longer than what is shown.
	AuditMore bool
	// GuestNeeded: the booking is confirmed and its stay has not ended, so
	// its guest's data cannot be erased yet (inventory.GuestDataNeeded).
	GuestNeeded bool
	// Back is the bookings list staff came from, with its search ("" for
	// the whole list): the booking page's way back keeps it.
	Back string
	// Cancellable: the booking holds rooms and is an OTA's or a GDS's
	// (changeable), so staff can record the channel's change or
	// cancellation of it (uiChangeBooking, uiCancelBooking); NotCancellable
	// says why not, for a booking holding rooms.
	Cancellable    bool
	NotCancellable string
}

// bookingRevision is one revision as received, and how it went out to the
// PMS channels.
type bookingRevision struct {
	inventory.RevisionRecord
	ContentType string
	Feed        []inventory.FeedDelivery
}

// heldRange is consecutive nights a booking holds in one pool, the same
// number of units each.
type heldRange struct {
	Pool      string
	From, To  inventory.Date // To exclusive
	Units     int
	NightsLen int
}

// heldRanges merges held nights into runs.
func heldRanges(held []inventory.HeldNight) []heldRange {
	var out []heldRange
	for _, h := range held {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Pool == h.Pool && last.Units == h.Units && last.To == h.Night {
				last.To, last.NightsLen = h.Night.AddDays(1), last.NightsLen+1
				continue
			}
		}
		out = append(out, heldRange{Pool: h.Pool, From: h.Night, To: h.Night.AddDays(1), Units: h.Units, NightsLen: 1})
	}
	return out
}

// bookingAuditLimit bounds the audit trail shown on a booking's page.
const bookingAuditLimit = 200

// uiBookingOf is the booking of the page's path (keyrack's id), or false
// once the page has said there is none (404) or failed.
func (s *Server) uiBookingOf(c *gin.Context, prop inventory.Property) (inventory.Reservation, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(c, http.StatusNotFound, "There is no booking "+c.Param("id")+" in "+prop.Name+": booking numbers are keyrack's own (the # column of the bookings list).")
		return inventory.Reservation{}, false
	}
	r, err := s.store.ReservationByID(c.Request.Context(), prop.Code, id)
	if inventory.ErrorCode(err) == inventory.ENOTFOUND {
		s.renderError(c, http.StatusNotFound, "There is no booking "+strconv.FormatInt(id, 10)+" in "+prop.Name+".")
		return inventory.Reservation{}, false
	}
	if err != nil {
		s.uiFail(c, err)
		return inventory.Reservation{}, false
	}
	return r, true
}

// uiBooking shows one booking by keyrack's id.
func (s *Server) uiBooking(c *gin.Context) {
	ctx := c.Request.Context()
	prop := uiProp(c)
	r, ok := s.uiBookingOf(c, prop)
	if !ok {
		return
	}
	id := r.ID
	d := bookingData{bookingRow: newBookingRow(r)}
	loc, err := time.LoadLocation(prop.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	d.GuestNeeded = inventory.GuestDataNeeded(r.Status, r.Departure, inventory.Today(loc))
	kind, err := s.channelKind(c, prop, r.Channel)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	d.Cancellable = changeable(r, kind)
	if r.Status == inventory.Confirmed {
		d.NotCancellable = notChangeable(r, kind)
	}
	d.Back = searchBack(c, prop)
	revs, err := s.store.Revisions(ctx, prop.Code, id)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	types, err := s.store.RevisionContentTypes(ctx, prop.Code, id)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	feed, err := s.store.ReservationFeedDeliveries(ctx, prop.Code, id)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, rv := range revs {
		// The store masks card data before it stores a payload; masking
		// again (it is idempotent) keeps a row written any other way from
		// showing a card number on screen.
		rv.Raw = inventory.MaskCardString(rv.Raw)
		br := bookingRevision{RevisionRecord: rv, ContentType: types[rv.Seq]}
		for _, f := range feed {
			if f.Seq == rv.Seq {
				br.Feed = append(br.Feed, f)
			}
		}
		d.History = append(d.History, br)
	}
	held, err := s.store.HeldNights(ctx, prop.Code, id)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	d.Held = heldRanges(held)
	if d.Incidents, err = s.store.ReservationIncidents(ctx, prop.Code, id); err != nil {
		s.uiFail(c, err)
		return
	}
	trail, err := s.store.Audit(ctx, prop.Code, inventory.ReservationAuditSubject(id), bookingAuditLimit+1)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if len(trail) > bookingAuditLimit {
		trail, d.AuditMore = trail[:bookingAuditLimit], true
	}
	slices.Reverse(trail) // oldest first, like the revisions
	d.Audit = auditRows(trail, pageZone(c))
	title := "Booking " + r.Channel + " " + r.ExternalID
	s.render(c, http.StatusOK, "booking", title, "bookings", d)
}

// searchBack is the bookings search the request came from (its Referer: a
// page of this server's bookings list of prop, with a query), as a path to
// link back to; "" otherwise.
func searchBack(c *gin.Context, prop inventory.Property) string {
	ref, err := url.Parse(c.Request.Referer())
	if err != nil || ref.RawQuery == "" || (ref.Host != "" && ref.Host != c.Request.Host) {
		return ""
	}
	if ref.Path != "/admin/p/"+prop.Code+"/bookings" {
		return ""
	}
	return (&url.URL{Path: ref.Path, RawQuery: ref.Query().Encode()}).String()
}

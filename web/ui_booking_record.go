package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// Staff record here what a channel did that keyrack did not hear of: a
// booking an OTA or GDS confirmed (seen in its extranet or reservation
// report) whose message never reached keyrack — lost while keyrack was
// down past the channel's retries, or after a restore from a backup — and a
// cancellation the channel made likewise. The channel has confirmed the
// booking to its guest, so it is recorded as an OTA's push is: even where
// its rooms were sold again meanwhile, with an overbooking alert. Bookings
// of the PMS are entered in the PMS, and a calendar platform's come and go
// with its feed, so neither is recorded here.

// recordForm is the record-a-booking form as typed.
type recordForm struct {
	Channel, ID                          string
	Stays                                []stayForm // at least one
	Guest, Email, Phone, Total, Currency string
}

// stayForm is one room stay of the form as typed: a booking of several
// room types (a double and a twin) has one each.
type stayForm struct {
	N                       int // its number on the form, from 1
	RoomType, RatePlan      string
	Arrival, Departure      string
	Rooms, Adults, Children string
}

// maxFormStays is the most room stays the form takes.
const maxFormStays = 20

// blank says the row was left empty (its counts keep their defaults).
func (f stayForm) blank() bool {
	return f.RoomType == "" && f.RatePlan == "" && f.Arrival == "" && f.Departure == ""
}

// newStay is an empty row: one room for two adults.
func newStay() stayForm { return stayForm{Rooms: "1", Adults: "2", Children: "0"} }

// numbered numbers the form's stays, with an empty one when it has none.
func (f *recordForm) numbered() {
	if len(f.Stays) == 0 {
		f.Stays = []stayForm{newStay()}
	}
	for i := range f.Stays {
		f.Stays[i].N = i + 1
	}
}

// recordData is the record-a-booking page.
type recordData struct {
	Form      recordForm
	Channels  []inventory.Channel // those a booking can be recorded for
	RoomTypes []inventory.RoomType
	RatePlans []inventory.RatePlan
	Error     string
	Existing  int64 // keyrack's id of the booking the form names, when it is recorded already
	// Change is the booking whose change the form records (…/change), nil
	// for a new booking.
	Change *inventory.Reservation
	// MaxStays is the most room stays the form takes; Focus the number of
	// the stay whose room type has the focus (0: none).
	MaxStays, Focus int
}

// recordable says whether staff record bookings of a channel of kind k:
// an OTA's or a GDS's, not the PMS's (entered in the PMS) nor a calendar
// platform's (its feed is the booking).
func recordable(k inventory.ChannelKind) bool {
	return k == inventory.ChannelOTAPush || k == inventory.ChannelOTAPull || k == inventory.ChannelGDS
}

func (s *Server) recordPage(c *gin.Context, prop inventory.Property, form recordForm) (*recordData, error) {
	ctx := c.Request.Context()
	form.numbered()
	d := &recordData{Form: form, MaxStays: maxFormStays}
	chs, err := s.store.Channels(ctx, prop.Code)
	if err != nil {
		return nil, err
	}
	for _, ch := range chs {
		if recordable(ch.Kind) {
			d.Channels = append(d.Channels, ch)
		}
	}
	if d.RoomTypes, err = s.store.RoomTypes(ctx, prop.Code); err != nil {
		return nil, err
	}
	if d.RatePlans, err = s.store.RatePlans(ctx, prop.Code); err != nil {
		return nil, err
	}
	return d, nil
}

// uiRecordBookingForm shows the form, the channel preselected by ?channel=.
func (s *Server) uiRecordBookingForm(c *gin.Context) {
	prop := uiProp(c)
	d, err := s.recordPage(c, prop, recordForm{Channel: c.Query("channel"), Currency: prop.Currency})
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.render(c, http.StatusOK, "booking_new", "Record a booking", "bookings", d)
}

// uiRecordBooking records a booking a channel confirmed, must-accept, as
// the channel's (its reservation id, so that its later changes and its
// cancellation apply to it) and as staff's doing.
func (s *Server) uiRecordBooking(c *gin.Context) {
	ctx := c.Request.Context()
	prop := uiProp(c)
	d, err := s.recordPage(c, prop, postedRecordForm(c))
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if s.moreStays(c, d, "Record a booking") {
		return
	}
	refuse := func(msg string) {
		d.Error = msg
		s.render(c, http.StatusBadRequest, "booking_new", "Record a booking", "bookings", d)
	}
	in, msg := d.read()
	if msg != "" {
		refuse(msg)
		return
	}
	f := d.Form
	if r, err := s.store.Reservation(ctx, prop.Code, f.Channel, f.ID); err == nil {
		d.Existing = r.ID
		refuse(fmt.Sprintf("Booking %s from %s is in keyrack already (it is %s).", f.ID, f.Channel, r.Status))
		return
	} else if inventory.ErrorCode(err) != inventory.ENOTFOUND {
		s.uiFail(c, err)
		return
	}
	s.applyRecorded(c, prop, in, inventory.New, nil, "Booking "+f.ID+" from "+f.Channel+" is recorded", refuse)
}

// postedRecordForm reads the record-a-booking form as posted: its room
// stays are the rows of its stay fields (each posted once a row), the rows
// left empty left out.
func postedRecordForm(c *gin.Context) recordForm {
	var f recordForm
	for field, v := range map[string]*string{"channel": &f.Channel, "id": &f.ID,
		"guest": &f.Guest, "email": &f.Email, "phone": &f.Phone, "total": &f.Total, "currency": &f.Currency} {
		*v = strings.TrimSpace(c.PostForm(field))
	}
	fields := map[string]func(*stayForm) *string{
		"room_type": func(st *stayForm) *string { return &st.RoomType }, "rate_plan": func(st *stayForm) *string { return &st.RatePlan },
		"arrival": func(st *stayForm) *string { return &st.Arrival }, "departure": func(st *stayForm) *string { return &st.Departure },
		"rooms": func(st *stayForm) *string { return &st.Rooms }, "adults": func(st *stayForm) *string { return &st.Adults },
		"children": func(st *stayForm) *string { return &st.Children },
	}
	rows := 0
	for field := range fields {
		rows = max(rows, len(c.PostFormArray(field)))
	}
	for i := range min(rows, maxFormStays) {
		var st stayForm
		for field, v := range fields {
			if vs := c.PostFormArray(field); i < len(vs) {
				*v(&st) = strings.TrimSpace(vs[i])
			}
		}
		if !st.blank() {
			f.Stays = append(f.Stays, st)
		}
	}
	return f
}

// moreStays answers the form's "another room stay" button: the form again
// as typed, with an empty room stay more, its room type in focus; nothing
// is recorded.
func (s *Server) moreStays(c *gin.Context, d *recordData, title string) bool {
	if c.PostForm("more") == "" {
		return false
	}
	if len(d.Form.Stays) < maxFormStays {
		d.Form.Stays = append(d.Form.Stays, newStay())
		d.Form.numbered()
	}
	d.Focus = len(d.Form.Stays)
	s.render(c, http.StatusOK, "booking_new", title, "bookings", d)
	return true
}

// applyRecorded applies what staff recorded of a channel's booking (in,
// a new booking or a change of one) as the channel confirmed it, and sends
// staff to the booking's page saying what it holds now: done opens the
// message. changed is the booking a change is recorded of (nil for a new
// one). refuse shows the form again with the store's reason.
func (s *Server) applyRecorded(c *gin.Context, prop inventory.Property, in reservationInJSON, kind inventory.RevisionKind, changed *inventory.Reservation, done string, refuse func(string)) {
	raw, _ := json.Marshal(in) // what staff entered, kept as the revision's message like an API call's
	rev := inventory.Revision{Property: prop.Code, Channel: in.Channel, ExternalID: in.ID, Kind: kind,
		Guest: in.Guest, Total: in.Total, Currency: in.Currency, Mode: inventory.MustAccept,
		Raw: raw, ContentType: "application/json", Actor: staff(c).Actor()}
	for _, st := range in.Stays {
		rev.Stays = append(rev.Stays, inventory.RoomStay{RoomType: st.RoomType, RatePlan: st.RatePlan, Arrival: st.Arrival,
			Departure: st.Departure, Rooms: st.Rooms, Adults: st.Adults, Children: st.Children})
	}
	if changed != nil {
		if err := s.dateIfRepeated(c, prop, *changed, &rev); err != nil {
			s.uiFail(c, err)
			return
		}
	}
	out, err := s.store.ApplyRevision(c.Request.Context(), rev)
	if err != nil {
		if inventory.ErrorCode(err) == inventory.EINVALID {
			refuse(inventory.ErrorMessage(err) + ".")
			return
		}
		s.uiFail(c, err)
		return
	}
	var stays []string
	for _, st := range in.Stays {
		n := st.Departure.Sub(st.Arrival)
		stays = append(stays, fmt.Sprintf("%d × %s, %s to %s (%d night%s)", st.Rooms, st.RoomType, st.Arrival, st.Departure, n, plural(n)))
	}
	msg := done + ": " + strings.Join(stays, "; ") + "."
	if len(out.Overbooked) > 0 {
		var nights []string
		for _, o := range out.Overbooked {
			nights = append(nights, o.Night.String())
		}
		msg += fmt.Sprintf(" Its rooms had been sold again meanwhile: pool %s is overbooked on %s — relocate a guest or raise the units (see Alerts).",
			out.Overbooked[0].Pool, strings.Join(slices.Compact(nights), ", "))
	}
	msg += " The other channels are being sent the new availability."
	redirectFlash(c, "/admin/p/"+url.PathEscape(prop.Code)+"/bookings/"+strconv.FormatInt(out.ReservationID, 10), msg)
}

// changeable says whether staff record a change or a cancellation of r,
// a booking of a channel of kind k: it holds rooms, and it is an OTA's or
// a GDS's — not a calendar platform's (its feed is the booking) nor the
// PMS's (changed and cancelled in the PMS, which tells keyrack).
func changeable(r inventory.Reservation, k inventory.ChannelKind) bool {
	return r.Status == inventory.Confirmed && recordable(k)
}

// notChangeable says why staff cannot record a change or cancellation of
// r, a booking of a channel of kind k ("" when they can).
func notChangeable(r inventory.Reservation, k inventory.ChannelKind) string {
	switch {
	case changeable(r, k):
		return ""
	case k == inventory.ChannelICal:
		return "it comes from " + r.Channel + "'s calendar, which changes or ends it at its next fetch."
	case k == inventory.ChannelPMS:
		return "it is the PMS's booking: change or cancel it in the PMS, which tells keyrack."
	case r.Status != inventory.Confirmed:
		return "it is " + string(r.Status) + "."
	}
	return "its channel " + r.Channel + " is gone."
}

// changePage is the form recording a change of booking r, filled in with
// form (the booking as it stands when nil).
func (s *Server) changePage(c *gin.Context, prop inventory.Property, r inventory.Reservation, form *recordForm) (*recordData, bool) {
	kind, err := s.channelKind(c, prop, r.Channel)
	if err != nil {
		s.uiFail(c, err)
		return nil, false
	}
	if why := notChangeable(r, kind); why != "" {
		s.renderError(c, http.StatusConflict, "Booking "+r.ExternalID+" from "+r.Channel+" cannot be changed here: "+why)
		return nil, false
	}
	if form == nil {
		f := recordForm{Guest: r.Guest.Name, Email: r.Guest.Email, Phone: r.Guest.Phone, Total: r.Total, Currency: r.Currency}
		for _, st := range r.Stays {
			f.Stays = append(f.Stays, stayForm{RoomType: st.RoomType, RatePlan: st.RatePlan, Arrival: st.Arrival.String(), Departure: st.Departure.String(),
				Rooms: strconv.Itoa(max(st.Rooms, 1)), Adults: strconv.Itoa(st.Adults), Children: strconv.Itoa(st.Children)})
		}
		form = &f
	}
	form.Channel, form.ID = r.Channel, r.ExternalID
	d, err := s.recordPage(c, prop, *form)
	if err != nil {
		s.uiFail(c, err)
		return nil, false
	}
	d.Change = &r
	d.Channels = []inventory.Channel{{Code: r.Channel, Kind: kind}}
	return d, true
}

// uiChangeBookingForm shows the form recording a change a channel made to
// a booking, filled in with the booking as it stands.
func (s *Server) uiChangeBookingForm(c *gin.Context) {
	prop := uiProp(c)
	r, ok := s.uiBookingOf(c, prop)
	if !ok {
		return
	}
	if d, ok := s.changePage(c, prop, r, nil); ok {
		s.render(c, http.StatusOK, "booking_new", "Record a change", "bookings", d)
	}
}

// uiChangeBooking records a change the channel made to a booking (staff saw
// it in the channel's extranet; its message never reached keyrack), as the
// channel confirmed it: the booking as it stands now, must-accept.
func (s *Server) uiChangeBooking(c *gin.Context) {
	prop := uiProp(c)
	r, ok := s.uiBookingOf(c, prop)
	if !ok {
		return
	}
	f := postedRecordForm(c)
	d, ok := s.changePage(c, prop, r, &f)
	if !ok {
		return
	}
	if s.moreStays(c, d, "Record a change") {
		return
	}
	refuse := func(msg string) {
		d.Error = msg
		s.render(c, http.StatusBadRequest, "booking_new", "Record a change", "bookings", d)
	}
	in, msg := d.read()
	if msg != "" {
		refuse(msg)
		return
	}
	s.applyRecorded(c, prop, in, inventory.Modify, &r, "The change to booking "+r.ExternalID+" from "+r.Channel+" is recorded", refuse)
}

// dateIfRepeated dates rev, a change or cancellation staff record of
// booking r, when the booking has a revision of its content already: left
// undated — placed after every revision the booking has, and after its
// channel's booking however late that comes and whatever clock dates it —,
// it was taken for that revision delivered again and changed nothing (a
// change back to what an earlier one said, a cancellation recorded again
// after the channel reinstated the booking). It is then dated as the API
// dates its changes (inventory.ChangeAfter): just after the booking's
// latest dated revision, on that revision's clock.
func (s *Server) dateIfRepeated(c *gin.Context, prop inventory.Property, r inventory.Reservation, rev *inventory.Revision) error {
	recs, err := s.store.Revisions(c.Request.Context(), prop.Code, r.ID)
	if err != nil {
		return err
	}
	norm, err := rev.Normalized() // as stored: with its defaults filled in, as the API compares
	if err != nil {
		return nil // refused by the store, with its reason
	}
	h := norm.Hash()
	if slices.ContainsFunc(recs, func(rec inventory.RevisionRecord) bool { return bytes.Equal(rec.ContentHash, h) }) {
		rev.SentAt = inventory.ChangeAfter(recs, now())
	}
	return nil
}

// read checks the form; it returns a message for staff when something is
// wrong.
func (d *recordData) read() (reservationInJSON, string) {
	f := d.Form
	var in reservationInJSON
	if !slices.ContainsFunc(d.Channels, func(ch inventory.Channel) bool { return ch.Code == f.Channel }) {
		return in, "Choose the channel that confirmed the booking."
	}
	if f.ID == "" || len(f.ID) > 128 {
		return in, "Give the channel's reservation id (at most 128 characters), as its extranet shows it: the channel's later changes and its cancellation are matched by it."
	}
	in = reservationInJSON{ID: f.ID, Channel: f.Channel, Guest: inventory.Guest{Name: f.Guest, Email: f.Email, Phone: f.Phone},
		Total: f.Total, Currency: f.Currency, Mode: inventory.MustAccept}
	for _, st := range f.Stays {
		stay, msg := d.readStay(st)
		if msg != "" && len(f.Stays) > 1 {
			msg = fmt.Sprintf("Room stay %d: %s", st.N, msg)
		}
		if msg != "" {
			return in, msg
		}
		in.Stays = append(in.Stays, stay)
	}
	if f.Currency != "" && !apiCurrencyRE.MatchString(f.Currency) {
		return in, fmt.Sprintf("Currency %q: give its ISO 4217 code, such as EUR.", f.Currency)
	}
	return in, ""
}

// readStay checks one room stay of the form.
func (d *recordData) readStay(f stayForm) (stayJSON, string) {
	var st stayJSON
	if !slices.ContainsFunc(d.RoomTypes, func(rt inventory.RoomType) bool { return rt.Code == f.RoomType }) {
		return st, "Choose the room type booked."
	}
	if f.RatePlan != "" && !slices.ContainsFunc(d.RatePlans, func(rp inventory.RatePlan) bool { return rp.Code == f.RatePlan && rp.RoomType == f.RoomType }) {
		return st, fmt.Sprintf("Rate plan %s is not one of room type %s: choose one of its rate plans, or none.", f.RatePlan, f.RoomType)
	}
	arrival, err := inventory.ParseDate(f.Arrival)
	if err != nil {
		return st, fmt.Sprintf("Arrival %q is not a date: use YYYY-MM-DD.", f.Arrival)
	}
	departure, err := inventory.ParseDate(f.Departure)
	if err != nil {
		return st, fmt.Sprintf("Departure %q is not a date: use YYYY-MM-DD.", f.Departure)
	}
	if !arrival.Before(departure) {
		return st, "The departure must be after the arrival: the guest leaves on the departure day."
	}
	if n := departure.Sub(arrival); n > inventory.MaxRangeNights {
		return st, fmt.Sprintf("%d nights is too long a stay: at most %d.", n, inventory.MaxRangeNights)
	}
	count := func(s, what string, least int) (int, string) {
		v, err := strconv.Atoi(s)
		if err != nil || v < least || v > 1000 {
			return 0, fmt.Sprintf("%s %q: give a whole number from %d to 1000.", what, s, least)
		}
		return v, ""
	}
	rooms, msg := count(f.Rooms, "Rooms", 1)
	if msg != "" {
		return st, msg
	}
	adults, msg := count(cmp.Or(f.Adults, "0"), "Adults", 0)
	if msg != "" {
		return st, msg
	}
	children, msg := count(cmp.Or(f.Children, "0"), "Children", 0)
	if msg != "" {
		return st, msg
	}
	return stayJSON{RoomType: f.RoomType, RatePlan: f.RatePlan, Arrival: arrival, Departure: departure, Rooms: rooms, Adults: adults, Children: children}, ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// uiCancelBooking records a cancellation the channel made (staff saw it in
// the channel's extranet; its message never reached keyrack): the booking's
// rooms are free again and every channel is told. It does not cancel the
// booking at the channel.
func (s *Server) uiCancelBooking(c *gin.Context) {
	prop := uiProp(c)
	r, ok := s.uiBookingOf(c, prop)
	if !ok {
		return
	}
	page := "/admin/p/" + url.PathEscape(prop.Code) + "/bookings/" + strconv.FormatInt(r.ID, 10)
	if c.PostForm("confirm") != "yes" {
		s.renderError(c, http.StatusBadRequest, "Nothing was cancelled: tick the box to confirm that "+r.Channel+" has cancelled the booking.")
		return
	}
	if r.Status != inventory.Confirmed {
		redirectFlash(c, page, "Booking "+r.ExternalID+" from "+r.Channel+" holds no rooms: it is "+string(r.Status)+" already.")
		return
	}
	kind, err := s.channelKind(c, prop, r.Channel)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if why := notChangeable(r, kind); why != "" {
		s.renderError(c, http.StatusConflict, "Booking "+r.ExternalID+" from "+r.Channel+" cannot be cancelled here: "+why)
		return
	}
	raw, _ := json.Marshal(map[string]string{"cancelled": "recorded by staff from the channel's own record"})
	rev := inventory.Revision{Property: prop.Code, Channel: r.Channel, ExternalID: r.ExternalID, Kind: inventory.Cancel,
		Raw: raw, ContentType: "application/json", Actor: staff(c).Actor()}
	if err := s.dateIfRepeated(c, prop, r, &rev); err != nil {
		s.uiFail(c, err)
		return
	}
	if _, err := s.store.ApplyRevision(c.Request.Context(), rev); err != nil {
		s.uiFail(c, err)
		return
	}
	redirectFlash(c, page, "Booking "+r.ExternalID+" from "+r.Channel+" is cancelled in keyrack: its rooms are free again and the channels are being sent the new availability. keyrack does not cancel it at "+r.Channel+".")
}

// channelKind is the kind of a property's channel ("" when it has none of
// that code).
func (s *Server) channelKind(c *gin.Context, prop inventory.Property, code string) (inventory.ChannelKind, error) {
	chs, err := s.store.Channels(c.Request.Context(), prop.Code)
	for _, ch := range chs {
		if ch.Code == code {
			return ch.Kind, err
		}
	}
	return "", err
}

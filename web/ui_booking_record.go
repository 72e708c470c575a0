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
	Channel, ID, RoomType, RatePlan, Arrival, Departure string
	Rooms, Adults, Children                             string
	Guest, Email, Phone, Total, Currency                string
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
	// for a new booking; SeveralStays says it has more than one room stay,
	// which the form cannot show.
	Change       *inventory.Reservation
	SeveralStays bool
}

// recordable says whether staff record bookings of a channel of kind k:
// an OTA's or a GDS's, not the PMS's (entered in the PMS) nor a calendar
// platform's (its feed is the booking).
func recordable(k inventory.ChannelKind) bool {
	return k == inventory.ChannelOTAPush || k == inventory.ChannelOTAPull || k == inventory.ChannelGDS
}

func (s *Server) recordPage(c *gin.Context, prop inventory.Property, form recordForm) (*recordData, error) {
	ctx := c.Request.Context()
	d := &recordData{Form: form}
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
	d, err := s.recordPage(c, prop, recordForm{Channel: c.Query("channel"), Rooms: "1", Adults: "2", Children: "0", Currency: prop.Currency})
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

// postedRecordForm reads the record-a-booking form as posted.
func postedRecordForm(c *gin.Context) recordForm {
	var f recordForm
	for field, v := range map[string]*string{"channel": &f.Channel, "id": &f.ID, "room_type": &f.RoomType, "rate_plan": &f.RatePlan,
		"arrival": &f.Arrival, "departure": &f.Departure, "rooms": &f.Rooms, "adults": &f.Adults, "children": &f.Children,
		"guest": &f.Guest, "email": &f.Email, "phone": &f.Phone, "total": &f.Total, "currency": &f.Currency} {
		*v = strings.TrimSpace(c.PostForm(field))
	}
	return f
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
	st := in.Stays[0]
	n := st.Departure.Sub(st.Arrival)
	msg := fmt.Sprintf("%s: %d × %s, %s to %s (%d night%s).", done, st.Rooms, st.RoomType, st.Arrival, st.Departure, n, plural(n))
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
// a booking of a channel of kind k: it holds rooms, and it is not a
// calendar platform's (its feed is the booking).
func changeable(r inventory.Reservation, k inventory.ChannelKind) bool {
	return r.Status == inventory.Confirmed && k != inventory.ChannelICal
}

// changePage is the form recording a change of booking r, filled in with
// form (the booking as it stands when nil).
func (s *Server) changePage(c *gin.Context, prop inventory.Property, r inventory.Reservation, form *recordForm) (*recordData, bool) {
	kind, err := s.channelKind(c, prop, r.Channel)
	if err != nil {
		s.uiFail(c, err)
		return nil, false
	}
	if !changeable(r, kind) {
		why := "it is " + string(r.Status) + "."
		if kind == inventory.ChannelICal {
			why = "it comes from the channel's calendar, which changes it at its next fetch."
		}
		s.renderError(c, http.StatusConflict, "Booking "+r.ExternalID+" from "+r.Channel+" cannot be changed here: "+why)
		return nil, false
	}
	if form == nil {
		f := recordForm{Guest: r.Guest.Name, Email: r.Guest.Email, Phone: r.Guest.Phone, Total: r.Total, Currency: r.Currency, Rooms: "1", Adults: "0", Children: "0"}
		if len(r.Stays) > 0 {
			st := r.Stays[0]
			f.RoomType, f.RatePlan, f.Arrival, f.Departure = st.RoomType, st.RatePlan, st.Arrival.String(), st.Departure.String()
			f.Rooms, f.Adults, f.Children = strconv.Itoa(max(st.Rooms, 1)), strconv.Itoa(st.Adults), strconv.Itoa(st.Children)
		}
		form = &f
	}
	form.Channel, form.ID = r.Channel, r.ExternalID
	d, err := s.recordPage(c, prop, *form)
	if err != nil {
		s.uiFail(c, err)
		return nil, false
	}
	d.Change, d.SeveralStays = &r, len(r.Stays) > 1
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
	refuse := func(msg string) {
		d.Error = msg
		s.render(c, http.StatusBadRequest, "booking_new", "Record a change", "bookings", d)
	}
	if d.SeveralStays {
		refuse("This booking has several room stays: record its change through the API (PUT …/reservations/{channel}/{id}).")
		return
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
	if !slices.ContainsFunc(d.RoomTypes, func(rt inventory.RoomType) bool { return rt.Code == f.RoomType }) {
		return in, "Choose the room type booked."
	}
	if f.RatePlan != "" && !slices.ContainsFunc(d.RatePlans, func(rp inventory.RatePlan) bool { return rp.Code == f.RatePlan && rp.RoomType == f.RoomType }) {
		return in, fmt.Sprintf("Rate plan %s is not one of room type %s: choose one of its rate plans, or none.", f.RatePlan, f.RoomType)
	}
	arrival, err := inventory.ParseDate(f.Arrival)
	if err != nil {
		return in, fmt.Sprintf("Arrival %q is not a date: use YYYY-MM-DD.", f.Arrival)
	}
	departure, err := inventory.ParseDate(f.Departure)
	if err != nil {
		return in, fmt.Sprintf("Departure %q is not a date: use YYYY-MM-DD.", f.Departure)
	}
	if !arrival.Before(departure) {
		return in, "The departure must be after the arrival: the guest leaves on the departure day."
	}
	if n := departure.Sub(arrival); n > inventory.MaxRangeNights {
		return in, fmt.Sprintf("%d nights is too long a stay: at most %d.", n, inventory.MaxRangeNights)
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
		return in, msg
	}
	adults, msg := count(cmp.Or(f.Adults, "0"), "Adults", 0)
	if msg != "" {
		return in, msg
	}
	children, msg := count(cmp.Or(f.Children, "0"), "Children", 0)
	if msg != "" {
		return in, msg
	}
	if f.Currency != "" && !apiCurrencyRE.MatchString(f.Currency) {
		return in, fmt.Sprintf("Currency %q: give its ISO 4217 code, such as EUR.", f.Currency)
	}
	in = reservationInJSON{ID: f.ID, Channel: f.Channel, Guest: inventory.Guest{Name: f.Guest, Email: f.Email, Phone: f.Phone},
		Total: f.Total, Currency: f.Currency, Mode: inventory.MustAccept,
		Stays: []stayJSON{{RoomType: f.RoomType, RatePlan: f.RatePlan, Arrival: arrival, Departure: departure, Rooms: rooms, Adults: adults, Children: children}}}
	return in, ""
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
	if !changeable(r, kind) {
		s.renderError(c, http.StatusConflict, "Booking "+r.ExternalID+" comes from "+r.Channel+"'s calendar: it ends when the calendar no longer has it, at its next fetch.")
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

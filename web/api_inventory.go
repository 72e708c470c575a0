package web

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/sync"
)

// nightRange reads ?from=&to= (to exclusive).
func nightRange(c *gin.Context) (from, to inventory.Date, ok bool) {
	var errs []fieldError
	from, err := inventory.ParseDate(c.Query("from"))
	if err != nil {
		errs = append(errs, newFieldError("from", "query parameter from must be a date, YYYY-MM-DD"))
	}
	to, err = inventory.ParseDate(c.Query("to"))
	if err != nil {
		errs = append(errs, newFieldError("to", "query parameter to must be a date, YYYY-MM-DD (exclusive)"))
	}
	if len(errs) == 0 && !from.Before(to) {
		errs = append(errs, newFieldError("to", "must be after from: the range is [from, to)"))
	}
	if len(errs) == 0 && to.Sub(from) > inventory.MaxRangeNights {
		errs = append(errs, newFieldError("to", "the range is longer than 1100 nights"))
	}
	if len(errs) > 0 {
		invalid(c, errs...)
		return from, to, false
	}
	return from, to, true
}

type nightJSON struct {
	Night             inventory.Date   `json:"night"`
	Units             int              `json:"units"`
	OverbookingFactor inventory.Factor `json:"overbooking_factor"`
	Limit             int              `json:"limit"`
	Sold              int              `json:"sold"`
	Closed            bool             `json:"closed"`
	Available         int              `json:"available"`
	// Channels: what each channel last acknowledged for the night, and when.
	Channels []sync.Ack `json:"channels"`
}

type poolNightsJSON struct {
	Pool   string      `json:"pool"`
	Nights []nightJSON `json:"nights"`
}

// availability lists every pool's nights in [from, to) with what each
// channel last acknowledged.
func (s *Server) availability(c *gin.Context) {
	from, to, ok := nightRange(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	prop := apiProperty(c)
	nights, err := s.store.Availability(ctx, prop.Code, from, to)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	acks, err := sync.LastAcks(ctx, s.store.DB(), prop.ID, from, to)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	type key struct {
		pool  string
		night inventory.Date
	}
	byNight := map[key][]sync.Ack{}
	for _, a := range acks {
		k := key{a.Pool, a.Night}
		byNight[k] = append(byNight[k], a)
	}
	out := []poolNightsJSON{}
	for _, n := range nights {
		if len(out) == 0 || out[len(out)-1].Pool != n.Pool {
			out = append(out, poolNightsJSON{Pool: n.Pool})
		}
		p := &out[len(out)-1]
		chs := byNight[key{n.Pool, n.Night}]
		if chs == nil {
			chs = []sync.Ack{}
		}
		p.Nights = append(p.Nights, nightJSON{Night: n.Night, Units: n.Units, OverbookingFactor: n.Factor, Limit: n.Limit,
			Sold: n.Sold, Closed: n.Closed, Available: n.Available, Channels: chs})
	}
	c.JSON(http.StatusOK, gin.H{"property": prop.Code, "from": from, "to": to, "pools": out})
}

type nightsEditJSON struct {
	Units             *int              `json:"units,omitempty"`
	OverbookingFactor *inventory.Factor `json:"overbooking_factor,omitempty"`
	Closed            *bool             `json:"closed,omitempty"`
}

// editNights sets units, the overbooking factor and/or stop-sell on a
// pool's nights [from, to) — those on ?days= only, when given — in one
// transaction, audited as the API key.
func (s *Server) editNights(c *gin.Context) {
	from, to, ok := nightRange(c)
	if !ok {
		return
	}
	days, err := inventory.ParseWeekdays(c.Query("days"))
	if err != nil {
		invalid(c, newFieldError("days", inventory.ErrorMessage(err)))
		return
	}
	var in nightsEditJSON
	if !bind(c, &in) {
		return
	}
	if in.Units == nil && in.OverbookingFactor == nil && in.Closed == nil {
		invalid(c, newFieldError("units", "give at least one of units, overbooking_factor, closed"))
		return
	}
	if in.Units != nil && (*in.Units < 0 || *in.Units > 100000) {
		invalid(c, newFieldError("units", "must be between 0 and 100000"))
		return
	}
	ctx := c.Request.Context()
	r := inventory.NightRange{Property: apiProperty(c).Code, Pool: c.Param("pool"), From: from, To: to, Days: days}
	if err := r.Validate(); err != nil { // the range is checked: no night of it on those days
		invalid(c, newFieldError("days", inventory.ErrorMessage(err)))
		return
	}
	by := apiKey(c).Actor()
	if err := s.store.EditNights(ctx, r, inventory.NightEdit{Units: in.Units, Factor: in.OverbookingFactor, Closed: in.Closed}, by); err != nil {
		s.fail(c, err, "")
		return
	}
	nights, err := s.store.Availability(ctx, r.Property, from, to)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	out := poolNightsJSON{Pool: r.Pool, Nights: []nightJSON{}}
	for _, n := range nights {
		if n.Pool == r.Pool {
			out.Nights = append(out.Nights, nightJSON{Night: n.Night, Units: n.Units, OverbookingFactor: n.Factor, Limit: n.Limit,
				Sold: n.Sold, Closed: n.Closed, Available: n.Available, Channels: []sync.Ack{}})
		}
	}
	c.JSON(http.StatusOK, out)
}

// stayJSON is one booked room type for a stay, in keyrack's own codes.
type stayJSON struct {
	RoomType  string         `json:"room_type"`
	RatePlan  string         `json:"rate_plan,omitempty"`
	Arrival   inventory.Date `json:"arrival"`
	Departure inventory.Date `json:"departure"`
	Rooms     int            `json:"rooms,omitempty"`
	Adults    int            `json:"adults,omitempty"`
	Children  int            `json:"children,omitempty"`
}

type reservationInJSON struct {
	ID       string          `json:"id,omitempty"`      // the PMS's reservation id (create only)
	Channel  string          `json:"channel,omitempty"` // default: the property's PMS channel (create only)
	Stays    []stayJSON      `json:"stays"`
	Guest    inventory.Guest `json:"guest"`
	Total    string          `json:"total,omitempty"`
	Currency string          `json:"currency,omitempty"`
	// Mode is may_reject (the default: a booking or change that does not
	// fit is a 409 and changes nothing) or must_accept, for one the channel
	// has already confirmed to the guest — entered from an OTA's extranet,
	// a guest already in the house: recorded even where it does not fit,
	// with an overbooking alert, as an OTA's push is.
	Mode inventory.Mode `json:"mode,omitempty"`
}

type reservationOutJSON struct {
	Reservation inventory.Reservation `json:"reservation"`
	Outcome     inventory.Outcome     `json:"outcome"`
}

func (in reservationInJSON) validate(create bool) []fieldError {
	var errs []fieldError
	if create && in.ID == "" {
		errs = append(errs, newFieldError("id", "is required: the reservation's id in your system"))
	}
	if len(in.ID) > 128 {
		errs = append(errs, newFieldError("id", "is longer than 128 characters"))
	}
	if len(in.Stays) == 0 {
		errs = append(errs, newFieldError("stays", "at least one room stay is required"))
	}
	for i, st := range in.Stays {
		f := "stays[" + strconv.Itoa(i) + "]."
		errs = checkCode(errs, f+"room_type", st.RoomType)
		if st.Arrival.IsZero() {
			errs = append(errs, newFieldError(f+"arrival", "is required"))
		}
		if st.Departure.IsZero() {
			errs = append(errs, newFieldError(f+"departure", "is required"))
		} else if !st.Arrival.Before(st.Departure) {
			errs = append(errs, newFieldError(f+"departure", "must be after arrival"))
		}
		if st.Rooms < 0 || st.Rooms > 1000 {
			errs = append(errs, newFieldError(f+"rooms", "must be between 1 and 1000"))
		}
		if st.Adults < 0 || st.Children < 0 {
			errs = append(errs, newFieldError(f+"adults", "guest counts must not be negative"))
		}
	}
	if in.Currency != "" && !apiCurrencyRE.MatchString(in.Currency) {
		errs = append(errs, newFieldError("currency", "must be an ISO 4217 code"))
	}
	if in.Mode != "" && in.Mode != inventory.MayReject && in.Mode != inventory.MustAccept {
		errs = append(errs, newFieldError("mode", "must be may_reject (the default: 409 if it does not fit) or must_accept (the channel has confirmed it to the guest already: recorded even past the limit, with an overbooking alert)"))
	}
	return errs
}

// knownRoomTypes answers 400 naming each stay whose room type the property
// does not have. The API books in keyrack's own codes, so such a stay is a
// mistake the caller can still correct — not a channel's room code waiting
// for its mapping: kept, it was parked, holding no room while the booking
// was answered confirmed (the channels went on selling the guest's room,
// and a modification naming one released the room the booking held).
func (s *Server) knownRoomTypes(c *gin.Context, stays []stayJSON) bool {
	prop := apiProperty(c).Code
	rts, err := s.store.RoomTypes(c.Request.Context(), prop)
	if err != nil {
		s.fail(c, err, "")
		return false
	}
	var errs []fieldError
	for i, st := range stays {
		if !slices.ContainsFunc(rts, func(rt inventory.RoomType) bool { return rt.Code == st.RoomType }) {
			errs = append(errs, newFieldError("stays["+strconv.Itoa(i)+"].room_type",
				"property "+prop+" has no room type "+st.RoomType+" (GET …/room-types lists them)"))
		}
	}
	if len(errs) > 0 {
		invalid(c, errs...)
		return false
	}
	return true
}

// pmsChannel is the property's one PMS channel, the default for reservations.
func (s *Server) pmsChannel(c *gin.Context) (string, bool) {
	chs, err := s.store.Channels(c.Request.Context(), apiProperty(c).Code)
	if err != nil {
		s.fail(c, err, "")
		return "", false
	}
	var found []string
	for _, ch := range chs {
		if ch.Kind == inventory.ChannelPMS {
			found = append(found, ch.Code)
		}
	}
	if len(found) != 1 {
		invalid(c, newFieldError("channel", "name the channel: the property has "+strconv.Itoa(len(found))+" PMS channels, not one"))
		return "", false
	}
	return found[0], true
}

// revision is what the request asks of channel's reservation id. own says
// the change is the channel's own — a PMS's booking, which the PMS made —
// and is not echoed back to it; a change to another channel's booking (the
// front desk extending an OTA's guest) is that channel's news like any other.
func (s *Server) revision(c *gin.Context, in reservationInJSON, channel, id string, kind inventory.RevisionKind, own bool) inventory.Revision {
	raw, _ := readBody(c)
	rev := inventory.Revision{Property: apiProperty(c).Code, Channel: channel, ExternalID: id, Kind: kind,
		Guest: in.Guest, Total: in.Total, Currency: in.Currency, Mode: cmp.Or(in.Mode, inventory.MayReject),
		Raw: raw, ContentType: "application/json", Actor: apiKey(c).Actor()}
	if own {
		rev.Actor.Channel = channel
	}
	for _, st := range in.Stays {
		rev.Stays = append(rev.Stays, inventory.RoomStay{RoomType: st.RoomType, RatePlan: st.RatePlan, Arrival: st.Arrival,
			Departure: st.Departure, Rooms: st.Rooms, Adults: st.Adults, Children: st.Children})
	}
	return rev
}

// apply applies a revision and answers with the reservation as it now
// stands; a booking that does not fit is a 409 listing the short nights.
func (s *Server) apply(c *gin.Context, rev inventory.Revision, created bool) {
	ctx := c.Request.Context()
	out, err := s.store.ApplyRevision(ctx, rev)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	res, err := s.store.ReservationByID(ctx, rev.Property, out.ReservationID)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	status := http.StatusOK
	if created && !out.Duplicate {
		status = http.StatusCreated
	}
	c.Header("Location", reservationPath(rev.Property, res.Channel, res.ExternalID))
	c.JSON(status, reservationOutJSON{Reservation: res, Outcome: out})
}

// reservationPath is a reservation's address in the API, each part escaped
// (an iCal import's id holds a "/").
func reservationPath(property, channel, id string) string {
	return "/api/v1/properties/" + url.PathEscape(property) + "/reservations/" + url.PathEscape(channel) + "/" + url.PathEscape(id)
}

// createReservation books a stay; it can still be refused (may-reject): a
// booking that does not fit is a 409 with the short nights and changes
// nothing — unless the request says it is must-accept.
func (s *Server) createReservation(c *gin.Context) {
	var in reservationInJSON
	if !bind(c, &in) {
		return
	}
	if errs := in.validate(true); len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	if !s.knownRoomTypes(c, in.Stays) {
		return
	}
	channel, own := in.Channel, true
	if channel == "" {
		var ok bool
		if channel, ok = s.pmsChannel(c); !ok {
			return
		}
	} else {
		ch, ok := s.channelExists(c, apiProperty(c).Code, channel)
		if !ok {
			return
		}
		own = ch.Kind == inventory.ChannelPMS
	}
	rev := s.revision(c, in, channel, in.ID, inventory.New, own)
	if !s.newOrRepeated(c, rev) {
		return
	}
	s.apply(c, rev, true)
}

// newOrRepeated lets a create through when the reservation does not exist
// yet, or when this is the very booking that created it and nothing has
// changed it since (a retry, answered as a duplicate). A different booking
// under an existing id is a 409, and so is the same one after the
// reservation was changed (its answer would be the first one's, saying
// confirmed of a booking since cancelled, say).
func (s *Server) newOrRepeated(c *gin.Context, rev inventory.Revision) bool {
	ctx := c.Request.Context()
	res, err := s.store.Reservation(ctx, rev.Property, rev.Channel, rev.ExternalID)
	if inventory.ErrorCode(err) == inventory.ENOTFOUND {
		return true
	}
	if err != nil {
		s.fail(c, err, "")
		return false
	}
	recs, err := s.store.Revisions(ctx, rev.Property, res.ID)
	if err != nil {
		s.fail(c, err, "")
		return false
	}
	// Compared as stored: with its defaults filled in (a retry that leaves
	// out a stay's rooms is the same booking).
	norm, err := rev.Normalized()
	if err != nil {
		return true // refused by the store, with its reason
	}
	detail := " already exists"
	for i, r := range recs {
		// By the hash it was received with: the revision as stored may
		// have had its guest's data erased since.
		if r.Revision.Kind == inventory.New && bytes.Equal(r.ContentHash, norm.Hash()) {
			if i == len(recs)-1 {
				return true
			}
			detail = " was made by this very booking and changed since (it is " + string(res.Status) + " now)"
			break
		}
	}
	writeProblem(c, problem{Status: http.StatusConflict, Detail: "reservation " + rev.ExternalID + " of channel " + rev.Channel +
		detail + "; change it with PUT " + reservationPath(rev.Property, rev.Channel, rev.ExternalID)})
	return false
}

// modifyReservation replaces a reservation's stays, guest and total.
func (s *Server) modifyReservation(c *gin.Context) {
	var in reservationInJSON
	if !bind(c, &in) {
		return
	}
	if in.ID != "" || in.Channel != "" {
		invalid(c, newFieldError("id", "the reservation is named by the path; leave id and channel out of the body"))
		return
	}
	if errs := in.validate(false); len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	if !s.knownRoomTypes(c, in.Stays) {
		return
	}
	rev, ok := s.change(c, in, inventory.Modify)
	if !ok {
		return
	}
	s.apply(c, rev, false)
}

// change is a modification or cancellation the request makes to the
// reservation its path names. It is dated just after the latest dated
// revision the reservation has, on that revision's clock (keyrack's when
// none is dated), so that it is applied and the channel's next change is
// applied after it: a channel's clock, or a local time it sent without its
// zone, may be hours ahead of keyrack's or behind it. (A date of its own also
// makes later changes to the same content new revisions.)
func (s *Server) change(c *gin.Context, in reservationInJSON, kind inventory.RevisionKind) (inventory.Revision, bool) {
	ctx, prop := c.Request.Context(), apiProperty(c).Code
	res, err := s.store.Reservation(ctx, prop, c.Param("channel"), c.Param("id"))
	if err != nil {
		s.fail(c, err, "")
		return inventory.Revision{}, false
	}
	recs, err := s.store.Revisions(ctx, prop, res.ID)
	if err != nil {
		s.fail(c, err, "")
		return inventory.Revision{}, false
	}
	ch, ok := s.channelExists(c, prop, res.Channel)
	if !ok {
		return inventory.Revision{}, false
	}
	rev := s.revision(c, in, res.Channel, res.ExternalID, kind, ch.Kind == inventory.ChannelPMS)
	rev.SentAt = inventory.ChangeAfter(recs, now())
	return rev, true
}

// cancelReservation cancels a reservation, freeing its nights.
func (s *Server) cancelReservation(c *gin.Context) {
	if b, _ := readBody(c); len(bytes.TrimSpace(b)) > 0 {
		var in struct{}
		if !bind(c, &in) {
			return
		}
	}
	rev, ok := s.change(c, reservationInJSON{}, inventory.Cancel)
	if !ok {
		return
	}
	s.apply(c, rev, false)
}

// eraseGuestData erases the personal data of a reservation's guest (GDPR
// art. 17) and answers with the reservation as it now stands; a booking
// confirmed for a stay that has not ended is a 409 saying so.
func (s *Server) eraseGuestData(c *gin.Context) {
	if b, _ := readBody(c); len(bytes.TrimSpace(b)) > 0 {
		var in struct{}
		if !bind(c, &in) {
			return
		}
	}
	ctx, prop := c.Request.Context(), apiProperty(c).Code
	res, err := s.store.Reservation(ctx, prop, c.Param("channel"), c.Param("id"))
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if _, err := s.store.EraseGuestData(ctx, prop, res.ID, apiKey(c).Actor()); err != nil {
		s.fail(c, err, "")
		return
	}
	if res, err = s.store.ReservationByID(ctx, prop, res.ID); err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, res)
}

func (s *Server) getReservation(c *gin.Context) {
	res, err := s.store.Reservation(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), c.Param("id"))
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, res)
}

// incidentJSON is an incident or alert: an overbooked night, a parked
// booking, or (id "delivery-…") a delivery to a channel that ran out of retries.
type incidentJSON struct {
	ID string `json:"id"`
	inventory.Incident
}

func (i incidentJSON) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(i.Incident)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["id"] = i.ID
	return json.Marshal(m)
}

// listIncidents lists a property's incidents (?status=open, the default, or
// all), newest first, then failed deliveries when the fan-out is known.
//
// The list is paged: a hotel keeps its resolved incidents for as long as it
// runs, and an overbooked stretch opens one per night, so ?status=all grew
// into one answer of every incident it ever had. ?limit= incidents (100 by
// default, as the channel messages), those below ?before= (an incident id);
// a full page links the next one (Link: rel="next"). The failed deliveries
// — one per channel at most, kept in Redis, not in the database — come on
// the first page, after its incidents.
func (s *Server) listIncidents(c *gin.Context) {
	status := c.DefaultQuery("status", "open")
	if status != "open" && status != "all" {
		invalid(c, newFieldError("status", "query parameter status must be open or all"))
		return
	}
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			invalid(c, newFieldError("limit", "must be a whole number from 1 to 1000"))
			return
		}
		limit = n
	}
	var before int64
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			invalid(c, newFieldError("before", "must be an incident id (a whole number ≥ 1): the last id of the page before"))
			return
		}
		before = n
	}
	ctx := c.Request.Context()
	prop := apiProperty(c)
	incs, err := s.store.IncidentsPage(ctx, prop.Code, status == "open", before, limit+1)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if len(incs) > limit {
		incs = incs[:limit]
		next := url.Values{"status": {status}, "limit": {strconv.Itoa(limit)},
			"before": {strconv.FormatInt(incs[limit-1].ID, 10)}}
		c.Header("Link", "</api/v1/properties/"+url.PathEscape(prop.Code)+"/incidents?"+next.Encode()+`>; rel="next"`)
	}
	out := []incidentJSON{}
	for _, i := range incs {
		out = append(out, incidentJSON{ID: strconv.FormatInt(i.ID, 10), Incident: i})
	}
	if s.fanout != nil && before == 0 {
		archived, err := s.fanout.Archived(ctx)
		if err != nil {
			s.log.Warn("incidents: failed deliveries are not listed", "err", err)
		}
		for _, a := range archived {
			if a.Property != prop.Code {
				continue
			}
			out = append(out, incidentJSON{ID: deliveryIncidentID(a.Queue, a.ID), Incident: inventory.Incident{
				Kind: "failed_delivery", Message: "Delivery to channel " + a.Channel + " ran out of retries: " + a.LastError,
				Details:  map[string]any{"channel": a.Channel, "queue": a.Queue, "task": a.ID, "retried": a.Retried},
				OpenedAt: a.LastFailedAt, UpdatedAt: a.LastFailedAt}})
		}
	}
	c.JSON(http.StatusOK, out)
}

// resolveIncident closes an incident; for a failed delivery it runs the
// delivery again.
func (s *Server) resolveIncident(c *gin.Context) {
	id := c.Param("id")
	ctx := c.Request.Context()
	if queue, task, ok := parseDeliveryIncidentID(id); ok && s.fanout != nil {
		// Only a delivery of this property: the key may not act on others.
		archived, err := s.fanout.Archived(ctx)
		if err != nil {
			s.fail(c, err, "")
			return
		}
		if !slices.ContainsFunc(archived, func(a sync.ArchivedTask) bool {
			return a.Queue == queue && a.ID == task && a.Property == apiProperty(c).Code
		}) {
			abortProblem(c, http.StatusNotFound, "no failed delivery "+id)
			return
		}
		if err := s.fanout.RetryArchived(ctx, queue, task); err != nil {
			abortProblem(c, http.StatusNotFound, "no failed delivery "+id)
			return
		}
		c.Status(http.StatusNoContent)
		return
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		abortProblem(c, http.StatusNotFound, "no incident "+id)
		return
	}
	if err := s.store.ResolveIncident(ctx, apiProperty(c).Code, n, apiKey(c).Actor()); err != nil {
		s.fail(c, err, "")
		return
	}
	c.Status(http.StatusNoContent)
}

// deliveryIncidentID names a failed delivery (an archived asynq task) as an
// incident id that fits in a URL path segment.
func deliveryIncidentID(queue, task string) string {
	return "delivery-" + base64.RawURLEncoding.EncodeToString([]byte(queue+"\x00"+task))
}

func parseDeliveryIncidentID(id string) (queue, task string, ok bool) {
	rest, ok := strings.CutPrefix(id, "delivery-")
	if !ok {
		return "", "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return "", "", false
	}
	queue, task, ok = strings.Cut(string(b), "\x00")
	return queue, task, ok
}
